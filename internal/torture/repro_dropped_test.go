package torture

import (
	"context"
	"testing"

	"github.com/lakekit/lakekit/zones"
)

// TestExternalViewDroppedPartitionRecreated: an Overwrite that drops
// partition day=2024-01-02 leaves its files in <table>/day=2024-01-02/
// (tombstoned until the retention passes); a later append to that day
// goes to the same folder and registers it in the catalog again, so an
// Athena-style reader sees the overwritten rows once more, and Vacuum
// never removes them (a catalog location shows them). Found by
// TestTortureCatalogCrash (gofakes3, drop commit); no fault is needed.
func TestExternalViewDroppedPartitionRecreated(t *testing.T) {
	ctx := context.Background()
	s := openSpec(t, "file", t.TempDir(), "", "torture")
	x := s.mustOpen(t)
	for _, w := range []catalogWrite{
		cw("a", zones.Append, 3),    // days 1 and 2
		cw("b", zones.Overwrite, 1), // day 1 only: day 2 is dropped
		cw("c", zones.Append, 2),    // day 2 again
	} {
		if err := mustWrite(ctx, x.ds, w.key, w.mode); err != nil {
			t.Fatal(err)
		}
		if err := externalMatches(ctx, s); err != nil {
			t.Errorf("after %s (%s): %v", w.key, w.mode, err)
		}
	}
	// Vacuum keeps every file a catalog location shows, so the
	// overwritten rows stay visible for good
	if _, err := x.ds.Vacuum(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := x.ds.SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := externalMatches(ctx, s); err != nil {
		t.Errorf("after Vacuum(0) and SyncCatalog: %v", err)
	}
}
