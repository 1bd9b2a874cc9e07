package iceberg_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// streamRows writes n Event rows over 4 days in batches of 1000 (made per
// batch: the test holds none) and returns the writer's largest Buffered()
// and the live heap (after GC) grown since before NewWriter, measured
// after the last Write, before Commit.
func streamRows(t *testing.T, tbl *iceberg.Table[Event], n int, opts *iceberg.WriterOptions) (int64, int64, *iceberg.Commit) {
	t.Helper()
	ctx := context.Background()
	base := liveHeap()
	w, err := tbl.NewWriter(ctx, iceberg.WriteAppend, opts)
	if err != nil {
		t.Fatal(err)
	}
	var most int64
	for i := 0; i < n; i += 1000 {
		if err := w.Write(ctx, events(i, 1000, "a", "b", "c", "d")); err != nil {
			t.Fatal(err)
		}
		most = max(most, w.Buffered())
	}
	grown := int64(liveHeap()) - int64(base)
	c, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return most, grown, c
}

// TestIcebergWriterBoundedMemory: a Writer holds at most its open files'
// rows (4 partitions x MaxRowsPerFile), whatever it writes: 10x more rows
// leave Buffered the same and the live heap during the write (after GC)
// less than 3x larger (and below half the size of the rows as []T), where
// a writer buffering every row grows 10x.
// Every row is committed in one snapshot, in rolled files of at most
// MaxRowsPerFile rows.
func TestIcebergWriterBoundedMemory(t *testing.T) {
	ctx := context.Background()
	opts := &iceberg.WriterOptions{MaxRowsPerFile: 2000}
	// Warm up: the first write's one-time allocations (codec tables,
	// pools) are not the writer's retained memory.
	_, warm := openLocal(t)
	streamRows(t, warm, 10_000, opts)
	var grown [2]int64
	for i, n := range []int{20_000, 200_000} {
		_, tbl := openLocal(t)
		most, g, c := streamRows(t, tbl, n, opts)
		grown[i] = max(g, 1<<20) // below 1 MiB is noise
		if most > 4*2000 {
			t.Errorf("%d rows: the writer held %d rows at once, want at most 4 partitions x 2000", n, most)
		}
		if c.Rows != int64(n) || c.Files < n/2000 || c.Files > n/2000+4 {
			t.Errorf("%d rows: commit of %d rows in %d files, want %d rows in about %d files", n, c.Rows, c.Files, n, n/2000)
		}
		snaps, err := tbl.Snapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tbl.Read(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) != 1 {
			t.Errorf("%d rows: %d snapshots, want 1", n, len(snaps))
		}
		if diff := cmp.Diff(events(0, n, "a", "b", "c", "d"), sortByID(got)); diff != "" {
			t.Errorf("%d rows read back (-want +got):\n%s", n, diff)
		}
		t.Logf("%d rows: at most %d buffered, live heap grew %.1f MiB during the write, %d files", n, most, float64(g)/(1<<20), c.Files)
	}
	if grown[1] > 3*grown[0] {
		t.Errorf("live heap during the write grew %d bytes for 200k rows, %d for 20k: more than 3x for 10x the rows", grown[1], grown[0])
	}
	// Holding the 200k rows as []Event would take this twice over.
	if half := int64(200_000 * unsafe.Sizeof(Event{}) / 2); grown[1] > half {
		t.Errorf("live heap during the write of 200k rows grew %d bytes, more than half of what the rows alone take (%d)", grown[1], half)
	}
}

// TestIcebergFormatWriterStreams: through a zones dataset's Iceberg table,
// a DatasetWriter writes data files out under data/ as they fill
// (uncommitted: no reader sees them); Abort deletes them and leaves the
// table as it was (rows, snapshots, iceberg-go's scan); Commit of several
// Write calls is one snapshot of every row, and an OverwritePartitions
// writer replaces only its partitions.
func TestIcebergFormatWriterStreams(t *testing.T) {
	ctx := context.Background()
	lk, cat, _ := salesLake(t)
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, ft := ds.Format()
	dt := ft.(*iceberg.DatasetTable[Sale])
	first := sales(0, 10, "eu", "us")
	c1 := commitRows(t, ds, zones.Append, first)
	tbl, err := dt.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := dataFiles(t, it)

	opts := &iceberg.WriterOptions{MaxRowsPerFile: 100}
	w, err := dt.NewWriter(ctx, zones.Append, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := w.Write(ctx, sales(100+i*100, 100, "eu", "us")); err != nil {
			t.Fatal(err)
		}
	}
	spilled := w.Writer().Files()
	if len(spilled) < 8 || len(dataFiles(t, it)) != len(before)+len(spilled) {
		t.Fatalf("after 1000 rows at 100 per file: %d files written out, %d on disk (%d before); want at least 8 new", len(spilled), len(dataFiles(t, it)), len(before))
	}
	if diff := cmp.Diff(sortSales(first), readSales(t, ds, nil)); diff != "" {
		t.Errorf("uncommitted files are visible (-want +got):\n%s", diff)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dataFiles(t, it)); diff != "" {
		t.Errorf("data files after Abort (-before +now):\n%s", diff)
	}
	for _, f := range spilled {
		if _, err := os.Stat(strings.TrimPrefix(f, "file://")); !os.IsNotExist(err) {
			t.Errorf("aborted file %s: %v, want deleted", f, err)
		}
	}
	if diff := cmp.Diff(sortSales(first), readSales(t, ds, nil)); diff != "" {
		t.Errorf("after Abort (-want +got):\n%s", diff)
	}
	if it, err = tbl.Iceberg(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(it.Metadata().Snapshots()); n != 1 {
		t.Errorf("%d snapshots after Abort, want 1", n)
	}
	if diff := cmp.Diff(saleKeys(first), saleScan(ctx, t, it, c1.Version)); diff != "" {
		t.Errorf("iceberg-go scan after Abort (-want +got):\n%s", diff)
	}
	if err := w.Write(ctx, first); !errors.Is(err, iceberg.ErrWriterClosed) {
		t.Errorf("Write after Abort: %v, want ErrWriterClosed", err)
	}

	all := append([]Sale(nil), first...)
	w, err = dt.NewWriter(ctx, zones.Append, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		rows := sales(2000+i*100, 100, "eu", "us")
		all = append(all, rows...)
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	c2, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Rows != 500 {
		t.Errorf("commit of %d rows, want 500", c2.Rows)
	}
	if diff := cmp.Diff(sortSales(all), readSales(t, ds, nil)); diff != "" {
		t.Errorf("after the streamed append (-want +got):\n%s", diff)
	}
	if it, err = tbl.Iceberg(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saleKeys(all), saleScan(ctx, t, it, c2.Version)); diff != "" {
		t.Errorf("iceberg-go scan after the streamed append (-want +got):\n%s", diff)
	}

	w, err = dt.NewWriter(ctx, zones.OverwritePartitions, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	eu := sales(5000, 150, "eu")
	if err := w.Write(ctx, eu); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := append([]Sale(nil), eu...)
	for _, s := range all {
		if s.Region != "eu" {
			want = append(want, s)
		}
	}
	if diff := cmp.Diff(sortSales(want), readSales(t, ds, nil)); diff != "" {
		t.Errorf("after the streamed partition overwrite (-want +got):\n%s", diff)
	}
}

// TestIcebergWriterInterleavedPartitions: rows of 40 partitions, each
// Write cycling through all of them row by row (as a stream of events
// over many days arrives), make one data file per partition with the
// default MaxOpenFiles, and at most one per partition and Write when
// MaxOpenFiles is 8. A writer that finished the least recently used file
// whenever a row of another partition came made a file for nearly every
// row (2,000 here; 1M rows over 100 days made 1M files). Every row is read
// back.
func TestIcebergWriterInterleavedPartitions(t *testing.T) {
	ctx := context.Background()
	days := make([]string, 40)
	for i := range days {
		days[i] = fmt.Sprintf("d%02d", i)
	}
	for _, tc := range []struct {
		open, most int
	}{{0, 40}, {8, 40 * 5}} {
		_, tbl := openLocal(t)
		w, err := tbl.NewWriter(ctx, iceberg.WriteAppend, &iceberg.WriterOptions{MaxOpenFiles: tc.open})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := w.Write(ctx, events(i*400, 400, days...)); err != nil {
				t.Fatal(err)
			}
		}
		c, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rows != 2000 || c.Files > tc.most || c.Files < 40 {
			t.Errorf("MaxOpenFiles %d: %d rows in %d files, want 2000 rows in 40 to %d files", tc.open, c.Rows, c.Files, tc.most)
		}
		got, err := tbl.Read(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(events(0, 2000, days...), sortByID(got)); diff != "" {
			t.Errorf("MaxOpenFiles %d: rows read back (-want +got):\n%s", tc.open, diff)
		}
	}
}
