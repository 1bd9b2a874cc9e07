// Package readme holds the code sample of the README, compiled and run by
// its test, which also checks that the README shows exactly this code.
package readme

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

// README:BEGIN

// Click is one row of the curated table web.clicks, partitioned by day.
type Click struct {
	User string    `parquet:"user_id"`
	Page string    `parquet:"page"`
	At   time.Time `parquet:"at"`
	Day  string    `parquet:"dt" lakekit:"partition"`
}

func run(ctx context.Context, lakeURL string, out io.Writer) error {
	lk, err := lake.Open(ctx, lakeURL, nil) // "./lake", or "s3://bucket/prefix" with lake/s3store imported
	if err != nil {
		return err
	}
	cat, err := catalog.OpenLocal(lk) // or catalog.NewGlue(awsConfig, nil)
	if err != nil {
		return err
	}
	clicks, err := zones.NewDataset[Click](lk, lake.Curated, "web", "clicks", &zones.Options[Click]{Catalog: cat})
	if err != nil {
		return err
	}
	w, err := clicks.NewWriter(ctx, nil)
	if err != nil {
		return err
	}
	rows := []Click{{"u1", "/", time.Now(), "2024-05-01"}, {"u2", "/cart", time.Now(), "2024-05-01"}}
	if err := w.Write(ctx, rows); err != nil {
		return err
	}
	if _, err := w.Commit(ctx); err != nil { // one new table version or none (see "What commits promise")
		return err
	}
	eng, err := duckdb.Open(ctx, lk, cat, nil) // or query.NewAthena(awsConfig, ...) on AWS
	if err != nil {
		return err
	}
	defer eng.Close()
	type views struct {
		Page string
		N    int64
	}
	res, err := query.All[views](ctx, eng, "SELECT page, count(*) AS n FROM web.clicks WHERE dt = ? GROUP BY page ORDER BY page", "2024-05-01")
	fmt.Fprintln(out, res)
	return err
}

// README:END
