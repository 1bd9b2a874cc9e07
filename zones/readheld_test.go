package zones_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// TestReadHeldChunks: a read decodes the column chunks it checked from
// memory, and row groups too large to hold are read from the store again;
// both give back exactly the rows written, on a file lake (direct reads)
// and on a memory lake (ranged GETs), with and without a column subset.
func TestReadHeldChunks(t *testing.T) {
	ctx := context.Background()
	for _, mk := range []struct {
		name string
		open func(testing.TB) *lake.Lake
	}{{"file", func(t testing.TB) *lake.Lake { return fileLake(t, "") }}, {"mem", memLake}} {
		t.Run(mk.name, func(t *testing.T) {
			ds := newEvents(t, mk.open(t), nil)
			want := makeEvents(0, 30_000, 7)
			writeCommit(t, ds, want, nil)
			slices.SortFunc(want, func(a, b event) int { return int(a.ID - b.ID) })
			read := func(opts *zones.ReadOptions) []event {
				got, err := ds.ReadAll(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(got, func(a, b event) int { return int(a.ID - b.ID) })
				return got
			}
			for _, limit := range []int64{16 << 20, 1} {
				restore := zones.SetMaxHeldChunkBytes(limit)
				got := read(&zones.ReadOptions{BatchSize: 1000})
				restore()
				if len(got) != len(want) {
					t.Fatalf("limit %d: read %d rows, wrote %d", limit, len(got), len(want))
				}
				for i := range want {
					if !reflect.DeepEqual(got[i], normalizeTime(want[i], got[i])) {
						t.Fatalf("limit %d: row %d = %+v, wrote %+v", limit, i, got[i], want[i])
					}
				}
				restore = zones.SetMaxHeldChunkBytes(limit)
				some := read(&zones.ReadOptions{Columns: []string{"id", "note"}, Parallelism: 3})
				restore()
				for i := range want {
					if some[i].ID != want[i].ID || some[i].Note != want[i].Note || some[i].User != "" || !strings.HasPrefix(some[i].Note, want[i].Note[:1]) {
						t.Fatalf("limit %d: columns id, note of row %d = %+v, wrote %+v", limit, i, some[i], want[i])
					}
				}
			}
		})
	}
}

// normalizeTime gives w the location got's timestamp was read with, so
// the comparison is of instants.
func normalizeTime(w, got event) event {
	if w.At.Equal(got.At) {
		w.At = got.At
	}
	return w
}
