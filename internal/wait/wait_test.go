package wait_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/internal/wait"
)

func TestDefaults(t *testing.T) {
	want := wait.Options{MinDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, MaxWait: time.Hour}
	if got := (wait.Options{}).WithDefaults(); got != want {
		t.Errorf("zero Options with defaults = %+v, want %+v", got, want)
	}
	if got := wait.Or(nil); got != want {
		t.Errorf("Or(nil) = %+v, want %+v", got, want)
	}
	if got := (wait.Options{MinDelay: -1, MaxDelay: -1, MaxWait: -1}).WithDefaults(); got != want {
		t.Errorf("negative Options with defaults = %+v, want %+v", got, want)
	}
	got := wait.Or(&wait.Options{MinDelay: 2 * time.Second, MaxDelay: time.Second})
	if got.MinDelay != 2*time.Second || got.MaxDelay != 2*time.Second || got.MaxWait != time.Hour {
		t.Errorf("MaxDelay below MinDelay: %+v, want MaxDelay raised to MinDelay", got)
	}
}

// TestDelayBounds: every delay lies in [MinDelay, MaxDelay], the delay
// before check n+1 is at most MinDelay + MinDelay·2^(n-1), and the delays
// do grow towards MaxDelay (with jitter: not all the same).
func TestDelayBounds(t *testing.T) {
	o := wait.Options{MinDelay: 10 * time.Millisecond, MaxDelay: 640 * time.Millisecond}
	for attempt := 1; attempt <= 20; attempt++ {
		ceil := min(o.MinDelay+o.MinDelay<<(attempt-1), o.MaxDelay)
		seen := map[time.Duration]bool{}
		var top time.Duration
		for range 500 {
			d := o.Delay(attempt)
			if d < o.MinDelay || d > ceil {
				t.Fatalf("Delay(%d) = %v outside [%v, %v]", attempt, d, o.MinDelay, ceil)
			}
			seen[d] = true
			top = max(top, d)
		}
		if len(seen) < 10 {
			t.Errorf("Delay(%d) took only %d values in 500 draws: no jitter", attempt, len(seen))
		}
		if attempt >= 8 && top < o.MaxDelay/2 {
			t.Errorf("Delay(%d) never above %v: the backoff does not grow to MaxDelay", attempt, top)
		}
	}
	if d := (wait.Options{MinDelay: time.Second, MaxDelay: time.Second}).Delay(5); d != time.Second {
		t.Errorf("MinDelay = MaxDelay = 1s: Delay = %v", d)
	}
	if d := (wait.Options{}).Delay(0); d < wait.DefaultMinDelay || d > wait.DefaultMaxDelay {
		t.Errorf("default Delay = %v", d)
	}
}

func TestUntilDone(t *testing.T) {
	calls := 0
	start := time.Now()
	w := wait.Waiter{Options: wait.Options{MinDelay: 20 * time.Millisecond, MaxDelay: 40 * time.Millisecond}, What: "thing"}
	err := w.Until(context.Background(), func(ctx context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("%d checks, want 3", calls)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("3 checks in %v: two delays of at least MinDelay (20ms) were not honoured", d)
	}
}

func TestUntilCheckError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	err := wait.Waiter{Options: wait.Options{MinDelay: time.Millisecond}}.Until(context.Background(), func(context.Context) (bool, error) {
		calls++
		if calls == 2 {
			return false, boom
		}
		return false, nil
	})
	if err != boom || calls != 2 {
		t.Fatalf("err %v after %d checks, want boom after 2", err, calls)
	}
	var te *wait.TimeoutError
	if errors.As(err, &te) {
		t.Fatal("a check's error reported as a timeout")
	}
}

var errPkgTimeout = errors.New("pkg: wait timed out")

// TestUntilMaxWait: a wait that never finishes gives up at MaxWait, after a
// last check at the deadline, with a TimeoutError that says what and how
// long and matches ErrTimeout and the caller's sentinel, not the context's.
func TestUntilMaxWait(t *testing.T) {
	var calls int
	var last time.Time
	start := time.Now()
	w := wait.Waiter{
		Options: wait.Options{MinDelay: 10 * time.Millisecond, MaxDelay: 30 * time.Millisecond, MaxWait: 200 * time.Millisecond},
		What:    "glue crawler raw-orders",
		Timeout: errPkgTimeout,
	}
	err := w.Until(context.Background(), func(context.Context) (bool, error) {
		calls++
		last = time.Now()
		return false, nil
	})
	took := time.Since(start)
	if !errors.Is(err, wait.ErrTimeout) || !errors.Is(err, errPkgTimeout) {
		t.Fatalf("err = %v, want ErrTimeout and the package sentinel", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Errorf("a MaxWait timeout matches a context error: %v", err)
	}
	var te *wait.TimeoutError
	if !errors.As(err, &te) || te.What != "glue crawler raw-orders" || te.MaxWait != 200*time.Millisecond || te.Checks != calls {
		t.Fatalf("TimeoutError %+v (calls %d)", te, calls)
	}
	for _, s := range []string{"glue crawler raw-orders", "200ms", errPkgTimeout.Error()} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if took < 200*time.Millisecond || took > 2*time.Second {
		t.Errorf("MaxWait 200ms gave up after %v", took)
	}
	if last.Sub(start) < 200*time.Millisecond {
		t.Errorf("last check %v after the start: no check at the deadline", last.Sub(start))
	}
	if calls < 4 || calls > 25 {
		t.Errorf("%d checks in 200ms with delays of 10–30ms", calls)
	}
	if err := (wait.Waiter{Options: wait.Options{MinDelay: time.Millisecond, MaxWait: 5 * time.Millisecond}}).Until(context.Background(),
		func(context.Context) (bool, error) { return false, nil }); !errors.Is(err, wait.ErrTimeout) {
		t.Errorf("no sentinel: %v", err)
	}
}

// TestUntilContext: the context ends a wait at once, during a delay or
// before the first check, with an error wrapping the context's.
func TestUntilContext(t *testing.T) {
	w := wait.Waiter{Options: wait.Options{MinDelay: time.Minute}, What: "execution arn:x", Timeout: errPkgTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	start := time.Now()
	time.AfterFunc(50*time.Millisecond, cancel)
	err := w.Until(ctx, func(context.Context) (bool, error) { calls++; return false, nil })
	if !errors.Is(err, context.Canceled) || errors.Is(err, wait.ErrTimeout) || errors.Is(err, errPkgTimeout) {
		t.Fatalf("err = %v, want context.Canceled only", err)
	}
	if !strings.Contains(err.Error(), "execution arn:x") {
		t.Errorf("error %q does not say what was waited for", err)
	}
	if d := time.Since(start); d > 5*time.Second || calls != 1 {
		t.Errorf("cancel took %v after %d checks", d, calls)
	}

	calls = 0
	if err := w.Until(ctx, func(context.Context) (bool, error) { calls++; return true, nil }); !errors.Is(err, context.Canceled) || calls != 0 {
		t.Errorf("ended context: %v after %d checks, want Canceled and no check", err, calls)
	}

	// a context deadline before MaxWait is the caller's deadline, not a timeout
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	w.Options = wait.Options{MinDelay: 5 * time.Millisecond, MaxWait: time.Hour}
	err = w.Until(dctx, func(ctx context.Context) (bool, error) {
		if ctx != dctx {
			t.Error("check did not get the waiter's context")
		}
		return false, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, wait.ErrTimeout) {
		t.Errorf("context deadline: %v", err)
	}
}
