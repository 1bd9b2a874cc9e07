package lake

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/lakekit/lakekit/lake/driver"
)

// ReaderOptions tune an ObjectReader. A nil *ReaderOptions means defaults.
type ReaderOptions struct {
	// TailSize is how many bytes are fetched from the end of the object when
	// it is opened, in the same request that learns its size. Parquet keeps
	// its footer there, so one request usually serves the footer. Default 64 KiB.
	TailSize int64
	// ReadAhead is the least a cache miss fetches. Default 1 MiB.
	ReadAhead int64
	// MaxCached bounds the bytes of fetched ranges kept. Default 16 MiB.
	MaxCached int64
	// CoalesceGap: Prefetch merges ranges separated by at most this many
	// bytes into one request. Default 1 MiB.
	CoalesceGap int64
}

func (o *ReaderOptions) withDefaults() ReaderOptions {
	var r ReaderOptions
	if o != nil {
		r = *o
	}
	if r.TailSize <= 0 {
		r.TailSize = 64 << 10
	}
	if r.ReadAhead <= 0 {
		r.ReadAhead = 1 << 20
	}
	if r.MaxCached <= 0 {
		r.MaxCached = 16 << 20
	}
	if r.CoalesceGap <= 0 {
		r.CoalesceGap = 1 << 20
	}
	return r
}

// Range is a byte range of an object.
type Range struct{ Off, Len int64 }

// ObjectReader is a random-access (io.ReaderAt) view of one object, built for
// Parquet: opening it fetches the tail (footer) with the size in one request,
// reads that miss the cache fetch at least ReadAhead bytes, and Prefetch
// fetches many column chunks in few coalesced requests. It is safe for
// concurrent use.
type ObjectReader struct {
	ctx   context.Context
	s     *Store
	key   string // full driver key
	attrs *Attributes
	opts  ReaderOptions
	ra    driver.ReaderAtCloser // direct path (file driver), or nil

	mu     sync.Mutex
	blocks []block // sorted by off, non-overlapping not required
	cached int64
	reqs   atomic.Int64
}

type block struct {
	off  int64
	data []byte
	used int64 // logical clock for eviction
}

// OpenReader opens key for random access. ctx bounds every request the
// reader makes, so it must outlive the reader.
func (s *Store) OpenReader(ctx context.Context, key string, opts *ReaderOptions) (*ObjectReader, error) {
	full, err := s.full("open", key)
	if err != nil {
		return nil, err
	}
	r := &ObjectReader{ctx: ctx, s: s, key: full, opts: opts.withDefaults()}
	if o, ok := s.d.(driver.ReaderAtOpener); ok {
		ra, a, err := o.OpenReaderAt(ctx, full)
		if err != nil {
			return nil, s.wrap("open", key, err)
		}
		if err := s.checkEncrypted(key, a); err != nil {
			ra.Close()
			return nil, err
		}
		r.ra, r.attrs = ra, s.rel(a)
		return r, nil
	}
	rc, a, err := s.d.Get(ctx, full, -r.opts.TailSize, -1)
	if err != nil {
		return nil, s.wrap("open", key, err)
	}
	r.reqs.Add(1)
	if err := s.checkEncrypted(key, a); err != nil {
		rc.Close()
		return nil, err
	}
	tail, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, s.wrap("open", key, err)
	}
	r.attrs = s.rel(a)
	r.add(a.Size-int64(len(tail)), tail)
	return r, nil
}

// Size returns the object's size.
func (r *ObjectReader) Size() int64 { return r.attrs.Size }

// Attributes returns the object's attributes as of opening.
func (r *ObjectReader) Attributes() *Attributes { return r.attrs }

// Requests returns how many requests the reader has sent to the store.
func (r *ObjectReader) Requests() int64 { return r.reqs.Load() }

// ReadAt implements io.ReaderAt.
func (r *ObjectReader) ReadAt(p []byte, off int64) (int, error) {
	if r.ra != nil {
		return r.ra.ReadAt(p, off)
	}
	if off < 0 {
		return 0, fmt.Errorf("lake: read %q at negative offset %d", r.attrs.Key, off)
	}
	size := r.attrs.Size
	if off >= size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > size {
		want = size - off
	}
	n := 0
	for int64(n) < want {
		cur := off + int64(n)
		if c := r.copyCached(p[n:want], cur); c > 0 {
			n += c
			continue
		}
		// miss: fetch from cur at least ReadAhead, to the end of the request
		need := want - int64(n)
		if need < r.opts.ReadAhead {
			need = r.opts.ReadAhead
		}
		if cur+need > size {
			need = size - cur
		}
		// read ahead only up to bytes already cached (the tail, a prefetch)
		if next := r.nextCached(cur); cur+need > next {
			need = next - cur
		}
		if err := r.fetch(cur, need); err != nil {
			return n, err
		}
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (r *ObjectReader) copyCached(p []byte, off int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.blocks {
		b := &r.blocks[i]
		if off >= b.off && off < b.off+int64(len(b.data)) {
			b.used = r.clock()
			return copy(p, b.data[off-b.off:])
		}
	}
	return 0
}

var readerClock atomic.Int64

func (r *ObjectReader) clock() int64 { return readerClock.Add(1) }

func (r *ObjectReader) fetch(off, n int64) error {
	rc, _, err := r.s.d.Get(r.ctx, r.key, off, n)
	if err != nil {
		return r.s.wrap("read range", r.attrs.Key, err)
	}
	r.reqs.Add(1)
	defer rc.Close()
	data := make([]byte, n)
	if _, err := io.ReadFull(rc, data); err != nil {
		return r.s.wrap("read range", r.attrs.Key, err)
	}
	r.add(off, data)
	return nil
}

func (r *ObjectReader) add(off int64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocks = append(r.blocks, block{off: off, data: data, used: r.clock()})
	r.cached += int64(len(data))
	for r.cached > r.opts.MaxCached && len(r.blocks) > 1 {
		oldest := 0
		for i := range r.blocks {
			if r.blocks[i].used < r.blocks[oldest].used {
				oldest = i
			}
		}
		r.cached -= int64(len(r.blocks[oldest].data))
		r.blocks = append(r.blocks[:oldest], r.blocks[oldest+1:]...)
	}
}

// Prefetch fetches the given ranges ahead of ReadAt, merging ranges that are
// at most CoalesceGap apart into one request each. Ranges already cached are
// skipped. A Parquet reader calls it with the column chunks it is about to
// read, so reading one column of a file costs one request after the footer.
func (r *ObjectReader) Prefetch(ranges ...Range) error {
	if r.ra != nil || len(ranges) == 0 {
		return nil
	}
	rs := make([]Range, 0, len(ranges))
	for _, g := range ranges {
		if g.Len <= 0 || g.Off < 0 || g.Off >= r.attrs.Size {
			continue
		}
		if g.Off+g.Len > r.attrs.Size {
			g.Len = r.attrs.Size - g.Off
		}
		// drop the cached head and tail of the range
		for g.Len > 0 {
			c := r.cachedAt(g.Off)
			if c <= 0 {
				break
			}
			g.Off += min(c, g.Len)
			g.Len -= min(c, g.Len)
		}
		if g.Len <= 0 {
			continue
		}
		if next := r.nextCached(g.Off); g.Off+g.Len > next {
			if r.covered(Range{Off: next, Len: g.Off + g.Len - next}) {
				g.Len = next - g.Off
			}
		}
		rs = append(rs, g)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Off < rs[j].Off })
	var merged []Range
	for _, g := range rs {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			if g.Off <= last.Off+last.Len+r.opts.CoalesceGap {
				if end := g.Off + g.Len; end > last.Off+last.Len {
					last.Len = end - last.Off
				}
				continue
			}
		}
		merged = append(merged, g)
	}
	for _, g := range merged {
		if err := r.fetch(g.Off, g.Len); err != nil {
			return err
		}
	}
	return nil
}

func (r *ObjectReader) covered(g Range) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.blocks {
		if g.Off >= b.off && g.Off+g.Len <= b.off+int64(len(b.data)) {
			return true
		}
	}
	return false
}

// Close releases the reader.
func (r *ObjectReader) Close() error {
	r.mu.Lock()
	r.blocks, r.cached = nil, 0
	r.mu.Unlock()
	if r.ra != nil {
		return r.ra.Close()
	}
	return nil
}

// nextCached returns the start of the first cached block beginning after
// off, or the object's size.
func (r *ObjectReader) nextCached(off int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.attrs.Size
	for _, b := range r.blocks {
		if b.off > off && b.off < next {
			next = b.off
		}
	}
	return next
}

// cachedAt returns how many bytes from off on are cached in one block.
func (r *ObjectReader) cachedAt(off int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best int64
	for _, b := range r.blocks {
		if off >= b.off && off < b.off+int64(len(b.data)) {
			best = max(best, b.off+int64(len(b.data))-off)
		}
	}
	return best
}
