package transform

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

type lrow struct {
	ID  int64  `json:"id" parquet:"id"`
	Day string `json:"day" parquet:"day" lakekit:"partition"`
}

func memLake(t *testing.T) *lake.Lake {
	t.Helper()
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

func landRows(t *testing.T, lk *lake.Lake, name string, ids ...int64) {
	t.Helper()
	var b bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&b, `{"id":%d,"day":"d%d"}`+"\n", id, id%2)
	}
	if _, err := raw.Land(context.Background(), lk, "src", "rows", name, &b, nil); err != nil {
		t.Fatal(err)
	}
}

func newLTransform(t *testing.T, lk *lake.Lake) (*Transform[lrow, lrow], *zones.Dataset[lrow]) {
	t.Helper()
	out, err := zones.NewDataset[lrow](lk, lake.Cleaned, "db", "rows", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New("rows", FromRaw(lk, "src", "rows", JSONLines[lrow](nil)), Identity[lrow](), out, &Options[lrow]{FilesPerUnit: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tr, out
}

func count(t *testing.T, ds *zones.Dataset[lrow]) map[int64]int {
	t.Helper()
	rows, err := ds.ReadAll(context.Background(), nil)
	if err != nil && !isNoTable(err) {
		t.Fatal(err)
	}
	m := map[int64]int{}
	for _, r := range rows {
		m[r.ID]++
	}
	return m
}

// A unit retried after its commit landed (the crash came after the commit,
// before the process learned of it) gets zones' existing commit back:
// nothing is written twice.
func TestRetriedUnitIsIdempotent(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	landRows(t, lk, "a.jsonl", 1, 2, 3)
	tr, out := newLTransform(t, lk)
	l, _ := tr.Ledger(ctx)
	units, err := tr.src.plan(ctx, l, planOptions{filesPerUnit: 1})
	if err != nil || len(units) != 1 {
		t.Fatalf("plan: %v %v", units, err)
	}
	r1, err := tr.runUnit(ctx, l.Epoch, units[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := tr.runUnit(ctx, l.Epoch, units[0], nil) // the retry, planned from the old ledger
	if err != nil {
		t.Fatal(err)
	}
	if r1.DuplicateCommits != 0 || r2.DuplicateCommits != 1 || r2.Versions[0] != r1.Versions[0] {
		t.Fatalf("first %+v, retry %+v", r1, r2)
	}
	if got := count(t, out); len(got) != 3 || got[1] != 1 || got[2] != 1 || got[3] != 1 {
		t.Fatalf("rows after retry: %v", got)
	}
}

// Rewind to a middle version, run, and rewind again to a version before
// the first rewind: the ledger follows the table's content each time.
func TestRewindChain(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	tr, out := newLTransform(t, lk)
	landRows(t, lk, "a.jsonl", 1, 2)
	mustRun(t, tr)
	v1 := version(t, out)
	landRows(t, lk, "b.jsonl", 3, 4)
	mustRun(t, tr)
	v2 := version(t, out)
	landRows(t, lk, "c.jsonl", 5)
	mustRun(t, tr)

	if _, err := tr.Rewind(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if got := count(t, out); len(got) != 4 || got[5] != 0 {
		t.Fatalf("after rewind to v%d: %v", v2, got)
	}
	l, _ := tr.Ledger(ctx)
	if len(l.Entries) != 2 || l.Epoch != 1 {
		t.Fatalf("ledger after rewind: %d entries, epoch %d", len(l.Entries), l.Epoch)
	}
	res := mustRun(t, tr) // redoes c only
	if res.Units != 1 || res.RowsOut != 1 {
		t.Fatalf("run after rewind: %+v", res)
	}
	if got := count(t, out); len(got) != 5 {
		t.Fatalf("after rerun: %v", got)
	}
	// rewind to v2 again, whose content included b's rows: the ledger must
	// know b was consumed (it was undone by nothing on the path to v2)
	if _, err := tr.Rewind(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if got := count(t, out); len(got) != 2 {
		t.Fatalf("after rewind to v%d: %v", v1, got)
	}
	mustRun(t, tr)
	got := count(t, out)
	for id := int64(1); id <= 5; id++ {
		if got[id] != 1 {
			t.Fatalf("after rewinds and reruns: %v", got)
		}
	}
	if _, err := tr.Rewind(ctx, 10_000); err == nil {
		t.Fatal("rewind past the newest version accepted")
	}
}

// The ledger cache is only a hint: a cache naming a commit that is not in
// the table (the table was deleted and rebuilt) is ignored.
func TestLedgerCacheIsAHint(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	tr, out := newLTransform(t, lk)
	landRows(t, lk, "a.jsonl", 1, 2)
	landRows(t, lk, "b.jsonl", 3)
	mustRun(t, tr)
	sys, _ := lk.System("transform")
	if c := readLedgerCache(ctx, "rows", out.Table(), sys, 1<<62); c == nil || c.Version == 0 {
		t.Fatal("no ledger cache written")
	}
	// delete the output table from under the transform
	z := lk.MustZone(lake.Cleaned).Store()
	ents, _ := z.ListAll(ctx, "db/rows/", nil)
	var keys []string
	for _, e := range ents {
		keys = append(keys, e.Key)
	}
	z.DeleteMany(ctx, keys)
	// a stale cache for a table rebuilt with one commit by someone else
	out2, _ := zones.NewDataset[lrow](lk, lake.Cleaned, "db", "rows", nil)
	for i := 0; i < 3; i++ { // versions 1..3: the cache's version 2 exists, but is another commit
		w, _ := out2.NewWriter(ctx, nil)
		w.Write(ctx, []lrow{{ID: int64(97 + i), Day: "d1"}})
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tr2, out3 := newLTransform(t, lk)
	l, err := tr2.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 0 {
		t.Fatalf("stale cache trusted: %d entries", len(l.Entries))
	}
	res := mustRun(t, tr2)
	if res.Units != 2 {
		t.Fatalf("rerun after table loss did %d units", res.Units)
	}
	if got := count(t, out3); len(got) != 6 {
		t.Fatalf("rows %v", got)
	}
	_ = out
}

// TestLedgerCacheCorruptCheckpointFallsBack: the ledger cache is an
// objlog checkpoint: a damaged newest one falls back to the older one kept
// (and the commits after it), giving the same ledger; only two are kept.
func TestLedgerCacheCorruptCheckpointFallsBack(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	tr, out := newLTransform(t, lk)
	sys, _ := lk.System("transform")
	for i, f := range []string{"a.jsonl", "b.jsonl", "c.jsonl"} {
		landRows(t, lk, f, int64(i+1))
		mustRun(t, tr)
	}
	cl := ledgerLog(sys, "rows")
	snap, err := out.Table().Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	newest := readLedgerCache(ctx, "rows", out.Table(), sys, 1<<62)
	if newest == nil || newest.Version != snap.Version {
		t.Fatalf("newest ledger checkpoint %+v; want version %d", newest, snap.Version)
	}
	ents, err := sys.ListAll(ctx, "rows/ledger/_lakekit/checkpoint/", nil)
	if err != nil || len(ents) != ledgerCheckpoints {
		t.Fatalf("%d ledger checkpoints kept (%v); want %d", len(ents), err, ledgerCheckpoints)
	}
	if err := cl.WriteCheckpoint(ctx, newest.Version, []byte(`{"transform":`)); err != nil {
		t.Fatal(err)
	}
	older := readLedgerCache(ctx, "rows", out.Table(), sys, 1<<62)
	if older == nil || older.Version >= newest.Version {
		t.Fatalf("a damaged newest checkpoint did not fall back to the older one: %+v", older)
	}
	l, err := tr.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 3 || l.Version != snap.Version {
		t.Fatalf("ledger over a damaged checkpoint: %d entries at version %d; want 3 at %d", len(l.Entries), l.Version, snap.Version)
	}
	units := map[string]bool{}
	for i, e := range l.Entries {
		if e.RowsOut != 1 || !strings.HasPrefix(e.Unit, "file:") || units[e.Unit] || i > 0 && e.Version <= l.Entries[i-1].Version {
			t.Fatalf("entry %d is %+v; want one new landed file's unit per run, in commit order", i, e)
		}
		units[e.Unit] = true
	}
}

func mustRun[In, Out any](t *testing.T, tr *Transform[In, Out]) *Result {
	t.Helper()
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func version(t *testing.T, ds *zones.Dataset[lrow]) int64 {
	t.Helper()
	s, err := ds.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return s.Version
}

// Two processes (here: two lake handles) running the same transform at the
// same time over the same input: each unit's commit lands once, the other
// run gets it back as a duplicate or skips it.
func TestConcurrentRunsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *lake.Lake {
		lk, err := lake.Open(ctx, "file://"+dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lk.Close() })
		return lk
	}
	lk := open()
	var id int64
	for f := 0; f < 12; f++ {
		ids := make([]int64, 30)
		for i := range ids {
			ids[i] = id
			id++
		}
		landRows(t, lk, fmt.Sprintf("f%02d.jsonl", f), ids...)
	}
	trA, out := newLTransform(t, open())
	trB, _ := newLTransform(t, open())
	errs := make(chan error, 2)
	var results [2]*Result
	for i, tr := range []*Transform[lrow, lrow]{trA, trB} {
		go func() {
			res, err := tr.Run(ctx)
			results[i] = res
			errs <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := count(t, out)
	if int64(len(got)) != id {
		t.Fatalf("%d distinct ids, want %d", len(got), id)
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("id %d written %d times", k, n)
		}
	}
	// each of the 12 units is one commit in the output: the runs' fresh
	// commits add up to 12, the rest each run counted as duplicates
	hist, err := out.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, c := range hist {
		keys[c.IdempotencyKey] = true
	}
	if len(hist) != 12 || len(keys) != 12 {
		t.Fatalf("output history has %d commits with %d keys, want 12 units committed once each", len(hist), len(keys))
	}
	fresh := 0
	for _, r := range results {
		fresh += r.Units - r.DuplicateCommits
		if r.DuplicateCommits > r.Units || len(r.Versions) != r.Units {
			t.Fatalf("result %+v: duplicates or versions do not match units", r)
		}
	}
	if fresh != 12 {
		t.Fatalf("the runs made %d fresh commits (A %+v, B %+v), want 12", fresh, results[0], results[1])
	}
	t.Logf("duplicate commits: A %d, B %d", results[0].DuplicateCommits, results[1].DuplicateCommits)
}
