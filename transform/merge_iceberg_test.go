package transform_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// newIcebergCDC is newCDC with the curated customers stored as Iceberg
// (zones.Options.Format) in a local catalog.
func newIcebergCDC(t testing.TB) (*cdcEnv, *iceberg.DatasetTable[Customer]) {
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &cdcEnv{lk: lk}
	if e.changes, err = zones.NewDataset[Change](lk, lake.Cleaned, "crm", "customer_changes", nil); err != nil {
		t.Fatal(err)
	}
	if e.customers, err = zones.NewDataset(lk, lake.Curated, "crm", "customers",
		&zones.Options[Customer]{Format: iceberg.Format[Customer](cat, nil)}); err != nil {
		t.Fatal(err)
	}
	if e.merge, err = transform.Merge("customers_cdc", transform.FromDataset(e.changes), e.customers, customerSpec,
		&transform.MergeOptions{Rules: []transform.Rule{transform.Enum("op", "I", "U", "D")}}); err != nil {
		t.Fatal(err)
	}
	_, ft := e.customers.Format()
	return e, ft.(*iceberg.DatasetTable[Customer])
}

// TestIcebergCDCMerge: the CDC merge into an Iceberg target goes through
// the format's copy-on-write Merge. Random I/U/D histories delivered out
// of order in random batches give the state of applying them in order
// (as TestMergeMatchesInOrderMap checks for the Hive-style target); every
// run that changes something commits one Iceberg snapshot, its ledger
// entry makes a run without new change files a no-op, and iceberg-go's
// own scan reads the same state.
func TestIcebergCDCMerge(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 18))
			e, dt := newIcebergCDC(t)
			defer e.lk.Close()
			var history []Change
			for i := 0; i < 30; i++ {
				id := int64(rnd.IntN(8) + 1)
				history = append(history, Change{Op: []string{"I", "U", "U", "D"}[rnd.IntN(4)], ID: id,
					Seq: int64(i + 1), Name: fmt.Sprintf("n%d", rnd.IntN(100)), Region: regionOf(id)})
			}
			arrival := append([]Change(nil), history...)
			rnd.Shuffle(len(arrival), func(i, j int) { arrival[i], arrival[j] = arrival[j], arrival[i] })
			runs := 0
			for len(arrival) > 0 {
				k := rnd.IntN(min(len(arrival), 8)) + 1
				e.apply(t, arrival[:k])
				arrival = arrival[k:]
				runs++
			}
			want := map[int64]Customer{}
			for _, c := range history {
				if c.Op == "D" {
					delete(want, c.ID)
				} else {
					want[c.ID] = customerSpec.Image(c)
				}
			}
			if diff := cmp.Diff(want, e.state(t)); diff != "" {
				t.Fatalf("state after %d runs (-want +got):\n%s", runs, diff)
			}
			hist, err := e.customers.History(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) == 0 || len(hist) > runs {
				t.Errorf("%d Iceberg snapshots after %d merge runs, want 1..%d (one per run that changed something)", len(hist), runs, runs)
			}
			res, err := e.merge.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Units != 0 || len(res.Versions) != 0 {
				t.Errorf("a run with no new change files: %d units, versions %v; want nothing (the ledger has them)", res.Units, res.Versions)
			}
			again, err := e.customers.History(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != len(hist) {
				t.Errorf("the idle run made %d snapshots", len(again)-len(hist))
			}
			// iceberg-go's own scan of the current snapshot
			tbl, err := dt.Table(ctx)
			if err != nil {
				t.Fatal(err)
			}
			it, err := tbl.Iceberg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			at, err := it.Scan().ToArrowTable(tbl.Context(ctx))
			if err != nil {
				t.Fatal(err)
			}
			n := at.NumRows()
			at.Release()
			if n != int64(len(want)) {
				t.Errorf("iceberg-go scan: %d rows, want %d", n, len(want))
			}
		})
	}
}

// TestIcebergCDCMergeRewritesTouchedFiles: a batch that updates one key of
// one region rewrites only that region's file; the other regions keep
// their data files.
func TestIcebergCDCMergeRewritesTouchedFiles(t *testing.T) {
	ctx := context.Background()
	e, dt := newIcebergCDC(t)
	defer e.lk.Close()
	var first []Change
	for id := int64(1); id <= 9; id++ {
		first = append(first, Change{Op: "I", ID: id, Seq: id, Name: "a", Region: regionOf(id)})
	}
	e.apply(t, first)
	tbl, err := dt.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, before, err := tbl.SnapshotFiles(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	res := e.apply(t, []Change{{Op: "U", ID: 3, Seq: 100, Name: "b", Region: regionOf(3)}, {Op: "U", ID: 4, Seq: 1, Name: "stale", Region: regionOf(4)}})
	if res.Merge.Updated != 1 || res.Merge.Stale != 1 {
		t.Errorf("merge stats %+v, want 1 updated and 1 stale", res.Merge)
	}
	_, after, err := tbl.SnapshotFiles(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, f := range before {
		kept[f] = true
	}
	var same int
	for _, f := range after {
		if kept[f] {
			same++
		}
	}
	if len(before) != 3 || same < 1 || same > 2 {
		t.Errorf("files before %d, after %d, unchanged %d: want 3 before and the untouched regions' files kept", len(before), len(after), same)
	}
	st := e.state(t)
	if st[3].Name != "b" || st[4].Name != "a" {
		t.Errorf("state %v: want id 3 updated to b, id 4 unchanged (its change is stale)", st)
	}
}
