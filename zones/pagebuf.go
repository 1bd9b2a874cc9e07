package zones

import (
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// unlinkedFilePool is a parquet.BufferPool of temporary files that are
// removed from the directory as soon as they are created: the open file
// keeps its data, and a writer killed at any point leaves no page buffers
// behind. (parquet.NewFileBufferPool names them in the directory until
// released, and with an empty dir puts them in the working directory.)
type unlinkedFilePool struct{ dir string }

var _ parquet.BufferPool = unlinkedFilePool{}

func newPageBufferPool(dir string) unlinkedFilePool {
	if dir == "" {
		dir = os.TempDir()
	}
	return unlinkedFilePool{dir: dir}
}

func (p unlinkedFilePool) GetBuffer() io.ReadWriteSeeker {
	f, err := os.CreateTemp(p.dir, "lakekit-pgbuf-*")
	if err != nil {
		return errBuffer{err}
	}
	os.Remove(f.Name())
	return f
}

func (p unlinkedFilePool) PutBuffer(b io.ReadWriteSeeker) {
	if f, ok := b.(*os.File); ok {
		f.Close()
	}
}

type errBuffer struct{ err error }

func (e errBuffer) Read([]byte) (int, error)       { return 0, e.err }
func (e errBuffer) Write([]byte) (int, error)      { return 0, e.err }
func (e errBuffer) Seek(int64, int) (int64, error) { return 0, e.err }
