// Package backoff holds the jittered exponential backoff lakekit's own retry
// loops share (commits, the local catalog, S3 conditional writes). AWS SDK
// calls use the SDK's retryer instead.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// grow returns base·2^(attempt-1), capped at max (attempt is 1-based).
func grow(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Equal returns a delay in [d/2, 3d/2) for d = base·2^(attempt-1) capped at
// max: never very short, spread enough that racing writers part.
func Equal(attempt int, base, max time.Duration) time.Duration {
	d := grow(attempt, base, max)
	return d/2 + rand.N(d)
}

// Full returns a delay in [0, d) for d = base·2^(attempt-1) capped at max
// ("full jitter"): the least total wait when many writers contend.
func Full(attempt int, base, max time.Duration) time.Duration {
	return rand.N(grow(attempt, base, max))
}

// Sleep waits d or until ctx is done, whichever comes first, and returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
