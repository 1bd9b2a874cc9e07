package zones_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// The writer routes a batch's rows by their PartitionBy result and validates
// each distinct partition once: a partition whose values were seen earlier
// in the batch reuses that routing, but one with other keys, another key
// order or an invalid value is still refused, whatever came before it.
func TestPartitionByRoutingValidatesEachDistinctPartition(t *testing.T) {
	ctx := context.Background()
	type rec struct {
		ID     int64  `parquet:"id"`
		Region string `parquet:"region"`
		Day    string `parquet:"day"`
		Bad    int    `parquet:"bad"`
	}
	lk := memLake(t)
	ds, err := zones.NewDataset[rec](lk, lake.Cleaned, "route", "t", &zones.Options[rec]{
		PartitionKeys: []string{"region", "dt"},
		PartitionBy: func(r rec) (lake.Partition, error) {
			switch r.Bad {
			case 1: // the table's keys in the other order, the values where a valid pair has them
				return lake.Partition{{Key: "dt", Value: r.Region}, {Key: "region", Value: r.Day}}, nil
			case 2: // an empty value, which no partition may have
				return lake.Partition{{Key: "region", Value: ""}, {Key: "dt", Value: r.Day}}, nil
			case 3: // values whose plain concatenation equals a valid pair's
				return lake.Partition{{Key: "region", Value: r.Region + r.Day[:1]}, {Key: "dt", Value: r.Day[1:]}}, nil
			}
			return lake.Partition{{Key: "region", Value: r.Region}, {Key: "dt", Value: r.Day}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []rec
	for i := 0; i < 40; i++ {
		rows = append(rows, rec{ID: int64(i), Region: []string{"eu", "us"}[i%2], Day: []string{"2024-01-01", "2024-01-02"}[i/20]})
	}
	w, _ := ds.NewWriter(ctx, nil)
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Partitions) != 4 {
		t.Fatalf("%d partitions, want 4: %v", len(res.Partitions), res.Partitions)
	}
	for _, p := range res.Partitions {
		got, err := ds.ReadAll(ctx, &zones.ReadOptions{Partitions: func(q lake.Partition) bool { return q.String() == p.String() }})
		if err != nil || len(got) != 10 {
			t.Fatalf("partition %v: %d rows, %v", p, len(got), err)
		}
		for _, r := range got {
			if region, _ := p.Get("region"); r.Region != region {
				t.Fatalf("row %d (region %s) is in partition %v", r.ID, r.Region, p)
			}
		}
	}
	for bad, want := range map[int]string{1: "partition key 0", 2: "region", 3: ""} {
		batch := append(append([]rec(nil), rows[:4]...), rec{ID: 99, Region: "eu", Day: "2024-01-01", Bad: bad})
		w, _ := ds.NewWriter(ctx, nil)
		err := w.Write(ctx, batch)
		if bad == 3 {
			// a legal value: it must land in its own partition, not eu's
			if err != nil {
				t.Fatalf("bad=3: %v", err)
			}
			res, err := w.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range res.Partitions {
				if v, _ := p.Get("region"); v == "eu2" {
					found = true
				}
			}
			if !found {
				t.Fatalf("row with region eu2 was routed into %v", res.Partitions)
			}
			continue
		}
		if !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "row 4") {
			t.Fatalf("bad=%d: Write = %v, want ErrInvalid naming row 4 and %q", bad, err, want)
		}
		w.Abort(ctx)
	}
}
