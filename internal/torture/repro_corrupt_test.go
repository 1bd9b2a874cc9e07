package torture

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/zones"
)

// TestCorruptLogTimeTravelOverGap (issue 23 defect 3: "Snapshot(4) says
// ErrNoSuchVersion"): a deleted log object is corruption for every read
// that needs it. With version 2 of 4 deleted (or version 4, the newest,
// with the newest-version hint still naming it), a fresh reader's
// Snapshot and ReadAll of versions 2..4 answer ErrNoSuchVersion ("has no
// version 2", "has versions 1 to 3, not 4") — versions that were
// committed — instead of ErrCorrupt naming the missing object; a damaged
// (undecodable) entry at the same place does give ErrCorrupt. Found by
// TestTortureCorruptLog.
func TestCorruptLogTimeTravelOverGap(t *testing.T) {
	for _, missing := range []int64{2, 4} {
		t.Run(fmt.Sprintf("version %d of 4 deleted", missing), func(t *testing.T) {
			ctx := context.Background()
			s := openSpec(t, "file", t.TempDir(), "", "torture")
			x := s.mustOpen(t)
			for i := 0; i < 4; i++ {
				if err := mustWrite(ctx, x.ds, opKey("a", i, zones.Append, 1), zones.Append); err != nil {
					t.Fatal(err)
				}
			}
			key := logcodec.CommitKey("torture/events", missing)
			if err := x.ds.Table().Zone().Store().Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			y := s.mustOpen(t) // a fresh reader
			if _, err := readAll(ctx, y.ds, 0); !errors.Is(err, zones.ErrCorrupt) {
				t.Errorf("read of the newest version: %v, want ErrCorrupt", err)
			}
			for v := missing; v <= 4; v++ {
				if _, err := y.ds.Snapshot(ctx, v); !errors.Is(err, zones.ErrCorrupt) {
					t.Errorf("Snapshot(%d) with %s deleted: %v, want ErrCorrupt", v, key, err)
				}
				if _, err := readAll(ctx, s.mustOpen(t).ds, v); !errors.Is(err, zones.ErrCorrupt) {
					t.Errorf("ReadAll(Version %d) with %s deleted: %v, want ErrCorrupt", v, key, err)
				}
			}
		})
	}
}

// TestCorruptLogRepairedOverwriteExternalView: version 3, an
// OverwritePartitions of days 1 and 2, is lost (its log object deleted)
// and Table.Repair replaces it. Versions 4 and 5
// appended to days 1 and 2 inside version 3's generation folders
// (_g3-…/day=…), which the repaired state no longer maps: its locations
// are the Hive folders again. lakekit reads the replay without version 3
// (right), but Athena cannot: SyncCatalog points days 1 and 2 back at
// their Hive folders, so versions 4 and 5's rows are missing from the
// external view for good (after SyncCatalog, Vacuum and the next commit
// alike); before any SyncCatalog the catalog still points at _g3-… and
// shows the lost version 3's rows, which Vacuum(0) keeps because a catalog
// location shows them. Found by TestTortureCorruptLog's Repair step.
func TestCorruptLogRepairedOverwriteExternalView(t *testing.T) {
	ctx := context.Background()
	s := openSpec(t, "file", t.TempDir(), "", "torture")
	x := s.mustOpen(t)
	for _, w := range []catalogWrite{
		cw("a", zones.Append, 3),
		cw("b", zones.Append, 3),
		cw("c", zones.OverwritePartitions, 3), // version 3: days 1 and 2 move to _g3-…
		cw("d", zones.Append, 1),
		cw("e", zones.Append, 2),
	} {
		if err := mustWrite(ctx, x.ds, w.key, w.mode); err != nil {
			t.Fatal(err)
		}
	}
	orig := history(t, x.ds)
	if err := x.ds.Table().Zone().Store().Delete(ctx, logcodec.CommitKey("torture/events", 3)); err != nil {
		t.Fatal(err)
	}
	res, err := s.mustOpen(t).ds.Table().Repair(ctx, nil)
	if err != nil || len(res.Damaged) != 1 {
		t.Fatalf("repair: %+v %v", res, err)
	}
	y := s.mustOpen(t)
	// Versions 4 and 5 appended into version 3's folders, which proves
	// what version 3 did to days 1 and 2: Repair rebuilds it (moves the
	// days there, drops their older files, adopts version 3's own files),
	// so the table reads as the original log did.
	want, err := replay(orig)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(ctx, y.ds, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRows(rows, want); err != nil {
		t.Fatalf("after Repair: %v", err)
	}
	if err := y.ds.SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := externalMatches(ctx, s); err != nil {
		t.Errorf("after Repair and SyncCatalog: %v", err)
	}
	if _, err := y.ds.Vacuum(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := externalMatches(ctx, s); err != nil {
		t.Errorf("after Repair, SyncCatalog and Vacuum(0): %v", err)
	}
	if err := mustWrite(ctx, y.ds, opKey("f", 0, zones.Append, 3), zones.Append); err != nil {
		t.Fatal(err)
	}
	if err := externalMatches(ctx, s); err != nil {
		t.Errorf("after Repair and the next commit: %v", err)
	}
}

// TestCorruptLogVacuumOverUndecodableEntry (issue 23: "Vacuum refuses to
// run on a table whose log does not verify"; the lead's rule: Vacuum over
// a damaged log is ErrCorrupt only): a log object that is present but
// does not decode (garbage, empty, "{}" claiming version 0) makes
// Dataset.Vacuum — with a catalog — fail with an error that matches
// ErrCatalog as well as ErrCorrupt ("the catalog could not be brought to
// the newest version … zones: catalog update failed after commit: …
// does not decode"). log.Verify only lists the log, so an undecodable
// entry passes it; converge then fails on the entry and Vacuum wraps that
// in ErrCatalog, which says the data committed and tells the caller to
// retry the catalog step. A missing object (a gap) gives ErrCorrupt only;
// Table.Vacuum and SyncCatalog give ErrCorrupt only for both. Nothing is
// deleted in any case. Found while building TestTortureCorruptLog.
func TestCorruptLogVacuumOverUndecodableEntry(t *testing.T) {
	for _, v := range []int64{2, 4} {
		for _, damage := range []string{"garbage", "", "{}"} {
			t.Run(fmt.Sprintf("version %d of 4 = %q", v, damage), func(t *testing.T) {
				ctx := context.Background()
				s := openSpec(t, "file", t.TempDir(), "", "torture")
				x := s.mustOpen(t)
				for i := 0; i < 4; i++ {
					if err := mustWrite(ctx, x.ds, opKey("a", i, zones.Append, 1), zones.Append); err != nil {
						t.Fatal(err)
					}
				}
				if err := x.ds.Table().Zone().Store().PutBytes(ctx, logcodec.CommitKey("torture/events", v), []byte(damage), nil); err != nil {
					t.Fatal(err)
				}
				before, err := dataFiles(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.mustOpen(t).ds.Vacuum(ctx, 0)
				if !errors.Is(err, zones.ErrCorrupt) || errors.Is(err, zones.ErrCatalog) {
					t.Errorf("Vacuum over an undecodable version %d: %v (ErrCorrupt %v, ErrCatalog %v), want ErrCorrupt and not ErrCatalog",
						v, err, errors.Is(err, zones.ErrCorrupt), errors.Is(err, zones.ErrCatalog))
				}
				after, err := dataFiles(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before) {
					t.Errorf("Vacuum over a damaged log deleted %d data files", len(before)-len(after))
				}
			})
		}
	}
}
