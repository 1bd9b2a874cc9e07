package transform

import (
	"sort"
	"testing"

	"pgregory.net/rapid"
)

type change struct {
	Op    string
	ID    int64
	Seq   int64
	Value string
}

type state struct {
	ID    int64
	Seq   int64
	Value string
}

var coreSpec = &MergeSpec[change, state, int64, int64]{
	Op:       func(c change) Op { return Op(c.Op) },
	Key:      func(c change) int64 { return c.ID },
	Order:    func(c change) int64 { return c.Seq },
	Image:    func(c change) state { return state{ID: c.ID, Seq: c.Seq, Value: c.Value} },
	RowKey:   func(s state) int64 { return s.ID },
	RowOrder: func(s state) int64 { return s.Seq },
}

// genHistory draws a history of changes with distinct sequence numbers and
// splits it into batches whose order is shuffled, so updates arrive out of
// order within and across batches.
func genHistory(t *rapid.T) (history []change, batches [][]change) {
	n := rapid.IntRange(0, 60).Draw(t, "n")
	keys := rapid.Int64Range(1, 8).Draw(t, "keys")
	for i := 0; i < n; i++ {
		op := rapid.SampledFrom([]string{"I", "U", "D"}).Draw(t, "op")
		history = append(history, change{Op: op, ID: rapid.Int64Range(1, keys).Draw(t, "id"), Seq: int64(i + 1),
			Value: rapid.StringMatching(`[a-z]{0,3}`).Draw(t, "v")})
	}
	perm := rapid.Permutation(history).Draw(t, "arrival")
	for len(perm) > 0 {
		k := rapid.IntRange(1, len(perm)).Draw(t, "batch")
		batches = append(batches, perm[:k])
		perm = perm[k:]
	}
	return history, batches
}

// applyInOrder is the reference: the history applied in sequence to a map.
func applyInOrder(history []change) map[int64]state {
	h := append([]change(nil), history...)
	sort.SliceStable(h, func(i, j int) bool { return h[i].Seq < h[j].Seq })
	m := map[int64]state{}
	for _, c := range h {
		if c.Op == "D" {
			delete(m, c.ID)
		} else {
			m[c.ID] = state{ID: c.ID, Seq: c.Seq, Value: c.Value}
		}
	}
	return m
}

func TestApplyChangesMatchesInOrderMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		history, batches := genHistory(t)
		var rows []state
		tombs := map[int64]int64{}
		for _, b := range batches {
			var err error
			rows, tombs, _, err = applyChanges(coreSpec, rows, tombs, b)
			if err != nil {
				t.Fatal(err)
			}
		}
		want := applyInOrder(history)
		if len(rows) != len(want) {
			t.Fatalf("%d rows, want %d: %v vs %v", len(rows), len(want), rows, want)
		}
		for _, r := range rows {
			if want[r.ID] != r {
				t.Fatalf("key %d: %+v, want %+v", r.ID, r, want[r.ID])
			}
		}
		// applying a batch twice changes nothing (a retried merge)
		if len(batches) > 0 {
			again, tombs2, _, _ := applyChanges(coreSpec, rows, tombs, batches[len(batches)-1])
			if len(again) != len(rows) || len(tombs2) != len(tombs) {
				t.Fatalf("re-applying the last batch changed the state")
			}
		}
	})
}

func TestApplyChangesStats(t *testing.T) {
	rows, tombs, st, err := applyChanges(coreSpec, []state{{ID: 1, Seq: 5, Value: "a"}}, nil, []change{
		{Op: "U", ID: 1, Seq: 4, Value: "old"}, // stale: older than the stored row
		{Op: "U", ID: 1, Seq: 6, Value: "b"},
		{Op: "I", ID: 2, Seq: 7, Value: "c"},
		{Op: "D", ID: 2, Seq: 8},
		{Op: "D", ID: 3, Seq: 1},
		{Op: "I", ID: 3, Seq: 0}, // older than the delete of key 3
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Value != "b" {
		t.Fatalf("rows = %+v", rows)
	}
	if tombs[2] != 8 || tombs[3] != 1 {
		t.Fatalf("tombs = %v", tombs)
	}
	if st != (MergeStats{Inserted: 2, Updated: 1, Deleted: 2, Stale: 1}) {
		// key 3: I at seq 0 comes first (sorted), inserted, then deleted at 1
		t.Fatalf("stats = %+v", st)
	}
	if _, _, _, err := applyChanges(coreSpec, nil, nil, []change{{Op: "X", ID: 1}}); err == nil {
		t.Fatal("unknown op accepted")
	}
}

func TestDedupRows(t *testing.T) {
	spec := &dedupSpec[state, int64]{Key: func(s state) int64 { return s.ID }}
	seen := map[int64]struct{}{9: {}}
	out, dropped := dedupRows(spec, []state{{ID: 1, Value: "a"}, {ID: 2}, {ID: 1, Value: "b"}, {ID: 9}}, seen)
	if len(out) != 2 || out[0].Value != "a" || dropped != 2 {
		t.Fatalf("out %+v dropped %d", out, dropped)
	}
	if _, ok := seen[2]; !ok {
		t.Fatal("kept keys not added to seen")
	}
	spec.Order = func(s state) int64 { return s.Seq }
	out, _ = dedupRows(spec, []state{{ID: 5, Seq: 1}, {ID: 5, Seq: 3, Value: "new"}, {ID: 5, Seq: 2}}, map[int64]struct{}{})
	if len(out) != 1 || out[0].Value != "new" {
		t.Fatalf("highest order not kept: %+v", out)
	}
}
