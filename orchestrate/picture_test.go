package orchestrate

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// picturePipeline has every edge kind: dependencies, a choice, a catch,
// a Map and a Parallel step with branches.
func picturePipeline(fail bool) *Pipeline {
	load := func(ctx context.Context, in Input) (Output, error) {
		if fail {
			return nil, errors.New("warehouse down")
		}
		return Output(`"loaded"`), nil
	}
	return New("nightly",
		GoStep("list", func(ctx context.Context, in Input) (Output, error) {
			return Output(`{"parts":["a","b"],"rows":2}`), nil
		}),
		MapStep("clean", "list", "parts", nop).MaxConcurrency(4),
		ChoiceStep("any-rows", "", Rule{Step: "list", Field: "rows", Op: NumericGreaterThan, Value: 0, Next: "publish"}),
		ParallelStep("publish", New("to-athena", GoStep("load", load).Catch("notify"), GoStep("notify", nop)), New("to-crawler", WaitStep("settle", time.Millisecond), CrawlerStep("crawl", "curated").After("settle"))).After("clean"),
		GoStep("report", nop).After("publish"),
	)
}

func TestPictures(t *testing.T) {
	p := picturePipeline(false)
	m, err := Mermaid(p)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "nightly.mmd", m)
	d, err := DOT(p)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "nightly.dot", d)
}

func TestRunPictures(t *testing.T) {
	// A run where the load fails and its handler runs: states differ per step.
	p := New("colours",
		GoStep("extract", nop),
		GoStep("load", func(ctx context.Context, in Input) (Output, error) { return nil, errors.New("down") }).After("extract").Catch("notify"),
		GoStep("publish", nop).After("load"),
		GoStep("notify", nop),
	)
	r, _ := newRunner(t, nil)
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	run.Steps["notify"].State = StateRunning // as a picture taken mid-run would show it
	m, err := MermaidRun(p, run)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "run.mmd", m)
	d, err := DOTRun(p, run)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "run.dot", d)
	for _, want := range []string{"class s0 succeeded", "class s1 failed", "class s3 running", "class s2 skipped"} {
		if !strings.Contains(m, want) {
			t.Errorf("mermaid lacks %q", want)
		}
	}
	if !strings.Contains(d, `fillcolor="#f4a6a6"`) {
		t.Error("DOT has no failed colour")
	}
}
