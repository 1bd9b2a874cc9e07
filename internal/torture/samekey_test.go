package torture

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/lakekit/lakekit/zones"
)

var flagRounds = flag.Int("rounds", 1, "scale of the rounds of the failure-path torture tests (SameKey, Corrupt, Unknown, CatalogCrash, ExternalView)")

// rounds scales a per-file-store default to the backend: S3 on gofakes3
// runs a third of it, S3 + Glue on moto a sixth (at least one).
func rounds(kind string, n int) int {
	n *= *flagRounds
	switch kind {
	case "gofakes3":
		n = max(1, n/3)
	case "moto":
		n = max(1, n/6)
	}
	return n
}

// otherRows is other data under the same key: the key's rows plus one.
func otherRows(key string) []Row {
	rows := rowsFor(key)
	return append(rows, Row{ID: key + "#other", Key: key, Day: rows[0].Day})
}

// expect applies a committed write to the expected table content.
func expect(m map[string]Row, mode zones.Mode, rows []Row) {
	if mode != zones.Append {
		days := map[string]bool{}
		for _, r := range rows {
			days[r.Day] = true
		}
		for id, r := range m {
			if mode == zones.Overwrite || days[r.Day] {
				delete(m, id)
			}
		}
	}
	for _, r := range rows {
		m[r.ID] = r
	}
}

// checkExpected: lakekit's read (fresh process) is exactly want and the
// external view equals it.
func checkExpected(ctx context.Context, s *lakeSpec, want map[string]Row) error {
	x, err := s.open()
	if err != nil {
		return err
	}
	got, err := readAll(ctx, x.ds, 0)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := checkRows(got, want); err != nil {
		return err
	}
	return externalMatches(ctx, s)
}

// TestTortureSameKey: two attempts with one idempotency key overlap — the
// second begins before or after the first commits, commits first or
// second, with the same data or other data, or aborts; or both commit at
// once. Exactly one attempt commits; the same data is a Duplicate of it,
// other data ErrConflict naming the key; an abort or a losing attempt
// deletes only its own files; the committed rows read back exactly, to
// lakekit and to an Athena-style reader, before and after Vacuum.
func TestTortureSameKey(t *testing.T) {
	c := newCounters()
	defer c.report(t)
	for _, f := range factories(t) {
		t.Run(f.kind, func(t *testing.T) {
			ctx := context.Background()
			s := f.make(t)
			x := s.mustOpen(t)
			want := map[string]Row{}
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			n := rounds(f.kind, 24)
			for round := 0; round < n; round++ {
				key := opKey("sk", round, zones.Append, 1+rng.Intn(15))
				mode := zones.Append
				if rng.Intn(4) == 0 {
					mode = zones.OverwritePartitions
				}
				second := []string{"same", "other", "abort"}[rng.Intn(3)]
				late := rng.Intn(3) == 0     // the second attempt begins after the first committed
				reversed := rng.Intn(2) == 0 // the attempt that began second commits first
				concurrent := !late && rng.Intn(4) == 0
				if late {
					reversed = false
				}
				desc := fmt.Sprintf("round %d key %s mode %s second=%s late=%v reversed=%v concurrent=%v", round, key, mode, second, late, reversed, concurrent)
				if err := sameKeyRound(ctx, x, s, key, mode, second, late, reversed, concurrent, want, c); err != nil {
					t.Fatalf("%s: %s: %v", f.kind, desc, err)
				}
				c.add("same_key_pairs", 1)
				c.add("same_key_"+second, 1)
				if round%4 == 3 {
					if _, err := x.ds.Vacuum(ctx, 0); err != nil {
						t.Fatalf("%s: vacuum: %v", desc, err)
					}
					snap, err := x.ds.Snapshot(ctx, 0)
					if err != nil {
						t.Fatal(err)
					}
					files, err := dataFiles(ctx, s)
					if err != nil {
						t.Fatal(err)
					}
					if len(files) != len(snap.Files) {
						t.Fatalf("%s: after a vacuum with no retention %d data files remain, the snapshot has %d", desc, len(files), len(snap.Files))
					}
					if err := checkExpected(ctx, s, want); err != nil {
						t.Fatalf("%s: after vacuum: %v", desc, err)
					}
					c.add("vacuums", 1)
				}
			}
		})
	}
}

func sameKeyRound(ctx context.Context, x *xenv, s *lakeSpec, key string, mode zones.Mode, second string, late, reversed, concurrent bool, want map[string]Row, c *counters) error {
	rowsA := rowsFor(key)
	rowsB := rowsA
	if second == "other" {
		rowsB = otherRows(key)
	}
	y, err := s.open() // the second attempt runs in another process
	if err != nil {
		return err
	}
	open := func(ds *zones.Dataset[Row], rows []Row) (*zones.Writer[Row], error) {
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode, IdempotencyKey: key, Caller: "torture"})
		if err != nil {
			return nil, err
		}
		return w, w.Write(ctx, rows)
	}
	wa, err := open(x.ds, rowsA)
	if err != nil {
		return fmt.Errorf("first attempt: %w", err)
	}
	var wb *zones.Writer[Row]
	if !late {
		if wb, err = open(y.ds, rowsB); err != nil {
			return fmt.Errorf("second attempt: %w", err)
		}
	}
	if concurrent && second != "abort" {
		var wg sync.WaitGroup
		var resA, resB *zones.CommitResult
		var errA, errB error
		wg.Add(2)
		go func() { defer wg.Done(); resA, errA = wa.Commit(ctx) }()
		go func() { defer wg.Done(); resB, errB = wb.Commit(ctx) }()
		wg.Wait()
		c.add("commits", 2)
		// exactly one is the commit; the other is its Duplicate (same
		// data) or ErrConflict (other data)
		won := 0
		var winnerRows []Row
		for i, r := range []struct {
			res  *zones.CommitResult
			err  error
			rows []Row
		}{{resA, errA, rowsA}, {resB, errB, rowsB}} {
			switch {
			case r.err == nil && !r.res.Duplicate:
				won++
				winnerRows = r.rows
			case r.err == nil && r.res.Duplicate:
				if second == "other" {
					return fmt.Errorf("attempt %d with other data returned Duplicate", i)
				}
				c.add("duplicates", 1)
			case errors.Is(r.err, zones.ErrConflict):
				if second != "other" {
					return fmt.Errorf("attempt %d with the same data: %v", i, r.err)
				}
				c.add("conflicts", 1)
			default:
				return fmt.Errorf("attempt %d: %v", i, r.err)
			}
		}
		if won != 1 {
			return fmt.Errorf("%d attempts committed (A: %+v %v; B: %+v %v)", won, resA, errA, resB, errB)
		}
		expect(want, mode, winnerRows)
	} else {
		first, firstRows, other, otherRows := wa, rowsA, wb, rowsB
		if reversed {
			first, firstRows, other, otherRows = wb, rowsB, wa, rowsA
		}
		res, err := first.Commit(ctx)
		c.add("commits", 1)
		if err != nil || res.Duplicate {
			return fmt.Errorf("the first commit: %+v %v", res, err)
		}
		expect(want, mode, firstRows)
		if late {
			if other, err = open(y.ds, otherRows); err != nil {
				return fmt.Errorf("second attempt (begun after the commit): %w", err)
			}
		}
		if err := checkExpected(ctx, s, want); err != nil {
			return fmt.Errorf("after the first commit, before the second attempt ends: %w", err)
		}
		if second == "abort" {
			if err := other.Abort(ctx); err != nil {
				return fmt.Errorf("abort: %w", err)
			}
			c.add("aborts", 1)
		} else {
			res2, err := other.Commit(ctx)
			c.add("commits", 1)
			switch {
			case second == "same" && (err != nil || !res2.Duplicate || res2.Version != res.Version):
				return fmt.Errorf("the second attempt with the same data: %+v %v, want Duplicate of version %d", res2, err, res.Version)
			case second == "other" && !errors.Is(err, zones.ErrConflict):
				return fmt.Errorf("the second attempt with other data: %+v %v, want ErrConflict", res2, err)
			case second == "same":
				c.add("duplicates", 1)
			default:
				c.add("conflicts", 1)
			}
		}
	}
	if _, n, err := keyInLog(ctx, s, key); err != nil || n != 1 {
		return fmt.Errorf("key %s is %d times in the log (%v)", key, n, err)
	}
	return checkExpected(ctx, s, want)
}
