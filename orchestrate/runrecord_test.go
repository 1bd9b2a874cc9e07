package orchestrate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/memstore"
)

// TestParallelRunRecordNoLostUpdate: Parallel branches that finish at once
// save the run record concurrently. Whatever order the store completes the
// writes in (half of them are delayed here), the record on storage names
// every step that succeeded once the saves are done — what a crash at that
// point would leave for Resume. A save that marshals a snapshot and writes
// it after a newer one was written loses the newer steps.
func TestParallelRunRecordNoLostUpdate(t *testing.T) {
	const branches = 24
	for round := range 4 {
		d := faultstore.Wrap(memstore.New(), &faultstore.Options{Seed: int64(round + 1), Rules: []faultstore.Rule{
			{Op: faultstore.OpPut, KeyContains: "/par/", Probability: 0.5, Fault: faultstore.Delay, Delay: 3 * time.Millisecond},
		}})
		lk, err := lake.New(lake.NewStore(d), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRunner(lk, &RunnerOptions{Parallelism: 4})
		if err != nil {
			t.Fatal(err)
		}
		var (
			finished atomic.Int32
			start    sync.WaitGroup // the branch steps return together
			missing  []string
		)
		start.Add(branches)
		var bs []*Pipeline
		for k := range branches {
			bs = append(bs, New(fmt.Sprintf("b%d", k), GoStep(fmt.Sprintf("s%d", k), func(ctx context.Context, in Input) (Output, error) {
				start.Done()
				start.Wait()
				defer finished.Add(1)
				return Output(`1`), nil
			})))
		}
		// The watcher stands in for a crash: once every other step has
		// returned, it waits for the record to name them all.
		bs = append(bs, New("watch", GoStep("watch", func(ctx context.Context, in Input) (Output, error) {
			for finished.Load() < branches {
				time.Sleep(time.Millisecond)
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				run, err := r.LoadRun(ctx, "par", in.RunID)
				if err != nil {
					return nil, err
				}
				missing = missing[:0]
				for k := range branches {
					if sr := run.Steps[fmt.Sprintf("s%d", k)]; sr == nil || sr.State != StateSucceeded {
						missing = append(missing, fmt.Sprintf("s%d", k))
					}
				}
				if len(missing) == 0 || time.Now().After(deadline) {
					return nil, nil
				}
				time.Sleep(5 * time.Millisecond)
			}
		})))
		if _, err := r.Run(context.Background(), New("par", ParallelStep("all", bs...)), nil); err != nil {
			t.Fatal(err)
		}
		lk.Close()
		if len(missing) > 0 {
			t.Fatalf("round %d: the saved run record lost the success of %v", round, missing)
		}
	}
}
