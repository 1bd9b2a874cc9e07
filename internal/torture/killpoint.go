package torture

import (
	"context"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/lakekit/lakekit/lake/driver"
)

// KillPoint names where KillDriver kills the process: before or after the
// Nth call (counting from 1) of Op whose key contains KeyContains.
type KillPoint struct {
	Name        string
	Op          string // "put", "create", "get", "stat", "delete", "list"
	KeyContains string
	Nth         int
	After       bool // kill after the call returned instead of before it
	// MidBody kills a put while its body is being read, after half of it.
	MidBody bool
}

// KillDriver wraps a driver and SIGKILLs the current process at its point.
// Hits counts the matching calls seen so far.
type KillDriver struct {
	driver.Driver
	Point KillPoint
	// Kill is called instead of SIGKILL when set (tests of the wrapper).
	Kill func()

	mu   sync.Mutex
	hits int
}

var _ driver.Driver = (*KillDriver)(nil)

func (k *KillDriver) kill() {
	if k.Kill != nil {
		k.Kill()
		return
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is asynchronous: never return into the caller
}

// match counts a call and says whether it is the point's call.
func (k *KillDriver) match(op, key string) bool {
	if k.Point.Op != op || !strings.Contains(key, k.Point.KeyContains) {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hits++
	return k.hits == k.Point.Nth
}

// Hits returns the matching calls seen.
func (k *KillDriver) Hits() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hits
}

// Put implements driver.Driver.
func (k *KillDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	op := "put"
	if opts != nil && opts.IfNotExists {
		op = "create"
	}
	hit := k.match(op, key)
	if hit && !k.Point.After && !k.Point.MidBody {
		k.kill()
	}
	if hit && k.Point.MidBody {
		half := size / 2
		if size < 0 {
			half = 512
		}
		body = io.MultiReader(io.LimitReader(body, half), killReader{k})
	}
	err := k.Driver.Put(ctx, key, body, size, opts)
	if hit && k.Point.After {
		k.kill()
	}
	return err
}

type killReader struct{ k *KillDriver }

func (r killReader) Read([]byte) (int, error) { r.k.kill(); return 0, io.ErrUnexpectedEOF }

// Get implements driver.Driver.
func (k *KillDriver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	hit := k.match("get", key)
	if hit && !k.Point.After {
		k.kill()
	}
	rc, a, err := k.Driver.Get(ctx, key, off, length)
	if hit && k.Point.After {
		k.kill()
	}
	return rc, a, err
}

// Stat implements driver.Driver.
func (k *KillDriver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	hit := k.match("stat", key)
	if hit && !k.Point.After {
		k.kill()
	}
	a, err := k.Driver.Stat(ctx, key)
	if hit && k.Point.After {
		k.kill()
	}
	return a, err
}

// Delete implements driver.Driver. Each key of a batch counts as one call,
// so a point can fall in the middle of a batch: "after 3 of 5 deletes"
// deletes the first three keys, then kills.
func (k *KillDriver) Delete(ctx context.Context, keys []string) error {
	for i, key := range keys {
		if !k.match("delete", key) {
			continue
		}
		if k.Point.After {
			if err := k.Driver.Delete(ctx, keys[:i+1]); err != nil {
				return err
			}
		} else if i > 0 {
			if err := k.Driver.Delete(ctx, keys[:i]); err != nil {
				return err
			}
		}
		k.kill()
	}
	return k.Driver.Delete(ctx, keys)
}

// List implements driver.Driver.
func (k *KillDriver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	hit := k.match("list", opts.Prefix)
	if hit && !k.Point.After {
		k.kill()
	}
	return func(yield func(driver.ListEntry, error) bool) {
		for e, err := range k.Driver.List(ctx, opts) {
			if !yield(e, err) {
				return
			}
		}
		if hit && k.Point.After {
			k.kill()
		}
	}
}

// Location implements driver.Locator when the inner driver does.
func (k *KillDriver) Location(key string) string {
	if l, ok := k.Driver.(driver.Locator); ok {
		return l.Location(key)
	}
	return key
}

// OpenReaderAt passes a local driver's random access through (it counts
// as a "get").
func (k *KillDriver) OpenReaderAt(ctx context.Context, key string) (driver.ReaderAtCloser, *driver.Attributes, error) {
	hit := k.match("get", key)
	if hit && !k.Point.After {
		k.kill()
	}
	if o, ok := k.Driver.(driver.ReaderAtOpener); ok {
		r, a, err := o.OpenReaderAt(ctx, key)
		if hit && k.Point.After {
			k.kill()
		}
		return r, a, err
	}
	rc, a, err := k.Driver.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, nil, err
	}
	if hit && k.Point.After {
		k.kill()
	}
	return bytesRA{strings.NewReader(string(b))}, a, nil
}

type bytesRA struct{ *strings.Reader }

func (bytesRA) Close() error { return nil }
