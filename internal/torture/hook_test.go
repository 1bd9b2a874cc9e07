package torture

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"

	"github.com/lakekit/lakekit/lake/driver"
)

// hookDriver calls hook before every driver call (op is "put", "create",
// "get", "stat", "delete" or "list", key the key or list prefix); a
// non-nil error is returned instead of making the call. after, when set,
// runs after the call with its error and may replace it. Used to inject a
// fault at a chosen moment (after the commit's log put, at the Nth catalog
// write, at a random call for a context cancellation).
type hookDriver struct {
	driver.Driver
	mu    sync.Mutex
	hook  func(ctx context.Context, op, key string) error
	after func(ctx context.Context, op, key string, err error) error
	// onDelete, when set, sees every key of a delete before the hook.
	onDelete func(ctx context.Context, keys []string) error
}

func (h *hookDriver) set(hook func(ctx context.Context, op, key string) error, after func(ctx context.Context, op, key string, err error) error) {
	h.mu.Lock()
	h.hook, h.after = hook, after
	h.mu.Unlock()
}

func (h *hookDriver) call(ctx context.Context, op, key string, f func() error) error {
	h.mu.Lock()
	hook, after := h.hook, h.after
	h.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, op, key); err != nil {
			return err
		}
	}
	err := f()
	if after != nil {
		err = after(ctx, op, key, err)
	}
	return err
}

func (h *hookDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	op := "put"
	if opts != nil && opts.IfNotExists {
		op = "create"
	}
	return h.call(ctx, op, key, func() error { return h.Driver.Put(ctx, key, body, size, opts) })
}

func (h *hookDriver) Get(ctx context.Context, key string, off, length int64) (rc io.ReadCloser, a *driver.Attributes, err error) {
	err = h.call(ctx, "get", key, func() error {
		var e error
		rc, a, e = h.Driver.Get(ctx, key, off, length)
		return e
	})
	if err != nil && rc != nil {
		rc.Close()
		rc = nil
	}
	return rc, a, err
}

func (h *hookDriver) Stat(ctx context.Context, key string) (a *driver.Attributes, err error) {
	err = h.call(ctx, "stat", key, func() error {
		var e error
		a, e = h.Driver.Stat(ctx, key)
		return e
	})
	return a, err
}

func (h *hookDriver) Delete(ctx context.Context, keys []string) error {
	h.mu.Lock()
	od := h.onDelete
	h.mu.Unlock()
	if od != nil {
		if err := od(ctx, keys); err != nil {
			return err
		}
	}
	k := ""
	if len(keys) > 0 {
		k = keys[0]
	}
	return h.call(ctx, "delete", k, func() error { return h.Driver.Delete(ctx, keys) })
}

func (h *hookDriver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return func(yield func(driver.ListEntry, error) bool) {
		h.mu.Lock()
		hook := h.hook
		h.mu.Unlock()
		if hook != nil {
			if err := hook(ctx, "list", opts.Prefix); err != nil {
				yield(driver.ListEntry{}, err)
				return
			}
		}
		for e, err := range h.Driver.List(ctx, opts) {
			if !yield(e, err) {
				return
			}
		}
	}
}

func (h *hookDriver) Location(key string) string {
	if l, ok := h.Driver.(driver.Locator); ok {
		return l.Location(key)
	}
	return key
}

// hookMover is a hookDriver over a driver that moves objects itself (a
// rename, a server-side copy): the move is one call, op "move", key the
// source.
type hookMover struct{ *hookDriver }

func (h hookMover) Move(ctx context.Context, src, dst string, opts *driver.PutOptions) error {
	return h.call(ctx, "move", src, func() error { return h.Driver.(driver.Mover).Move(ctx, src, dst, opts) })
}

// hooked returns h as a driver, moving through the wrapped driver's own
// Move where it has one.
func (h *hookDriver) hooked() driver.Driver {
	if _, ok := h.Driver.(driver.Mover); ok {
		return hookMover{h}
	}
	return h
}

var errHook = errors.New("torture: injected by hook")
