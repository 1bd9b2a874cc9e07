package transform_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"pgregory.net/rapid"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// Change is a DMS-style change row as it lands in cleaned.
type Change struct {
	Op     string `parquet:"op"`
	ID     int64  `parquet:"id"`
	Seq    int64  `parquet:"seq"`
	Name   string `parquet:"name"`
	Region string `parquet:"region"`
}

// Customer is the current state in curated, partitioned by region.
type Customer struct {
	ID     int64  `parquet:"id"`
	Seq    int64  `parquet:"seq"`
	Name   string `parquet:"name"`
	Region string `parquet:"region" lakekit:"partition"`
}

func regionOf(id int64) string { return []string{"eu", "us", "ap"}[id%3] }

var customerSpec = transform.MergeSpec[Change, Customer, int64, int64]{
	Op:       func(c Change) transform.Op { return transform.Op(c.Op) },
	Key:      func(c Change) int64 { return c.ID },
	Order:    func(c Change) int64 { return c.Seq },
	Image:    func(c Change) Customer { return Customer{ID: c.ID, Seq: c.Seq, Name: c.Name, Region: c.Region} },
	RowKey:   func(c Customer) int64 { return c.ID },
	RowOrder: func(c Customer) int64 { return c.Seq },
}

type cdcEnv struct {
	lk        *lake.Lake
	changes   *zones.Dataset[Change]
	customers *zones.Dataset[Customer]
	merge     *transform.Merger[Change, Customer, int64, int64]
}

func newCDC(t testing.TB) *cdcEnv {
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &cdcEnv{lk: lk}
	if e.changes, err = zones.NewDataset[Change](lk, lake.Cleaned, "crm", "customer_changes", nil); err != nil {
		t.Fatal(err)
	}
	if e.customers, err = zones.NewDataset[Customer](lk, lake.Curated, "crm", "customers", nil); err != nil {
		t.Fatal(err)
	}
	if e.merge, err = transform.Merge("customers_cdc", transform.FromDataset(e.changes), e.customers, customerSpec,
		&transform.MergeOptions{Rules: []transform.Rule{transform.Enum("op", "I", "U", "D")}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *cdcEnv) apply(t testing.TB, batch []Change) *transform.Result {
	ctx := context.Background()
	w, err := e.changes.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.merge.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *cdcEnv) state(t testing.TB) map[int64]Customer {
	rows, err := e.customers.ReadAll(context.Background(), nil)
	if err != nil && !isNoTable(err) {
		t.Fatal(err)
	}
	m := map[int64]Customer{}
	for _, r := range rows {
		if _, dup := m[r.ID]; dup {
			t.Fatalf("key %d twice in curated", r.ID)
		}
		m[r.ID] = r
	}
	return m
}

// TestMergeMatchesInOrderMap is the CDC property: random I/U/D histories,
// delivered in random batches in a random order (updates and deletes
// arrive out of order, within and across batches), merged batch by batch
// into the curated table, give the state of applying the history in order
// to a map.
func TestMergeMatchesInOrderMap(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := newCDC(t)
		defer e.lk.Close()
		n := rapid.IntRange(1, 40).Draw(rt, "n")
		keys := rapid.Int64Range(1, 9).Draw(rt, "keys")
		var history []Change
		for i := 0; i < n; i++ {
			id := rapid.Int64Range(1, keys).Draw(rt, "id")
			history = append(history, Change{Op: rapid.SampledFrom([]string{"I", "U", "U", "D"}).Draw(rt, "op"), ID: id,
				Seq: int64(i + 1), Name: rapid.StringMatching(`[a-z]{1,4}`).Draw(rt, "name"), Region: regionOf(id)})
		}
		arrival := rapid.Permutation(history).Draw(rt, "arrival")
		for len(arrival) > 0 {
			k := rapid.IntRange(1, len(arrival)).Draw(rt, "batch")
			e.apply(t, arrival[:k])
			arrival = arrival[k:]
		}
		want := map[int64]Customer{}
		for _, c := range history { // in order
			if c.Op == "D" {
				delete(want, c.ID)
			} else {
				want[c.ID] = customerSpec.Image(c)
			}
		}
		got := e.state(t)
		if len(got) != len(want) {
			rt.Fatalf("state has %d keys, want %d: %v vs %v", len(got), len(want), got, want)
		}
		for k, w := range want {
			if got[k] != w {
				rt.Fatalf("key %d: %+v, want %+v", k, got[k], w)
			}
		}
	})
}

// TestMergeRewritesOnlyAffectedPartitions: a batch touching one region
// rewrites that partition only; a delete of the last row empties its
// partition; a stale update is counted and ignored; malformed ops go to
// quarantine.
func TestMergeRewritesOnlyAffectedPartitions(t *testing.T) {
	ctx := context.Background()
	e := newCDC(t)
	res := e.apply(t, []Change{
		{Op: "I", ID: 3, Seq: 1, Name: "a", Region: "eu"},
		{Op: "I", ID: 1, Seq: 2, Name: "b", Region: "us"},
		{Op: "I", ID: 2, Seq: 3, Name: "c", Region: "ap"},
		{Op: "I", ID: 4, Seq: 4, Name: "d", Region: "us"},
	})
	if res.Merge.Inserted != 4 || res.RowsOut != 4 {
		t.Fatalf("first merge %+v", res)
	}
	before, _ := e.customers.Snapshot(ctx, 0)
	res = e.apply(t, []Change{
		{Op: "U", ID: 1, Seq: 10, Name: "b2", Region: "us"},
		{Op: "U", ID: 4, Seq: 3, Name: "stale", Region: "us"}, // older than the stored seq 4
		{Op: "X", ID: 4, Seq: 11, Region: "us"},               // bad op: quarantined
		{Op: "U", ID: 7, Seq: 12, Name: "nowhere"},            // no region, no partition: quarantined
	})
	if res.Merge.Updated != 1 || res.Merge.Stale != 1 || res.Rejected != 2 || res.RowsIn != 4 {
		t.Fatalf("second merge %+v", res)
	}
	after, _ := e.customers.Snapshot(ctx, 0)
	c, err := e.customers.Table().Commit(ctx, after.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(c.Added, c.Removed...) {
		if r, _ := f.Partition.Get("region"); r != "us" {
			t.Fatalf("merge of region us touched %s", f.Key)
		}
	}
	untouched := map[string]bool{}
	for _, f := range before.Files {
		if r, _ := f.Partition.Get("region"); r != "us" {
			untouched[f.Key] = true
		}
	}
	for _, f := range after.Files {
		delete(untouched, f.Key)
	}
	if len(untouched) != 0 {
		t.Fatalf("files of other regions replaced: %v", untouched)
	}
	// delete the only eu row: the eu partition becomes empty
	e.apply(t, []Change{{Op: "D", ID: 3, Seq: 20, Region: "eu"}})
	got := e.state(t)
	if _, ok := got[3]; ok || len(got) != 3 || got[1].Name != "b2" || got[4].Name != "d" {
		t.Fatalf("state %v", got)
	}
	snap, _ := e.customers.Snapshot(ctx, 0)
	for _, f := range snap.Files {
		if r, _ := f.Partition.Get("region"); r == "eu" {
			t.Fatalf("eu partition still has %s", f.Key)
		}
	}
	// an insert older than the delete stays deleted (tombstone), across batches
	e.apply(t, []Change{{Op: "I", ID: 3, Seq: 15, Name: "late", Region: "eu"}})
	if _, ok := e.state(t)[3]; ok {
		t.Fatal("a change older than the delete resurrected the row")
	}
	q, _ := transform.QuarantineDataset(e.customers)
	rows, _ := q.ReadAll(ctx, nil)
	rules := map[string]int{}
	for _, r := range rows {
		rules[r.Rule+"/"+r.Field]++
	}
	if len(rows) != 2 || rules["enum/op"] != 1 || rules["partition/"] != 1 {
		h, _ := q.History(ctx)
		for _, c := range h {
			t.Logf("commit %d rows %d key %s", c.Version, c.Rows(), c.IdempotencyKey)
		}
		t.Fatalf("quarantine %+v", rows)
	}
	// replay from all change files gives the same state
	want := e.state(t)
	if _, err := e.merge.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.state(t); fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Fatalf("replay: %v, want %v", got, want)
	}
	if rows, _ := q.ReadAll(ctx, nil); len(rows) != 2 {
		t.Fatalf("replay recorded the rejects again: %d quarantine rows", len(rows))
	}
}

func sorted(m map[int64]Customer) []Customer {
	var out []Customer
	for _, c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
