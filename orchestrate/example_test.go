package orchestrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/orchestrate"
)

// A pipeline run in-process on a lake in memory: list partitions, process
// each (at most 2 at once), retry a flaky step, and record the run.
func Example() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()

	tries := 0
	p := orchestrate.New("daily",
		orchestrate.GoStep("list", orchestrate.Typed(func(ctx context.Context, p struct{ Day string }) ([]string, error) {
			return []string{"day=" + p.Day + "/h=00", "day=" + p.Day + "/h=01", "day=" + p.Day + "/h=02"}, nil
		})),
		orchestrate.MapStep("clean", "list", "", orchestrate.Typed(func(ctx context.Context, part string) (string, error) {
			return "cleaned " + part, nil
		})).MaxConcurrency(2),
		orchestrate.GoStep("publish", func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
			if tries++; tries < 2 {
				return nil, orchestrate.NewError("Throttled", errors.New("try again"))
			}
			return json.Marshal("published")
		}).After("clean").Retry(orchestrate.RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: time.Millisecond}),
	)
	r, err := orchestrate.NewRunner(lk, nil)
	if err != nil {
		panic(err)
	}
	run, err := r.Run(ctx, p, map[string]string{"Day": "2024-05-01"})
	if err != nil {
		panic(err)
	}
	fmt.Println(run.State)
	fmt.Println(string(run.Steps["clean"].Output))
	fmt.Println("publish attempts:", len(run.Steps["publish"].Attempts))
	saved, _ := r.LoadRun(ctx, "daily", run.ID)
	fmt.Println("recorded:", saved.Steps["publish"].State)
	// Output:
	// succeeded
	// ["cleaned day=2024-05-01/h=00","cleaned day=2024-05-01/h=01","cleaned day=2024-05-01/h=02"]
	// publish attempts: 2
	// recorded: succeeded
}

// The same kind of pipeline compiled to Amazon States Language, its Go
// steps running as Lambda invocations of the binary's worker.
func ExampleCompile() {
	nop := func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) { return nil, nil }
	p := orchestrate.New("daily",
		orchestrate.GoStep("list", nop),
		orchestrate.MapStep("clean", "list", "partitions", nop).MaxConcurrency(4),
		orchestrate.SQLStep("compact", "INSERT INTO curated.orders SELECT * FROM cleaned.orders").After("clean"),
		orchestrate.GlueJobStep("export", "export-orders", nil).After("compact"),
	)
	def, err := orchestrate.Compile(p, &orchestrate.CompileOptions{
		Lambda:               &orchestrate.LambdaOptions{FunctionName: "lakekit-worker"},
		AthenaOutputLocation: "s3://results/",
	})
	if err != nil {
		panic(err)
	}
	var d struct {
		StartAt string
		States  map[string]struct{ Type, Resource, Next string }
	}
	json.Unmarshal(def, &d)
	names := make([]string, 0, len(d.States))
	for n := range d.States {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println("StartAt", d.StartAt)
	for _, n := range names {
		s := d.States[n]
		if s.Next == "" {
			s.Next = "(end)"
		}
		fmt.Println(n, s.Type, s.Resource, "->", s.Next)
	}
	// Output:
	// StartAt lakekit:init
	// clean Map  -> compact
	// compact Task arn:aws:states:::athena:startQueryExecution.sync -> export
	// export Task arn:aws:states:::glue:startJobRun.sync -> (end)
	// lakekit:init Pass  -> list
	// list Task arn:aws:states:::lambda:invoke -> clean
}

// A picture of a pipeline for a README or a dashboard.
func ExampleMermaid() {
	nop := func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) { return nil, nil }
	p := orchestrate.New("ingest",
		orchestrate.GoStep("land", nop).Catch("alert"),
		orchestrate.CrawlerStep("crawl", "raw-crawler").After("land"),
		orchestrate.GoStep("alert", nop),
	)
	m, _ := orchestrate.Mermaid(p)
	fmt.Print(m)
	// Output:
	// flowchart TD
	//   s0["land<br/>go"]
	//   s1["crawl<br/>crawler"]
	//   s2["alert<br/>go"]
	//   s0 --> s1
	//   s0 -.->|"catch States.ALL"| s2
}
