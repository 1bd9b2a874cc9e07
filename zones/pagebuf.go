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

// maxFreePageBuffers bounds the idle buffers a pool keeps for reuse.
const maxFreePageBuffers = 64

// spillPool is a writer's parquet.BufferPool of hybrid buffers, also used
// for the files it spools until upload. A buffer lives in memory while the
// writer's in-memory total stays within the budget; a write that would
// push the total over it moves the buffer to the pool's temporary file,
// where it stays until released. The file is removed from the directory as
// soon as it is created: the open file keeps its data, and a writer killed
// at any point leaves nothing behind. It is shared by the spilled buffers,
// each holding extents of chunkSize bytes in it (creating a file per
// buffer cost more than compressing its pages: 10% of a 100-partition
// write went to openat). Releasing a buffer gives its memory back to the
// budget and its extents to the pool; buffers and chunks are reused.
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

	fileMu  sync.Mutex
	file    *os.File // the spill file, created at the first spill
	extents int64    // extents in the file
	idle    []int64  // released extents, reused first
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
	c, ok := popLast(&p.chunks)
	p.mu.Unlock()
	if !ok {
		c = make([]byte, chunkSize)
	}
	return c
}

// popLast removes and returns the last element of *s, clearing its slot.
func popLast[T any](s *[]T) (T, bool) {
	var zero T
	n := len(*s)
	if n == 0 {
		return zero, false
	}
	v := (*s)[n-1]
	(*s)[n-1] = zero
	*s = (*s)[:n-1]
	return v, true
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

// extent returns an unused extent of the spill file, creating the file
// (and removing its name) on first use.
func (p *spillPool) extent() (int64, error) {
	p.fileMu.Lock()
	defer p.fileMu.Unlock()
	if e, ok := popLast(&p.idle); ok {
		return e, nil
	}
	if p.file == nil {
		f, err := os.CreateTemp(p.dir, "lakekit-spill-*")
		if err != nil {
			return 0, fmt.Errorf("zones: spill page buffer: %w", err)
		}
		// unlinked at once: the open file keeps the data, and a killed
		// writer leaves nothing behind
		os.Remove(f.Name())
		p.file = f
	}
	p.extents++
	return p.extents - 1, nil
}

func (p *spillPool) putExtents(es []int64) {
	p.fileMu.Lock()
	p.idle = append(p.idle, es...)
	p.fileMu.Unlock()
}

// GetBuffer returns an empty buffer in memory.
func (p *spillPool) GetBuffer() io.ReadWriteSeeker { return p.get() }

func (p *spillPool) get() *spillBuffer {
	p.mu.Lock()
	b, ok := popLast(&p.free)
	p.mu.Unlock()
	if !ok {
		b = &spillBuffer{pool: p}
	}
	return b
}

// PutBuffer releases a buffer: its memory goes back to the budget, its
// extents to the pool, and it is kept for reuse.
func (p *spillPool) PutBuffer(rws io.ReadWriteSeeker) {
	b, ok := rws.(*spillBuffer)
	if !ok || b.pool != p {
		return
	}
	b.reset()
	p.mu.Lock()
	if len(p.free) < maxFreePageBuffers {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// Close closes the spill file and drops the idle buffers and chunks. The
// buffers must have been released.
func (p *spillPool) Close() {
	p.mu.Lock()
	p.free = nil
	p.chunks = nil
	p.mu.Unlock()
	p.fileMu.Lock()
	defer p.fileMu.Unlock()
	if p.file != nil {
		p.file.Close()
		os.Remove(p.file.Name()) // where unlinking an open file failed (Windows)
		p.file = nil
	}
	p.extents, p.idle = 0, nil
}

// spillBuffer is an io.ReadWriteSeeker (also io.ReaderAt and io.WriterTo)
// in memory chunks, or, once spilled, in extents of the pool's unlinked
// temporary file. It is used by one goroutine at a time; ReadAt may run
// concurrently with other ReadAt calls.
type spillBuffer struct {
	pool *spillPool
	// chunks hold the bytes in memory: chunks[0] grows from minChunk to
	// chunkSize, the others are chunkSize long. Their total length is the
	// memory reserved from the budget.
	chunks   [][]byte
	reserved int64
	size     int64 // bytes written (the end of the data)
	pos      int64
	// extents hold the bytes once spilled: byte off is at
	// extents[off/chunkSize]*chunkSize + off%chunkSize of the pool's file.
	extents []int64
	spilled bool  // the data is in extents, not in chunks
	err     error // a failed spill: every later call fails
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

// spill moves the buffer to the pool's file, where it stays until reset.
func (b *spillBuffer) spill() error {
	if err := b.growFile(b.size); err != nil {
		return err
	}
	f := b.pool.file
	for i, left := 0, b.size; left > 0; i++ {
		c := b.chunks[i][:min(left, int64(len(b.chunks[i])))]
		if _, err := f.WriteAt(c, b.extents[i]*chunkSize); err != nil {
			return fmt.Errorf("zones: spill page buffer: %w", err)
		}
		left -= int64(len(c))
	}
	b.spilled = true
	b.freeMemory()
	b.pool.spills.Add(1)
	return nil
}

// growFile adds extents until they hold end bytes.
func (b *spillBuffer) growFile(end int64) error {
	for int64(len(b.extents))*chunkSize < end {
		e, err := b.pool.extent()
		if err != nil {
			return err
		}
		b.extents = append(b.extents, e)
	}
	return nil
}

// fileIO reads or writes p at logical offset off of a spilled buffer,
// extent by extent.
func (b *spillBuffer) fileIO(p []byte, off int64, write bool) (int, error) {
	f := b.pool.file
	n := 0
	for n < len(p) {
		e, o := b.extents[off/chunkSize], off%chunkSize
		q := p[n:min(len(p), n+int(chunkSize-o))]
		var m int
		var err error
		if write {
			m, err = f.WriteAt(q, e*chunkSize+o)
		} else {
			m, err = f.ReadAt(q, e*chunkSize+o)
			if err == io.EOF && m == len(q) {
				err = nil
			}
		}
		n += m
		off += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeFile writes p at the position of a spilled buffer.
func (b *spillBuffer) writeFile(p []byte) (int, error) {
	end := b.pos + int64(len(p))
	if err := b.growFile(end); err != nil {
		return 0, err
	}
	if b.pos > b.size { // extents are reused: the gap must read as zeros
		zeros := make([]byte, min(b.pos-b.size, chunkSize))
		for off := b.size; off < b.pos; {
			n, err := b.fileIO(zeros[:min(int64(len(zeros)), b.pos-off)], off, true)
			off += int64(n)
			if err != nil {
				return 0, err
			}
		}
	}
	n, err := b.fileIO(p, b.pos, true)
	b.pos += int64(n)
	b.size = max(b.size, b.pos)
	return n, err
}

// readFile reads from logical offset off of a spilled buffer, up to size.
func (b *spillBuffer) readFile(p []byte, off int64) (int, error) {
	if off >= b.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	q := p[:min(int64(len(p)), b.size-off)]
	n, err := b.fileIO(q, off, false)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
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
		return b.writeFile(p)
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
		n, err := b.readFile(p, b.pos)
		b.pos += int64(n)
		if n > 0 && err == io.EOF {
			err = nil
		}
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
		return b.readFile(p, off)
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
		var total int64
		buf := make([]byte, chunkSize)
		for b.pos < b.size {
			n, err := b.readFile(buf, b.pos)
			if err != nil && err != io.EOF {
				return total, err
			}
			m, err := w.Write(buf[:n])
			b.pos += int64(m)
			total += int64(m)
			if err != nil {
				return total, err
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		return total, nil
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
	b.pos = abs
	return abs, nil
}

// reset empties the buffer and moves it back to memory; its extents go
// back to the pool.
func (b *spillBuffer) reset() {
	b.freeMemory()
	if len(b.extents) > 0 {
		b.pool.putExtents(b.extents)
		b.extents = b.extents[:0]
	}
	b.size, b.pos, b.spilled, b.err = 0, 0, false, nil
}
