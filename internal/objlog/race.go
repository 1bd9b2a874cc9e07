package objlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakekit/lakekit/internal/backoff"
	"github.com/lakekit/lakekit/lake"
)

// MaxAttempts is the attempt budget of a writer racing other writers for
// the next version, unless the caller sets its own.
const MaxAttempts = 100

// ErrContended is returned by Race when every attempt of its budget lost
// the race for the next version to another writer.
var ErrContended = errors.New("objlog: every attempt lost the race for the next version")

// Pause sleeps before the attempt after attempt (1-based) of a writer that
// lost a race: full jitter, a random wait up to 1, 2, 4 ... 64 ms, so many
// contending writers part with the least total wait.
func Pause(ctx context.Context, attempt int) error {
	return backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 64*time.Millisecond)+100*time.Microsecond)
}

// Race runs try (given the 1-based attempt number) until it returns
// something other than an error wrapping lake.ErrExists (another writer
// took the version it appended: it re-reads and builds anew next time),
// pausing between attempts. After attempts attempts (MaxAttempts when 0
// or less) it returns an error wrapping ErrContended and the last
// lake.ErrExists; a cancelled ctx ends the wait with ctx's error.
func Race(ctx context.Context, attempts int, try func(attempt int) error) error {
	if attempts <= 0 {
		attempts = MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		err := try(attempt)
		if !errors.Is(err, lake.ErrExists) {
			return err
		}
		if attempt >= attempts {
			return fmt.Errorf("%d attempts: %w: %w", attempt, ErrContended, err)
		}
		if err := Pause(ctx, attempt); err != nil {
			return err
		}
	}
}
