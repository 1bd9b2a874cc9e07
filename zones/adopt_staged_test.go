//go:build cgo

package zones_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// stageEvents writes rows as Parquet in the table's staging folder, one
// file per bucket under dir/bucket=<b>/, as a fan-out worker does, and
// returns their zone-relative locations.
func stageEvents(t *testing.T, tableDir, dir string, rows []event) []string {
	t.Helper()
	byBucket := map[string][]event{}
	for _, r := range rows {
		byBucket[r.Bucket] = append(byBucket[r.Bucket], r)
	}
	var locs []string
	for b, rs := range byBucket {
		rel := filepath.Join(zones.StagingDir, dir, "bucket="+b, "part.parquet")
		writeParquetGo(t, filepath.Join(tableDir, rel), rs)
		locs = append(locs, "sales/events/"+filepath.ToSlash(rel))
	}
	slices.Sort(locs)
	return locs
}

// TestAdoptStagedFilesTakenOver: files in the table's own staging folder
// (a fan-out worker's output) are committed as they are and moved into
// place by the commit, not copied: after the commit the staging folder is
// empty and every row is read once. Two commits that take over the same
// staged file at once under different keys: one commits, the other is
// ErrConflict, and no row is lost or doubled (the first commit's move
// would otherwise leave the second's file missing).
func TestAdoptStagedFilesTakenOver(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	ds := newEvents(t, lk, nil)
	tableDir := filepath.Join(root, "lake", "curated", "sales", "events")
	writeCommit(t, ds, makeEvents(0, 30, 3), nil)

	locs := stageEvents(t, tableDir, "fanout-a/u-1", makeEvents(100, 60, 3))
	res, err := ds.AddFiles(ctx, locs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(t, ds), append(idRange(0, 30), idRange(100, 60)...); !slices.Equal(got, want) {
		t.Fatalf("after taking over staged files: ids %v, want %v", got, want)
	}
	if left := stagedFiles(t, tableDir); len(left) != 0 {
		t.Fatalf("version %d: staged files still there after the commit (copied, not moved?): %v", res.Version, left)
	}
	snap, err := ds.Snapshot(ctx, res.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files {
		if _, err := os.Stat(filepath.Join(root, "lake", "curated", filepath.FromSlash(f.Key))); err != nil {
			t.Fatalf("committed file %s is not in place: %v", f.Key, err)
		}
	}

	// the same staged file taken over twice at once, under two keys
	locs = stageEvents(t, tableDir, "fanout-b/u-1", makeEvents(500, 20, 1))
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := ds.AddFiles(ctx, locs, &zones.AddFilesOptions{IdempotencyKey: fmt.Sprint("take-", i)})
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	ok, refused := 0, 0
	for _, e := range []error{e1, e2} {
		switch {
		case e == nil:
			ok++
		case errors.Is(e, zones.ErrConflict), errors.Is(e, lake.ErrNotFound):
			refused++ // a late one finds the file already moved
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("one staged file taken over twice at once: %v / %v, want one commit and one refusal", e1, e2)
	}
	want := append(append(idRange(0, 30), idRange(100, 60)...), idRange(500, 20)...)
	slices.Sort(want)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("after two takeovers of one file: ids %v, want %v", got, want)
	}
	if _, err := ds.Vacuum(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("after Vacuum: ids %v, want %v", got, want)
	}
}

// stagedFiles lists the files under the table's staging folder.
func stagedFiles(t *testing.T, tableDir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(tableDir, filepath.FromSlash(zones.StagingDir)), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
