package zones_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

func TestWriterFileRollingLRUAndCodecs(t *testing.T) {
	ctx := context.Background()
	rows := makeEvents(0, 30_000, 10)
	for _, tc := range []struct {
		name     string
		opts     zones.Options[event]
		codec    format.CompressionCodec
		minFiles int
	}{
		// 10 partitions interleaved in every batch, 3 open at a time: each
		// batch closes files, so there are many more files than partitions
		{"lru", zones.Options[event]{MaxOpenPartitions: 3}, format.Zstd, 25},
		{"target size", zones.Options[event]{TargetFileSize: 64 << 10, Compression: lake.Snappy}, format.Snappy, 20},
		{"rows per file", zones.Options[event]{MaxRowsPerFile: 1000, Compression: lake.Uncompressed, InMemoryBuffers: true}, format.Uncompressed, 30},
		{"row groups", zones.Options[event]{RowGroupSize: 500}, format.Zstd, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lk := memLake(t)
			opts := tc.opts
			ds := newEvents(t, lk, &opts)
			res := writeCommit(t, ds, rows, nil)
			if len(res.Files) < tc.minFiles {
				t.Fatalf("%d files, want at least %d", len(res.Files), tc.minFiles)
			}
			if got := readAll(t, ds, nil); !cmp.Equal(rows, got) {
				t.Fatalf("rows differ after writing %d files", len(res.Files))
			}
			store := lk.MustZone(lake.Curated).Store()
			for _, f := range res.Files {
				if tc.opts.MaxRowsPerFile > 0 && f.Rows > tc.opts.MaxRowsPerFile {
					t.Fatalf("%s has %d rows", f.Key, f.Rows)
				}
				r, err := store.OpenReader(ctx, f.Key, nil)
				if err != nil {
					t.Fatal(err)
				}
				pf, err := parquet.OpenFile(r, r.Size())
				if err != nil {
					t.Fatal(err)
				}
				md := pf.Metadata()
				if c := md.RowGroups[0].Columns[0].MetaData.Codec; c != tc.codec {
					t.Fatalf("%s codec %v, want %v", f.Key, c, tc.codec)
				}
				if tc.opts.RowGroupSize > 0 {
					for _, rg := range md.RowGroups {
						if rg.NumRows > tc.opts.RowGroupSize {
							t.Fatalf("row group of %d rows", rg.NumRows)
						}
					}
					if len(md.RowGroups) < 2 {
						t.Fatalf("%s has %d row groups", f.Key, len(md.RowGroups))
					}
				}
				r.Close()
			}
		})
	}
}

func TestS3ReadsCostFewRequests(t *testing.T) {
	ctx := context.Background()
	fake := testaws.StartFakeS3(t)
	st, err := s3store.OpenStore(ctx, fake.Config(t), "lake", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	ds := newEvents(t, lk, &zones.Options[event]{RowGroupSize: 5000})
	rows := makeEvents(0, 40_000, 4)
	res := writeCommit(t, ds, rows, nil)
	fake.ResetRequests()
	reader := newEvents(t, lk, nil) // a fresh reader: opens the log too
	got := readAll(t, reader, &zones.ReadOptions{Columns: []string{"id", "amount"}})
	if len(got) != len(rows) {
		t.Fatalf("%d rows", len(got))
	}
	gets := fake.CountRequests("GET", "/lake/")
	lists := 0
	for _, r := range fake.Requests() {
		if r.URL.Query().Has("list-type") || r.URL.Query().Has("prefix") {
			lists++
		}
	}
	// per file: the tail (footer) and one coalesced range per row group;
	// plus the log: hint, checkpoint listing, version 1, version 2 (absent)
	rowGroups := 0
	for _, f := range res.Files {
		rowGroups += int((f.Rows + 4999) / 5000)
	}
	if max := len(res.Files) + rowGroups + 5; gets > max {
		t.Fatalf("reading %d files (%d row groups) took %d GETs, want ≤ %d", len(res.Files), rowGroups, gets, max)
	}
	t.Logf("reading %d files (%d row groups, 2 columns) from S3: %d GET requests (%d listings)", len(res.Files), rowGroups, gets, lists)
}

func TestAbortRemovesUploadedFiles(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 100})
	writeCommit(t, ds, makeEvents(0, 50, 2), nil)
	before := countParquet(t, lk)
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, makeEvents(100, 1000, 2)); err != nil {
		t.Fatal(err)
	}
	// a second Write waits for the first one's encoding and uploads
	if err := w.Write(ctx, makeEvents(1100, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if n := countParquet(t, lk); n <= before {
		t.Fatalf("no files uploaded before Abort (%d objects); the test needs some", n)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countParquet(t, lk); n != before {
		t.Fatalf("%d parquet objects after Abort, want %d", n, before)
	}
	if snap, err := ds.Snapshot(ctx, 0); err != nil || snap.Version != 1 || snap.Rows() != 50 {
		t.Fatalf("after Abort: %+v %v", snap, err)
	}
}

func TestSnapshotPrune(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 250})
	writeCommit(t, ds, makeEvents(0, 2000, 4), nil)
	table, err := zones.OpenTable(lk, lake.Curated, "sales", "events")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := table.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	files, err := snap.Prune(nil, zones.In("bucket", "b001", "b002"), zones.Lt("id", 900))
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, f := range files {
		b, _ := f.Partition.Get("bucket")
		if b != "b001" && b != "b002" {
			t.Fatalf("kept %s", f.Key)
		}
		rows += f.Rows
	}
	// each bucket holds 500 rows in 2 files (ids below ~1000, then above);
	// ids below 900 sit only in the first file of b001 and of b002
	if len(files) != 2 || rows != 500 {
		t.Fatalf("pruned to %d files with %d rows", len(files), rows)
	}
	if _, err := snap.Prune(nil, zones.Eq("nope", 1)); !errors.Is(err, zones.ErrInvalid) {
		t.Fatalf("unknown column: %v", err)
	}
}

func TestFailedUploadPoisonsTheWriter(t *testing.T) {
	ctx := context.Background()
	lk, cd := countingLake(t, memstore.New())
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 100})
	writeCommit(t, ds, makeEvents(0, 10, 2), nil)
	var puts atomic.Int64
	boom := errors.New("injected upload failure")
	cd.failPut = func(key string, opts *driver.PutOptions) (error, error) {
		if strings.HasSuffix(key, ".parquet") && puts.Add(1) == 3 {
			return boom, nil
		}
		return nil, nil
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// the failure is returned by the Write that hit it or, when the rows
	// were still being encoded as it returned (writer_async.go), by the
	// next one; every call after it fails too
	err = w.Write(ctx, makeEvents(100, 1000, 2))
	if err != nil && !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want the upload failure or nil", err)
	}
	if err := w.Write(ctx, makeEvents(2000, 10, 2)); !errors.Is(err, boom) {
		t.Fatalf("Write after the failed upload: %v", err)
	}
	if err := w.Write(ctx, makeEvents(3000, 10, 2)); !errors.Is(err, boom) {
		t.Fatalf("Write after a failed write: %v", err)
	}
	if _, err := w.Commit(ctx); !errors.Is(err, boom) {
		t.Fatalf("Commit after a failed write: %v", err)
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil || snap.Version != 1 || snap.Rows() != 10 {
		t.Fatalf("table changed: %+v %v", snap, err)
	}
	if n := countParquet(t, lk); n != len(snap.Files) {
		t.Fatalf("%d parquet objects after the failed write, want the %d live ones", n, len(snap.Files))
	}
}
