package query

import (
	"context"
	"math/rand/v2"
	"time"
)

// Polling defaults shared by the Athena and Redshift engines.
const (
	DefaultMinDelay = 100 * time.Millisecond
	DefaultMaxDelay = 5 * time.Second
	DefaultMaxWait  = 30 * time.Minute
)

// Poll configures waiter-style polling (like the SDK's waiters): the first
// check comes after MinDelay, each later one after a delay that grows
// exponentially with jitter up to MaxDelay, and polling gives up after
// MaxWait (the statement is then cancelled and ErrTimeout returned).
// Zero fields take the defaults above.
type Poll struct {
	MinDelay time.Duration
	MaxDelay time.Duration
	MaxWait  time.Duration
}

func (p Poll) withDefaults() Poll {
	if p.MinDelay <= 0 {
		p.MinDelay = DefaultMinDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxDelay < p.MinDelay {
		p.MaxDelay = p.MinDelay
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	return p
}

// wait calls check until it reports done, sleeping between calls with
// backoff. It returns ctx's error when ctx ends, ErrTimeout after MaxWait.
func (p Poll) wait(ctx context.Context, check func(context.Context) (bool, error)) error {
	p = p.withDefaults()
	deadline := time.Now().Add(p.MaxWait)
	delay := p.MinDelay
	for attempt := 0; ; attempt++ {
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		if time.Now().Add(delay).After(deadline) {
			return ErrTimeout
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		// exponential growth with ±25% jitter, capped
		next := float64(delay) * 2 * (0.75 + rand.Float64()/2)
		delay = min(time.Duration(next), p.MaxDelay)
		if delay < p.MinDelay {
			delay = p.MinDelay
		}
	}
}
