package zones_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

type paRow struct {
	ID     int64  `parquet:"id"`
	Region string `parquet:"region" lakekit:"partition"`
}

// PartitionOf answers what Write files a row under; ClearPartitions lets an
// OverwritePartitions commit empty a partition no new row falls into.
func TestPartitionOfAndClearPartitions(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	ds, err := zones.NewDataset[paRow](lk, lake.Curated, "db", "pa", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ds.PartitionOf(&paRow{ID: 1, Region: "eu"})
	if err != nil || p.String() != "region=eu" {
		t.Fatalf("PartitionOf = %v, %v", p, err)
	}
	if _, err := ds.PartitionOf(&paRow{ID: 1}); !errors.Is(err, zones.ErrInvalid) {
		t.Fatalf("empty partition value: %v", err)
	}
	w, _ := ds.NewWriter(ctx, nil)
	w.Write(ctx, []paRow{{1, "eu"}, {2, "us"}})
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w, _ = ds.NewWriter(ctx, nil)
	if err := w.ClearPartitions(lake.Partition{{Key: "region", Value: "eu"}}); !errors.Is(err, zones.ErrInvalid) {
		t.Fatalf("ClearPartitions on an append: %v", err)
	}
	w.Abort(ctx)
	w, _ = ds.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions})
	if err := w.ClearPartitions(lake.Partition{{Key: "dt", Value: "x"}}); !errors.Is(err, zones.ErrInvalid) {
		t.Fatalf("ClearPartitions with a foreign key: %v", err)
	}
	if err := w.ClearPartitions(lake.Partition{{Key: "region", Value: "eu"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []paRow{{3, "ap"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := ds.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, r := range rows {
		got[r.ID] = r.Region
	}
	if len(got) != 2 || got[2] != "us" || got[3] != "ap" {
		t.Fatalf("after clearing eu: %v", got)
	}
}
