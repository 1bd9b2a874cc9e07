package query_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
	"github.com/lakekit/lakekit/zones"
)

// TestAthenaEstimate: the dry run sums the files of the partitions the
// filter keeps, from the catalog's partitions and the commit log, without
// calling Athena (the engine's endpoint is a closed port).
func TestAthenaEstimate(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://estimate", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := zones.NewDataset[enginetest.Order](lk, lake.Curated, "shop", "orders", &zones.Options[enginetest.Order]{Catalog: cat})
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
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var all, eu int64
	for _, f := range snap.Files {
		all += f.Size
		if v, _ := f.Partition.Get("region"); v == "eu" {
			eu += f.Size
		}
	}
	a, err := query.NewAthena(testaws.Config(t, "http://127.0.0.1:1"), &query.AthenaOptions{Catalog: cat, Lake: lk, PricePerTB: 5})
	if err != nil {
		t.Fatal(err)
	}
	est, err := a.Estimate(ctx, "shop", "orders", "region = 'eu'")
	if err != nil {
		t.Fatal(err)
	}
	if est.Partitions != 1 || est.Bytes != eu || est.Bytes == 0 || est.Cost != query.AthenaCost(eu, 5) {
		t.Fatalf("estimate %+v, want 1 partition of %d bytes", est, eu)
	}
	est, err = a.Estimate(ctx, "shop", "orders", "")
	if err != nil || est.Partitions != 3 || est.Bytes != all {
		t.Fatalf("whole table: %+v, %v; want 3 partitions, %d bytes", est, err, all)
	}
	if _, err := a.Estimate(ctx, "shop", "nope", ""); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("missing table: %v", err)
	}
}
