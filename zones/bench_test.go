package zones_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// flatEvent is event with the bucket stored as an ordinary column, for the
// unpartitioned comparisons with raw parquet-go.
type flatEvent struct {
	ID     int64     `parquet:"id"`
	At     time.Time `parquet:"at,timestamp(microsecond)"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	Kind   string    `parquet:"kind"`
	Note   string    `parquet:"note"`
	Bucket string    `parquet:"bucket"`
}

// storedEvent is what zones stores of an event (no partition column).
type storedEvent struct {
	ID     int64     `parquet:"id"`
	At     time.Time `parquet:"at,timestamp(microsecond)"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	Kind   string    `parquet:"kind"`
	Note   string    `parquet:"note"`
}

const benchRows = 200_000

func flatEvents(n int) []flatEvent {
	out := make([]flatEvent, n)
	for i := range out {
		e := makeEvent(int64(i), 100)
		out[i] = flatEvent(e)
	}
	return out
}

func rawWrite[T any](b *testing.B, dir string, parts map[string][]T, pool parquet.BufferPool) {
	for name, rows := range parts {
		f, err := os.Create(filepath.Join(dir, name+".parquet"))
		if err != nil {
			b.Fatal(err)
		}
		opts := []parquet.WriterOption{parquet.Compression(&zstd.Codec{})}
		if pool != nil {
			opts = append(opts, parquet.ColumnPageBuffers(pool), parquet.PageBufferSize(16<<10))
		}
		w := parquet.NewGenericWriter[T](f, opts...)
		for len(rows) > 0 {
			n := min(len(rows), 10000)
			if _, err := w.Write(rows[:n]); err != nil {
				b.Fatal(err)
			}
			rows = rows[n:]
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func zonesWrite[T any](b *testing.B, dir string, rows []T, opts *zones.Options[T]) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "file://"+dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer lk.Close()
	ds, err := zones.NewDataset[T](lk, lake.Curated, "bench", "events", opts)
	if err != nil {
		b.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for len(rows) > 0 {
		n := min(len(rows), 10000)
		if err := w.Write(ctx, rows[:n]); err != nil {
			b.Fatal(err)
		}
		rows = rows[n:]
	}
	if _, err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite compares zones writers with parquet-go GenericWriters on
// the same rows, same codec (zstd), writing to local files: one file
// (unpartitioned) and 100 partitions (raw: one GenericWriter per bucket,
// rows routed by hand). "mem" keeps pages in memory (parquet-go's
// default), "filebuf" spills them to temp files (zones' default).
func BenchmarkWrite(b *testing.B) {
	flat := flatEvents(benchRows)
	events := make([]event, benchRows)
	byBucket := map[string][]storedEvent{}
	for i, f := range flat {
		events[i] = event(f)
		byBucket[f.Bucket] = append(byBucket[f.Bucket], storedEvent{f.ID, f.At, f.User, f.Amount, f.Kind, f.Note})
	}
	run := func(name string, fn func(dir string)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				fn(dir)
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	run("1file/raw/mem", func(dir string) { rawWrite(b, dir, map[string][]flatEvent{"all": flat}, nil) })
	run("1file/zones/mem", func(dir string) { zonesWrite(b, dir, flat, &zones.Options[flatEvent]{InMemoryBuffers: true}) })
	run("1file/raw/filebuf", func(dir string) {
		rawWrite(b, dir, map[string][]flatEvent{"all": flat}, parquet.NewFileBufferPool(dir, "pg-*"))
	})
	run("1file/zones/filebuf", func(dir string) { zonesWrite(b, dir, flat, &zones.Options[flatEvent]{TempDir: dir}) })
	run("100parts/raw/mem", func(dir string) { rawWrite(b, dir, byBucket, nil) })
	run("100parts/zones/mem", func(dir string) { zonesWrite(b, dir, events, &zones.Options[event]{InMemoryBuffers: true}) })
	run("100parts/raw/filebuf", func(dir string) { rawWrite(b, dir, byBucket, parquet.NewFileBufferPool(dir, "pg-*")) })
	run("100parts/zones/filebuf", func(dir string) { zonesWrite(b, dir, events, &zones.Options[event]{TempDir: dir}) })
}

// BenchmarkRead compares zones reads with parquet-go GenericReaders over
// the same files (one file of 200k rows; 100 partition files).
func BenchmarkRead(b *testing.B) {
	ctx := context.Background()
	flat := flatEvents(benchRows)
	events := make([]event, benchRows)
	for i, f := range flat {
		events[i] = event(f)
	}
	dir1, dir100 := b.TempDir(), b.TempDir()
	zonesWrite(b, dir1, flat, nil)
	zonesWrite(b, dir100, events, nil)
	files := func(dir string) []string {
		var out []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".parquet") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	rawRead := func(b *testing.B, paths []string, read func(f *os.File) int) {
		for i := 0; i < b.N; i++ {
			n := 0
			for _, p := range paths {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				n += read(f)
				f.Close()
			}
			if n != benchRows {
				b.Fatalf("read %d rows", n)
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("1file/raw", func(b *testing.B) {
		rawRead(b, files(dir1), func(f *os.File) int { return drain[flatEvent](b, f) })
	})
	b.Run("100parts/raw", func(b *testing.B) {
		rawRead(b, files(dir100), func(f *os.File) int { return drain[storedEvent](b, f) })
	})
	zonesRead := func(b *testing.B, dir string, parallel int, part bool) {
		lk, err := lake.Open(ctx, "file://"+dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer lk.Close()
		count := func() int {
			if part {
				ds, _ := zones.NewDataset[event](lk, lake.Curated, "bench", "events", nil)
				n := 0
				if err := ds.ReadBatches(ctx, &zones.ReadOptions{Parallelism: parallel}, func(r []event) error { n += len(r); return nil }); err != nil {
					b.Fatal(err)
				}
				return n
			}
			ds, _ := zones.NewDataset[flatEvent](lk, lake.Curated, "bench", "events", nil)
			n := 0
			if err := ds.ReadBatches(ctx, &zones.ReadOptions{Parallelism: parallel}, func(r []flatEvent) error { n += len(r); return nil }); err != nil {
				b.Fatal(err)
			}
			return n
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n := count(); n != benchRows {
				b.Fatalf("read %d rows", n)
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("1file/zones/p1", func(b *testing.B) { zonesRead(b, dir1, 1, false) })
	b.Run("100parts/zones/p1", func(b *testing.B) { zonesRead(b, dir100, 1, true) })
	b.Run("100parts/zones/p2", func(b *testing.B) { zonesRead(b, dir100, 2, true) })
}

func drain[T any](b *testing.B, f *os.File) int {
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, 4096)
	n := 0
	for {
		k, err := r.Read(buf)
		n += k
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// childRSS writes ZONES_ARGS rows into 100 partitions of a file lake,
// generating them in batches, and prints its peak RSS in KiB.
func childRSS() int {
	ctx := context.Background()
	fields := strings.Fields(os.Getenv("ZONES_ARGS"))
	n, _ := strconv.ParseInt(fields[0], 10, 64)
	inMem := len(fields) > 1 && fields[1] == "mem"
	lk, err := lake.Open(ctx, "file://"+os.Getenv("ZONES_DIR"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ds, err := zones.NewDataset[event](lk, lake.Curated, "bench", "rss", &zones.Options[event]{TempDir: os.Getenv("ZONES_DIR"), InMemoryBuffers: inMem})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	batch := make([]event, 10000)
	for from := int64(0); from < n; from += int64(len(batch)) {
		for i := range batch {
			batch[i] = makeEvent(from+int64(i), 100)
		}
		if err := w.Write(ctx, batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	res, err := w.Commit(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("%d %d %d\n", ru.Maxrss, res.Rows, len(res.Files))
	return 0
}

// BenchmarkPeakRSS writes 1M and 10M rows into 100 partitions in a child
// process and reports its peak RSS (MiB): it should be flat in the rows.
func BenchmarkPeakRSS(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				out, err := child(b, "rss", dir, strconv.Itoa(n)).Output()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				var kib, rows, files int64
				fmt.Sscan(string(out), &kib, &rows, &files)
				if rows != int64(n) {
					b.Fatalf("child wrote %d rows: %s", rows, out)
				}
				b.ReportMetric(float64(kib)/1024, "peak-RSS-MiB")
				b.ReportMetric(float64(files), "files")
			}
		})
	}
}
