package main

import (
	"context"
	"io"
	"iter"
	"strings"
	"sync"

	"github.com/lakekit/lakekit/lake/driver"
)

// countingDriver wraps a driver and counts Gets and the bytes read from
// their bodies, per kind of key. It deliberately does NOT implement
// driver.ReaderAtOpener, so lake.Store sends every read through Get and
// every byte is counted.
type countingDriver struct {
	d driver.Driver

	mu     sync.Mutex
	gets   map[string]int64 // by kind: "data" (.parquet) or "other"
	bytes  map[string]int64
	stats  int64
	lists  int64
	byKeys map[string]int64 // bytes per data key
}

var (
	_ driver.Driver  = (*countingDriver)(nil)
	_ driver.Locator = (*countingDriver)(nil)
)

func newCountingDriver(d driver.Driver) *countingDriver {
	c := &countingDriver{d: d}
	c.reset()
	return c
}

func keyKind(key string) string {
	if strings.HasSuffix(key, ".parquet") {
		return "data"
	}
	return "other"
}

func (c *countingDriver) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets = map[string]int64{}
	c.bytes = map[string]int64{}
	c.byKeys = map[string]int64{}
	c.stats, c.lists = 0, 0
}

type countingSnapshot struct {
	DataGets, OtherGets   int64
	DataBytes, OtherBytes int64
	Stats, Lists          int64
	DataKeys              int
}

func (c *countingDriver) snapshot() countingSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return countingSnapshot{
		DataGets: c.gets["data"], OtherGets: c.gets["other"],
		DataBytes: c.bytes["data"], OtherBytes: c.bytes["other"],
		Stats: c.stats, Lists: c.lists, DataKeys: len(c.byKeys),
	}
}

func (c *countingDriver) add(key string, n int64) {
	c.mu.Lock()
	k := keyKind(key)
	c.bytes[k] += n
	if k == "data" {
		c.byKeys[key] += n
	}
	c.mu.Unlock()
}

type countingBody struct {
	io.ReadCloser
	c   *countingDriver
	key string
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.add(b.key, int64(n))
	return n, err
}

func (c *countingDriver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	rc, a, err := c.d.Get(ctx, key, off, length)
	c.mu.Lock()
	c.gets[keyKind(key)]++
	c.mu.Unlock()
	if err != nil {
		return nil, a, err
	}
	return &countingBody{ReadCloser: rc, c: c, key: key}, a, nil
}

func (c *countingDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	return c.d.Put(ctx, key, body, size, opts)
}

func (c *countingDriver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	c.mu.Lock()
	c.stats++
	c.mu.Unlock()
	return c.d.Stat(ctx, key)
}

func (c *countingDriver) Delete(ctx context.Context, keys []string) error {
	return c.d.Delete(ctx, keys)
}

func (c *countingDriver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.d.List(ctx, opts)
}

func (c *countingDriver) As(i any) bool { return c.d.As(i) }

func (c *countingDriver) Close() error { return c.d.Close() }

// Location passes through to the wrapped driver's Locator, if any.
func (c *countingDriver) Location(key string) string {
	if l, ok := c.d.(driver.Locator); ok {
		return l.Location(key)
	}
	return key
}
