package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
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

// Error names beginning with "States." are reserved for Step Functions: a
// worker reports a failure with a lakekit name (its own NewError name, or
// Lakekit.StepFailed), never States.TaskFailed or another States.* name.
// The local runner names a failed step the same way, and States.TaskFailed
// still matches it.
func TestWorkerFidelityErrorNames(t *testing.T) {
	p := New("names",
		GoStep("plain", func(ctx context.Context, in Input) (Output, error) { return nil, errors.New("boom") }),
		GoStep("reserved", func(ctx context.Context, in Input) (Output, error) {
			return nil, NewError(ErrorTimeout, errors.New("not really"))
		}),
		GoStep("custom", func(ctx context.Context, in Input) (Output, error) {
			return nil, NewError("BadData", errors.New("row 3"))
		}))
	w := NewWorker(p)
	rec := &tokenRecorder{}
	w.Tokens, w.Stdout = rec, &strings.Builder{}
	for step, want := range map[string]string{"plain": ErrorStepFailed, "reserved": ErrorStepFailed, "custom": "BadData"} {
		*rec = tokenRecorder{}
		env := []string{EnvPipeline + "=names", EnvStep + "=" + step, EnvTaskToken + "=tt", EnvState + `={"params":{}}`}
		if err := w.Run(context.Background(), nil, env); err == nil {
			t.Fatalf("%s: no error", step)
		}
		if rec.errName != want || strings.HasPrefix(rec.errName, "States.") {
			t.Errorf("%s: reported as %q, want %q", step, rec.errName, want)
		}
	}
	if ErrorName(errors.New("x")) != ErrorStepFailed || !matchError([]string{ErrorTaskFailed}, ErrorStepFailed) {
		t.Errorf("ErrorName of an unnamed error: %q", ErrorName(errors.New("x")))
	}
	r, _ := newRunner(t, nil)
	run, _ := r.Run(context.Background(), New("local", GoStep("plain", func(ctx context.Context, in Input) (Output, error) {
		return nil, errors.New("boom")
	}).Catch("h", ErrorStepFailed), GoStep("h", nop)), nil)
	if run == nil || run.Steps["plain"].Error == nil || run.Steps["plain"].Error.Name != ErrorStepFailed || run.Steps["h"].State != StateSucceeded {
		t.Fatalf("local run: %+v", run)
	}
}

// Lambda tasks retry Lambda's transient service errors, as the Step
// Functions best practice says ("Handle Lambda service exceptions":
// IntervalSeconds 2, MaxAttempts 6, BackoffRate 2), before the step's own
// retry policies (so a States.ALL policy stays last); ECS tasks do not.
func TestCompileFidelityLambdaServiceRetry(t *testing.T) {
	p := New("lam", GoStep("a", nop), GoStep("b", nop).After("a").Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}, MaxAttempts: 1}),
		PassStep("list", []int{1, 2}), MapStep("m", "list", "", nop))
	def, err := Compile(p, lambdaOpts)
	if err != nil {
		t.Fatal(err)
	}
	var d aslDef
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	tasks := map[string]aslState{"a": d.States["a"], "b": d.States["b"], "item:m": d.States["m"].ItemProcessor.States["item:m"]}
	for name, st := range tasks {
		if len(st.Retry) == 0 {
			t.Errorf("%s: no Retry", name)
			continue
		}
		r := st.Retry[0]
		for _, e := range []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"} {
			if !slices.Contains(r.ErrorEquals, e) {
				t.Errorf("%s: first retrier %v lacks %s", name, r.ErrorEquals, e)
			}
		}
		if r.IntervalSeconds != 2 || r.MaxAttempts != 6 || r.BackoffRate != 2 {
			t.Errorf("%s: first retrier %+v", name, r)
		}
	}
	if b := tasks["b"].Retry; len(b) != 2 || b[1].ErrorEquals[0] != ErrorAll {
		t.Errorf("b: retriers %+v, want the Lambda one then States.ALL", b)
	}
	ecs, err := Compile(p, ecsOpts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ecs), "Lambda.") {
		t.Errorf("ECS definition retries Lambda errors")
	}
	lintASL(t, map[string][]byte{"lambda-retry": def, "ecs": ecs})
}
