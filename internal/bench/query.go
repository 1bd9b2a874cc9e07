package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	lkduck "github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "query_vs_read_parquet", what: "DuckDB engine over the catalog vs DuckDB read_parquet on the same files", run: queryVsReadParquet})
}

// benchQueries run on both sides; %s is the table (lakekit's view, or the
// peer's read_parquet). Each returns few rows, so the time is the scan.
var benchQueries = []struct{ name, sql string }{
	{"aggregate", "SELECT country, count(*) AS n, sum(amount) AS total FROM %s GROUP BY country ORDER BY country"},
	{"one_partition", "SELECT count(*) AS n, sum(amount) AS total, max(url) AS u FROM %s WHERE dt = '%s'"},
	{"top_users", "SELECT user_id, sum(amount) AS total FROM %s GROUP BY user_id ORDER BY total DESC, user_id LIMIT 10"},
}

// queryIters is how many times each query runs per rep and side; one query
// at the default size takes tens of milliseconds, too short to time alone.
const queryIters = 5

func queryVsReadParquet(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	dir, err := c.scratch("query")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	lk, err := openFileLake(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		return nil, err
	}
	if err := cat.CreateDatabase(ctx, catalog.Database{Name: benchDB}); err != nil {
		return nil, err
	}
	opts := datasetOptions(c.tmp)
	opts.Catalog = cat
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, opts)
	if err != nil {
		return nil, err
	}
	if _, err := writeEvents(ctx, ds, rows); err != nil {
		return nil, err
	}
	day := eventgen.Day(rows[len(rows)/2])

	t0 := time.Now()
	eng, err := lkduck.Open(ctx, lk, cat, nil)
	if err != nil {
		return nil, fmt.Errorf("open engine: %w", err)
	}
	defer eng.Close()
	openSeconds := time.Since(t0).Seconds()

	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	peerDB := sql.OpenDB(conn)
	defer peerDB.Close()
	tableDir := filepath.Join(dir, string(lake.Curated), benchDB, benchTable)
	readParquet := "read_parquet(" + sqlQuote(filepath.Join(tableDir, "*", "*.parquet")) + ", hive_partitioning = true)"
	view := benchDB + "." + benchTable

	render := func(q, from string) string {
		if strings.Count(q, "%s") == 2 {
			return fmt.Sprintf(q, from, day)
		}
		return fmt.Sprintf(q, from)
	}
	// answers of the first rep, to check both sides agree
	lakekitAnswers := map[string][][]any{}
	peerAnswers := map[string][][]any{}
	perQuery := map[string][2]float64{}

	lkv, pv, lks, pvs, err := measureTimed(c,
		func(rep int) (float64, error) {
			var total time.Duration
			for _, q := range benchQueries {
				s := render(q.sql, view)
				var ans [][]any
				t0 := time.Now()
				for i := 0; i < queryIters; i++ {
					res, err := eng.Query(ctx, s)
					if err != nil {
						return 0, fmt.Errorf("lakekit %s: %w", q.name, err)
					}
					if ans, err = res.All(); err != nil {
						return 0, fmt.Errorf("lakekit %s: %w", q.name, err)
					}
				}
				d := time.Since(t0)
				total += d
				lakekitAnswers[q.name] = normalizeRows(ans)
				if rep < 0 {
					continue // warm-up
				}
				pq := perQuery[q.name]
				pq[0] += d.Seconds() * 1000 / float64(queryIters*c.reps)
				perQuery[q.name] = pq
			}
			return total.Seconds() * 1000 / queryIters, nil
		},
		func(rep int) (float64, error) {
			var total time.Duration
			for _, q := range benchQueries {
				s := render(q.sql, readParquet)
				var ans [][]any
				t0 := time.Now()
				for i := 0; i < queryIters; i++ {
					a, err := queryAll(ctx, peerDB, s)
					if err != nil {
						return 0, fmt.Errorf("read_parquet %s: %w", q.name, err)
					}
					ans = a
				}
				d := time.Since(t0)
				total += d
				peerAnswers[q.name] = normalizeRows(ans)
				if rep < 0 {
					continue // warm-up
				}
				pq := perQuery[q.name]
				pq[1] += d.Seconds() * 1000 / float64(queryIters*c.reps)
				perQuery[q.name] = pq
			}
			return total.Seconds() * 1000 / queryIters, nil
		})
	if err != nil {
		return nil, err
	}
	for _, q := range benchQueries {
		if !reflect.DeepEqual(lakekitAnswers[q.name], peerAnswers[q.name]) {
			return nil, fmt.Errorf("%s: lakekit answered %v, read_parquet %v", q.name, lakekitAnswers[q.name], peerAnswers[q.name])
		}
	}
	sqls := map[string]string{}
	for _, q := range benchQueries {
		sqls[q.name] = q.sql
	}
	mean := map[string]string{}
	for name, v := range perQuery {
		mean[name] = fmt.Sprintf("lakekit %.1f ms, read_parquet %.1f ms", v[0], v[1])
	}
	r := &Result{
		Unit:           fmt.Sprintf("ms for the %d queries once each (lower is better; ratio = peer/lakekit)", len(benchQueries)),
		Lakekit:        round(lkv, 2),
		Peer:           "plain in-memory DuckDB: the same SQL over read_parquet('<table>/*/*.parquet', hive_partitioning = true)",
		PeerValue:      round(pv, 2),
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 2),
		PeerSamples:    roundAll(pvs, 2),
		Extra: map[string]any{
			"queries":            sqls,
			"mean_per_query":     mean,
			"iterations_per_rep": queryIters,
			"engine_open_ms":     round(openSeconds*1000, 1),
			"notes":              "lakekit: query/duckdb.Open(lake, local catalog) view over the snapshot's files; both sides' answers are compared; engine open time is not in the number",
		},
	}
	r.finish(lkv/pv, target{op: "<=", value: 1.05}, 1/1.05)
	return r, nil
}

func queryAll(ctx context.Context, db *sql.DB, q string) ([][]any, error) {
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rs.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// normalizeRows makes both sides' values comparable: integers as int64,
// floats rounded to 6 significant decimals, everything else via fmt.
func normalizeRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for j, v := range r {
			rv := reflect.ValueOf(v)
			switch {
			case v == nil:
				out[i][j] = nil
			case rv.CanInt():
				out[i][j] = rv.Int()
			case rv.CanUint():
				out[i][j] = int64(rv.Uint())
			case rv.CanFloat():
				out[i][j] = fmt.Sprintf("%.6g", rv.Float())
			default:
				out[i][j] = fmt.Sprint(v)
			}
		}
	}
	return out
}
