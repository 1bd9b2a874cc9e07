package iceberg_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// parquetUnder lists the .parquet files under dir.
func parquetUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestIcebergFormatDatasetStreamsAndPrunes: through zones.Dataset (the API
// users call), a Writer on the Iceberg format writes data files while rows
// come in (before Commit the files exist and no snapshot names them),
// Abort deletes them, Commit makes one snapshot of every row; and a read
// with ReadOptions.Partitions opens only the selected partition's files.
func TestIcebergFormatDatasetStreamsAndPrunes(t *testing.T) {
	ctx := context.Background()
	lk, local, dir := salesLake(t)
	cat := &openCounter{Catalog: local}
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, &iceberg.FormatOptions{Writer: &iceberg.WriterOptions{MaxRowsPerFile: 5000}})})
	if err != nil {
		t.Fatal(err)
	}
	seed := commitRows(t, ds, zones.Append, sales(0, 30, "eu", "us", "ap"))
	before := len(parquetUnder(t, dir))

	// an aborted write leaves no file and no snapshot
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, sales(100, 30, "eu", "us", "ap")); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(parquetUnder(t, dir)); n != before {
		t.Fatalf("after Abort %d data files, want the %d committed ones", n, before)
	}

	// a write large enough to finish files before Commit
	w, err = ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []Sale
	for i := range 40 {
		b := sales(1000+i*2000, 2000, "eu", "us", "ap")
		rows = append(rows, b...)
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := ds.Snapshot(ctx, 0); err != nil || s.Version != seed.Version {
		t.Fatalf("before Commit the current snapshot is %+v (%v), want the seed's %d", s, err, seed.Version)
	}
	if n := len(parquetUnder(t, dir)); n <= before {
		t.Fatalf("80,000 rows written, not committed: %d data files, want more than the %d committed: the writer kept its rows instead of streaming them", n, before)
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != int64(len(rows)) {
		t.Fatalf("commit of %d rows reports %d", len(rows), res.Rows)
	}
	all := readSales(t, ds, nil)
	if len(all) != 30+len(rows) {
		t.Fatalf("read %d rows, want %d", len(all), 30+len(rows))
	}

	cat.take()
	eu := readSales(t, ds, &zones.ReadOptions{Partitions: zones.PartitionIn("region", "eu")})
	opened := cat.take()
	want := 0
	for _, s := range all {
		if s.Region == "eu" {
			want++
		}
	}
	if len(eu) != want {
		t.Fatalf("region=eu: %d rows, want %d", len(eu), want)
	}
	if len(opened) == 0 {
		t.Fatal("region=eu read opened no data file")
	}
	for _, f := range opened {
		if !strings.Contains(f, "region=eu") {
			t.Fatalf("a read of region=eu opened %s (of %d files opened)", f, len(opened))
		}
	}
}
