package zones_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/zones"
)

// batchesOf reads ds with ro and returns each batch's size and the IDs in
// the order they arrived.
func batchesOf(t *testing.T, ds *zones.Dataset[event], ro *zones.ReadOptions) (sizes []int, ids []int64) {
	t.Helper()
	err := ds.ReadBatches(context.Background(), ro, func(rows []event) error {
		sizes = append(sizes, len(rows))
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sizes, ids
}

// TestReadBatchesFillAcrossFiles: a batch holds BatchSize rows, whichever
// files they come from; only the last is short. Rows arrive in the same
// order whatever the parallelism.
func TestReadBatchesFillAcrossFiles(t *testing.T) {
	ds := newEvents(t, memLake(t), nil)
	// Five 1-row commits, each row in its own partition: five files whose
	// keys sort as the IDs do.
	for i := range int64(5) {
		writeCommit(t, ds, []event{makeEvent(i, 5)}, nil)
	}
	files, err := ds.Files(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("files = %d, want 5", len(files))
	}
	want := []int64{0, 1, 2, 3, 4}
	for _, par := range []int{0, 1, 2, 5} {
		for range 10 {
			sizes, ids := batchesOf(t, ds, &zones.ReadOptions{BatchSize: 100, Parallelism: par})
			if diff := cmp.Diff([]int{5}, sizes); diff != "" {
				t.Fatalf("Parallelism %d: batch sizes (-want +got):\n%s", par, diff)
			}
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Fatalf("Parallelism %d: row order (-want +got):\n%s", par, diff)
			}
		}
		sizes, ids := batchesOf(t, ds, &zones.ReadOptions{BatchSize: 2, Parallelism: par})
		if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
			t.Errorf("Parallelism %d, BatchSize 2: batch sizes (-want +got):\n%s", par, diff)
		}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("Parallelism %d, BatchSize 2: row order (-want +got):\n%s", par, diff)
		}
	}
}

// TestReadBatchesFillAfterFilter: rows a predicate drops do not leave short
// batches behind, and files larger than a batch split into full batches.
func TestReadBatchesFillAfterFilter(t *testing.T) {
	ds := newEvents(t, memLake(t), nil)
	writeCommit(t, ds, makeEvents(0, 150, 1), nil)
	writeCommit(t, ds, makeEvents(150, 1, 1), nil)
	writeCommit(t, ds, makeEvents(151, 1, 1), nil)
	writeCommit(t, ds, makeEvents(152, 60, 1), nil)

	sizes, serial := batchesOf(t, ds, &zones.ReadOptions{BatchSize: 100, Parallelism: 1})
	if diff := cmp.Diff([]int{100, 100, 12}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	sorted := slices.Sorted(slices.Values(serial))
	if len(sorted) != 212 || sorted[0] != 0 || sorted[211] != 211 {
		t.Fatalf("read %d rows (%v…), want IDs 0..211", len(serial), sorted[:min(3, len(sorted))])
	}
	for range 10 {
		sizes, ids := batchesOf(t, ds, &zones.ReadOptions{BatchSize: 100, Parallelism: 4})
		if diff := cmp.Diff([]int{100, 100, 12}, sizes); diff != "" {
			t.Fatalf("Parallelism 4: batch sizes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(serial, ids); diff != "" {
			t.Fatalf("Parallelism 4: order differs from Parallelism 1 (-want +got):\n%s", diff)
		}
	}

	// Kind "click" is every fifth row: 43 of 212, spread over three files.
	sizes, ids := batchesOf(t, ds, &zones.ReadOptions{BatchSize: 10, Parallelism: 4, Where: []zones.Predicate{zones.Eq("kind", "click")}})
	if diff := cmp.Diff([]int{10, 10, 10, 10, 3}, sizes); diff != "" {
		t.Errorf("filtered: batch sizes (-want +got):\n%s", diff)
	}
	for _, id := range ids {
		if id%5 != 0 {
			t.Fatalf("filtered read returned ID %d", id)
		}
	}
}
