// Package wait is lakekit's one waiter: every loop that polls an AWS API
// until something finishes (an Athena query, a Redshift Data statement, a
// Step Functions execution, a Glue job run or crawl) runs through Waiter.Until,
// shaped like the AWS SDK's waiters: MinDelay, MaxDelay, a maximum wait,
// and the context.
//
// # Defaults
//
// A zero Options field takes the default, the same for every waiter in
// lakekit:
//
//	MinDelay  100 ms  (DefaultMinDelay)
//	MaxDelay    5 s   (DefaultMaxDelay)
//	MaxWait     1 h   (DefaultMaxWait)
//
// The public option types (query.Poll, orchestrate.WaitOptions,
// catalog.WaitOptions) are aliases of Options, so this is the one place the
// defaults are written down.
//
// # Schedule
//
// The first check is immediate. Before check n+1 the waiter sleeps a delay
// drawn uniformly from [MinDelay, MinDelay + min(MinDelay·2^(n-1),
// MaxDelay-MinDelay)) — jittered exponential backoff from internal/backoff,
// never below MinDelay and never above MaxDelay — cut short so the last
// check happens when MaxWait runs out.
//
// # Errors
//
// A wait that runs out of MaxWait returns a *TimeoutError naming what was
// waited for, for how long and how often it was checked; it matches
// ErrTimeout and the caller package's own sentinel (Waiter.Timeout) with
// errors.Is. It does not match context.DeadlineExceeded: that means the
// caller's context ended, which the waiter reports by wrapping ctx.Err().
// An error from the check itself is returned as it is.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakekit/lakekit/internal/backoff"
)

// The defaults of a zero Options field (see the package doc).
const (
	DefaultMinDelay = 100 * time.Millisecond
	DefaultMaxDelay = 5 * time.Second
	DefaultMaxWait  = time.Hour
)

// Options shape a waiter, like the AWS SDK's waiter options: the first
// check is immediate, later ones come after a jittered delay that grows
// exponentially from MinDelay up to MaxDelay, and the waiter gives up once
// MaxWait has passed (the context can end it sooner). Zero (or negative)
// fields take the defaults: MinDelay 100 ms, MaxDelay 5 s, MaxWait 1 h; a
// nil *Options means all three. A MaxDelay below MinDelay is raised to it.
type Options struct {
	MinDelay time.Duration
	MaxDelay time.Duration
	MaxWait  time.Duration
}

// WithDefaults returns o with its zero fields set to the defaults and
// MaxDelay raised to MinDelay when it was below it.
func (o Options) WithDefaults() Options {
	if o.MinDelay <= 0 {
		o.MinDelay = DefaultMinDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	o.MaxDelay = max(o.MaxDelay, o.MinDelay)
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	return o
}

// Or returns *o with defaults, or the defaults when o is nil.
func Or(o *Options) Options {
	if o == nil {
		return Options{}.WithDefaults()
	}
	return o.WithDefaults()
}

// Delay is the pause before check attempt+1 (attempt ≥ 1 checks done), in
// [MinDelay, MaxDelay] of the options with defaults applied.
func (o Options) Delay(attempt int) time.Duration {
	o = o.WithDefaults()
	span := min(o.MaxDelay-o.MinDelay, 1<<62) // doubling stays below overflow
	if span <= 0 {
		return o.MinDelay
	}
	return o.MinDelay + backoff.Full(max(attempt, 1), min(o.MinDelay, span), span)
}

// ErrTimeout is matched by every *TimeoutError: a waiter ran out of its
// MaxWait before what it waited for was done.
var ErrTimeout = errors.New("wait: gave up after the maximum wait")

// TimeoutError is the error of a wait that ran out of MaxWait.
type TimeoutError struct {
	What    string        // what was waited for, e.g. "athena query 1234"
	MaxWait time.Duration // the maximum wait that ran out
	Checks  int           // how many times it was checked
	// Sentinel is the caller package's own timeout error (for example
	// query.ErrTimeout); errors.Is matches it as well as ErrTimeout.
	Sentinel error
}

func (e *TimeoutError) Error() string {
	s := ErrTimeout
	if e.Sentinel != nil {
		s = e.Sentinel
	}
	return fmt.Sprintf("%s: %s still not done after %v (%d checks)", s, e.What, e.MaxWait, e.Checks)
}

// Unwrap returns ErrTimeout and the Sentinel, for errors.Is.
func (e *TimeoutError) Unwrap() []error {
	if e.Sentinel == nil {
		return []error{ErrTimeout}
	}
	return []error{ErrTimeout, e.Sentinel}
}

// Check reports whether the wait is over. A non-nil error ends the wait
// with that error, whatever done says.
type Check func(ctx context.Context) (done bool, err error)

// Waiter is one wait: what it is for, its options and the caller's timeout
// sentinel. The zero Waiter waits with the defaults.
type Waiter struct {
	Options
	// What names what is waited for in errors ("glue crawler raw-orders").
	What string
	// Timeout, if set, is the caller package's sentinel that a
	// *TimeoutError from this waiter also matches.
	Timeout error
}

// Until calls check until it reports done or fails, sleeping between calls
// as Options say. It returns check's error, a *TimeoutError once MaxWait
// has passed, or an error wrapping ctx.Err() when ctx ends first.
func (w Waiter) Until(ctx context.Context, check Check) error {
	o := w.WithDefaults()
	deadline := time.Now().Add(o.MaxWait)
	for checks := 1; ; checks++ {
		if err := ctx.Err(); err != nil {
			return w.ctxErr(err)
		}
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &TimeoutError{What: w.What, MaxWait: o.MaxWait, Checks: checks, Sentinel: w.Timeout}
		}
		if err := backoff.Sleep(ctx, min(o.Delay(checks), left)); err != nil {
			return w.ctxErr(err)
		}
	}
}

func (w Waiter) ctxErr(err error) error {
	return fmt.Errorf("waiting for %s: %w", w.What, err)
}
