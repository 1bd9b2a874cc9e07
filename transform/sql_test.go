package transform_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// DaySQL is the result row of the SQL transform.
type DaySQL struct {
	Day    string  `parquet:"day" lakekit:"partition"`
	Events int64   `parquet:"events"`
	Amount float64 `parquet:"amount"`
}

// TestSQLTransform runs a GROUP BY over the cleaned table on the DuckDB
// engine into a curated table; it runs again only when its input changed.
func TestSQLTransform(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 2)
	data, evs := genBatch(0, 300)
	land(t, lk, "a.jsonl", data)
	if _, err := p.toClean.Run(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, lk, nil, &duckdb.Options{Zones: []lake.ZoneName{lake.Cleaned}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	out, err := zones.NewDataset[DaySQL](lk, lake.Curated, "shop", "day_sql", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := transform.SQL("day_sql", eng,
		`SELECT day, count(*) AS events, sum(amount) AS amount FROM "shop"."events" WHERE amount >= ? GROUP BY day`,
		out, &transform.SQLOptions{Inputs: []*zones.Table{p.cleaned.Table()}, Params: []any{0.0}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(all []RawEvent) {
		t.Helper()
		rows, err := out.ReadAll(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		var sum, want float64
		for _, r := range rows {
			n += r.Events
			sum += r.Amount
		}
		for _, e := range all {
			want += e.Amount
		}
		if len(rows) != 3 || n != int64(len(all)) || !near(sum, want) {
			t.Fatalf("sql result %+v; want 3 days, %d events, sum %v", rows, len(all), want)
		}
	}
	res, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsOut != 3 || res.Units != 1 {
		t.Fatalf("first run %+v", res)
	}
	check(evs)
	res, err = st.Run(ctx)
	if err != nil || res.Units != 0 {
		t.Fatalf("rerun with unchanged input: %+v %v", res, err)
	}
	data2, evs2 := genBatch(300, 150)
	land(t, lk, "b.jsonl", data2)
	if _, err := p.toClean.Run(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = st.Run(ctx) // the engine is refreshed to the new snapshot
	if err != nil || res.Units != 1 {
		t.Fatalf("run after new input: %+v %v", res, err)
	}
	check(append(evs, evs2...))
	if _, err := transform.SQL("bad name", eng, "SELECT 1", out, nil); err == nil {
		t.Fatal("invalid name accepted")
	}
}

// TestSQLAndRewindCatalogFailureIsCommitted: a SQL transform and a rewind
// whose commits landed but whose catalog updates failed report it with an
// error wrapping zones.ErrCatalog, the work counted as committed.
func TestSQLAndRewindCatalogFailureIsCommitted(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 2)
	data, _ := genBatch(0, 90)
	land(t, lk, "a.jsonl", data)
	if _, err := p.toClean.Run(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, lk, nil, &duckdb.Options{Zones: []lake.ZoneName{lake.Cleaned}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cat := newFailCatalog(t, lk)
	out, err := zones.NewDataset[DaySQL](lk, lake.Curated, "shop", "day_sql", &zones.Options[DaySQL]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	st, err := transform.SQL("day_sql", eng,
		`SELECT day, count(*) AS events, sum(amount) AS amount FROM "shop"."events" GROUP BY day`,
		out, &transform.SQLOptions{Inputs: []*zones.Table{p.cleaned.Table()}})
	if err != nil {
		t.Fatal(err)
	}
	cat.n.Store(1)
	res, err := st.Run(ctx)
	if !errors.Is(err, zones.ErrCatalog) || res == nil || res.Units != 1 || res.RowsOut != 3 || !errors.Is(res.CatalogErr, zones.ErrCatalog) {
		t.Fatalf("SQL run after a catalog failure: %+v %v, want it committed with the catalog error", res, err)
	}
	if l, err := st.Ledger(ctx); err != nil || len(l.Entries) != 1 {
		t.Fatalf("ledger %+v %v", l, err)
	}
	if again, err := st.Run(ctx); err != nil || again.Units != 0 {
		t.Fatalf("rerun: %+v %v, want nothing to do", again, err)
	}

	// a rewind of the cleaned transform whose catalog update fails
	ccat := newFailCatalog(t, lk)
	cleaned, err := zones.NewDataset[Event](lk, lake.Cleaned, "shop", "events", &zones.Options[Event]{Catalog: ccat})
	if err != nil {
		t.Fatal(err)
	}
	tr := cleanTransform(t, lk, cleaned, nil)
	ccat.call = "CreateTable" // the rewind's commit is the first to register the table
	ccat.n.Store(1)
	v, err := tr.Rewind(ctx, 0)
	if !errors.Is(err, zones.ErrCatalog) || v == 0 || ccat.failed.Load() != 1 {
		t.Fatalf("rewind after a catalog failure: version %d, %v; want it committed with ErrCatalog", v, err)
	}
	if l, err := tr.Ledger(ctx); err != nil || len(l.Entries) != 0 || l.Epoch != 1 {
		t.Fatalf("ledger after the rewind %+v %v, want it rewound", l, err)
	}
}
