package spill

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// Memory is reserved from the budget in steps: a buffer's first chunk
// doubles from minChunk up to chunkSize, then whole chunks are added.
const (
	minChunk  = 4 << 10
	chunkSize = 64 << 10
)

// maxFreePageBuffers bounds the idle buffers a pool keeps for reuse.
const maxFreePageBuffers = 64

// Pool is a writer's parquet.BufferPool of hybrid buffers, also used
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
type Pool struct {
	dir   string
	limit int64 // bytes of memory the buffers may hold; < 0: unbounded

	used   atomic.Int64 // bytes reserved by buffers in memory
	spills atomic.Int64 // buffers moved to a file

	mu     sync.Mutex
	free   []*Buffer
	chunks [][]byte // idle chunks of chunkSize bytes

	fileMu  sync.Mutex
	file    *os.File // the spill file, created at the first spill
	extents int64    // extents in the file
	idle    []int64  // released extents, reused first
}

var _ parquet.BufferPool = (*Pool)(nil)

// NewPool returns a pool keeping up to limit bytes in memory (< 0:
// no limit; 0: every buffer goes to a file) and spilling to files in dir
// ("" = os.TempDir()).
func NewPool(dir string, limit int64) *Pool {
	if dir == "" {
		dir = os.TempDir()
	}
	return &Pool{dir: dir, limit: limit}
}

// reserve takes n bytes from the budget, or reports that they do not fit.
func (p *Pool) reserve(n int64) bool {
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

func (p *Pool) release(n int64) { p.used.Add(-n) }

// getChunk returns a chunk of chunkSize bytes (not zeroed).
func (p *Pool) getChunk() []byte {
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
func (p *Pool) putChunks(cs [][]byte) {
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
func (p *Pool) extent() (int64, error) {
	p.fileMu.Lock()
	defer p.fileMu.Unlock()
	if e, ok := popLast(&p.idle); ok {
		return e, nil
	}
	if p.file == nil {
		f, err := os.CreateTemp(p.dir, "lakekit-spill-*")
		if err != nil {
			return 0, fmt.Errorf("spill: page buffer: %w", err)
		}
		// unlinked at once: the open file keeps the data, and a killed
		// writer leaves nothing behind
		os.Remove(f.Name())
		p.file = f
	}
	p.extents++
	return p.extents - 1, nil
}

func (p *Pool) putExtents(es []int64) {
	p.fileMu.Lock()
	p.idle = append(p.idle, es...)
	p.fileMu.Unlock()
}

// GetBuffer returns an empty buffer in memory.
func (p *Pool) GetBuffer() io.ReadWriteSeeker { return p.Get() }

// Get returns an empty buffer in memory, as GetBuffer does, typed: a
// writer spools a whole file in one and reads it back for the upload.
func (p *Pool) Get() *Buffer {
	p.mu.Lock()
	b, ok := popLast(&p.free)
	p.mu.Unlock()
	if !ok {
		b = &Buffer{pool: p}
	}
	return b
}

// PutBuffer releases a buffer: its memory goes back to the budget, its
// extents to the pool, and it is kept for reuse.
func (p *Pool) PutBuffer(rws io.ReadWriteSeeker) {
	b, ok := rws.(*Buffer)
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
func (p *Pool) Close() {
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

// Buffer is an io.ReadWriteSeeker (also io.ReaderAt and io.WriterTo)
// in memory chunks, or, once spilled, in extents of the pool's unlinked
// temporary file. It is used by one goroutine at a time; ReadAt may run
// concurrently with other ReadAt calls.
type Buffer struct {
	pool *Pool
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
	_ io.ReadWriteSeeker = (*Buffer)(nil)
	_ io.ReaderAt        = (*Buffer)(nil)
	_ io.WriterTo        = (*Buffer)(nil)
)

var errNegativeOffset = errors.New("spill: page buffer: negative offset")

// Len returns the buffer's size.
func (b *Buffer) Len() int64 { return b.size }

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
func (b *Buffer) grow(end int64) bool {
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
func (b *Buffer) freeMemory() {
	b.pool.release(b.reserved)
	b.reserved = 0
	b.pool.putChunks(b.chunks)
	clear(b.chunks)
	b.chunks = b.chunks[:0]
}

// spill moves the buffer to the pool's file, where it stays until reset.
func (b *Buffer) spill() error {
	if err := b.growFile(b.size); err != nil {
		return err
	}
	f := b.pool.file
	for i, left := 0, b.size; left > 0; i++ {
		c := b.chunks[i][:min(left, int64(len(b.chunks[i])))]
		if _, err := f.WriteAt(c, b.extents[i]*chunkSize); err != nil {
			return fmt.Errorf("spill: page buffer: %w", err)
		}
		left -= int64(len(c))
	}
	b.spilled = true
	b.freeMemory()
	b.pool.spills.Add(1)
	return nil
}

// growFile adds extents until they hold end bytes.
func (b *Buffer) growFile(end int64) error {
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
func (b *Buffer) fileIO(p []byte, off int64, write bool) (int, error) {
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
func (b *Buffer) writeFile(p []byte) (int, error) {
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
func (b *Buffer) readFile(p []byte, off int64) (int, error) {
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

// Write writes p at the position, in memory while the pool's budget has
// room, else in the spill file (the whole buffer moves there first).
func (b *Buffer) Write(p []byte) (int, error) {
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
func (b *Buffer) zero(from, to int64) {
	for from < to {
		c, off := b.at(from)
		n := min(int64(len(c)-off), to-from)
		clear(c[off : off+int(n)])
		from += n
	}
}

// at returns the chunk holding offset off and off's index in it.
func (b *Buffer) at(off int64) ([]byte, int) {
	i := off / chunkSize
	return b.chunks[i], int(off % chunkSize)
}

func (b *Buffer) copyIn(off int64, p []byte) {
	for len(p) > 0 {
		c, o := b.at(off)
		n := copy(c[o:], p)
		p = p[n:]
		off += int64(n)
	}
}

// copyOut copies bytes from off (below size) into p and returns how many.
func (b *Buffer) copyOut(off int64, p []byte) int {
	n := 0
	for n < len(p) && off < b.size {
		c, o := b.at(off)
		m := copy(p[n:], c[o:min(len(c), o+int(b.size-off))])
		n += m
		off += int64(m)
	}
	return n
}

// Read reads from the position (io.EOF at the end).
func (b *Buffer) Read(p []byte) (int, error) {
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
func (b *Buffer) ReadAt(p []byte, off int64) (int, error) {
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
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
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

// Seek moves the position; a later Write past the end leaves a gap that
// reads as zeros.
func (b *Buffer) Seek(offset int64, whence int) (int64, error) {
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
		return 0, fmt.Errorf("spill: page buffer: seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, errNegativeOffset
	}
	b.pos = abs
	return abs, nil
}

// reset empties the buffer and moves it back to memory; its extents go
// back to the pool.
func (b *Buffer) reset() {
	b.freeMemory()
	if len(b.extents) > 0 {
		b.pool.putExtents(b.extents)
		b.extents = b.extents[:0]
	}
	b.size, b.pos, b.spilled, b.err = 0, 0, false, nil
}
