//go:build cgo

package query_test

import (
	"context"
	"fmt"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

type visit struct {
	Page  string `parquet:"page"`
	Views int64  `parquet:"views"`
	Day   string `parquet:"day" lakekit:"partition"`
}

// The main job of query: SQL over the lake through an Engine, rows scanned
// into structs as they stream. The DuckDB engine runs here; Athena and
// Redshift take the same SQL and the same Rows/All calls.
func Example() {
	ctx := context.Background()
	lk, _ := lake.Open(ctx, "mem://", nil)
	defer lk.Close()
	cat, _ := catalog.OpenLocal(lk)
	ds, _ := zones.NewDataset[visit](lk, lake.Curated, "web", "visits", &zones.Options[visit]{Catalog: cat})
	w, _ := ds.NewWriter(ctx, nil)
	w.Write(ctx, []visit{{"/", 12, "2024-05-01"}, {"/docs", 3, "2024-05-01"}, {"/", 7, "2024-05-02"}})
	if _, err := w.Commit(ctx); err != nil {
		panic(err)
	}

	var e query.Engine
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()
	type pageViews struct {
		Page  string `db:"page"`
		Views int64  `db:"views"`
	}
	for row, err := range query.Rows[pageViews](ctx, e,
		`SELECT page, sum(views) AS views FROM web.visits WHERE day >= ? GROUP BY page ORDER BY views DESC`, "2024-05-01") {
		if err != nil {
			panic(err)
		}
		fmt.Println(row.Page, row.Views)
	}
	// Output:
	// / 19
	// /docs 3
}
