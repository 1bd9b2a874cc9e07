package raw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"sync"
)

// rawSpool holds a landed stream: in memory when small, else in a temp file.
type rawSpool struct {
	mem  []byte
	f    *os.File
	size int64
	sum  [32]byte
}

func (s *rawSpool) reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

func (s *rawSpool) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

type rawCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r rawCtxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

var rawCopyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func spoolRaw(ctx context.Context, r io.Reader, limit int64, dir string) (*rawSpool, error) {
	h := sha256.New()
	tee := io.TeeReader(rawCtxReader{ctx, r}, h)
	var mem bytes.Buffer
	n, err := mem.ReadFrom(io.LimitReader(tee, limit+1))
	if err != nil {
		return nil, err
	}
	sp := &rawSpool{size: n}
	if n <= limit {
		sp.mem = mem.Bytes()
		h.Sum(sp.sum[:0])
		return sp, nil
	}
	f, err := os.CreateTemp(dir, "lakekit-land-*")
	if err != nil {
		return nil, err
	}
	sp.f = f
	if _, err := f.Write(mem.Bytes()); err != nil {
		sp.close()
		return nil, err
	}
	mem = bytes.Buffer{}
	bp := rawCopyBufs.Get().(*[]byte)
	m, err := io.CopyBuffer(struct{ io.Writer }{f}, tee, *bp)
	rawCopyBufs.Put(bp)
	if err != nil {
		sp.close()
		return nil, err
	}
	sp.size += m
	h.Sum(sp.sum[:0])
	return sp, nil
}
