package query

import (
	"context"

	"github.com/lakekit/lakekit/internal/wait"
)

// Polling defaults of the Athena and Redshift engines: the defaults every
// lakekit waiter shares (see Poll).
const (
	DefaultMinDelay = wait.DefaultMinDelay
	DefaultMaxDelay = wait.DefaultMaxDelay
	DefaultMaxWait  = wait.DefaultMaxWait
)

// Poll configures the Athena and Redshift engines' polling of a statement,
// like the SDK's waiters: MinDelay, MaxDelay and MaxWait, zero fields
// taking the defaults shared by every lakekit waiter (MinDelay 100 ms,
// MaxDelay 5 s, MaxWait 1 h). A statement still running after MaxWait is
// cancelled and its error wraps ErrTimeout. It is the same type as
// orchestrate.WaitOptions and catalog.WaitOptions.
type Poll = wait.Options

// poll calls check until it reports done, as p says. It returns ctx's
// error (wrapped) when ctx ends, an error wrapping ErrTimeout after MaxWait.
func poll(ctx context.Context, p Poll, what string, check wait.Check) error {
	return wait.Waiter{Options: p, What: what, Timeout: ErrTimeout}.Until(ctx, check)
}
