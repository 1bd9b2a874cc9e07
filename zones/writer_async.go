package zones

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"golang.org/x/sync/errgroup"
)

// Pipelined writes. Routing a batch (each row's partition, computed and
// checked on the caller's goroutine) is the serial part of a write; the
// encoding and compression of the partitions' pages runs on up to
// GOMAXPROCS goroutines. When the writer may keep copies of the rows (see
// retainable), Write returns once a batch is routed and copied into the
// partitions' buffers and the encoding runs on while the caller produces
// and routes the next batch. The next Write (before it touches those
// buffers), Commit and Abort wait for it, and an error of that encoding (a
// spill file or an upload of a file that filled up) fails the writer there.
//
// Measured on internal/bench write_vs_parquetgo (1M event rows, 100
// partitions, 10k-row batches, 2 cores): routing was 16% of the writer's
// CPU, all of it on the caller's goroutine while the other core waited.

// retainable reports whether a copy of a value of type t, kept after Write
// returns, is written as the caller wrote it whatever the caller does
// next: t holds only values (booleans, numbers, strings, time.Time, and
// arrays and structs of them). A pointer, slice or map would let the
// caller change what the copy points to (a reused []byte buffer), so rows
// holding one are encoded before Write returns.
func retainable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array:
		return retainable(t.Elem())
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() { // its *Location is never changed
			return true
		}
		for i := 0; i < t.NumField(); i++ {
			if !retainable(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// fillGroup starts the group that encodes a batch's partitions. A group that
// outlives Write runs on a context that the caller's cancelling after
// Write returned does not stop (it keeps the context's values).
func (w *Writer[T]) fillGroup(ctx context.Context) (*errgroup.Group, context.Context) {
	if w.pipelined {
		ctx = context.WithoutCancel(ctx)
	}
	return errgroup.WithContext(ctx)
}

// wait waits for the encoding a previous Write left running. Its error
// fails the writer (it can then only be aborted, as after any write that
// failed half way).
func (w *Writer[T]) wait() error {
	if w.inflight == nil {
		return nil
	}
	err := w.inflight.Wait()
	w.inflight = nil
	if err != nil && w.failed == nil {
		w.failed = err
	}
	return err
}

// waitBeforeWrite is wait for Write: the error names the earlier write.
func (w *Writer[T]) waitBeforeWrite() error {
	if err := w.wait(); err != nil {
		return fmt.Errorf("zones: write to %s: an earlier write failed (abort and retry the whole write): %w", w.d.table.prefix, err)
	}
	return nil
}
