package zones_test

import (
	"bytes"
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

// rawWrite writes rows with one parquet-go GenericWriter per part (part
// picks it), routing each batch of 10,000 rows like zones does, to memory
// (pool nil) or to temporary files with spilled pages.
func rawWrite[T any](b *testing.B, dir string, rows []T, part func(*T) string, pool parquet.BufferPool) {
	type out struct {
		w   *parquet.GenericWriter[T]
		f   *os.File
		buf []T
	}
	outs := map[string]*out{}
	opts := []parquet.WriterOption{parquet.Compression(&zstd.Codec{})}
	if pool != nil {
		opts = append(opts, parquet.ColumnPageBuffers(pool), parquet.PageBufferSize(16<<10)) // as zones writes
	}
	for len(rows) > 0 {
		n := min(len(rows), 10000)
		for i := range rows[:n] {
			k := part(&rows[i])
			o := outs[k]
			if o == nil {
				o = &out{}
				if pool != nil {
					f, err := os.CreateTemp(dir, "raw-*.parquet")
					if err != nil {
						b.Fatal(err)
					}
					o.f = f
					o.w = parquet.NewGenericWriter[T](f, opts...)
				} else {
					o.w = parquet.NewGenericWriter[T](new(bytes.Buffer), opts...)
				}
				outs[k] = o
			}
			o.buf = append(o.buf, rows[i])
		}
		for _, o := range outs {
			if len(o.buf) > 0 {
				if _, err := o.w.Write(o.buf); err != nil {
					b.Fatal(err)
				}
				o.buf = o.buf[:0]
			}
		}
		rows = rows[n:]
	}
	for _, o := range outs {
		if err := o.w.Close(); err != nil {
			b.Fatal(err)
		}
		if o.f != nil {
			o.f.Close()
		}
	}
}

// zonesWrite writes rows through a zones writer into a memory lake (or a
// file lake in dir when onDisk) and commits.
func zonesWrite[T any](b *testing.B, dir string, onDisk bool, rows []T, opts *zones.Options[T]) {
	ctx := context.Background()
	url := "mem://"
	if onDisk {
		url = "file://" + dir
	}
	lk, err := lake.Open(ctx, url, nil)
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
// the same rows and codec (zstd): one file (unpartitioned) and 100
// partitions (raw: one GenericWriter per bucket, rows routed per batch as
// zones does). "mem": pages and files in memory (parquet-go's default;
// zones InMemoryBuffers into a memory lake). "filebuf": pages spilled to
// temporary files (zones' default; zones then uploads the file into a
// memory lake). "file-lake" adds the file store's copy and fsync.
func BenchmarkWrite(b *testing.B) {
	flat := flatEvents(benchRows)
	events := make([]event, benchRows)
	stored := make([]storedEvent, benchRows)
	for i, f := range flat {
		events[i] = event(f)
		stored[i] = storedEvent{f.ID, f.At, f.User, f.Amount, f.Kind, f.Note}
	}
	one := func(*flatEvent) string { return "" }
	bucket := func(e *storedEvent) string { return fmt.Sprint(e.ID % 100) }
	run := func(name string, fn func(dir string)) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				fn(dir)
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	run("1file/raw/mem", func(dir string) { rawWrite(b, dir, flat, one, nil) })
	run("1file/zones/mem", func(dir string) {
		zonesWrite(b, dir, false, flat, &zones.Options[flatEvent]{InMemoryBuffers: true})
	})
	run("1file/raw/filebuf", func(dir string) { rawWrite(b, dir, flat, one, parquet.NewFileBufferPool(dir, "pg-*")) })
	run("1file/zones/filebuf", func(dir string) { zonesWrite(b, dir, false, flat, &zones.Options[flatEvent]{TempDir: dir}) })
	run("1file/zones/filebuf/file-lake", func(dir string) { zonesWrite(b, dir, true, flat, &zones.Options[flatEvent]{TempDir: dir}) })
	run("100parts/raw/mem", func(dir string) { rawWrite(b, dir, stored, bucket, nil) })
	run("100parts/zones/mem", func(dir string) {
		zonesWrite(b, dir, false, events, &zones.Options[event]{InMemoryBuffers: true})
	})
	run("100parts/raw/filebuf", func(dir string) { rawWrite(b, dir, stored, bucket, parquet.NewFileBufferPool(dir, "pg-*")) })
	run("100parts/zones/filebuf", func(dir string) { zonesWrite(b, dir, false, events, &zones.Options[event]{TempDir: dir}) })
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
	zonesWrite(b, dir1, true, flat, nil)
	zonesWrite(b, dir100, true, events, nil)
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

// BenchmarkRatios runs raw parquet-go and zones alternately on the same
// rows, several rounds, and reports zones' throughput relative to raw from
// the fastest round of each (robust against a busy machine): >1 means
// zones is faster. Writes go to memory (pages and files; a memory lake);
// reads come from local files, one goroutine (p1) or the default (pN).
func BenchmarkRatios(b *testing.B) {
	ctx := context.Background()
	flat := flatEvents(benchRows)
	events := make([]event, benchRows)
	stored := make([]storedEvent, benchRows)
	for i, f := range flat {
		events[i] = event(f)
		stored[i] = storedEvent{f.ID, f.At, f.User, f.Amount, f.Kind, f.Note}
	}
	one := func(*flatEvent) string { return "" }
	bucket := func(e *storedEvent) string { return fmt.Sprint(e.ID % 100) }
	dir1, dir100 := b.TempDir(), b.TempDir()
	zonesWrite(b, dir1, true, flat, nil)
	zonesWrite(b, dir100, true, events, nil)
	lk1, _ := lake.Open(ctx, "file://"+dir1, nil)
	lk100, _ := lake.Open(ctx, "file://"+dir100, nil)
	ds1, _ := zones.NewDataset[flatEvent](lk1, lake.Curated, "bench", "events", nil)
	ds100, _ := zones.NewDataset[event](lk100, lake.Curated, "bench", "events", nil)
	paths := func(dir string) []string {
		var out []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".parquet") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	p1, p100 := paths(dir1), paths(dir100)
	rawRead := func(ps []string, one bool) {
		for _, p := range ps {
			f, _ := os.Open(p)
			if one {
				drain[flatEvent](b, f)
			} else {
				drain[storedEvent](b, f)
			}
			f.Close()
		}
	}
	type pair struct {
		name      string
		raw, zone func()
	}
	pairs := []pair{
		{"write-1file", func() { rawWrite(b, "", flat, one, nil) },
			func() { zonesWrite(b, "", false, flat, &zones.Options[flatEvent]{InMemoryBuffers: true}) }},
		{"write-100parts", func() { rawWrite(b, "", stored, bucket, nil) },
			func() { zonesWrite(b, "", false, events, &zones.Options[event]{InMemoryBuffers: true}) }},
		{"read-1file-p1", func() { rawRead(p1, true) }, func() {
			ds1.ReadBatches(ctx, &zones.ReadOptions{Parallelism: 1}, func([]flatEvent) error { return nil })
		}},
		{"read-100parts-p1", func() { rawRead(p100, false) }, func() {
			ds100.ReadBatches(ctx, &zones.ReadOptions{Parallelism: 1}, func([]event) error { return nil })
		}},
		{"read-100parts-pN", func() { rawRead(p100, false) }, func() {
			ds100.ReadBatches(ctx, nil, func([]event) error { return nil })
		}},
	}
	for _, p := range pairs {
		b.Run(p.name, func(b *testing.B) {
			best := func(cur time.Duration, f func()) time.Duration {
				start := time.Now()
				f()
				if d := time.Since(start); cur == 0 || d < cur {
					return d
				}
				return cur
			}
			var raw, zone time.Duration
			for i := 0; i < b.N; i++ {
				for round := 0; round < 5; round++ {
					raw = best(raw, p.raw)
					zone = best(zone, p.zone)
				}
			}
			b.ReportMetric(raw.Seconds()/zone.Seconds(), "zones/raw-throughput")
			b.ReportMetric(float64(benchRows)/raw.Seconds(), "raw-rows/s")
			b.ReportMetric(float64(benchRows)/zone.Seconds(), "zones-rows/s")
		})
	}
}

// BenchmarkOpenAtDepth opens a table (a fresh Table, the newest snapshot)
// after 1 and 1,000 one-file commits: the cost should not grow with the
// depth beyond reading the files' entries (internal/bench commit_depth).
func BenchmarkOpenAtDepth(b *testing.B) {
	for _, depth := range []int{1, 1000} {
		b.Run(fmt.Sprint(depth), func(b *testing.B) {
			lk := fileLake(b, "")
			ds := newEvents(b, lk, &zones.Options[event]{InMemoryBuffers: true})
			for i := range depth {
				writeCommit(b, ds, makeEvents(int64(i), 1, 1), nil)
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				t, err := zones.OpenTable(lk, lake.Curated, "sales", "events")
				if err != nil {
					b.Fatal(err)
				}
				if s, err := t.Snapshot(ctx, 0); err != nil || len(s.Files) != depth {
					b.Fatalf("%v files, %v", len(s.Files), err)
				}
			}
		})
	}
}
