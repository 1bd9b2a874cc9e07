package duckdb_test

import (
	"context"
	"testing"

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
