package raw_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

// bufferCollect gathers OnFlush reports.
type bufferCollect struct {
	mu      sync.Mutex
	flushes []raw.BufferFlush
	ch      chan raw.BufferFlush
}

func newBufferCollect() *bufferCollect {
	return &bufferCollect{ch: make(chan raw.BufferFlush, 10000)}
}

func (c *bufferCollect) on(f raw.BufferFlush) {
	c.mu.Lock()
	c.flushes = append(c.flushes, f)
	c.mu.Unlock()
	c.ch <- f
}

func (c *bufferCollect) landed() []raw.BufferFlush {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []raw.BufferFlush
	for _, f := range c.flushes {
		if f.Err == nil {
			out = append(out, f)
		}
	}
	return out
}

// next waits for the next flush report.
func (c *bufferCollect) next(t *testing.T, d time.Duration) raw.BufferFlush {
	t.Helper()
	select {
	case f := <-c.ch:
		return f
	case <-time.After(d):
		t.Fatalf("no flush within %v", d)
	}
	return raw.BufferFlush{}
}

func bufferRecord(g, i int) []byte {
	return []byte(fmt.Sprintf(`{"g":%d,"i":%d,"pad":"%s"}`, g, i, strings.Repeat("p", (g*7+i)%50)))
}

// bufferCheckExactlyOnce reads everything landed and checks that it holds
// each of the want records exactly once.
func bufferCheckExactlyOnce(t *testing.T, lk *lake.Lake, source, dataset string, want map[string]bool) []raw.Landed {
	t.Helper()
	lines, objs := rawReadLines(t, lk, source, dataset)
	seen := make(map[string]int, len(lines))
	for _, l := range lines {
		seen[l]++
	}
	for l, n := range seen {
		if !want[l] {
			t.Fatalf("unexpected record %q", l)
		}
		if n != 1 {
			t.Fatalf("record %q landed %d times", l, n)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d distinct records landed, want %d", len(seen), len(want))
	}
	return objs
}

// 10,000 records from 16 goroutines land exactly once each, on memory,
// files and S3, through many small flushes running concurrently.
func TestBufferConcurrentExactlyOnce(t *testing.T) {
	for _, st := range rawLakes {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			lk := st.open(t)
			col := newBufferCollect()
			b, err := raw.NewBuffer(lk, "app", "events", &raw.BufferOptions{
				FlushBytes: 32 << 10, MaxBufferedBytes: 128 << 10, MaxConcurrentFlushes: 3, OnFlush: col.on,
			})
			if err != nil {
				t.Fatal(err)
			}
			const G, N = 16, 625
			want := make(map[string]bool, G*N)
			for g := 0; g < G; g++ {
				for i := 0; i < N; i++ {
					want[string(bufferRecord(g, i))] = true
				}
			}
			var wg sync.WaitGroup
			for g := 0; g < G; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < N; i++ {
						if err := b.Add(ctx, bufferRecord(g, i)); err != nil {
							t.Error(err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
			objs := bufferCheckExactlyOnce(t, lk, "app", "events", want)
			s := b.Stats()
			if s.Records != G*N || s.RecordsFlushed != G*N || s.BufferedRecs != 0 || s.BufferedBytes != 0 ||
				s.Flushes != int64(len(objs)) || s.BytesFlushed != s.Bytes || s.FlushErrors != 0 {
				t.Fatalf("stats %+v with %d objects", s, len(objs))
			}
			if len(objs) < 10 {
				t.Fatalf("only %d flushes for 10,000 records of 32 KiB batches", len(objs))
			}
			var recs int64
			for _, f := range col.landed() {
				recs += f.Records
			}
			if recs != G*N {
				t.Fatalf("OnFlush reported %d records, want %d", recs, G*N)
			}
			for _, o := range objs {
				if !strings.HasSuffix(o.Key, ".jsonl") || o.ContentType != "application/x-ndjson" || o.Records == 0 {
					t.Fatalf("object %+v", o)
				}
			}
		})
	}
}

// Each trigger flushes with its reason: size, count, age, Flush, Close.
func TestBufferFlushTriggers(t *testing.T) {
	ctx := context.Background()
	rec := []byte(`{"x":"` + strings.Repeat("a", 91) + `"}`) // 99 bytes + newline = 100

	t.Run("size", func(t *testing.T) {
		col := newBufferCollect()
		b, err := raw.NewBuffer(rawMemLake(t), "s", "d", &raw.BufferOptions{FlushBytes: 1000, OnFlush: col.on})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(ctx)
		for i := 0; i < 10; i++ {
			if err := b.Add(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		f := col.next(t, 5*time.Second)
		if f.Reason != raw.BufferFlushSize || f.Records != 10 || f.Bytes != 1000 || f.Err != nil {
			t.Fatalf("flush %+v, want 10 records by size", f)
		}
	})
	t.Run("count", func(t *testing.T) {
		col := newBufferCollect()
		b, err := raw.NewBuffer(rawMemLake(t), "s", "d", &raw.BufferOptions{FlushRecords: 7, OnFlush: col.on})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(ctx)
		for i := 0; i < 7; i++ {
			if err := b.Add(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		f := col.next(t, 5*time.Second)
		if f.Reason != raw.BufferFlushCount || f.Records != 7 {
			t.Fatalf("flush %+v, want 7 records by count", f)
		}
	})
	t.Run("age", func(t *testing.T) {
		col := newBufferCollect()
		lk := rawMemLake(t)
		b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{FlushInterval: 50 * time.Millisecond, OnFlush: col.on})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(ctx)
		start := time.Now()
		for i := 0; i < 3; i++ {
			if err := b.Add(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		f := col.next(t, 5*time.Second)
		if f.Reason != raw.BufferFlushAge || f.Records != 3 || time.Since(start) < 50*time.Millisecond {
			t.Fatalf("flush %+v after %v, want 3 records by age after 50ms", f, time.Since(start))
		}
		lines, _ := rawReadLines(t, lk, "s", "d")
		if len(lines) != 3 {
			t.Fatalf("%d lines landed by age, want 3", len(lines))
		}
	})
	t.Run("flush_and_close", func(t *testing.T) {
		col := newBufferCollect()
		lk := rawMemLake(t)
		b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{OnFlush: col.on})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Add(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if lines, _ := rawReadLines(t, lk, "s", "d"); len(lines) != 1 { // Flush waited for the landing
			t.Fatalf("after Flush %d lines landed, want 1", len(lines))
		}
		if err := b.Flush(ctx); err != nil { // nothing to flush
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := b.Add(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		got := col.landed()
		if len(got) != 2 || got[0].Reason != raw.BufferFlushCall || got[0].Records != 1 ||
			got[1].Reason != raw.BufferFlushClose || got[1].Records != 2 {
			t.Fatalf("flushes %+v, want one by Flush (1 record) and one by Close (2)", got)
		}
	})
}

// When flushes stall and the buffer holds MaxBufferedBytes, Add blocks
// (or gives up with ErrBufferFull when its context ends) instead of
// growing, and resumes when the store does.
func TestBufferBackPressure(t *testing.T) {
	ctx := context.Background()
	lk, fd := rawFaultLake(t)
	stall := make(chan struct{})
	fd.setStall(stall)
	b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{
		FlushBytes: 1000, MaxBufferedBytes: 3000, MaxConcurrentFlushes: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := []byte(`{"x":"` + strings.Repeat("a", 91) + `"}`) // 100 bytes with newline
	want := map[string]bool{}
	add := func(i int) error {
		r := append([]byte(nil), rec...)
		copy(r[6:], fmt.Sprintf("%05d", i))
		want[string(r)] = true
		return b.Add(ctx, r)
	}
	for i := 0; i < 30; i++ { // exactly MaxBufferedBytes
		if err := add(i); err != nil {
			t.Fatal(err)
		}
	}
	if s := b.Stats(); s.BufferedBytes != 3000 || s.RecordsFlushed != 0 {
		t.Fatalf("stats %+v, want 3000 bytes held and nothing flushed", s)
	}
	// a bounded Add gives up
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = b.Add(short, []byte(`{"never":1}`))
	cancel()
	if !errors.Is(err, raw.ErrBufferFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add on a full buffer: %v, want ErrBufferFull and DeadlineExceeded", err)
	}
	// an unbounded Add blocks
	done := make(chan error, 1)
	r := append([]byte(nil), rec...)
	copy(r[6:], "99999")
	want[string(r)] = true
	go func() { done <- b.Add(ctx, r) }()
	for deadline := time.Now().Add(10 * time.Second); b.Stats().Waits < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second Add never waited")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Add returned (%v) while the buffer was full", err)
	case <-time.After(100 * time.Millisecond):
	}
	if s := b.Stats(); s.BufferedBytes > 3000 || s.Waits != 2 {
		t.Fatalf("stats %+v: held more than MaxBufferedBytes or no wait counted", s)
	}
	close(stall) // the store recovers
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Add still blocked after the store recovered")
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	bufferCheckExactlyOnce(t, lk, "s", "d", want)
}

// A store that fails the first puts (cleanly, or after storing the object:
// an ambiguous failure) costs retries, never records, and never leaves a
// record twice.
func TestBufferRetriesLoseNothing(t *testing.T) {
	for _, ambiguous := range []bool{false, true} {
		t.Run(fmt.Sprintf("ambiguous=%v", ambiguous), func(t *testing.T) {
			ctx := context.Background()
			lk, fd := rawFaultLake(t)
			fd.setFail(5, ambiguous)
			col := newBufferCollect()
			b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{
				FlushRecords: 100, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, OnFlush: col.on,
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for i := 0; i < 1000; i++ {
				r := bufferRecord(1, i)
				want[string(r)] = true
				if err := b.Add(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
			bufferCheckExactlyOnce(t, lk, "s", "d", want)
			s := b.Stats()
			if fd.failed.Load() != 5 || s.FlushErrors != 5 || s.Flushes != 10 {
				t.Fatalf("injected %d failures; stats %+v, want 5 errors and 10 flushes", fd.failed.Load(), s)
			}
			failed := 0
			for _, f := range col.flushes {
				if f.Err != nil {
					failed++
				}
			}
			if failed != 5 {
				t.Fatalf("OnFlush saw %d failures, want 5", failed)
			}
		})
	}
}

// A store that never recovers: Close gives up when its context ends and
// says how many records did not land; nothing is half-landed.
func TestBufferCloseReportsUnflushed(t *testing.T) {
	ctx := context.Background()
	lk, fd := rawFaultLake(t)
	fd.setFail(1<<30, false)
	b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{FlushRecords: 25, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		if err := b.Add(ctx, bufferRecord(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); b.Stats().FlushErrors == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no flush attempt within 10s")
		}
	}
	flushCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = b.Flush(flushCtx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, lake.ErrThrottled) || !strings.Contains(err.Error(), "25 records") {
		t.Fatalf("Flush on a failing store: %v", err)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = b.Close(closeCtx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "25 records") {
		t.Fatalf("Close on a failing store: %v", err)
	}
	if err2 := b.Close(ctx); err2 != err {
		t.Fatalf("second Close = %v, want the first result", err2)
	}
	if s := b.Stats(); s.BufferedRecs != 25 || s.RecordsFlushed != 0 || s.FlushErrors < 2 {
		t.Fatalf("stats %+v", s)
	}
	if keys := rawKeys(t, lk, "raw/"); len(keys) != 0 {
		t.Fatalf("a failing store holds %v", keys)
	}
}

// gzip and zstd files decode back to the records, with the right suffix and
// content-encoding metadata.
func TestBufferCompression(t *testing.T) {
	for _, c := range []struct {
		comp   raw.BufferCompression
		suffix string
	}{{raw.BufferGzip, ".jsonl.gz"}, {raw.BufferZstd, ".jsonl.zst"}} {
		t.Run(string(c.comp), func(t *testing.T) {
			ctx := context.Background()
			lk := rawMemLake(t)
			b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{Compression: c.comp, FlushRecords: 300})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for i := 0; i < 1000; i++ {
				r := bufferRecord(2, i)
				want[string(r)] = true
				if err := b.Add(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
			objs := bufferCheckExactlyOnce(t, lk, "s", "d", want)
			if len(objs) != 4 {
				t.Fatalf("%d objects, want 4", len(objs))
			}
			store := lk.MustZone(lake.Raw).Store()
			for _, o := range objs {
				if !strings.HasSuffix(o.Key, c.suffix) || o.ContentEncoding != string(c.comp) || o.ContentType != "application/x-ndjson" {
					t.Fatalf("object %+v", o)
				}
				// Landed.Open decodes what the test decoded by hand
				stored, err := store.ReadAll(ctx, o.Key)
				if err != nil {
					t.Fatal(err)
				}
				rc, err := o.Open(ctx, lk)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if want := rawDecode(t, string(c.comp), stored); !bytes.Equal(got, want) || bytes.Equal(got, stored) {
					t.Fatalf("Open(%s) returned %d bytes, want the %d decoded bytes", o.Key, len(got), len(want))
				}
			}
			if s := b.Stats(); s.BytesStored*2 > s.BytesFlushed {
				t.Fatalf("stats %+v: repetitive JSON did not compress to half", s)
			}
		})
	}
}

// Records the JSON-lines format cannot hold are refused with a clear
// error; a trailing newline is fine; BufferLines takes lines as they are.
func TestBufferRecords(t *testing.T) {
	ctx := context.Background()
	lk := rawMemLake(t)
	b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{MaxBufferedBytes: 1 << 20, FlushBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "\n", "  ", "{\"a\":1}\n{\"b\":2}", "{\"a\":\n1}\n"} {
		err := b.Add(ctx, []byte(bad))
		if !errors.Is(err, raw.ErrInvalid) {
			t.Errorf("Add(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if err := b.Add(ctx, []byte("{\"ok\":1}\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, make([]byte, 2<<20)); !errors.Is(err, raw.ErrInvalid) {
		t.Errorf("Add of a record larger than the buffer: %v, want ErrInvalid", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lines, _ := rawReadLines(t, lk, "s", "d")
	if fmt.Sprint(lines) != `[{"ok":1}]` {
		t.Fatalf("landed %q", lines)
	}

	lb, err := raw.NewBuffer(lk, "s", "csv", &raw.BufferOptions{Format: raw.BufferLines, Extension: ".csv", ContentType: "text/csv"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"a,b", "1,2\n", ""} {
		if err := lb.Add(ctx, []byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := lb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lines, objs := rawReadLines(t, lk, "s", "csv")
	if fmt.Sprintf("%q", lines) != `["a,b" "1,2" ""]` || len(objs) != 1 || !strings.HasSuffix(objs[0].Key, ".csv") || objs[0].ContentType != "text/csv" {
		t.Fatalf("lines %q, objects %+v", lines, objs)
	}
}

// After Close, Add and Flush return ErrBufferClosed; an Add blocked on a
// full buffer is released by Close with ErrBufferClosed.
func TestBufferAfterClose(t *testing.T) {
	ctx := context.Background()
	lk, fd := rawFaultLake(t)
	stall := make(chan struct{})
	fd.setStall(stall)
	b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{FlushBytes: 100, MaxBufferedBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, []byte(`{"first":"`+strings.Repeat("x", 87)+`"}`)); err != nil { // 100 bytes: full
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { blocked <- b.Add(ctx, []byte(`{"second":1}`)) }()
	for deadline := time.Now().Add(10 * time.Second); b.Stats().Waits < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second Add never waited")
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	select {
	case err := <-blocked:
		if !errors.Is(err, raw.ErrBufferClosed) {
			t.Fatalf("blocked Add after Close: %v, want ErrBufferClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release a blocked Add")
	}
	close(stall)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, []byte(`{"late":1}`)); !errors.Is(err, raw.ErrBufferClosed) {
		t.Fatalf("Add after Close: %v, want ErrBufferClosed", err)
	}
	if err := b.Flush(ctx); !errors.Is(err, raw.ErrBufferClosed) {
		t.Fatalf("Flush after Close: %v, want ErrBufferClosed", err)
	}
	lines, _ := rawReadLines(t, lk, "s", "d")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `{"first"`) {
		t.Fatalf("landed %q", lines)
	}
}

func TestNewBufferOptions(t *testing.T) {
	lk := rawMemLake(t)
	for name, o := range map[string]*raw.BufferOptions{
		"max below flush": {FlushBytes: 1000, MaxBufferedBytes: 999},
		"negative":        {FlushRecords: -1},
		"compression":     {Compression: "lz4"},
		"format":          {Format: 7},
		"extension":       {Extension: "/../x"},
		"instance":        {InstanceID: "a/b"},
	} {
		if _, err := raw.NewBuffer(lk, "s", "d", o); !errors.Is(err, raw.ErrInvalid) {
			t.Errorf("%s: NewBuffer = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := raw.NewBuffer(nil, "s", "d", nil); !errors.Is(err, raw.ErrInvalid) {
		t.Errorf("nil lake: %v", err)
	}
}

// Object names carry the instance and a sequence number, and land under
// today's ingest date.
func TestBufferObjectNames(t *testing.T) {
	ctx := context.Background()
	lk := rawMemLake(t)
	b, err := raw.NewBuffer(lk, "s", "d", &raw.BufferOptions{InstanceID: "task-7", FlushRecords: 1, MaxConcurrentFlushes: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := b.Add(ctx, bufferRecord(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, objs := rawReadLines(t, lk, "s", "d")
	if len(objs) != 3 {
		t.Fatalf("%d objects", len(objs))
	}
	for i, o := range objs {
		suffix := fmt.Sprintf("-task-7-%08d.jsonl", i+1)
		if !strings.HasSuffix(o.Key, suffix) || o.Records != 1 || o.IngestDate != time.Now().UTC().Format("2006-01-02") && o.IngestDate != o.IngestTime.Format("2006-01-02") {
			t.Fatalf("object %d: %+v, want suffix %s", i, o, suffix)
		}
	}
}
