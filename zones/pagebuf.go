package zones

import (
	"bytes"
	"io"

	"github.com/lakekit/lakekit/internal/spill"
)

// DefaultMemoryBudget is the memory a writer keeps Parquet pages and
// unfinished files in when Options.MemoryBudget is 0. Chosen on the
// 100-partition bench (internal/bench memory_10m: 10M rows must peak at
// ≤ 256 MiB RSS and ≤ 1.3× the peak at 1M rows): the buffers live on the Go
// heap, so with the default GOGC a budget costs up to about twice its size
// in RSS. 32 MiB peaked at 210 MiB (1M rows: 188), 48 MiB at 252 MiB and
// 64 MiB at 280 MiB; in zones' BenchmarkWrite (200k rows, 100 partitions)
// any budget of 16 MiB or more wrote 1.5–3× faster than spilling
// everything. The pool that enforces it is internal/spill.
//
// The budget bounds the writer's pages, not the process's heap: with 100
// partitions open, parquet-go's column buffers and page indexes add about
// as much again, and with the default GOGC the Go runtime lets the heap
// grow to twice what is live before collecting. A process that must stay
// within a memory bound sets a soft memory limit (GOMEMLIMIT, or
// runtime/debug.SetMemoryLimit) of about 3 budgets plus what the rest of
// the process holds. Measured (a program importing only zones, writing
// event rows into 100 partitions, 14 MiB resident before the first row):
// without a limit 152-156 MiB peak RSS at 1M rows; with GOMEMLIMIT=100MiB
// 104 MiB at 1M and 108 MiB at 10M rows, in the same time; a smaller
// budget instead (no limit) peaked at 128 MiB (16 MiB) and 107 MiB (8 MiB)
// at 1M rows, 148 and 130 MiB at 10M.
const DefaultMemoryBudget = 32 << 20

// spool holds a file being written until it is uploaded: a buffer of the
// writer's pool (memory within Options.MemoryBudget, else an unlinked
// temporary file), or plain memory with Options.InMemoryBuffers.
type spool interface {
	io.Writer
	// reader returns the content and its size for the upload.
	reader() (io.ReadSeeker, int64, error)
	discard()
}

// bufferFile spools a file in a spill.Buffer of the writer's pool; the
// upload reads it through ReadAt/Seek (S3 sends it without another copy)
// or WriteTo.
type bufferFile struct {
	pool *spill.Pool
	b    *spill.Buffer
}

func (f *bufferFile) Write(p []byte) (int, error) { return f.b.Write(p) }

func (f *bufferFile) reader() (io.ReadSeeker, int64, error) {
	if _, err := f.b.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	return f.b, f.b.Len(), nil
}

func (f *bufferFile) discard() { f.pool.PutBuffer(f.b) }

type memFile struct{ b bytes.Buffer }

func (m *memFile) Write(p []byte) (int, error) { return m.b.Write(p) }

func (m *memFile) reader() (io.ReadSeeker, int64, error) {
	return bytes.NewReader(m.b.Bytes()), int64(m.b.Len()), nil
}

func (m *memFile) discard() { m.b = bytes.Buffer{} }
