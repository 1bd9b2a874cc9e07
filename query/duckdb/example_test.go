package duckdb_test

import (
	"context"
	"fmt"
	"os"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

type sale struct {
	ID     int64   `parquet:"id"`
	Amount float64 `parquet:"amount"`
	Region string  `parquet:"-" lakekit:"partition,name=region"`
}

// Write a partitioned table with zones, then query it with SQL.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lakekit-example-")
	defer os.RemoveAll(dir)
	lk, err := lake.Open(ctx, "file://"+dir, nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		panic(err)
	}
	ds, err := zones.NewDataset[sale](lk, lake.Curated, "shop", "sales", &zones.Options[sale]{Catalog: cat})
	if err != nil {
		panic(err)
	}
	w, _ := ds.NewWriter(ctx, nil)
	w.Write(ctx, []sale{{1, 10, "eu"}, {2, 20, "eu"}, {3, 5, "us"}})
	if _, err := w.Commit(ctx); err != nil {
		panic(err)
	}

	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()
	type total struct {
		Region string
		Sum    float64
	}
	rows, err := query.All[total](ctx, e, `SELECT region, sum(amount) AS sum FROM shop.sales WHERE amount > ? GROUP BY region ORDER BY region`, 1.0)
	if err != nil {
		panic(err)
	}
	for _, r := range rows {
		fmt.Println(r.Region, r.Sum)
	}
	// Output:
	// eu 30
	// us 5
}
