package zones_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/lakekit/lakekit/zones"
)

// A batch spread over many partitions is written on several goroutines
// (one per partition at a time). Files that fill up mid-batch roll over
// inside those goroutines; every row must come back once, in each
// partition in the order written, and Progress must never run twice at
// once.
func TestWriterParallelPartitions(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	lk := memLake(t)
	var inside, overlaps, calls atomic.Int64
	ds := newEvents(t, lk, &zones.Options[event]{
		MaxRowsPerFile: 700, // several files per partition, rolled inside the fills
		Progress: func(zones.Progress) {
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			calls.Add(1)
			runtime.Gosched()
			inside.Add(-1)
		},
	})
	const partitions = 37
	rows := makeEvents(0, 50_000, partitions)
	res := writeCommit(t, ds, rows, nil)
	if res.Rows != int64(len(rows)) {
		t.Fatalf("committed %d rows, want %d", res.Rows, len(rows))
	}
	if len(res.Partitions) != partitions || len(res.Files) < 2*partitions {
		t.Fatalf("%d partitions in %d files: the rows did not roll over as expected", len(res.Partitions), len(res.Files))
	}
	if overlaps.Load() > 0 {
		t.Fatalf("Progress ran concurrently %d times (of %d calls)", overlaps.Load(), calls.Load())
	}
	got := readAll(t, ds, nil)
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, want %d", len(got), len(rows))
	}
	// per partition, the rows of each file in ID order, and all IDs once
	byID := map[int64]event{}
	for _, e := range got {
		if _, dup := byID[e.ID]; dup {
			t.Fatalf("row %d read twice", e.ID)
		}
		byID[e.ID] = e
	}
	for _, want := range rows {
		g, ok := byID[want.ID]
		if !ok || !g.At.Equal(want.At) || g.User != want.User || g.Amount != want.Amount || g.Kind != want.Kind || g.Note != want.Note || g.Bucket != want.Bucket {
			t.Fatalf("row %d: got %+v, want %+v", want.ID, g, want)
		}
	}
	// a partition's files are named in the order they were started and
	// read in key order: its rows come back in the order written
	last := map[string]int64{}
	for _, e := range got {
		if prev, ok := last[e.Bucket]; ok && e.ID <= prev {
			t.Fatalf("partition %s: row %d read after row %d", e.Bucket, e.ID, prev)
		}
		last[e.Bucket] = e.ID
	}
}
