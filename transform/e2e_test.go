package transform_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

// TestEndToEnd lands JSON lines in raw in three batches and runs raw →
// cleaned → curated (rows) and → day totals (an aggregate) after each; the
// results are checked by DuckDB reading the Parquet files itself. Then a
// rerun without new input must read no data file, and a replay after
// deleting the curated zone must rebuild identical content.
func TestEndToEnd(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			lk, cnt := be.open(t)
			p := newPipeline(t, lk, 3)
			var all []RawEvent
			for batch := 0; batch < 3; batch++ {
				data, evs := genBatch(batch*400, 400)
				all = append(all, evs...)
				// each batch arrives as two objects
				half := len(data) / 2
				for half > 0 && data[half-1] != '\n' {
					half--
				}
				land(t, lk, fmt.Sprintf("b%d-a.jsonl", batch), data[:half])
				land(t, lk, fmt.Sprintf("b%d-b.jsonl", batch), data[half:])
				rc, rs, rt := p.runAll(t)
				if rc.Units != 2 || rc.RowsIn != 400 || rc.RowsOut != 400 || rc.Rejected != 0 {
					t.Fatalf("batch %d: clean result %+v", batch, rc)
				}
				if rs.Units == 0 || rt.Units == 0 {
					t.Fatalf("batch %d: curated runs did nothing: %+v %+v", batch, rs, rt)
				}
				checkCounts(t, lk, all)
			}

			// a rerun with nothing new reads no data file
			cnt.reset()
			rc, rs, rt := p.runAll(t)
			if n := cnt.dataReads.Load(); n != 0 {
				t.Fatalf("rerun without new input read %d data files: %v", n, cnt.reset())
			}
			if rc.Units+rs.Units+rt.Units != 0 || len(rc.Versions)+len(rs.Versions)+len(rt.Versions) != 0 {
				t.Fatalf("rerun did work: %+v %+v %+v", rc, rs, rt)
			}
			checkCounts(t, lk, all)

			// the ledger knows every raw object
			l, err := p.toClean.Ledger(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Entries) != 6 {
				t.Fatalf("ledger has %d entries, want 6", len(l.Entries))
			}
			var ledgerRows int64
			for _, e := range l.Entries {
				if len(e.Inputs) != 1 || e.Inputs[0].ETag == "" || e.Inputs[0].Size == 0 || e.RowsIn == 0 || e.RowsIn != e.RowsOut || e.Version == 0 {
					t.Fatalf("ledger entry %+v", e)
				}
				ledgerRows += e.RowsIn
			}
			if ledgerRows != int64(len(all)) {
				t.Fatalf("ledger counts %d rows in, want %d", ledgerRows, len(all))
			}

			// replay: delete the curated zone, rebuild from cleaned
			before := curatedContent(t, p)
			cur := lk.MustZone(lake.Curated).Store()
			entries, err := cur.ListAll(ctx, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, e := range entries {
				keys = append(keys, e.Key)
			}
			if err := cur.DeleteMany(ctx, keys); err != nil {
				t.Fatal(err)
			}
			p2 := newPipeline(t, lk, 2) // fresh handles: the table is gone
			if got := curatedContent(t, p2); len(got) != 0 {
				t.Fatalf("curated not deleted: %d rows", len(got))
			}
			if _, err := p2.toCurate.Replay(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := p2.toTotals.Replay(ctx); err != nil {
				t.Fatal(err)
			}
			after := curatedContent(t, p2)
			if len(after) != len(before) {
				t.Fatalf("replay: %d rows, before %d", len(after), len(before))
			}
			for i := range before {
				if before[i] != after[i] {
					t.Fatalf("replay: row %d: %+v, before %+v", i, after[i], before[i])
				}
			}
			checkCounts(t, lk, all)

			// replaying again on a live table (rewind to 0 then run) is also identical
			if _, err := p2.toCurate.Replay(ctx); err != nil {
				t.Fatal(err)
			}
			again := curatedContent(t, p2)
			if len(again) != len(before) {
				t.Fatalf("second replay: %d rows, want %d", len(again), len(before))
			}
			checkCounts(t, lk, all)
		})
	}
}

// checkCounts verifies cleaned, curated and totals against the input with
// DuckDB: every input row exactly once.
func checkCounts(t *testing.T, lk *lake.Lake, all []RawEvent) {
	t.Helper()
	var wantSales, wantCt int64
	var wantAmount float64
	for _, e := range all {
		wantAmount += e.Amount
		if e.Kind != "view" {
			wantSales++
			wantCt += int64(e.Amount * 100)
		}
	}
	var n, distinct, days int64
	var sum float64
	duck(t, lk, lake.Cleaned, "shop", "events", "SELECT count(*), count(DISTINCT id), count(DISTINCT day), sum(amount) FROM tbl", &n, &distinct, &days, &sum)
	if n != int64(len(all)) || distinct != n || days != 3 || !near(sum, wantAmount) {
		t.Fatalf("cleaned: %d rows, %d distinct, %d days, sum %v; want %d rows, 3 days, sum %v", n, distinct, days, sum, len(all), wantAmount)
	}
	var ct, kindsN int64
	duck(t, lk, lake.Curated, "shop", "sales", "SELECT count(*), count(DISTINCT id), sum(amount_ct), count(DISTINCT kind) FROM tbl", &n, &distinct, &ct, &kindsN)
	if n != wantSales || distinct != n || ct != wantCt || kindsN != 2 {
		t.Fatalf("curated: %d rows, %d distinct, %d cents, %d kinds; want %d rows, %d cents, 2 kinds", n, distinct, ct, kindsN, wantSales, wantCt)
	}
	var events int64
	duck(t, lk, lake.Curated, "shop", "day_totals", "SELECT count(*), sum(events), sum(amount) FROM tbl", &n, &events, &sum)
	if n != 3 || events != int64(len(all)) || !near(sum, wantAmount) {
		t.Fatalf("totals: %d rows, %d events, sum %v; want 3, %d, %v", n, events, sum, len(all), wantAmount)
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-6*max(1, b)
}

// curatedContent reads the curated rows and totals through zones, sorted.
func curatedContent(t *testing.T, p *pipeline) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	rows, err := p.curated.ReadAll(ctx, nil)
	if err != nil && !isNoTable(err) {
		t.Fatal(err)
	}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%+v", r))
	}
	tots, err := p.totals.ReadAll(ctx, nil)
	if err != nil && !isNoTable(err) {
		t.Fatal(err)
	}
	for _, r := range tots {
		out = append(out, fmt.Sprintf("total %s %d %.4f", r.Day, r.Events, r.Amount))
	}
	sort.Strings(out)
	return out
}
