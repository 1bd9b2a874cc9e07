package zones

import (
	"io"
	"os"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// unlinkedFilePool is a parquet.BufferPool of temporary files that are
// removed from the directory as soon as they are created: the open file
// keeps its data, and a writer killed at any point leaves no page buffers
// behind. (parquet.NewFileBufferPool names them in the directory until
// released, and with an empty dir puts them in the working directory.)
// Released files are truncated and reused: a writer asks for a buffer per
// page, and creating a file per page cost more than compressing it.
type unlinkedFilePool struct {
	dir  string
	mu   sync.Mutex
	free []*os.File
}

// maxFreePageBuffers bounds the idle files a pool keeps open.
const maxFreePageBuffers = 64

var _ parquet.BufferPool = (*unlinkedFilePool)(nil)

func newPageBufferPool(dir string) *unlinkedFilePool {
	if dir == "" {
		dir = os.TempDir()
	}
	return &unlinkedFilePool{dir: dir}
}

func (p *unlinkedFilePool) GetBuffer() io.ReadWriteSeeker {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return f
	}
	p.mu.Unlock()
	f, err := os.CreateTemp(p.dir, "lakekit-pgbuf-*")
	if err != nil {
		return errBuffer{err}
	}
	os.Remove(f.Name())
	return f
}

func (p *unlinkedFilePool) PutBuffer(b io.ReadWriteSeeker) {
	f, ok := b.(*os.File)
	if !ok {
		return
	}
	if f.Truncate(0) == nil {
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			p.mu.Lock()
			if len(p.free) < maxFreePageBuffers {
				p.free = append(p.free, f)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}
	f.Close()
}

// Close closes the idle files.
func (p *unlinkedFilePool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.free {
		f.Close()
	}
	p.free = nil
}

type errBuffer struct{ err error }

func (e errBuffer) Read([]byte) (int, error)       { return 0, e.err }
func (e errBuffer) Write([]byte) (int, error)      { return 0, e.err }
func (e errBuffer) Seek(int64, int) (int64, error) { return 0, e.err }
