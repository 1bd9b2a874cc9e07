package duckdb_test

import (
	"context"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/query/enginetest"
	"github.com/lakekit/lakekit/zones"
)

// TestConformance runs the engine suite on a real lake written by zones.
func TestConformance(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	ds, err := zones.NewDataset[enginetest.Order](lk, lake.Curated, enginetest.Database, enginetest.Table, &zones.Options[enginetest.Order]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, enginetest.Orders()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	enginetest.Run(t, e)
}

// writeTwice writes rows into shop.orders, then writes them again with
// mode (an overwrite moves the data to a new generation folder and points
// the catalog there).
func writeTwice[T any](t *testing.T, lk *lake.Lake, cat catalog.Catalog, rows []T, mode zones.Mode) {
	t.Helper()
	ctx := context.Background()
	ds, err := zones.NewDataset[T](lk, lake.Curated, enginetest.Database, enginetest.Table, &zones.Options[T]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []zones.Mode{zones.Append, mode} {
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: m})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConformanceAfterOverwrite: after Overwrite or OverwritePartitions the
// catalog's table or partition locations point into generation folders
// (<table>/_g<version>-<id>/); the engine opened with that catalog still
// finds the table and answers the suite, partitioned or not, with the
// local catalog and with Glue (moto).
func TestConformanceAfterOverwrite(t *testing.T) {
	outer := t
	var moto *testaws.Moto // one for the Glue cases, reset between them
	catalogs := map[string]func(t *testing.T, lk *lake.Lake) catalog.Catalog{
		"local": func(t *testing.T, lk *lake.Lake) catalog.Catalog {
			cat, err := catalog.OpenLocal(lk)
			if err != nil {
				t.Fatal(err)
			}
			return cat
		},
		"glue": func(t *testing.T, lk *lake.Lake) catalog.Catalog {
			if moto == nil {
				moto = testaws.StartMoto(outer)
			}
			moto.Reset(t)
			g, err := catalog.NewGlue(moto.Config(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
	}
	for _, cname := range []string{"local", "glue"} {
		for _, mode := range []zones.Mode{zones.Overwrite, zones.OverwritePartitions} {
			for _, layout := range []string{"partitioned", "unpartitioned"} {
				t.Run(cname+"/"+mode.String()+"/"+layout, func(t *testing.T) {
					ctx := context.Background()
					lk, err := lake.Open(ctx, "file://"+t.TempDir(), nil)
					if err != nil {
						t.Fatal(err)
					}
					defer lk.Close()
					cat := catalogs[cname](t, lk)
					if layout == "partitioned" {
						writeTwice(t, lk, cat, enginetest.Orders(), mode)
					} else {
						writeTwice(t, lk, cat, enginetest.FlatOrders(), mode)
					}
					e, err := duckdb.Open(ctx, lk, cat, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer e.Close()
					if _, ok := e.Version(enginetest.Database, enginetest.Table); !ok {
						ct, _ := cat.GetTable(ctx, enginetest.Database, enginetest.Table)
						var loc string
						if ct != nil {
							loc = ct.Location
						}
						t.Fatalf("no view of %s.%s (catalog location %q)", enginetest.Database, enginetest.Table, loc)
					}
					enginetest.Run(t, e)
				})
			}
		}
	}
}
