package torture

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones"
)

// stores the reproductions run on: memory and the file store.
func reproStores(t *testing.T) map[string]func() driver.Driver {
	return map[string]func() driver.Driver{
		"mem": func() driver.Driver { return memstore.New() },
		"file": func() driver.Driver {
			fs, err := filestore.New(t.TempDir(), &filestore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return fs
		},
	}
}

// TestUnknownOutcomeKeepsLandedCommit (issue 23 defect 2, the
// ErrCommitUnknown contract "nothing is cleaned up"): the log put lands
// but its answer is lost, and the store does not answer the reads that
// would resolve it, so Commit returns ErrCommitUnknown. The committed
// version stays readable and the retry with the same key gives back
// exactly the written rows.
func TestUnknownOutcomeKeepsLandedCommit(t *testing.T) {
	for name, mk := range reproStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			h := &hookDriver{Driver: mk()}
			e, err := newEnv(h, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			key := opKey("a", 0, zones.Append, 15)
			w, err := e.main.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: key, Caller: "torture"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(ctx, rowsFor(key)); err != nil {
				t.Fatal(err)
			}
			// the log put lands, its answer is lost; then the log does not answer reads
			var landed atomic.Bool
			h.set(func(ctx context.Context, op, k string) error {
				if landed.Load() && strings.Contains(k, mainLog) && (op == "get" || op == "stat") {
					return errHook
				}
				return nil
			}, func(ctx context.Context, op, k string, err error) error {
				if op == "create" && strings.Contains(k, mainLog) && err == nil {
					landed.Store(true)
					return errHook
				}
				return err
			})
			_, err = w.Commit(ctx)
			h.set(nil, nil)
			if !errors.Is(err, zones.ErrCommitUnknown) {
				t.Fatalf("commit: %v, want ErrCommitUnknown", err)
			}
			log := history(t, e.main)
			if len(log) != 1 {
				t.Fatalf("%d versions in the log, want 1 (the put landed)", len(log))
			}
			if err := checkVersion(ctx, e.main, log, 1); err != nil {
				t.Errorf("the landed version after ErrCommitUnknown: %v", err)
			}
			// the documented recipe: retry with the same key
			o, res, _, err := write(ctx, e.main, key, zones.Append, 1)
			if o != committed || !res.Duplicate {
				t.Fatalf("retry with the same key: %v %v", o, err)
			}
			if err := checkVersion(ctx, e.main, history(t, e.main), 1); err != nil {
				t.Fatalf("after the retry returned Duplicate, the committed rows are lost: %v", err)
			}
		})
	}
}

// TestCorruptLogGapOfTwoVersionsDetected (issue 23 defect 3): a gap in the
// log is corruption, however long. With versions 2 and 3 of 5 deleted, a
// fresh reader fails with ErrCorrupt, never returns version 1's rows;
// History reports ErrCorrupt; a writer does not take version number 2
// again (the newest-version hint tells the end of the log from a gap).
func TestCorruptLogGapOfTwoVersionsDetected(t *testing.T) {
	for name, mk := range reproStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			base := mk()
			e, err := newEnv(base, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				if err := mustWrite(ctx, e.main, opKey("a", i, zones.Append, 1<<(i%4)), zones.Append); err != nil {
					t.Fatal(err)
				}
			}
			all := history(t, e.main)
			if err := e.main.Table().Zone().Store().DeleteMany(ctx, []string{
				"torture/events/_lakekit/log/00000000000000000002.json",
				"torture/events/_lakekit/log/00000000000000000003.json",
			}); err != nil {
				t.Fatal(err)
			}
			fresh, err := newEnv(base, nil, 1) // a new process
			if err != nil {
				t.Fatal(err)
			}
			rows, err := readAll(ctx, fresh.main, 0)
			if err == nil {
				if cerr := checkRows(rows, mustReplay(t, all)); cerr != nil {
					t.Errorf("read of the newest version with versions 2 and 3 deleted: no error and %d rows (want all 5 versions' rows or ErrCorrupt): %v", len(rows), cerr)
				}
			} else if !errors.Is(err, zones.ErrCorrupt) {
				t.Errorf("read: %v, want ErrCorrupt", err)
			}
			if log, err := fresh.main.History(ctx); !errors.Is(err, zones.ErrCorrupt) {
				t.Errorf("History: %d commits and error %v, want ErrCorrupt", len(log), err)
			}
			o, res, _, err := write(ctx, fresh.main, opKey("b", 0, zones.Append, 1), zones.Append, 1)
			if o == committed && res.Version <= 5 {
				t.Errorf("a new write into the damaged log committed as version %d: the version counter reused a number", res.Version)
			} else if o != committed && !errors.Is(err, zones.ErrCorrupt) {
				t.Errorf("a new write into the damaged log: %v, want ErrCorrupt", err)
			}
		})
	}
}
