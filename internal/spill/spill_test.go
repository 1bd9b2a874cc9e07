package spill

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// reservationOf is the memory the pool documents for a buffer of n bytes,
// written out independently of capFor: the first chunk doubles from 4 KiB
// to 64 KiB, then whole 64 KiB chunks.
func reservationOf(n int64) int64 {
	switch {
	case n == 0:
		return 0
	case n <= 4<<10:
		return 4 << 10
	case n <= 8<<10:
		return 8 << 10
	case n <= 16<<10:
		return 16 << 10
	case n <= 32<<10:
		return 32 << 10
	case n <= 64<<10:
		return 64 << 10
	}
	chunks := n / (64 << 10)
	if n%(64<<10) != 0 {
		chunks++
	}
	return chunks * (64 << 10)
}

// model is what a buffer must hold: its bytes and position.
type model struct {
	data []byte
	pos  int64
}

func (m *model) write(p []byte) {
	end := m.pos + int64(len(p))
	if end > int64(len(m.data)) {
		m.data = append(m.data, make([]byte, end-int64(len(m.data)))...)
	}
	copy(m.data[m.pos:], p)
	m.pos = end
}

func randBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	r.Read(p)
	return p
}

// randSize favours small writes (pages, headers) but crosses chunk
// boundaries and whole chunks too.
func randSize(r *rand.Rand) int {
	switch r.Intn(4) {
	case 0:
		return r.Intn(64)
	case 1:
		return r.Intn(8 << 10)
	case 2:
		return r.Intn(80 << 10)
	default:
		return r.Intn(300 << 10)
	}
}

// checkContent reads the whole buffer through Seek+Read, ReadAt and
// Seek+WriteTo and compares each with the model, then restores the position.
func checkContent(t *testing.T, b *Buffer, m *model, r *rand.Rand) {
	t.Helper()
	if b.Len() != int64(len(m.data)) {
		t.Fatalf("Len = %d, model %d", b.Len(), len(m.data))
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 1+r.Intn(100<<10))
	for {
		n, err := b.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, m.data) {
		t.Fatalf("Read back %d bytes differing from the %d written (spilled %v)", len(got), len(m.data), b.spilled)
	}
	if len(m.data) > 0 {
		off := r.Int63n(int64(len(m.data)))
		p := make([]byte, r.Intn(len(m.data)-int(off)+10))
		n, err := b.ReadAt(p, off)
		want := m.data[off:min(int64(len(m.data)), off+int64(len(p)))]
		if n != len(want) || !bytes.Equal(p[:n], want) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d bytes, want %d", len(p), off, n, len(want))
		}
		if n < len(p) && err != io.EOF {
			t.Fatalf("short ReadAt returned %v, want io.EOF", err)
		}
		off = r.Int63n(int64(len(m.data)))
		if _, err := b.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := io.Copy(&out, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), m.data[off:]) {
			t.Fatalf("io.Copy from %d: %d bytes differ from the model's %d", off, out.Len(), len(m.data)-int(off))
		}
	}
	if _, err := b.Seek(m.pos, io.SeekStart); err != nil {
		t.Fatal(err)
	}
}

// TestSpillBufferReadBack writes random sizes at random positions (seeks
// back, to the end and past it) into buffers sharing a small budget, so
// each crosses from memory to the spill file at some point, and checks
// every read path against a model across the boundary; buffers are
// released and reused now and then (their extents too, which must not
// leak old bytes into gaps); releasing them all brings the budget back
// to 0.
func TestSpillBufferReadBack(t *testing.T) {
	crossed := 0 // seeds where a buffer was seen in memory and spilled
	defer func() {
		if !t.Failed() && crossed < 6 {
			t.Fatalf("only %d of 12 seeds saw buffers on both sides of the budget", crossed)
		}
	}()
	for seed := int64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			p := NewPool(t.TempDir(), int64(r.Intn(1<<20)))
			bufs := make([]*Buffer, 3)
			models := make([]*model, len(bufs))
			for i := range bufs {
				bufs[i] = p.GetBuffer().(*Buffer)
				models[i] = &model{}
			}
			sawSpill, sawMemory := false, false
			for op := 0; op < 120; op++ {
				i := r.Intn(len(bufs))
				b, m := bufs[i], models[i]
				if r.Intn(25) == 0 { // release: its memory and extents get reused
					checkContent(t, b, m, r)
					p.PutBuffer(b)
					bufs[i], models[i] = p.Get(), &model{}
					continue
				}
				switch k := r.Intn(10); {
				case k < 6:
					data := randBytes(r, randSize(r))
					n, err := b.Write(data)
					if err != nil || n != len(data) {
						t.Fatalf("Write(%d) = %d, %v", len(data), n, err)
					}
					m.write(data)
				case k < 8:
					var off int64
					whence := r.Intn(3)
					switch whence {
					case io.SeekStart:
						off = r.Int63n(int64(len(m.data)) + 5000)
					case io.SeekCurrent:
						off = r.Int63n(int64(len(m.data))+5000) - m.pos
					case io.SeekEnd:
						off = r.Int63n(5000) - r.Int63n(int64(len(m.data))+1)
					}
					got, err := b.Seek(off, whence)
					if err != nil {
						t.Fatal(err)
					}
					want := []int64{off, m.pos + off, int64(len(m.data)) + off}[whence]
					if got != want {
						t.Fatalf("Seek(%d, %d) = %d, want %d", off, whence, got, want)
					}
					m.pos = want
				case k < 9:
					p := make([]byte, randSize(r))
					n, err := b.Read(p)
					want := m.data[min(m.pos, int64(len(m.data))):]
					want = want[:min(len(want), len(p))]
					if err != nil && err != io.EOF {
						t.Fatal(err)
					}
					if n > 0 && !bytes.Equal(p[:n], want[:n]) || n == 0 && len(want) > 0 && len(p) > 0 {
						t.Fatalf("Read at %d: got %d bytes, want up to %d equal", m.pos, n, len(want))
					}
					m.pos += int64(n)
				default:
					checkContent(t, b, m, r)
				}
				if b.spilled {
					sawSpill = true
				} else if b.Len() > 0 {
					sawMemory = true
				}
				if _, err := b.Seek(0, io.SeekCurrent); err != nil {
					t.Fatal(err)
				}
			}
			for i, b := range bufs {
				checkContent(t, b, models[i], r)
			}
			if sawSpill && sawMemory {
				crossed++
			}
			for _, b := range bufs {
				p.PutBuffer(b)
			}
			if u := p.used.Load(); u != 0 {
				t.Fatalf("after releasing every buffer the pool accounts %d bytes, want 0", u)
			}
			p.Close()
		})
	}
}

// TestSpillBufferReuse: a released buffer comes back empty and in memory,
// even when it had spilled, and works as new.
func TestSpillBufferReuse(t *testing.T) {
	p := NewPool(t.TempDir(), 100<<10)
	b := p.GetBuffer().(*Buffer)
	data := bytes.Repeat([]byte("0123456789"), 20<<10) // 200 KiB > budget
	if _, err := b.Write(data); err != nil {
		t.Fatal(err)
	}
	if !b.spilled {
		t.Fatal("a 200 KiB buffer under a 100 KiB budget did not spill")
	}
	p.PutBuffer(b)
	b2 := p.GetBuffer().(*Buffer)
	if b2 != b {
		t.Fatal("the released buffer was not reused")
	}
	if b2.Len() != 0 || b2.spilled {
		t.Fatalf("reused buffer: Len %d, spilled %v; want empty, in memory", b2.Len(), b2.spilled)
	}
	if n, err := b2.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read of a reused buffer = %d, %v; want 0, EOF", n, err)
	}
	small := []byte("small")
	b2.Write(small)
	if b2.spilled || p.used.Load() != 4<<10 {
		t.Fatalf("small write after reuse: spilled %v, budget used %d; want in memory, 4096", b2.spilled, p.used.Load())
	}
	b2.Seek(0, io.SeekStart)
	got, _ := io.ReadAll(b2)
	if string(got) != "small" {
		t.Fatalf("read %q after reuse, want %q", got, "small")
	}
	p.PutBuffer(b2)
	if p.used.Load() != 0 {
		t.Fatalf("budget used %d after release, want 0", p.used.Load())
	}
	p.Close()
}

// TestSpillExactlyAtBudget: a buffer moves to a file on exactly the write
// whose reservation would take the pool's total over its budget, never
// earlier; it stays there after other buffers free memory; and the pool's
// total always equals the reservations of the buffers in memory.
func TestSpillExactlyAtBudget(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewSource(seed))
		limit := int64(r.Intn(2 << 20))
		p := NewPool(t.TempDir(), limit)
		var bufs []*Buffer
		spilled := map[*Buffer]bool{}
		total := func() int64 {
			var s int64
			for _, b := range bufs {
				if !spilled[b] {
					s += reservationOf(b.Len())
				}
			}
			return s
		}
		for op := 0; op < 200; op++ {
			if len(bufs) == 0 || r.Intn(5) == 0 {
				bufs = append(bufs, p.GetBuffer().(*Buffer))
			}
			if r.Intn(8) == 0 { // release one
				i := r.Intn(len(bufs))
				b := bufs[i]
				p.PutBuffer(b)
				delete(spilled, b)
				bufs = append(bufs[:i], bufs[i+1:]...)
				if got, want := p.used.Load(), total(); got != want {
					t.Fatalf("seed %d: after a release the pool accounts %d, the buffers in memory reserve %d", seed, got, want)
				}
				continue
			}
			b := bufs[r.Intn(len(bufs))]
			n := randSize(r)
			before := total()
			after := before
			if !spilled[b] {
				after = before - reservationOf(b.Len()) + reservationOf(b.Len()+int64(n))
			}
			wasSpilled := spilled[b]
			if _, err := b.Write(randBytes(r, n)); err != nil {
				t.Fatal(err)
			}
			wantSpill := wasSpilled || after > limit
			if b.spilled != wantSpill {
				t.Fatalf("seed %d: write of %d bytes (buffer %d bytes, pool total %d → %d, budget %d): spilled %v, want %v",
					seed, n, b.Len()-int64(n), before, after, limit, b.spilled, wantSpill)
			}
			spilled[b] = b.spilled
			if got, want := p.used.Load(), total(); got != want || got > limit {
				t.Fatalf("seed %d: pool accounts %d, the buffers in memory reserve %d (budget %d)", seed, got, want, limit)
			}
		}
		for _, b := range bufs {
			p.PutBuffer(b)
		}
		if u := p.used.Load(); u != 0 {
			t.Fatalf("seed %d: %d bytes accounted after every buffer was released", seed, u)
		}
		if n := p.spills.Load(); n == 0 && limit < 1<<20 {
			t.Fatalf("seed %d: nothing spilled under a %d-byte budget", seed, limit)
		}
		p.Close()
	}
}

// TestSpillAtTheBoundary: filling the budget exactly stays in memory; one
// byte more spills.
func TestSpillAtTheBoundary(t *testing.T) {
	p := NewPool(t.TempDir(), 64<<10+4<<10)
	a := p.Get()
	if _, err := a.Write(make([]byte, 64<<10)); err != nil || a.spilled {
		t.Fatalf("64 KiB into a 68 KiB budget: spilled %v, %v", a.spilled, err)
	}
	b := p.Get()
	if _, err := b.Write(make([]byte, 4<<10)); err != nil || b.spilled {
		t.Fatalf("the last 4 KiB of the budget: spilled %v, %v", b.spilled, err)
	}
	if p.used.Load() != 68<<10 {
		t.Fatalf("budget used %d, want %d", p.used.Load(), 68<<10)
	}
	if _, err := b.Write([]byte{1}); err != nil || !b.spilled {
		t.Fatalf("one byte over the budget: spilled %v, %v", b.spilled, err)
	}
	if p.used.Load() != 64<<10 {
		t.Fatalf("after the spill the budget holds %d, want the other buffer's %d", p.used.Load(), 64<<10)
	}
	p.PutBuffer(a)
	if _, err := b.Write(make([]byte, 10)); err != nil || !b.spilled || p.used.Load() != 0 {
		t.Fatalf("a spilled buffer must stay in its file: spilled %v, used %d, %v", b.spilled, p.used.Load(), err)
	}
	p.PutBuffer(b)
	p.Close()
}

// TestSpillFilesUnlinked: spilled buffers share one open file that no
// longer has a name: the temporary directory stays empty while they hold
// data, and Close closes the file.
func TestSpillFilesUnlinked(t *testing.T) {
	dir := t.TempDir()
	p := NewPool(dir, 0) // every buffer spills on its first write
	var bufs []*Buffer
	for i := 0; i < 5; i++ {
		b := p.GetBuffer().(*Buffer)
		if _, err := b.Write(bytes.Repeat([]byte{byte(i)}, 1000)); err != nil {
			t.Fatal(err)
		}
		if !b.spilled || p.file == nil {
			t.Fatal("a write under a zero budget stayed in memory")
		}
		bufs = append(bufs, b)
	}
	if p.used.Load() != 0 {
		t.Fatalf("zero budget accounts %d bytes", p.used.Load())
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("spill directory holds %d entries (first %s), want none", len(ents), ents[0].Name())
	}
	if open := deletedFilesIn(dir); open >= 0 && open != 1 {
		t.Fatalf("%d open deleted files in the spill directory, want the pool's one", open)
	}
	for _, b := range bufs {
		p.PutBuffer(b)
	}
	p.Close()
	if open := deletedFilesIn(dir); open > 0 {
		t.Fatalf("%d spill files still open after Close", open)
	}
}

// deletedFilesIn counts this process's open files that were in dir and
// are unlinked (Linux /proc); -1 where that cannot be seen.
func deletedFilesIn(dir string) int {
	if runtime.GOOS != "linux" {
		return -1
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		if strings.HasPrefix(target, dir+string(filepath.Separator)) && strings.HasSuffix(target, " (deleted)") {
			n++
		}
	}
	return n
}

// TestSpillPoolConcurrent: goroutines (like a writer's concurrent file
// closes) use buffers of one pool with a budget they cross; every buffer
// reads back what was written and the accounting returns to 0. Run with
// -race.
func TestSpillPoolConcurrent(t *testing.T) {
	p := NewPool(t.TempDir(), 512<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g)))
			for round := 0; round < 20; round++ {
				b := p.GetBuffer().(*Buffer)
				var want []byte
				for w := 0; w < 5; w++ {
					data := randBytes(r, r.Intn(64<<10))
					if _, err := b.Write(data); err != nil {
						errs <- err
						return
					}
					want = append(want, data...)
				}
				if u := p.used.Load(); u > 512<<10 {
					errs <- fmt.Errorf("pool accounts %d bytes over its 512 KiB budget", u)
					return
				}
				b.Seek(0, io.SeekStart)
				got, err := io.ReadAll(b)
				if err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("goroutine %d round %d: read back %d bytes (%v), want %d equal", g, round, len(got), err, len(want))
					return
				}
				p.PutBuffer(b)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if u := p.used.Load(); u != 0 {
		t.Fatalf("%d bytes accounted after every buffer was released", u)
	}
	if p.spills.Load() == 0 {
		t.Fatal("nothing spilled: the test did not cross the budget")
	}
	p.Close()
}

// TestSpillPoolUnderParquet writes a file through parquet-go with the pool
// as its page buffers and the file's spool, under budgets that keep all,
// some and none of it in memory, and reads the same rows back.
func TestSpillPoolUnderParquet(t *testing.T) {
	type row struct {
		ID   int64  `parquet:"id"`
		Name string `parquet:"name"`
		Val  float64
	}
	r := rand.New(rand.NewSource(7))
	rows := make([]row, 30000)
	for i := range rows {
		rows[i] = row{ID: int64(i), Name: strings.Repeat(string(rune('a'+r.Intn(26))), r.Intn(40)), Val: r.Float64()}
	}
	for _, limit := range []int64{0, 64 << 10, 256 << 10, 64 << 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			p := NewPool(t.TempDir(), limit)
			spool := p.Get()
			w := parquet.NewGenericWriter[row](spool, parquet.ColumnPageBuffers(p), parquet.PageBufferSize(4<<10), parquet.MaxRowsPerRowGroup(7000))
			for i := 0; i < len(rows); i += 1000 {
				if _, err := w.Write(rows[i : i+1000]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := parquet.Read[row](spool, spool.Len())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(rows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
			}
			for i := range rows {
				if got[i] != rows[i] {
					t.Fatalf("row %d: %+v, wrote %+v", i, got[i], rows[i])
				}
			}
			if limit == 64<<20 && p.spills.Load() != 0 {
				t.Fatalf("%d spills under a budget larger than the data", p.spills.Load())
			}
			if limit < 256<<10 && p.spills.Load() == 0 {
				t.Fatalf("nothing spilled under a %d-byte budget", limit)
			}
			p.PutBuffer(spool)
			if u := p.used.Load(); u != 0 {
				t.Fatalf("%d bytes accounted after the writer and spool were released", u)
			}
			p.Close()
		})
	}
}
