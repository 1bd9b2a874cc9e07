// Package memstore is an in-memory lake store driver, for tests and
// examples. Open it with lake.Open(ctx, "mem://", nil) (a new store) or
// "mem://name" (one store per name, shared within the process).
//
// As: *memstore.Driver.
package memstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/lake/driver"
)

type object struct {
	data  []byte
	attrs driver.Attributes
}

// Driver is the memory driver.
type Driver struct {
	name    string
	mu      sync.RWMutex
	objects map[string]*object
}

var _ driver.Driver = (*Driver)(nil)

// New returns an empty memory store driver.
func New() *Driver { return &Driver{objects: map[string]*object{}} }

var (
	namedMu sync.Mutex
	named   = map[string]*Driver{}
)

// Named returns the process-wide memory driver called name, creating it on
// first use; a later lake.Open of "mem://name" sees the same objects.
func Named(name string) *Driver {
	namedMu.Lock()
	defer namedMu.Unlock()
	d, ok := named[name]
	if !ok {
		d = New()
		d.name = name
		named[name] = d
	}
	return d
}

// Put implements driver.Driver.
func (d *Driver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	if opts == nil {
		opts = &driver.PutOptions{}
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size))
	}
	n, err := io.Copy(&buf, readerCtx{ctx, body})
	if err != nil {
		return fmt.Errorf("memstore: put %q: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("memstore: put %q: body had %d bytes, expected %d", key, n, size)
	}
	sum := md5.Sum(buf.Bytes())
	o := &object{data: buf.Bytes(), attrs: driver.Attributes{
		Key: key, Size: n, ModTime: time.Now(), ETag: hex.EncodeToString(sum[:]),
		ContentType: opts.ContentType, Metadata: maps.Clone(opts.Metadata), SSEKMSKeyID: opts.SSEKMSKeyID,
	}}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.objects == nil {
		return fmt.Errorf("memstore: put %q: store closed", key)
	}
	if _, ok := d.objects[key]; ok && opts.IfNotExists {
		return fmt.Errorf("memstore: put %q: %w", key, driver.ErrExists)
	}
	d.objects[key] = o
	return nil
}

type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (d *Driver) get(key string) (*object, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, ok := d.objects[key]
	if !ok {
		return nil, fmt.Errorf("memstore: %q: %w", key, driver.ErrNotFound)
	}
	return o, nil
}

// Get implements driver.Driver.
func (d *Driver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	o, err := d.get(key)
	if err != nil {
		return nil, nil, err
	}
	start, end := driver.ClampRange(o.attrs.Size, off, length)
	a := o.attrs
	return io.NopCloser(bytes.NewReader(o.data[start:end])), &a, nil
}

// Stat implements driver.Driver.
func (d *Driver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	o, err := d.get(key)
	if err != nil {
		return nil, err
	}
	a := o.attrs
	return &a, nil
}

// Delete implements driver.Driver.
func (d *Driver) Delete(ctx context.Context, keys []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		delete(d.objects, k)
	}
	return nil
}

// List implements driver.Driver.
func (d *Driver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return func(yield func(driver.ListEntry, error) bool) {
		d.mu.RLock()
		var entries []driver.ListEntry
		for k, o := range d.objects {
			if strings.HasPrefix(k, opts.Prefix) {
				entries = append(entries, driver.ListEntry{Key: k, Size: o.attrs.Size, ModTime: o.attrs.ModTime, ETag: o.attrs.ETag})
			}
		}
		d.mu.RUnlock()
		sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
		for e := range driver.GroupByDelimiter(entries, opts) {
			if err := ctx.Err(); err != nil {
				yield(driver.ListEntry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// As implements driver.Driver: *(*Driver).
func (d *Driver) As(i any) bool {
	p, ok := i.(**Driver)
	if ok {
		*p = d
	}
	return ok
}

// Close implements driver.Driver. A named store keeps its objects.
func (d *Driver) Close() error { return nil }

// Location implements driver.Locator: mem://name/key.
func (d *Driver) Location(key string) string { return "mem://" + d.name + "/" + key }
