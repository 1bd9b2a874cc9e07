package zones_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Sale is a row of the curated sales table, partitioned by region. The
// region is not stored in the files: readers fill it in from the partition.
type Sale struct {
	ID     int64     `parquet:"id"`
	At     time.Time `parquet:"at"`
	Amount float64   `parquet:"amount"`
	Region string    `parquet:"region" lakekit:"partition"`
}

func Example() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer lk.Close()
	sales, err := zones.NewDataset[Sale](lk, lake.Curated, "shop", "sales", nil)
	if err != nil {
		log.Fatal(err)
	}

	// Write and commit: nothing is visible before Commit.
	w, err := sales.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: "sales-2024-05-01"})
	if err != nil {
		log.Fatal(err)
	}
	day := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	err = w.Write(ctx, []Sale{
		{ID: 1, At: day, Amount: 10, Region: "eu"},
		{ID: 2, At: day.Add(time.Hour), Amount: 25.5, Region: "us"},
		{ID: 3, At: day.Add(2 * time.Hour), Amount: 7, Region: "eu"},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := w.Commit(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("version %d: %d rows in %d partitions\n", res.Version, res.Rows, len(res.Partitions))

	// Read one partition, rows with amount >= 8.
	for s, err := range sales.Read(ctx, &zones.ReadOptions{
		Partitions: zones.PartitionIn("region", "eu"),
		Where:      []zones.Predicate{zones.Ge("amount", 8)},
	}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.ID, s.Region, s.Amount, s.At.Format(time.RFC3339))
	}

	// Replace the eu partition; version 1 stays readable (time travel).
	w, _ = sales.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions})
	w.Write(ctx, []Sale{{ID: 4, At: day, Amount: 99, Region: "eu"}})
	if _, err := w.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	now, _ := sales.ReadAll(ctx, nil)
	then, _ := sales.ReadAll(ctx, &zones.ReadOptions{Version: 1})
	fmt.Println("rows now:", len(now), "rows at version 1:", len(then))
	// Output:
	// version 1: 3 rows in 2 partitions
	// 1 eu 10 2024-05-01T09:00:00Z
	// rows now: 2 rows at version 1: 3
}

func ExampleOpenTable() {
	ctx := context.Background()
	lk, _ := lake.Open(ctx, "mem://", nil)
	defer lk.Close()
	sales, _ := zones.NewDataset[Sale](lk, lake.Curated, "shop", "sales", nil)
	w, _ := sales.NewWriter(ctx, &zones.WriterOptions{Caller: "example"})
	w.Write(ctx, []Sale{{ID: 1, Amount: 3, Region: "eu"}})
	w.Commit(ctx)

	// An engine without the Go type lists the snapshot's files.
	t, err := zones.OpenTable(lk, lake.Curated, "shop", "sales")
	if err != nil {
		log.Fatal(err)
	}
	snap, err := t.Snapshot(ctx, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range snap.Files {
		fmt.Println(snap.Version, snap.PartitionKeys, f.Partition, f.Rows)
	}
	// Output:
	// 1 [region] region=eu 1
}
