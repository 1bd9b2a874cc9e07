package zones

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// DefaultMemoryBudget is the memory a writer keeps Parquet pages and
// unfinished files in when Options.MemoryBudget is 0. Chosen on the
// 100-partition bench (internal/bench memory_10m: 10M rows must peak at
// ≤ 256 MiB RSS and ≤ 1.3× the peak at 1M rows): the buffers live on the Go
// heap, so with the default GOGC a budget costs up to about twice its size
// in RSS. 32 MiB peaked at 210 MiB (1M rows: 188), 48 MiB at 252 MiB and
// 64 MiB at 280 MiB; in zones' BenchmarkWrite (200k rows, 100 partitions)
// any budget of 16 MiB or more wrote 1.5–3× faster than spilling
// everything.
const DefaultMemoryBudget = 32 << 20

// Memory is reserved from the budget in steps: a buffer's first chunk
// doubles from minChunk up to chunkSize, then whole chunks are added.
const (
	minChunk  = 4 << 10
	chunkSize = 64 << 10
)

// maxFreePageBuffers bounds the idle buffers (and their spill files) a
// pool keeps for reuse.
const maxFreePageBuffers = 64

// spillPool is a writer's parquet.BufferPool of hybrid buffers, also used
// for the files it spools until upload. A buffer lives in memory while the
// writer's in-memory total stays within the budget; a write that would
// push the total over it moves the buffer to a temporary file, where it
// stays until released. Temporary files are removed from the directory as
// soon as they are created: the open file keeps its data, and a writer
// killed at any point leaves nothing behind. Releasing a buffer gives its
// memory back to the budget; released buffers (with their files, truncated)
// and chunks are reused, since a writer asks for a buffer per column chunk
// and creating a file per buffer cost more than compressing it.
//
// It is safe for concurrent use: one writer's files are closed (and their
// buffers released) several at a time.
type spillPool struct {
	dir   string
	limit int64 // bytes of memory the buffers may hold; < 0: unbounded

	used   atomic.Int64 // bytes reserved by buffers in memory
	spills atomic.Int64 // buffers moved to a file

	mu     sync.Mutex
	free   []*spillBuffer
	chunks [][]byte // idle chunks of chunkSize bytes
}

var _ parquet.BufferPool = (*spillPool)(nil)

// newSpillPool returns a pool keeping up to limit bytes in memory (< 0:
// no limit; 0: every buffer goes to a file) and spilling to files in dir
// ("" = os.TempDir()).
func newSpillPool(dir string, limit int64) *spillPool {
	if dir == "" {
		dir = os.TempDir()
	}
	return &spillPool{dir: dir, limit: limit}
}

// reserve takes n bytes from the budget, or reports that they do not fit.
func (p *spillPool) reserve(n int64) bool {
	if p.limit < 0 {
		p.used.Add(n)
		return true
	}
	for {
		u := p.used.Load()
		if u+n > p.limit {
			return false
		}
		if p.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (p *spillPool) release(n int64) { p.used.Add(-n) }

// getChunk returns a chunk of chunkSize bytes (not zeroed).
func (p *spillPool) getChunk() []byte {
	p.mu.Lock()
	if n := len(p.chunks); n > 0 {
		c := p.chunks[n-1]
		p.chunks[n-1] = nil
		p.chunks = p.chunks[:n-1]
		p.mu.Unlock()
		return c
	}
	p.mu.Unlock()
	return make([]byte, chunkSize)
}

// putChunks keeps released chunks for reuse while the memory in use plus
// the idle chunks stay within the budget; the rest is left to the GC.
func (p *spillPool) putChunks(cs [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		if len(c) != chunkSize {
			continue
		}
		if p.limit >= 0 && p.used.Load()+int64(len(p.chunks)+1)*chunkSize > p.limit {
			return
		}
		p.chunks = append(p.chunks, c)
	}
}

// GetBuffer returns an empty buffer in memory.
func (p *spillPool) GetBuffer() io.ReadWriteSeeker { return p.get() }

func (p *spillPool) get() *spillBuffer {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return &spillBuffer{pool: p}
}

// PutBuffer releases a buffer: its memory goes back to the budget, and it
// is kept (with its file, truncated) for reuse.
func (p *spillPool) PutBuffer(rws io.ReadWriteSeeker) {
	b, ok := rws.(*spillBuffer)
	if !ok || b.pool != p {
		return
	}
	b.reset()
	p.mu.Lock()
	if len(p.free) < maxFreePageBuffers {
		p.free = append(p.free, b)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	b.closeFile()
}

// Close closes the idle buffers' files and drops the idle chunks.
func (p *spillPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.free {
		b.closeFile()
	}
	p.free = nil
	p.chunks = nil
}

// spillBuffer is an io.ReadWriteSeeker (also io.ReaderAt and io.WriterTo)
// in memory chunks, or, once spilled, in an unlinked temporary file. It is
// used by one goroutine at a time; ReadAt may run concurrently with other
// ReadAt calls.
type spillBuffer struct {
	pool *spillPool
	// chunks hold the bytes in memory: chunks[0] grows from minChunk to
	// chunkSize, the others are chunkSize long. Their total length is the
	// memory reserved from the budget.
	chunks   [][]byte
	reserved int64
	size     int64 // bytes written (the end of the data)
	pos      int64
	f        *os.File // the spill file (kept, truncated, across reuse)
	spilled  bool     // the data is in f, not in chunks
	err      error    // a failed spill: every later call fails
}

var (
	_ io.ReadWriteSeeker = (*spillBuffer)(nil)
	_ io.ReaderAt        = (*spillBuffer)(nil)
	_ io.WriterTo        = (*spillBuffer)(nil)
)

var errNegativeOffset = errors.New("zones: page buffer: negative offset")

// Len returns the buffer's size.
func (b *spillBuffer) Len() int64 { return b.size }

// capFor is the memory a buffer of n bytes reserves.
func capFor(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n <= chunkSize {
		c := int64(minChunk)
		for c < n {
			c *= 2
		}
		return c
	}
	return (n + chunkSize - 1) / chunkSize * chunkSize
}

// grow makes room in memory for end bytes; false when the budget has no
// room for it (nothing changed then).
func (b *spillBuffer) grow(end int64) bool {
	want := capFor(end)
	if want <= b.reserved {
		return true
	}
	if !b.pool.reserve(want - b.reserved) {
		return false
	}
	b.reserved = want
	if len(b.chunks) == 0 || len(b.chunks[0]) < chunkSize {
		first := min(want, chunkSize)
		var c []byte
		if first == chunkSize {
			c = b.pool.getChunk()
		} else {
			c = make([]byte, first)
		}
		if len(b.chunks) > 0 {
			copy(c, b.chunks[0][:min(b.size, int64(len(b.chunks[0])))])
			b.chunks[0] = c
		} else {
			b.chunks = append(b.chunks, c)
		}
	}
	for int64(len(b.chunks))*chunkSize < want {
		b.chunks = append(b.chunks, b.pool.getChunk())
	}
	return true
}

// freeMemory gives the chunks back to the pool and their bytes to the budget.
func (b *spillBuffer) freeMemory() {
	b.pool.release(b.reserved)
	b.reserved = 0
	b.pool.putChunks(b.chunks)
	clear(b.chunks)
	b.chunks = b.chunks[:0]
}

// spill moves the buffer to its temporary file, where it stays until reset.
func (b *spillBuffer) spill() error {
	if b.f == nil {
		f, err := os.CreateTemp(b.pool.dir, "lakekit-spill-*")
		if err != nil {
			return fmt.Errorf("zones: spill page buffer: %w", err)
		}
		// unlinked at once: the open file keeps the data, and a killed
		// writer leaves nothing behind
		os.Remove(f.Name())
		b.f = f
	}
	if _, err := b.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("zones: spill page buffer: %w", err)
	}
	for i, left := 0, b.size; left > 0; i++ {
		c := b.chunks[i][:min(left, int64(len(b.chunks[i])))]
		if _, err := b.f.Write(c); err != nil {
			return fmt.Errorf("zones: spill page buffer: %w", err)
		}
		left -= int64(len(c))
	}
	if _, err := b.f.Seek(b.pos, io.SeekStart); err != nil {
		return fmt.Errorf("zones: spill page buffer: %w", err)
	}
	b.spilled = true
	b.freeMemory()
	b.pool.spills.Add(1)
	return nil
}

func (b *spillBuffer) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := b.pos + int64(len(p))
	if !b.spilled && !b.grow(end) {
		if err := b.spill(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.spilled {
		n, err := b.f.Write(p)
		b.pos += int64(n)
		b.size = max(b.size, b.pos)
		return n, err
	}
	if b.pos > b.size { // a seek past the end: the gap reads as zeros
		b.zero(b.size, b.pos)
	}
	b.copyIn(b.pos, p)
	b.pos = end
	b.size = max(b.size, end)
	return len(p), nil
}

// zero clears bytes [from, to) in memory.
func (b *spillBuffer) zero(from, to int64) {
	for from < to {
		c, off := b.at(from)
		n := min(int64(len(c)-off), to-from)
		clear(c[off : off+int(n)])
		from += n
	}
}

// at returns the chunk holding offset off and off's index in it.
func (b *spillBuffer) at(off int64) ([]byte, int) {
	i := off / chunkSize
	return b.chunks[i], int(off % chunkSize)
}

func (b *spillBuffer) copyIn(off int64, p []byte) {
	for len(p) > 0 {
		c, o := b.at(off)
		n := copy(c[o:], p)
		p = p[n:]
		off += int64(n)
	}
}

// copyOut copies bytes from off (below size) into p and returns how many.
func (b *spillBuffer) copyOut(off int64, p []byte) int {
	n := 0
	for n < len(p) && off < b.size {
		c, o := b.at(off)
		m := copy(p[n:], c[o:min(len(c), o+int(b.size-off))])
		n += m
		off += int64(m)
	}
	return n
}

func (b *spillBuffer) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.spilled {
		n, err := b.f.Read(p)
		b.pos += int64(n)
		return n, err
	}
	if b.pos >= b.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := b.copyOut(b.pos, p)
	b.pos += int64(n)
	return n, nil
}

// ReadAt reads without moving the position (for uploads that read parts
// in parallel).
func (b *spillBuffer) ReadAt(p []byte, off int64) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if off < 0 {
		return 0, errNegativeOffset
	}
	if b.spilled {
		return b.f.ReadAt(p, off)
	}
	if off >= b.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := b.copyOut(off, p)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo writes the bytes from the position to the end (io.Copy uses it).
func (b *spillBuffer) WriteTo(w io.Writer) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.spilled {
		n, err := io.Copy(w, b.f) // copy_file_range into a file lake's file
		b.pos += n
		return n, err
	}
	var total int64
	for b.pos < b.size {
		c, o := b.at(b.pos)
		c = c[o:min(len(c), o+int(b.size-b.pos))]
		n, err := w.Write(c)
		b.pos += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(c) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

func (b *spillBuffer) Seek(offset int64, whence int) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.pos + offset
	case io.SeekEnd:
		abs = b.size + offset
	default:
		return 0, fmt.Errorf("zones: page buffer: seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, errNegativeOffset
	}
	if b.spilled {
		if _, err := b.f.Seek(abs, io.SeekStart); err != nil {
			return 0, err
		}
	}
	b.pos = abs
	return abs, nil
}

// reset empties the buffer and moves it back to memory; its file, if any,
// is truncated and kept for the next spill.
func (b *spillBuffer) reset() {
	b.freeMemory()
	if b.f != nil {
		if b.f.Truncate(0) != nil {
			b.closeFile()
		} else if _, err := b.f.Seek(0, io.SeekStart); err != nil {
			b.closeFile()
		}
	}
	b.size, b.pos, b.spilled, b.err = 0, 0, false, nil
}

func (b *spillBuffer) closeFile() {
	if b.f != nil {
		b.f.Close()
		os.Remove(b.f.Name()) // where unlinking an open file failed (Windows)
		b.f = nil
	}
}
