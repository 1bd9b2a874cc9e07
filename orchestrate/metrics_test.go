package orchestrate_test

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/lakekit/lakekit/internal/metrictest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/orchestrate"
)

// A two-step pipeline whose second step is retried once, and a pipeline
// whose step fails: durations, retries and failures reach the lake's meter
// provider with the steps' names and the failure's error name.
func TestMetricsOfPipelineSteps(t *testing.T) {
	ctx := context.Background()
	rec := metrictest.New(t)
	lk, err := lake.New(lake.NewStore(memstore.New()), &lake.Options{MeterProvider: rec.Provider})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	r, err := orchestrate.NewRunner(lk, nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	etl := orchestrate.New("etl",
		orchestrate.GoStep("extract", func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
			return orchestrate.Output(`"ok"`), nil
		}),
		orchestrate.GoStep("load", func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
			if calls.Add(1) == 1 {
				return nil, orchestrate.NewError("Throttled", errors.New("slow down"))
			}
			return orchestrate.Output(`"loaded"`), nil
		}).After("extract").Retry(orchestrate.RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: time.Millisecond, MaxAttempts: 2}))
	run, err := r.Run(ctx, etl, nil)
	if err != nil {
		t.Fatal(err)
	}
	broken := orchestrate.New("broken", orchestrate.GoStep("bad", func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
		return nil, orchestrate.NewError("Boom", errors.New("no"))
	}))
	if _, err := r.Run(ctx, broken, nil); !errors.Is(err, orchestrate.ErrStepFailed) {
		t.Fatalf("broken run: %v, want ErrStepFailed", err)
	}

	m := rec.Collect(t)
	pipe := func(p string) attribute.KeyValue { return attribute.String("lakekit.pipeline", p) }
	step := func(s string) attribute.KeyValue { return attribute.String("lakekit.step", s) }
	if n := m.Int(orchestrate.MetricStepRetries, pipe("etl"), step("load")); n != 1 {
		t.Errorf("retries of etl/load = %d, want 1", n)
	}
	if n := m.Int(orchestrate.MetricStepFailures, pipe("etl")); n != 0 {
		t.Errorf("failures of etl = %d, want 0", n)
	}
	if n := m.Int(orchestrate.MetricStepFailures, pipe("broken"), step("bad"), attribute.String("error.type", "Boom"), attribute.String("lakekit.step.caught", "false")); n != 1 {
		t.Errorf("failures of broken/bad = %d, want 1", n)
	}
	var want float64
	for _, sr := range run.Steps {
		want += sr.Ended.Sub(sr.Started).Seconds()
	}
	n, sum := m.Count(orchestrate.MetricStepDuration, pipe("etl"), attribute.String("lakekit.step.state", "succeeded"))
	if n != 2 || math.Abs(sum-want) > 1e-9 {
		t.Errorf("etl step durations: %d measurements summing %vs, want 2 summing %vs", n, sum, want)
	}
	if n, _ := m.Count(orchestrate.MetricStepDuration, pipe("broken"), attribute.String("lakekit.step.state", "failed")); n != 1 {
		t.Errorf("broken step durations: %d measurements, want 1", n)
	}
	if u := m.Unit(orchestrate.MetricStepDuration); u != "s" {
		t.Errorf("duration unit %q, want s", u)
	}
}
