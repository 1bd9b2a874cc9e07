package iceberg_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go/table"

	"github.com/lakekit/lakekit/iceberg"
)

// cmpRow is the row of the writer comparison (issue 18): a flat struct
// of the common kinds and an identity partition of four values.
type cmpRow struct {
	ID    int64     `parquet:"id"`
	Name  string    `parquet:"name"`
	Score float64   `parquet:"score"`
	At    time.Time `parquet:"at"`
	Part  string    `parquet:"part" lakekit:"partition"`
}

func cmpRows(n int) []cmpRow {
	parts := []string{"p0", "p1", "p2", "p3"}
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	out := make([]cmpRow, n)
	for i := range out {
		out[i] = cmpRow{
			ID:    int64(i),
			Name:  fmt.Sprintf("name-%d", i),
			Score: float64(i) * 0.25,
			At:    base.Add(time.Duration(i) * time.Second),
			Part:  parts[i%len(parts)],
		}
	}
	return out
}

// cmpArrow is rows as an Arrow table whose columns match the Iceberg
// schema lakekit derives from cmpRow (all required; at is timestamptz in
// microseconds), built with arrow-go's builders in batches of batch rows.
func cmpArrow(rows []cmpRow, batch int) arrow.Table {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "part", Type: arrow.BinaryTypes.String},
	}, nil)
	var recs []arrow.RecordBatch
	for lo := 0; lo < len(rows); lo += batch {
		hi := min(lo+batch, len(rows))
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for _, r := range rows[lo:hi] {
			b.Field(0).(*array.Int64Builder).Append(r.ID)
			b.Field(1).(*array.StringBuilder).Append(r.Name)
			b.Field(2).(*array.Float64Builder).Append(r.Score)
			b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(r.At.UnixMicro()))
			b.Field(4).(*array.StringBuilder).Append(r.Part)
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	tbl := array.NewTableFromRecords(sc, recs)
	for _, r := range recs {
		r.Release()
	}
	return tbl
}

// cmpTable opens a new, empty lakekit table of cmpRow in its own local
// catalog; both writers write to tables made by it, so they share the
// schema (field IDs, required columns) and partition spec.
func cmpTable(tb testing.TB) *iceberg.Table[cmpRow] {
	tb.Helper()
	cat, err := iceberg.LocalCatalog(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := iceberg.Open[cmpRow](context.Background(), cat, []string{"curated", "cmp"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tbl
}

const cmpBatch = 10_000

// writeLakekit writes rows through lakekit's parquet-go Writer in
// batches of cmpBatch and commits them as one snapshot.
func writeLakekit(ctx context.Context, tbl *iceberg.Table[cmpRow], rows []cmpRow) error {
	w, err := tbl.NewWriter(ctx, iceberg.WriteAppend, nil)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(rows); lo += cmpBatch {
		if err := w.Write(ctx, rows[lo:min(lo+cmpBatch, len(rows))]); err != nil {
			return err
		}
	}
	_, err = w.Commit(ctx)
	return err
}

// writeIcebergGo appends an Arrow table with iceberg-go's own writer
// (Transaction.AppendTable: iceberg-go's Parquet writer, its partition
// fan-out and its snapshot producer) and commits the transaction.
func writeIcebergGo(ctx context.Context, tbl *iceberg.Table[cmpRow], at arrow.Table) error {
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		return err
	}
	txn := it.NewTransaction()
	if err := txn.AppendTable(tbl.Context(ctx), at, cmpBatch, nil); err != nil {
		return err
	}
	_, err = txn.Commit(tbl.Context(ctx))
	return err
}

// scanRows counts the rows of tbl's current snapshot with iceberg-go's
// own scan, not lakekit's reader.
func scanRows(t *testing.T, tbl *iceberg.Table[cmpRow]) (int64, *table.Table) {
	t.Helper()
	ctx := context.Background()
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at, err := it.Scan().ToArrowTable(tbl.Context(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	return at.NumRows(), it
}

func TestIcebergWriteLakekitVsIcebergGo(t *testing.T) {
	ctx := context.Background()
	rows := cmpRows(5000)
	at := cmpArrow(rows, cmpBatch)
	defer at.Release()
	if at.NumRows() != int64(len(rows)) {
		t.Fatalf("arrow table has %d rows, want %d", at.NumRows(), len(rows))
	}

	lk, ig := cmpTable(t), cmpTable(t)
	if err := writeLakekit(ctx, lk, rows); err != nil {
		t.Fatalf("lakekit write: %v", err)
	}
	if err := writeIcebergGo(ctx, ig, at); err != nil {
		t.Fatalf("iceberg-go write: %v", err)
	}
	for name, tbl := range map[string]*iceberg.Table[cmpRow]{"lakekit": lk, "iceberg-go": ig} {
		n, it := scanRows(t, tbl)
		if n != int64(len(rows)) {
			t.Errorf("%s: iceberg-go scan read %d rows, want %d", name, n, len(rows))
		}
		snap := it.CurrentSnapshot()
		if snap == nil || snap.Summary == nil {
			t.Fatalf("%s: no current snapshot after the write", name)
		}
		// Both sides must have written one file per partition at least:
		// the identity partition on part fans the rows out four ways.
		if files := snap.Summary.Properties["added-data-files"]; files == "" || files == "0" || files == "1" {
			t.Errorf("%s: added-data-files = %q, want >= 4 (one per partition)", name, files)
		}
	}
	// lakekit's own reader reads the iceberg-go-written files too: the
	// field IDs and types iceberg-go wrote agree with lakekit's schema.
	got, err := ig.Read(ctx, nil)
	if err != nil {
		t.Fatalf("lakekit read of iceberg-go files: %v", err)
	}
	if len(got) != len(rows) {
		t.Fatalf("lakekit read %d rows of the iceberg-go table, want %d", len(got), len(rows))
	}
}

// heapMark is the heap after a forced GC and release: the baseline
// that one write's memory is measured against.
func heapMark() runtime.MemStats {
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// BenchmarkIcebergWriteLakekitVsIcebergGo writes the same rows (50k and
// 200k, to see what grows with the input) with lakekit's parquet-go
// Writer and with iceberg-go's Arrow writer, each into a new table, and
// reports rows/s, allocations and two memory figures per write, both
// against a baseline taken after a forced GC and release just before it:
// heap-inuse-MB is how much more heap is in use right after the commit
// (no GC in between: live plus not yet collected), heap-grown-MB is how
// much the heap mapped from the OS grew during the write (a proxy for the
// write's peak heap). The Arrow conversion is done before the baseline,
// outside the timed region.
func BenchmarkIcebergWriteLakekitVsIcebergGo(b *testing.B) {
	for _, n := range []int{50_000, 200_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchWriters(b, n) })
	}
}

func benchWriters(b *testing.B, n int) {
	ctx := context.Background()
	rows := cmpRows(n)
	at := cmpArrow(rows, cmpBatch)
	defer at.Release()

	run := func(b *testing.B, write func(*iceberg.Table[cmpRow]) error) {
		b.ReportAllocs()
		var inuse, grown float64
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			tbl := cmpTable(b)
			base := heapMark()
			b.StartTimer()
			if err := write(tbl); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			inuse += float64(int64(m.HeapInuse)-int64(base.HeapInuse)) / (1 << 20)
			grown += float64(int64(m.HeapSys-m.HeapReleased)-int64(base.HeapSys-base.HeapReleased)) / (1 << 20)
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(inuse/float64(b.N), "heap-inuse-MB")
		b.ReportMetric(grown/float64(b.N), "heap-grown-MB")
	}
	b.Run("lakekit", func(b *testing.B) {
		run(b, func(tbl *iceberg.Table[cmpRow]) error { return writeLakekit(ctx, tbl, rows) })
	})
	b.Run("iceberggo", func(b *testing.B) {
		run(b, func(tbl *iceberg.Table[cmpRow]) error { return writeIcebergGo(ctx, tbl, at) })
	})
}
