package backoff

import (
	"context"
	"testing"
	"time"
)

func TestBounds(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		d := grow(attempt, 2*time.Millisecond, 128*time.Millisecond)
		if want := min(2*time.Millisecond<<(attempt-1), 128*time.Millisecond); d != want {
			t.Fatalf("grow(%d) = %v, want %v", attempt, d, want)
		}
		for range 200 {
			if e := Equal(attempt, 2*time.Millisecond, 128*time.Millisecond); e < d/2 || e >= d/2+d {
				t.Fatalf("Equal(%d) = %v outside [%v, %v)", attempt, e, d/2, d/2+d)
			}
			if f := Full(attempt, 2*time.Millisecond, 128*time.Millisecond); f < 0 || f >= d {
				t.Fatalf("Full(%d) = %v outside [0, %v)", attempt, f, d)
			}
		}
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Minute); err != context.Canceled {
		t.Fatalf("Sleep on a canceled context: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep did not return at once on a canceled context")
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
