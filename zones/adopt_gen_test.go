//go:build cgo

package zones_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/zones"
)

// genEvents writes rows (all in bucket b) as one Parquet file named name
// in generation folder gen of the sales/events table and returns its key.
func genEvents(t *testing.T, root, gen, b, name string, from, n int64) string {
	t.Helper()
	rows := makeEvents(from, n, 1)
	for i := range rows {
		rows[i].Bucket = b
	}
	key := zones.GenerationFolder("sales/events", gen, "bucket="+b) + "/" + name
	writeParquetGo(t, filepath.Join(root, "lake", "curated", filepath.FromSlash(key)), rows)
	return key
}

// TestAdoptGenerationFolder: files a writer left in a generation folder of
// the table ("_fanout-<plan>/bucket=<b>/", as fan-out workers do) are
// committed where they lie when the commit gives their partition a new
// location — a partition the table does not have, or one an
// OverwritePartitions replaces — and the partition's location becomes the
// folder: nothing is copied or moved, and the Athena-style view through
// the catalog equals lakekit's read. A partition the table already has,
// and a folder holding anything else Athena would read, fall back to a
// copy. Two adoptions racing to create one partition from two folders:
// one commits in place, the other is ErrConflict and, adopted again, is
// copied. Vacuum deletes an uncommitted lakekit-named file in a
// generation folder and keeps a foreign one.
func TestAdoptGenerationFolder(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 30, 3), nil) // b000, b001, b002
	want := idRange(0, 30)

	newA := genEvents(t, root, "_fanout-p1", "b100", "part-a.parquet", 100, 20)
	newB := genEvents(t, root, "_fanout-p1", "b100", "part-b.parquet", 120, 20)
	newC := genEvents(t, root, "_fanout-p1", "b101", "part-a.parquet", 140, 10)
	old := genEvents(t, root, "_fanout-p1", "b000", "part-a.parquet", 150, 10)
	res, err := ds.AddFiles(ctx, []string{newA, newB, newC, old}, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, f := range res.Files {
		keys[f.Key] = true
	}
	for _, k := range []string{newA, newB, newC} {
		if !keys[k] {
			t.Fatalf("a file of a new partition in a generation folder is committed where it lies: %s not among %v", k, res.Files)
		}
	}
	if keys[old] {
		t.Fatalf("a file of a partition the table has (b000) must be placed in the partition's folder, not committed at %s", old)
	}
	snap, err := ds.Snapshot(ctx, res.Version)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Locations["bucket=b100"]; got != "sales/events/_fanout-p1/bucket=b100" {
		t.Fatalf("location of the new partition: %q, want its generation folder", got)
	}
	if got := snap.Locations["bucket=b000"]; got != "sales/events/bucket=b000" {
		t.Fatalf("location of the existing partition moved to %q", got)
	}
	want = append(want, idRange(100, 60)...)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after adopting a generation folder: %v, want %v", got, want)
	}
	sameViews(t, "after adopting a generation folder", cat, ds)

	// an append to the partition lands in its generation folder
	more := makeEvents(200, 10, 1)
	for i := range more {
		more[i].Bucket = "b100"
	}
	after := writeCommit(t, ds, more, nil)
	for _, f := range after.Files {
		if !strings.HasPrefix(f.Key, "sales/events/_fanout-p1/bucket=b100/") {
			t.Fatalf("an append to a partition located in a generation folder went to %s", f.Key)
		}
	}
	want = append(want, idRange(200, 10)...)
	sameViews(t, "after an append to a generation folder's partition", cat, ds)

	// a folder holding a file Athena would read that is not adopted: copied
	adopted := genEvents(t, root, "_fanout-p2", "b102", "part-a.parquet", 300, 10)
	foreign := genEvents(t, root, "_fanout-p2", "b102", "extra.parquet", 310, 10)
	res, err = ds.AddFiles(ctx, []string{adopted}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Key == adopted {
		t.Fatalf("%s committed in place although %s lies beside it", adopted, foreign)
	}
	want = append(want, idRange(300, 10)...)
	slices.Sort(want)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after adopting from a shared folder: %d rows, want %d", len(got), len(want))
	}
	sameViews(t, "after adopting from a folder with another file", cat, ds)

	// OverwritePartitions of an existing partition: in place, old rows gone
	over := genEvents(t, root, "_fanout-p3", "b001", "part-a.parquet", 400, 15)
	res, err = ds.AddFiles(ctx, []string{over}, &zones.AddFilesOptions{Mode: zones.OverwritePartitions})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Key != over {
		t.Fatalf("an overwrite from a generation folder is committed where it lies: %+v", res.Files)
	}
	want = slices.DeleteFunc(want, func(id int64) bool { return id < 30 && id%3 == 1 })
	want = append(want, idRange(400, 15)...)
	slices.Sort(want)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after overwriting a partition from a generation folder: %v, want %v", got, want)
	}
	sameViews(t, "after an overwrite from a generation folder", cat, ds)

	// two adoptions create one partition from two folders at once
	r1 := genEvents(t, root, "_fanout-r1", "b400", "part-a.parquet", 500, 10)
	r2 := genEvents(t, root, "_fanout-r2", "b400", "part-a.parquet", 510, 10)
	errs := make(chan error, 2)
	for _, k := range []string{r1, r2} {
		go func() {
			_, err := ds.AddFiles(ctx, []string{k}, nil)
			if errors.Is(err, zones.ErrConflict) {
				_, err = ds.AddFiles(ctx, []string{k}, &zones.AddFilesOptions{IdempotencyKey: "again-" + k})
			}
			errs <- err
		}()
	}
	if e1, e2 := <-errs, <-errs; e1 != nil || e2 != nil {
		t.Fatalf("two adoptions of one new partition: %v / %v", e1, e2)
	}
	want = append(want, idRange(500, 20)...)
	slices.Sort(want)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after two racing adoptions: %d rows, want %d", len(got), len(want))
	}
	sameViews(t, "after two racing adoptions", cat, ds)

	// Vacuum: an uncommitted lakekit-named file goes, a foreign one stays
	orphan := genEvents(t, root, "_fanout-p4", "b500", fmt.Sprintf("part-%020d-00001.parquet", 7), 600, 5)
	vr, err := ds.Vacuum(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(vr.Deleted, orphan) {
		t.Fatalf("vacuum kept the uncommitted %s (deleted %v)", orphan, vr.Deleted)
	}
	if !slices.Contains(vr.Foreign, foreign) || slices.Contains(vr.Deleted, foreign) {
		t.Fatalf("vacuum: %s must be kept as foreign (deleted %v, foreign %v)", foreign, vr.Deleted, vr.Foreign)
	}
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after Vacuum: %d rows, want %d", len(got), len(want))
	}
	sameViews(t, "after Vacuum", cat, ds)
}
