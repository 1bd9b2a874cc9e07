package torture

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/zones"
)

// TestCatalogCrashLeavesMixedExternalView: a commit whose catalog update
// fails half-way returns ErrCatalog, as documented — but an Athena-style
// reader then sees part of the new version, neither the old one nor the
// new one. Issue 14: after ErrCatalog the external view must equal one
// whole earlier version, never a mix. SyncCatalog (or the next commit)
// does repair it. Found by TestTortureCatalogCrash on every backend.
//
//   - append: an append to days 2 and 3 of a table holding days 1 and 2,
//     AddPartitions failing (or the process dying there). The staged files
//     were already moved into place, so the new rows of day 2 (an
//     existing partition) are visible, those of day 3 (not registered)
//     are not.
//   - overwrite-drop: an Overwrite of the table with day 1 only, over days
//     1-4, DeletePartitions failing: day 1 shows the new rows (its
//     location was swapped), days 2-4 still the overwritten ones.
func TestCatalogCrashLeavesMixedExternalView(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before catalogWrite
		write  catalogWrite
		failOp string
	}{
		{"append", cw("a", zones.Append, 3), cw("b", zones.Append, 6), "AddPartitions"},
		{"overwrite-drop", cw("a", zones.Append, 15), cw("b", zones.Overwrite, 1), "DeletePartitions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openSpec(t, "file", t.TempDir(), "", "torture")
			x := s.mustOpen(t)
			if err := mustWrite(ctx, x.ds, tc.before.key, tc.before.mode); err != nil {
				t.Fatal(err)
			}
			x.hc.set(func(ctx context.Context, op string) error {
				if op == tc.failOp {
					return errCrash
				}
				return nil
			}, nil)
			res, err := attemptWrite(ctx, x.ds, tc.write.key, tc.write.mode, rowsFor(tc.write.key))
			x.hc.set(nil, nil)
			if !errors.Is(err, zones.ErrCatalog) || res == nil {
				t.Fatalf("commit with a failing %s: %+v %v, want ErrCatalog", tc.failOp, res, err)
			}
			var d driftTracker
			if err := d.observe(ctx, s, true); err != nil {
				t.Errorf("after ErrCatalog: %v", err)
			}
			if err := x.ds.SyncCatalog(ctx); err != nil {
				t.Fatal(err)
			}
			if err := externalMatches(ctx, s); err != nil {
				t.Fatalf("after SyncCatalog: %v", err)
			}
		})
	}
}
