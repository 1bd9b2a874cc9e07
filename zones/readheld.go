package zones

import (
	"io"
	"slices"
	"sync"
)

// maxHeldChunkBytes bounds the checked column chunks of one row group that
// a read keeps in memory for parquet-go to decode (the same bound as
// lake.ReaderOptions.MaxCached for a file read from S3). A row group whose
// needed chunks are larger is read twice instead: checked one chunk at a
// time, then decoded from the store.
var maxHeldChunkBytes int64 = 16 << 20

// heldPool recycles the buffers of heldChunks across files.
var heldPool = sync.Pool{New: func() any { return new([]byte) }}

// heldChunks is the io.ReaderAt parquet-go reads a file through: reads that
// fall inside a column chunk checkRowGroup has read and checked are served
// from those bytes; anything else (the footer, a chunk too large to hold)
// goes to the store. One goroutine uses it at a time: the file's reader.
type heldChunks struct {
	base    io.ReaderAt
	buf     *[]byte // from heldPool; the held chunks are slices of it
	used    int
	chunks  []heldChunk
	scratch []byte // one chunk at a time when the row group is not held
}

type heldChunk struct {
	off  int64
	data []byte
}

// ReadAt implements io.ReaderAt.
func (h *heldChunks) ReadAt(p []byte, off int64) (int, error) {
	for i := range h.chunks {
		c := &h.chunks[i]
		if off >= c.off && off+int64(len(p)) <= c.off+int64(len(c.data)) {
			return copy(p, c.data[off-c.off:]), nil
		}
	}
	return h.base.ReadAt(p, off)
}

// reset drops the previous row group's chunks and says whether the next
// row group's chunks, total bytes in all, are held.
func (h *heldChunks) reset(total int64) bool {
	h.chunks = h.chunks[:0]
	h.used = 0
	if total > maxHeldChunkBytes {
		return false
	}
	if h.buf == nil {
		h.buf = heldPool.Get().(*[]byte)
	}
	if int64(cap(*h.buf)) < total {
		*h.buf = make([]byte, total)
	}
	return true
}

// slot returns a buffer of n bytes for the next chunk: part of the held
// buffer when keep is set, else the scratch buffer.
func (h *heldChunks) slot(keep bool, n int64) []byte {
	if keep {
		b := (*h.buf)[h.used : h.used+int(n) : h.used+int(n)]
		h.used += int(n)
		return b
	}
	h.scratch = slices.Grow(h.scratch[:0], int(n))[:n]
	return h.scratch
}

// add holds b, the checked bytes of the chunk at off.
func (h *heldChunks) add(off int64, b []byte) {
	h.chunks = append(h.chunks, heldChunk{off: off, data: b})
}

// release returns the buffer to the pool; parquet-go keeps no reference to
// the bytes ReadAt copied out.
func (h *heldChunks) release() {
	h.chunks, h.scratch = nil, nil
	if h.buf != nil {
		heldPool.Put(h.buf)
		h.buf = nil
	}
}
