package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/lakekit/lakekit/internal/testaws"
)

const testRole = "arn:aws:iam::123456789012:role/lakekit-sfn"

// motoPipeline has only states moto can execute: Pass, Wait, Choice, Parallel.
func motoPipeline() *Pipeline {
	return New("moto-nightly",
		PassStep("config", map[string]any{"mode": "full", "partitions": 3}),
		ChoiceStep("route", "incremental",
			Rule{Step: "config", Field: "mode", Op: StringEquals, Value: "full", Next: "full"}),
		ParallelStep("full",
			New("left", WaitStep("settle", 0), PassStep("compact", "compacted").After("settle")),
			New("right", PassStep("stats", map[string]int{"rows": 42}))),
		PassStep("incremental", "appended"),
		PassStep("report", "reported").After("full"),
	)
}

func TestStepFunctionsOnMoto(t *testing.T) {
	t.Parallel()
	m := testaws.StartMoto(t)
	m.SetConfig(t, `{"stepfunctions": {"execute_state_machine": true}}`)
	ctx := context.Background()
	s, err := NewSFN(m.Config(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := motoPipeline()
	wait := &WaitOptions{MinDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxWait: 30 * time.Second}

	arn, err := s.Deploy(ctx, p, testRole, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Deploying again updates the same state machine.
	arn2, err := s.Deploy(ctx, p, testRole, nil)
	if err != nil || arn2 != arn {
		t.Fatalf("redeploy: %q %v (first %q)", arn2, err, arn)
	}
	exec, err := s.Start(ctx, arn, "run-1", map[string]string{"day": "2024-05-01"})
	if err != nil {
		t.Fatal(err)
	}
	// Same name and input: the same execution, not an error.
	again, err := s.Start(ctx, arn, "run-1", map[string]string{"day": "2024-05-01"})
	if err != nil || again != exec {
		t.Fatalf("idempotent start: %q %v, want %q", again, err, exec)
	}
	// Same name, other input: refused.
	if _, err := s.Start(ctx, arn, "run-1", map[string]string{"day": "2024-05-02"}); !errors.Is(err, ErrExecutionExists) {
		t.Fatalf("other input: %v", err)
	}
	e, err := s.Wait(ctx, exec, wait)
	if err != nil {
		t.Fatalf("wait: %v (%+v)", err, e)
	}
	var final struct {
		Params map[string]string
		Steps  map[string]any
	}
	if err := json.Unmarshal(e.Output, &final); err != nil || e.Status != "SUCCEEDED" || final.Steps["report"] != "reported" || final.Params["day"] != "2024-05-01" {
		t.Fatalf("execution %s output %s", e.Status, e.Output)
	}
	run, err := s.History(ctx, p, exec, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]State{"config": StateSucceeded, "route": StateSucceeded, "full": StateSucceeded, "settle": StateSucceeded,
		"compact": StateSucceeded, "stats": StateSucceeded, "report": StateSucceeded, "incremental": StateSkipped}
	got := run.StepStates()
	for step, st := range want {
		if got[step] != st {
			t.Errorf("step %s: %s, want %s (all: %v)", step, got[step], st, got)
		}
	}
	if run.State != StateSucceeded || string(run.Steps["report"].Output) != `"reported"` {
		t.Errorf("run %s, report output %s", run.State, run.Steps["report"].Output)
	}
	// The picture of the AWS run colours the skipped branch.
	pic, err := MermaidRun(p, run)
	if err != nil || !strings.Contains(pic, "skipped") {
		t.Fatalf("%v\n%s", err, pic)
	}

	// moto runs one execution per process state: reset, redeploy, take the other branch.
	m.Reset(t)
	m.SetConfig(t, `{"stepfunctions": {"execute_state_machine": true}}`)
	p2 := New("moto-nightly", PassStep("config", map[string]any{"mode": "incremental"}),
		ChoiceStep("route", "incremental", Rule{Step: "config", Field: "mode", Op: StringEquals, Value: "full", Next: "full"}),
		PassStep("full", 1), PassStep("incremental", "appended"), PassStep("report", "reported").After("full"))
	arn, err = s.Deploy(ctx, p2, testRole, nil)
	if err != nil {
		t.Fatal(err)
	}
	exec, err = s.Start(ctx, arn, "run-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Wait(ctx, exec, wait); err != nil {
		t.Fatal(err)
	}
	run, err = s.History(ctx, p2, exec, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = run.StepStates()
	if got["incremental"] != StateSucceeded || got["full"] != StateSkipped || got["report"] != StateSkipped {
		t.Fatalf("states %v", got)
	}

	// A failing task (a Lambda that does not exist) maps back as failed;
	// a caught one runs its handler.
	for _, caught := range []bool{false, true} {
		m.Reset(t)
		m.SetConfig(t, `{"stepfunctions": {"execute_state_machine": true}}`)
		call := GoStep("call", nop).After("prepare")
		if caught {
			call.Catch("recover")
		}
		p3 := New("moto-fail", PassStep("prepare", 1), call, PassStep("after", 2).After("call"), PassStep("recover", "handled"))
		opts := &CompileOptions{Lambda: &LambdaOptions{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:missing"}}
		arn, err = s.Deploy(ctx, p3, testRole, opts)
		if err != nil {
			t.Fatal(err)
		}
		exec, err = s.Start(ctx, arn, "run-3", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, werr := s.Wait(ctx, exec, wait)
		run, err = s.History(ctx, p3, exec, opts)
		if err != nil {
			t.Fatal(err)
		}
		got = run.StepStates()
		if caught {
			if werr != nil || run.State != StateSucceeded || got["prepare"] != StateSucceeded || got["call"] != StateFailed ||
				got["recover"] != StateSucceeded || got["after"] != StateSkipped {
				t.Fatalf("caught: wait %v, run %s, states %v", werr, run.State, got)
			}
		} else {
			if !errors.Is(werr, ErrExecutionFailed) || run.State != StateFailed || got["prepare"] != StateSucceeded ||
				got["call"] != StateFailed || got["after"] != StateSkipped || run.Steps["call"].Error == nil {
				t.Fatalf("uncaught: wait %v, run %s, states %v", werr, run.State, got)
			}
		}
	}
}

func TestGlueJobOnMoto(t *testing.T) {
	t.Parallel()
	m := testaws.StartMoto(t)
	ctx := context.Background()
	cfg := m.Config(t)
	gc := glue.NewFromConfig(cfg)
	if _, err := gc.CreateJob(ctx, &glue.CreateJobInput{Name: aws.String("clean-orders"), Role: aws.String(testRole),
		Command: &gluetypes.JobCommand{Name: aws.String("glueetl"), ScriptLocation: aws.String("s3://scripts/clean.py")}}); err != nil {
		t.Fatal(err)
	}
	// Manual transitions: the run advances one state every 2 GetJobRun calls.
	m.Post(t, "/moto-api/state-manager/set-transition", `{"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 2}}`)
	t.Cleanup(func() {
		m.Post(t, "/moto-api/state-manager/unset-transition", `{"model_name": "glue::job_run"}`)
	})
	calls := 0
	g, err := NewGlue(cfg, &GlueOptions{ClientOptions: []func(*glue.Options){func(o *glue.Options) {
		o.APIOptions = append(o.APIOptions, countCalls("GetJobRun", &calls))
	}}})
	if err != nil {
		t.Fatal(err)
	}
	jr, err := g.RunJob(ctx, "clean-orders", map[string]string{"--day": "2024-05-01"}, &WaitOptions{MinDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if jr.State != "SUCCEEDED" || jr.ID == "" {
		t.Fatalf("job run %+v", jr)
	}
	if calls < 4 {
		t.Fatalf("GetJobRun called %d times; the manual transitions need at least 4", calls)
	}
	// The waiter gives up after its maximum wait.
	id, err := g.StartJobRun(ctx, "clean-orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Post(t, "/moto-api/state-manager/set-transition", `{"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1000}}`)
	if _, err := g.WaitJobRun(ctx, "clean-orders", id, &WaitOptions{MinDelay: 10 * time.Millisecond, MaxWait: 100 * time.Millisecond}); !errors.Is(err, ErrWaitTimeout) {
		t.Fatalf("want ErrWaitTimeout, got %v", err)
	}
	if _, err := g.RunJob(ctx, "no-such-job", nil, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}

	// The local runner runs a Glue job step through the same client.
	if _, err := gc.CreateJob(ctx, &glue.CreateJobInput{Name: aws.String("load-orders"), Role: aws.String(testRole),
		Command: &gluetypes.JobCommand{Name: aws.String("glueetl"), ScriptLocation: aws.String("s3://scripts/load.py")}}); err != nil {
		t.Fatal(err)
	}
	m.Post(t, "/moto-api/state-manager/set-transition", `{"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1}}`)
	g, err = NewGlue(cfg, &GlueOptions{Wait: WaitOptions{MinDelay: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newRunner(t, &RunnerOptions{Glue: g})
	run, err := r.Run(ctx, New("glue-local", GlueJobStep("clean", "load-orders", nil)), nil)
	if err != nil || !strings.Contains(string(run.Steps["clean"].Output), `"JobRunState":"SUCCEEDED"`) {
		t.Fatalf("%v %s", err, run.Steps["clean"].Output)
	}
}

func TestCrawlerOnMoto(t *testing.T) {
	t.Parallel()
	m := testaws.StartMoto(t)
	ctx := context.Background()
	cfg := m.Config(t)
	gc := glue.NewFromConfig(cfg)
	if _, err := gc.CreateCrawler(ctx, &glue.CreateCrawlerInput{Name: aws.String("raw-crawler"), Role: aws.String(testRole),
		DatabaseName: aws.String("raw"), Targets: &gluetypes.CrawlerTargets{S3Targets: []gluetypes.S3Target{{Path: aws.String("s3://lake/raw/")}}}}); err != nil {
		t.Fatal(err)
	}
	// moto advances crawls by time when GetCrawler polls them (manual ticks
	// only count ListCrawls calls).
	m.Post(t, "/moto-api/state-manager/set-transition", `{"model_name": "glue::crawl", "transition": {"progression": "time", "seconds": 1}}`)
	t.Cleanup(func() { m.Post(t, "/moto-api/state-manager/unset-transition", `{"model_name": "glue::crawl"}`) })
	g, err := NewGlue(cfg, &GlueOptions{Wait: WaitOptions{MinDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxWait: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if started, err := g.StartCrawler(ctx, "raw-crawler"); err != nil || !started {
		t.Fatalf("StartCrawler = %v, %v; want true, nil", started, err)
	}
	state, _, err := g.CrawlerState(ctx, "raw-crawler")
	if err != nil || state != "RUNNING" {
		t.Fatalf("state %q %v", state, err)
	}
	// Starting a running crawler is not an error, and says it started nothing.
	if started, err := g.StartCrawler(ctx, "raw-crawler"); err != nil || started {
		t.Fatalf("starting a running crawler: %v, %v; want false, nil", started, err)
	}
	last, err := g.WaitCrawler(ctx, "raw-crawler", nil)
	if err != nil {
		t.Fatalf("wait: %v (last %q)", err, last)
	}
	state, _, _ = g.CrawlerState(ctx, "raw-crawler")
	if state != "READY" {
		t.Fatalf("after wait: %s", state)
	}

	// The local runner runs a crawler step and waits for it.
	r, _ := newRunner(t, &RunnerOptions{Glue: g})
	run, err := r.Run(ctx, New("crawl-local", CrawlerStep("discover", "raw-crawler"), PassStep("done", true).After("discover")), nil)
	if err != nil || run.StepStates()["done"] != StateSucceeded || !strings.Contains(string(run.Steps["discover"].Output), `"Crawler":"raw-crawler"`) {
		t.Fatalf("%v %v %s", err, run.StepStates(), run.Steps["discover"].Output)
	}
	if _, err := r.Run(ctx, New("crawl-missing", CrawlerStep("discover", "nope")), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown crawler: %v", err)
	}
}
