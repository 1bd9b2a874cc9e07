package zones_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// TestWriterMemoryBudget writes the same rows with a budget so small that
// page buffers and file spools spill to temporary files, with one larger
// than the data (nothing spills), with everything on disk and with
// InMemoryBuffers, into memory, file and S3 lakes, and reads back the same
// rows and the same bytes. While the writer is open, spilled buffers are
// open unlinked files: TempDir stays empty, and nothing is left open once
// the write is committed.
func TestWriterMemoryBudget(t *testing.T) {
	ctx := context.Background()
	want := makeEvents(0, 40000, 12)
	cases := []struct {
		name    string
		lk      func(t *testing.T) *lake.Lake
		budget  int64
		inMem   bool
		spills  bool // spilled files are expected while writing
		noSpill bool // no spilled file is expected
	}{
		{"tiny/mem", func(t *testing.T) *lake.Lake { return memLake(t) }, 64 << 10, false, true, false},
		{"tiny/file", func(t *testing.T) *lake.Lake { return fileLake(t, "") }, 64 << 10, false, true, false},
		{"tiny/s3", func(t *testing.T) *lake.Lake { return s3Lake(t) }, 64 << 10, false, true, false},
		{"large/mem", func(t *testing.T) *lake.Lake { return memLake(t) }, 1 << 30, false, false, true},
		{"default/file", func(t *testing.T) *lake.Lake { return fileLake(t, "") }, 0, false, false, true},
		{"all-disk/mem", func(t *testing.T) *lake.Lake { return memLake(t) }, -1, false, true, false},
		{"in-memory/mem", func(t *testing.T) *lake.Lake { return memLake(t) }, 0, true, false, true},
	}
	var bytesOf int64
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			ds := newEvents(t, c.lk(t), &zones.Options[event]{MemoryBudget: c.budget, InMemoryBuffers: c.inMem, TempDir: tmp, MaxOpenPartitions: 8})
			w, err := ds.NewWriter(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(want); i += 5000 {
				if err := w.Write(ctx, want[i:i+5000]); err != nil {
					t.Fatal(err)
				}
				ents, err := os.ReadDir(tmp)
				if err != nil {
					t.Fatal(err)
				}
				if len(ents) != 0 {
					t.Fatalf("TempDir holds %s while writing: spilled files must be unlinked", ents[0].Name())
				}
			}
			open := zones.OpenDeletedIn(tmp)
			if open >= 0 {
				if c.spills && open == 0 {
					t.Fatalf("budget %d: no spilled file open while writing", c.budget)
				}
				if c.noSpill && open != 0 {
					t.Fatalf("budget %d: %d spilled files open, want none", c.budget, open)
				}
			}
			res, err := w.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := zones.OpenDeletedIn(tmp); n > 0 {
				t.Fatalf("%d spill files still open after Commit", n)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Fatalf("TempDir holds %d entries after Commit", len(ents))
			}
			got := readAll(t, ds, nil)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("read back differs (-want +got):\n%s", diff)
			}
			// the files do not depend on where their pages were buffered
			// (InMemoryBuffers writes parquet-go's default, larger pages)
			if c.inMem {
				return
			}
			if bytesOf == 0 {
				bytesOf = res.Bytes
			} else if res.Bytes != bytesOf {
				t.Fatalf("wrote %d bytes, the first case %d", res.Bytes, bytesOf)
			}
		})
	}
}

// TestWriterMemoryBudgetAbort: an aborted writer that spilled closes its
// files and leaves nothing in TempDir.
func TestWriterMemoryBudgetAbort(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	ds := newEvents(t, memLake(t), &zones.Options[event]{MemoryBudget: 32 << 10, TempDir: tmp})
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, makeEvents(0, 20000, 4)); err != nil {
		t.Fatal(err)
	}
	// a second Write waits for the first one's encoding
	if err := w.Write(ctx, makeEvents(20000, 4, 4)); err != nil {
		t.Fatal(err)
	}
	if n := zones.OpenDeletedIn(tmp); n == 0 {
		t.Fatal("no spilled file open under a 32 KiB budget")
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := zones.OpenDeletedIn(tmp); n > 0 {
		t.Fatalf("%d spill files still open after Abort", n)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Fatalf("TempDir holds %d entries after Abort", len(ents))
	}
}
