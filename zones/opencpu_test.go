package zones

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// BenchmarkOpenCPUAtDepth is the part of opening a table that grows with
// its live files, without the store: a checkpoint's cached state of 1 or
// 1,000 one-file commits, 20 commits applied after it (the tail a fresh
// Table replays), the newest snapshot with its files located.
func BenchmarkOpenCPUAtDepth(b *testing.B) {
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		b.Fatal(err)
	}
	tbl, err := OpenTable(lk, lake.Curated, "db", "t")
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	commit := func(v int64) *Commit {
		dt := fmt.Sprintf("2024-01-%02d", v%28+1)
		return &Commit{Version: v, Timestamp: ts.Add(time.Duration(v) * time.Second), Mode: Append, IdempotencyKey: fmt.Sprintf("key-%d", v),
			SchemaVersion: 1, PartitionKeys: []string{"dt"},
			Added: []DataFile{{Key: fmt.Sprintf("db/t/dt=%s/part-%020d-00001.parquet", dt, v), Partition: lake.Partition{{Key: "dt", Value: dt}}, Rows: 1, Size: 900,
				Stats: []ColumnStats{{Column: "id", Kind: "int", Min: "1", Max: "1", HasMinMax: true}, {Column: "url", Kind: "string", Min: "https://example.com/a", Max: "https://example.com/b", HasMinMax: true}}}}}
	}
	for _, depth := range []int64{1, 1000} {
		b.Run(fmt.Sprint(depth), func(b *testing.B) {
			st := newState()
			for v := int64(1); v <= depth; v++ {
				if err := st.apply(commit(v)); err != nil {
					b.Fatal(err)
				}
			}
			b2, _ := st.marshal()
			shared, err := decodeCheckpoint(b2)
			if err != nil {
				b.Fatal(err)
			}
			shared.shared = true
			tail := make([]*Commit, 20)
			for i := range tail {
				tail[i] = commit(depth + 1 + int64(i))
			}
			for b.Loop() {
				next := shared.clone()
				for _, c := range tail {
					if err := next.apply(c); err != nil {
						b.Fatal(err)
					}
				}
				if s := tbl.snapshotOf(next); len(s.Files) != int(depth)+len(tail) {
					b.Fatalf("%d files", len(s.Files))
				}
			}
		})
	}
}
