package duckdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

// BenchmarkViewVsReadParquet compares a query through the engine's view of
// a 100-partition table with the same query over read_parquet of the same
// files (both through the same engine, so only the view differs). Target:
// view ≤ 1.1× read_parquet.
func BenchmarkViewVsReadParquet(b *testing.B) {
	ctx := context.Background()
	lk, cat := fileLake(b)
	writeEvents(b, lk, cat, events(400_000, 100, 0))
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	tbl, err := zones.OpenTable(lk, lake.Curated, "shop", "events")
	if err != nil {
		b.Fatal(err)
	}
	snap, err := tbl.Snapshot(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	for _, f := range snap.Files {
		files = append(files, "'"+strings.TrimPrefix(f.Location, "file://")+"'")
	}
	plain := "read_parquet([" + strings.Join(files, ", ") + "], hive_partitioning = true)"
	run := func(b *testing.B, sqlText string) time.Duration {
		start := time.Now()
		res, err := e.Query(ctx, sqlText)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := res.All(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for _, q := range []struct{ name, sql string }{
		{"aggregate", "SELECT bucket, count(*), sum(amount) FROM %s GROUP BY bucket"},
		{"one_partition", "SELECT count(*), sum(amount) FROM %s WHERE bucket = 42"},
	} {
		// paired: each iteration runs both, alternating which goes first,
		// so load from other processes hits both alike
		b.Run(q.name+"/paired", func(b *testing.B) {
			viewSQL := strings.Replace(q.sql, "%s", "shop.events", 1)
			plainSQL := strings.Replace(q.sql, "%s", plain, 1)
			var tv, tp time.Duration
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					tv += run(b, viewSQL)
					tp += run(b, plainSQL)
				} else {
					tp += run(b, plainSQL)
					tv += run(b, viewSQL)
				}
			}
			b.ReportMetric(float64(tv)/float64(tp), "view/read_parquet")
		})
		for _, src := range []struct{ name, from string }{{"view", "shop.events"}, {"read_parquet", plain}} {
			sqlText := strings.Replace(q.sql, "%s", src.from, 1)
			b.Run(q.name+"/"+src.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					res, err := e.Query(ctx, sqlText)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := res.All(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	_ = query.ErrInvalid
}
