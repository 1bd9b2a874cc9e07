// lakekit query: SQL over the lake's tables on DuckDB. DuckDB is a C++
// library, so this file needs cgo; query_nocgo.go stands in for it in
// CGO_ENABLED=0 builds.

//go:build cgo

package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
)

func runQuery(ctx context.Context, env *cli, args []string) error {
	f := newFlags("query", `"SQL" [PARAM...]`, "Runs one SQL statement on DuckDB over the lake's tables (each a view\n\"db.table\" over the files of its newest version) and prints the rows; then,\non stderr, the rows returned, the bytes scanned and the time. PARAMs fill the\nstatement's ? placeholders (numbers are passed as numbers). Only reads run.",
		"  lakekit query -lake ./quickstart-lake-123 \"SELECT dt, count(*) AS views FROM web.page_views GROUP BY dt ORDER BY dt\"\n  lakekit query -format csv \"SELECT * FROM web.page_views WHERE dt = ?\" 2024-05-01 > day.csv")
	format := f.String("format", "table", "output format: table (aligned columns), csv or json (an array of objects)")
	pos, help, err := f.parse(env, args, 1, -1)
	if help || err != nil {
		return err
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return usagef("query: -format %q: want table, csv or json", *format)
	}
	s, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer s.Close()
	p := env.startProgress("query: opening the tables")
	defer p.end()
	eng, err := duckdb.Open(ctx, s.lk, s.cat, &duckdb.Options{Profile: true})
	if err != nil {
		return err
	}
	defer eng.Close()
	params := make([]any, len(pos)-1)
	for i, a := range pos[1:] {
		params[i] = paramValue(a)
	}
	p.set("query: running")
	t0 := time.Now()
	res, err := eng.Query(ctx, pos[0], params...)
	if err != nil {
		return err
	}
	defer res.Close()
	rows, err := res.All()
	if err != nil {
		return err
	}
	p.end()
	if err := printRows(env, *format, res.ColumnNames(), rows); err != nil {
		return err
	}
	st := res.Stats()
	scanned := "unknown"
	if st.BytesScanned >= 0 {
		scanned = fmtBytes(st.BytesScanned)
	}
	fmt.Fprintf(env.stderr, "%s rows, %s scanned, %.2fs\n", fmtCount(int64(len(rows))), scanned, time.Since(t0).Seconds())
	return nil
}

// paramValue passes integers and decimal numbers as numbers, anything
// else as text.
func paramValue(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil {
		return x
	}
	return s
}

// printRows writes the result in the chosen format.
func printRows(env *cli, format string, names []string, rows [][]any) error {
	switch format {
	case "csv":
		w := csv.NewWriter(env.stdout)
		w.Write(names)
		for _, r := range rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = cellText(v)
			}
			w.Write(rec)
		}
		w.Flush()
		return w.Error()
	case "json":
		out := make([]map[string]any, 0, len(rows))
		for _, r := range rows {
			m := make(map[string]any, len(r))
			for i, v := range r {
				m[names[i]] = jsonValue(v)
			}
			out = append(out, m)
		}
		return writeJSON(env, out)
	}
	t := newTable(names...)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = cellText(v)
			t.right[i] = t.right[i] || isNumber(v)
		}
		t.add(cells...)
	}
	t.print(env.stdout)
	return nil
}

// cellText renders a value for the table and CSV formats (NULL as empty
// in CSV is ambiguous, so it is written "NULL").
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%x", x)
	case sql.RawBytes:
		return string(x)
	case query.Decimal:
		return x.String()
	case []any, map[string]any, map[any]any:
		b, err := json.Marshal(jsonValue(x))
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// isNumber reports whether a value is numeric (right-aligned in tables).
func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, query.Decimal:
		return true
	}
	return false
}

// jsonValue makes engine values JSON-friendly (decimals as numbers).
func jsonValue(v any) any {
	switch x := v.(type) {
	case query.Decimal:
		return json.Number(x.String())
	case sql.RawBytes:
		return string(x)
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonValue(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}
