package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

// iceSale is an Iceberg dataset's row: the partition column is stored in the
// data files, as Iceberg does.
type iceSale struct {
	ID     int64     `parquet:"id"`
	Item   string    `parquet:"item"`
	Amount float64   `parquet:"amount"`
	At     time.Time `parquet:"at"`
	Region string    `parquet:"region" lakekit:"partition"`
}

func someSales(from, n int, regions ...string) []iceSale {
	base := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	out := make([]iceSale, n)
	for i := range out {
		id := int64(from + i)
		out[i] = iceSale{ID: id, Item: fmt.Sprintf("item-%d", id), Amount: float64(id) / 4, At: base.Add(time.Duration(id) * time.Minute),
			Region: regions[int(id)%len(regions)]}
	}
	return out
}

func commitSales(t *testing.T, ds *zones.Dataset[iceSale], mode zones.Mode, rows []iceSale) int64 {
	t.Helper()
	ctx := context.Background()
	w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res.Version
}

// TestIcebergDuckDBView: an Iceberg table (written through zones.Dataset
// with the Iceberg format) queried by the local DuckDB engine as a view
// over its snapshot's data files: the result equals the rows written after
// an append, a second append and an overwrite (no row of the replaced
// snapshot's files shows), the view follows Refresh, and a view attached at
// an older snapshot keeps showing it. Once with the Iceberg catalog inside
// the lake's directory (files read in place) and once outside it (files
// copied to the cache).
func TestIcebergDuckDBView(t *testing.T) {
	for _, where := range []string{"inside", "outside"} {
		t.Run(where, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			lk, err := lake.Open(ctx, "file://"+filepath.Join(dir, "lake"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer lk.Close()
			catDir := filepath.Join(dir, "iceberg")
			if where == "inside" {
				catDir = filepath.Join(dir, "lake", "iceberg")
			}
			cat, err := iceberg.LocalCatalog(catDir)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[iceSale]{Format: iceberg.Format[iceSale](cat, nil)})
			if err != nil {
				t.Fatal(err)
			}
			_, ft := ds.Format()
			src := ft.(duckdb.SnapshotSource)

			a := someSales(0, 9, "eu", "us")
			v1 := commitSales(t, ds, zones.Append, a)
			e, err := duckdb.Open(ctx, lk, nil, &duckdb.Options{CacheDir: filepath.Join(dir, "cache"), Zones: []lake.ZoneName{lake.Curated}})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if err := e.Attach(ctx, "shop", "sales", src, 0); err != nil {
				t.Fatal(err)
			}
			check := func(name string, want []iceSale, version int64) {
				t.Helper()
				got, err := query.All[iceSale](ctx, e, `SELECT id, item, amount, "at", region FROM shop.`+name+` ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				want = append([]iceSale(nil), want...)
				sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s at snapshot %d (-want +got):\n%s", name, version, diff)
				}
				if s, ok := e.Attached("shop", name); !ok || s != version {
					t.Errorf("view %s shows snapshot %d (%v), want %d", name, s, ok, version)
				}
			}
			check("sales", a, v1)

			b := someSales(100, 5, "apac")
			v2 := commitSales(t, ds, zones.Append, b)
			check("sales", a, v1) // not before Refresh
			if err := e.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			check("sales", append(append([]iceSale(nil), a...), b...), v2)

			o := someSales(900, 4, "us", "eu")
			v3 := commitSales(t, ds, zones.Overwrite, o)
			if err := e.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			check("sales", o, v3)

			if err := e.Attach(ctx, "shop", "sales_v1", src, v1); err != nil {
				t.Fatal(err)
			}
			check("sales_v1", a, v1)
			if err := e.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			check("sales_v1", a, v1)
		})
	}
}
