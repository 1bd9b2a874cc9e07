package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
)

func newRunner(t *testing.T, opts *RunnerOptions) (*Runner, *lake.Lake) {
	t.Helper()
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	r, err := NewRunner(lk, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, lk
}

func TestRetryWithBackoff(t *testing.T) {
	r, _ := newRunner(t, nil)
	var calls atomic.Int32
	var times []time.Time
	flaky := func(ctx context.Context, in Input) (Output, error) {
		times = append(times, time.Now())
		if calls.Add(1) < 4 {
			return nil, NewError("Throttled", errors.New("slow down"))
		}
		return Output(`"done"`), nil
	}
	p := New("retry", GoStep("flaky", flaky).Retry(RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: 10 * time.Millisecond, BackoffRate: 2, MaxAttempts: 3}))
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 || len(run.Steps["flaky"].Attempts) != 4 {
		t.Fatalf("calls %d, attempts recorded %d; want 4", calls.Load(), len(run.Steps["flaky"].Attempts))
	}
	// Backoff: gaps of about 10, 20, 40 ms.
	for i, want := range []time.Duration{10, 20, 40} {
		gap := times[i+1].Sub(times[i])
		if gap < want*time.Millisecond {
			t.Errorf("gap %d = %v, want >= %v ms", i, gap, want)
		}
	}
	if times[3].Sub(times[2]) <= times[1].Sub(times[0]) {
		t.Errorf("no backoff: gaps %v then %v", times[1].Sub(times[0]), times[3].Sub(times[2]))
	}

	// Exhausted retries fail the run; errors the policy does not match are not retried.
	calls.Store(0)
	p = New("retry-out", GoStep("flaky", func(ctx context.Context, in Input) (Output, error) {
		calls.Add(1)
		return nil, NewError("Throttled", errors.New("always"))
	}).Retry(RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: time.Millisecond, MaxAttempts: 2}))
	run, err = r.Run(context.Background(), p, nil)
	if !errors.Is(err, ErrRunFailed) || !errors.Is(err, ErrStepFailed) || calls.Load() != 3 {
		t.Fatalf("err %v calls %d; want a failed run after 3 calls", err, calls.Load())
	}
	if run.Steps["flaky"].Error.Name != "Throttled" {
		t.Fatalf("recorded error %+v", run.Steps["flaky"].Error)
	}
	calls.Store(0)
	p = New("retry-nomatch", GoStep("flaky", func(ctx context.Context, in Input) (Output, error) {
		calls.Add(1)
		return nil, errors.New("plain")
	}).Retry(RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: time.Millisecond}))
	if _, err := r.Run(context.Background(), p, nil); err == nil || calls.Load() != 1 {
		t.Fatalf("unmatched error retried: calls %d err %v", calls.Load(), err)
	}
}

func TestCatchRoutesToHandler(t *testing.T) {
	r, _ := newRunner(t, nil)
	var got *StepError
	var after atomic.Bool
	p := New("catch",
		GoStep("load", func(ctx context.Context, in Input) (Output, error) {
			return nil, NewError("BadData", errors.New("row 7 is malformed"))
		}).Catch("quarantine", "BadData"),
		GoStep("publish", func(ctx context.Context, in Input) (Output, error) { after.Store(true); return nil, nil }).After("load"),
		GoStep("quarantine", func(ctx context.Context, in Input) (Output, error) {
			got = in.Error
			return Output(`{"quarantined":1}`), nil
		}),
	)
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("a caught failure failed the run: %v", err)
	}
	if got == nil || got.Step != "load" || got.Name != "BadData" || !strings.Contains(got.Cause, "row 7") {
		t.Fatalf("handler got %+v", got)
	}
	st := run.StepStates()
	if st["load"] != StateFailed || st["quarantine"] != StateSucceeded || st["publish"] != StateSkipped || after.Load() {
		t.Fatalf("states %v", st)
	}
	if run.Steps["load"].CaughtBy != "quarantine" {
		t.Fatalf("CaughtBy %q", run.Steps["load"].CaughtBy)
	}

	// A catch that does not match lets the run fail; the handler is skipped.
	p = New("catch-miss",
		GoStep("load", func(ctx context.Context, in Input) (Output, error) { return nil, errors.New("boom") }).Catch("h", "BadData"),
		GoStep("h", nop))
	run, err = r.Run(context.Background(), p, nil)
	if !errors.Is(err, ErrRunFailed) || run.StepStates()["h"] != StateSkipped {
		t.Fatalf("err %v states %v", err, run.StepStates())
	}
}

func TestTimeoutCancels(t *testing.T) {
	r, _ := newRunner(t, nil)
	var cancelled atomic.Bool
	p := New("timeout", GoStep("slow", func(ctx context.Context, in Input) (Output, error) {
		select {
		case <-ctx.Done():
			cancelled.Store(true)
			return nil, ctx.Err()
		case <-time.After(5 * time.Second):
			return nil, nil
		}
	}).WithTimeout(30*time.Millisecond).Catch("onTimeout", ErrorTimeout), GoStep("onTimeout", nop))
	start := time.Now()
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	if !cancelled.Load() || run.Steps["slow"].Error.Name != ErrorTimeout || run.StepStates()["onTimeout"] != StateSucceeded {
		t.Fatalf("cancelled %v, step %+v", cancelled.Load(), run.Steps["slow"].Error)
	}
	// States.TaskFailed does not match a timeout.
	if matchError([]string{ErrorTaskFailed}, ErrorTimeout) || !matchError([]string{ErrorAll}, ErrorTimeout) {
		t.Fatal("matcher rules")
	}
}

func TestContextCancelStopsRun(t *testing.T) {
	r, _ := newRunner(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var second atomic.Bool
	p := New("cancel", GoStep("a", func(ctx context.Context, in Input) (Output, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}).Retry(RetryPolicy{ErrorEquals: []string{ErrorAll}, Interval: time.Hour}),
		GoStep("b", func(ctx context.Context, in Input) (Output, error) { second.Store(true); return nil, nil }).After("a"))
	run, err := r.Run(ctx, p, nil)
	if !errors.Is(err, context.Canceled) || second.Load() {
		t.Fatalf("err %v, b ran %v", err, second.Load())
	}
	if run.State != StateFailed {
		t.Fatalf("run state %s", run.State)
	}
}

func TestMapConcurrency(t *testing.T) {
	r, _ := newRunner(t, &RunnerOptions{Parallelism: 8})
	var cur, peak, total atomic.Int32
	list := func(ctx context.Context, in Input) (Output, error) {
		parts := make([]string, 100)
		for i := range parts {
			parts[i] = fmt.Sprintf("day=2024-05-%03d", i)
		}
		return json.Marshal(map[string]any{"partitions": parts})
	}
	work := func(ctx context.Context, in Input) (Output, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		cur.Add(-1)
		total.Add(1)
		var part string
		in.Value(&part)
		return json.Marshal(part + " done")
	}
	p := New("fanout", GoStep("list", list), MapStep("each", "list", "partitions", work).MaxConcurrency(4))
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if total.Load() != 100 || peak.Load() > 4 || peak.Load() < 2 {
		t.Fatalf("ran %d items, peak concurrency %d; want 100 items, at most 4 at once", total.Load(), peak.Load())
	}
	var outs []string
	json.Unmarshal(run.Steps["each"].Output, &outs)
	if len(outs) != 100 || outs[42] != "day=2024-05-042 done" || run.Steps["each"].Items != 100 {
		t.Fatalf("outputs %d, [42]=%q", len(outs), outs[42])
	}
}

func TestResumeRunsOnlyRemaining(t *testing.T) {
	r, _ := newRunner(t, nil)
	calls := map[string]*atomic.Int32{"extract": {}, "clean": {}, "side": {}, "load": {}}
	var broken atomic.Bool
	broken.Store(true)
	step := func(name string) Func {
		return func(ctx context.Context, in Input) (Output, error) {
			calls[name].Add(1)
			if name == "load" && broken.Load() {
				return nil, errors.New("warehouse down")
			}
			return json.Marshal(name)
		}
	}
	p := New("resume", GoStep("extract", step("extract")), GoStep("clean", step("clean")).After("extract"),
		GoStep("side", step("side")).After("extract"), GoStep("load", step("load")).After("clean"))
	run, err := r.Run(context.Background(), p, map[string]string{"day": "2024-05-01"})
	if !errors.Is(err, ErrRunFailed) || !strings.Contains(err.Error(), `"load"`) {
		t.Fatalf("first run: %v", err)
	}
	saved, err := r.LoadRun(context.Background(), "resume", run.ID)
	if err != nil || saved.State != StateFailed || saved.Steps["load"].State != StateFailed || saved.Steps["clean"].State != StateSucceeded {
		t.Fatalf("recorded run %+v, %v", saved, err)
	}
	broken.Store(false)
	run2, err := r.Resume(context.Background(), p, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int32{"extract": 1, "clean": 1, "side": 1, "load": 2} {
		if got := calls[name].Load(); got != want {
			t.Errorf("%s ran %d times, want %d", name, got, want)
		}
	}
	if run2.ID != run.ID || run2.State != StateSucceeded || run2.Resumes != 1 || len(run2.Steps["load"].Attempts) != 2 {
		t.Fatalf("resumed run %+v", run2)
	}
	ids, _ := r.Runs(context.Background(), "resume")
	if len(ids) != 1 || ids[0] != run.ID {
		t.Fatalf("runs %v", ids)
	}
	if _, err := r.Resume(context.Background(), p, "nope"); !errors.Is(err, ErrNoSuchRun) {
		t.Fatalf("unknown run: %v", err)
	}
}

func TestChoiceAndParallel(t *testing.T) {
	r, _ := newRunner(t, nil)
	var inputs atomic.Value
	p := New("branching",
		GoStep("count", Typed(func(ctx context.Context, in struct{ Rows int }) (map[string]int, error) {
			return map[string]int{"rows": in.Rows}, nil
		})),
		ChoiceStep("enough", "skip", Rule{Step: "count", Field: "rows", Op: NumericGreaterThan, Value: 0, Next: "both"}),
		ParallelStep("both", New("l", PassStep("left", "L")), New("r", PassStep("right", "R"))),
		GoStep("report", func(ctx context.Context, in Input) (Output, error) {
			inputs.Store(string(in.Deps["both"]))
			return nil, nil
		}).After("both"),
		PassStep("skip", "nothing to do"),
	)
	run, err := r.Run(context.Background(), p, map[string]int{"Rows": 5})
	if err != nil {
		t.Fatal(err)
	}
	st := run.StepStates()
	if st["both"] != StateSucceeded || st["left"] != StateSucceeded || st["report"] != StateSucceeded || st["skip"] != StateSkipped {
		t.Fatalf("states %v", st)
	}
	if got := inputs.Load(); got != `[{"left":"L"},{"right":"R"}]` {
		t.Fatalf("report got %v", got)
	}
	run, err = r.Run(context.Background(), p, map[string]int{"Rows": 0})
	if err != nil {
		t.Fatal(err)
	}
	st = run.StepStates()
	if st["skip"] != StateSucceeded || st["both"] != StateSkipped || st["left"] != StateSkipped || st["report"] != StateSkipped {
		t.Fatalf("states %v", st)
	}
}

func TestSQLStepUsesRunner(t *testing.T) {
	r, _ := newRunner(t, &RunnerOptions{SQL: sqlFunc(func(ctx context.Context, q string, params ...any) (json.RawMessage, error) {
		return json.Marshal(map[string]any{"sql": q, "params": params})
	})})
	run, err := r.Run(context.Background(), New("sql", SQLStep("q", "SELECT ?", "1")), nil)
	if err != nil || string(run.Steps["q"].Output) != `{"params":["1"],"sql":"SELECT ?"}` {
		t.Fatalf("%v %s", err, run.Steps["q"].Output)
	}
	r2, _ := newRunner(t, nil)
	if _, err := r2.Run(context.Background(), New("sql", SQLStep("q", "SELECT 1")), nil); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("no SQL runner: %v", err)
	}
}

type sqlFunc func(ctx context.Context, q string, params ...any) (json.RawMessage, error)

func (f sqlFunc) ExecSQL(ctx context.Context, q string, params ...any) (json.RawMessage, error) {
	return f(ctx, q, params...)
}

func TestRetryDelay(t *testing.T) {
	rp := RetryPolicy{Interval: 100 * time.Millisecond, BackoffRate: 3, MaxDelay: time.Second}.norm()
	for i, want := range []time.Duration{100, 300, 900, 1000, 1000} {
		if got := retryDelay(rp, i); got != want*time.Millisecond {
			t.Errorf("retry %d: %v, want %v ms", i, got, want)
		}
	}
	rp.Jitter = true
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		d := retryDelay(rp, 1)
		if d < 0 || d > 300*time.Millisecond {
			t.Fatalf("jittered delay %v outside [0, 300ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Fatalf("jitter gave only %d distinct delays", len(seen))
	}
	if n := (RetryPolicy{}).norm(); n.MaxAttempts != 3 || n.Interval != time.Second || n.BackoffRate != 2 {
		t.Fatalf("defaults %+v", n)
	}
	if n := (RetryPolicy{MaxAttempts: -1}).norm(); n.MaxAttempts != 0 {
		t.Fatalf("never retry: %+v", n)
	}
}

func TestMapItemFailureCaught(t *testing.T) {
	r, _ := newRunner(t, nil)
	var tries atomic.Int32
	p := New("map-fail",
		PassStep("list", []int{1, 2, 3}),
		MapStep("each", "list", "", func(ctx context.Context, in Input) (Output, error) {
			var n int
			in.Value(&n)
			if n == 2 {
				tries.Add(1)
				return nil, NewError("BadItem", fmt.Errorf("item %d", n))
			}
			return json.Marshal(n * 10)
		}).Retry(RetryPolicy{ErrorEquals: []string{"BadItem"}, Interval: time.Millisecond, MaxAttempts: 2}).Catch("report", "BadItem"),
		GoStep("report", func(ctx context.Context, in Input) (Output, error) { return json.Marshal(in.Error) }),
	)
	run, err := r.Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tries.Load() != 3 {
		t.Errorf("failing item tried %d times, want 3 (1 + 2 retries)", tries.Load())
	}
	var se StepError
	json.Unmarshal(run.Steps["report"].Output, &se)
	if se.Step != "each" || se.Name != "BadItem" || !strings.Contains(se.Cause, "item 2") {
		t.Fatalf("handler saw %+v", se)
	}
	// Items that are not an array are refused, naming the step.
	p = New("map-bad", PassStep("list", map[string]int{"n": 1}), MapStep("each", "list", "n", nop))
	if _, err := r.Run(context.Background(), p, nil); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `"each"`) {
		t.Fatalf("got %v", err)
	}
}

// A run cut short by its context (a deploy, a crash) resumes from what it
// had recorded.
func TestResumeAfterCancel(t *testing.T) {
	r, _ := newRunner(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var aRuns, bRuns atomic.Int32
	p := New("cut",
		GoStep("a", func(ctx context.Context, in Input) (Output, error) { aRuns.Add(1); return Output(`"a"`), nil }),
		GoStep("b", func(ctx context.Context, in Input) (Output, error) {
			if bRuns.Add(1) == 1 {
				cancel()
				<-ctx.Done()
				return nil, ctx.Err()
			}
			if string(in.Deps["a"]) != `"a"` {
				return nil, fmt.Errorf("b got %s from a", in.Deps["a"])
			}
			return nil, nil
		}).After("a"),
		GoStep("c", nop).After("b"))
	run, err := r.Run(ctx, p, nil)
	if err == nil {
		t.Fatal("cancelled run succeeded")
	}
	saved, _ := r.LoadRun(context.Background(), "cut", run.ID)
	if saved.State != StateFailed || saved.Steps["a"].State != StateSucceeded || saved.Steps["c"].State != StatePending {
		t.Fatalf("recorded %v %v", saved.State, saved.StepStates())
	}
	run, err = r.Resume(context.Background(), p, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if aRuns.Load() != 1 || bRuns.Load() != 2 || run.StepStates()["c"] != StateSucceeded {
		t.Fatalf("a ran %d, b ran %d, states %v", aRuns.Load(), bRuns.Load(), run.StepStates())
	}
}
