package orchestrate

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

// Step Functions refuses a definition where States.ALL shares an
// ErrorEquals with other names or is not in the last retrier or catcher;
// Validate (and so Compile) refuses the pipeline, naming the step. The
// accepted shapes compile to definitions both linters accept.
func TestValidateFidelityStatesALLAloneAndLast(t *testing.T) {
	refused := map[string]*Pipeline{
		"retry with others": New("p", GoStep("a", nop).Retry(RetryPolicy{ErrorEquals: []string{ErrorAll, "Throttled"}})),
		"retry not last": New("p", GoStep("a", nop).Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}}).
			Retry(RetryPolicy{ErrorEquals: []string{"Throttled"}})),
		"catch with others": New("p", GoStep("a", nop).Catch("h", ErrorTaskFailed, ErrorAll), GoStep("h", nop)),
		"catch not last":    New("p", GoStep("a", nop).Catch("h", ErrorAll).Catch("h2", "BadData"), GoStep("h", nop), GoStep("h2", nop)),
		"map catch not last": New("p", PassStep("l", []int{1}), MapStep("m", "l", "", nop).Catch("h").Catch("h2", "X"),
			GoStep("h", nop), GoStep("h2", nop)),
		"in a branch": New("p", ParallelStep("par", New("b", GoStep("a", nop).
			Retry(RetryPolicy{ErrorEquals: []string{"X", ErrorAll}})))),
	}
	for name, p := range refused {
		err := p.Validate()
		if !errors.Is(err, ErrInvalidPipeline) || !strings.Contains(err.Error(), ErrorAll) || !strings.Contains(err.Error(), `step "`) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Compile(p, lambdaOpts); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
	accepted := New("ok", GoStep("a", nop).Retry(RetryPolicy{ErrorEquals: []string{"Throttled", "BadData"}}).
		Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}}).Catch("h", "BadData").Catch("h2"),
		GoStep("h", nop), GoStep("h2", nop))
	def, err := Compile(accepted, lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	lintASL(t, map[string][]byte{"states-all-last": def})
}

// A Choice over a missing field raises States.Runtime; on AWS that fails
// the execution: States.ALL (and any other matcher) on an enclosing
// Parallel neither retries nor catches it. The local runner does the same.
func TestRunnerFidelityStatesALLDoesNotCatchRuntime(t *testing.T) {
	r, _ := newRunner(t, nil)
	var handled atomic.Bool
	p := New("rt", ParallelStep("par", New("b",
		PassStep("cfg", map[string]string{"mode": "full"}),
		ChoiceStep("route", "x", Rule{Step: "cfg", Field: "missing", Op: StringEquals, Value: "full", Next: "y"}),
		PassStep("x", 1), PassStep("y", 2))).Catch("h"),
		GoStep("h", func(ctx context.Context, in Input) (Output, error) { handled.Store(true); return nil, nil }))
	run, err := r.Run(context.Background(), p, nil)
	if err == nil || handled.Load() {
		t.Fatalf("States.Runtime was caught by States.ALL: err %v, handler ran %v", err, handled.Load())
	}
	if run.Steps["route"].Error == nil || run.Steps["route"].Error.Name != ErrorRuntime {
		t.Fatalf("route error %+v", run.Steps["route"].Error)
	}
	for _, m := range [][]string{{ErrorAll}, {ErrorTaskFailed}, {ErrorRuntime}} {
		if matchError(m, ErrorRuntime) {
			t.Errorf("%v matches States.Runtime", m)
		}
	}
}
