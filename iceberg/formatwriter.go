package iceberg

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakekit/lakekit/zones"
)

// DatasetWriter is a write to a zones dataset's Iceberg table through a
// Writer: rows are encoded into data files as they come, with the
// Writer's bounded memory, instead of being held until the commit. Build
// it with DatasetTable.NewWriter.
type DatasetWriter[T any] struct {
	d    *DatasetTable[T]
	t    *Table[T]
	w    *Writer[T]
	mode zones.Mode
}

// NewWriter starts a write of mode (Append, Overwrite,
// OverwritePartitions) to the dataset's table, committed as one snapshot
// by the DatasetWriter's Commit. opts (nil: defaults) bound its memory.
// Snapshot summary properties of the caller's (metadata) are refused as
// by Commit.
func (d *DatasetTable[T]) NewWriter(ctx context.Context, mode zones.Mode, metadata map[string]string, opts *WriterOptions) (*DatasetWriter[T], error) {
	if len(metadata) > 0 {
		return nil, d.unsupported("WriterOptions.Metadata")
	}
	var wm WriteMode
	switch mode {
	case zones.Append:
		wm = WriteAppend
	case zones.Overwrite:
		wm = WriteOverwrite
	case zones.OverwritePartitions:
		wm = WriteOverwritePartitions
	default:
		return nil, fmt.Errorf("%w: write mode %v", ErrInvalid, mode)
	}
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	w, err := t.NewWriter(ctx, wm, opts)
	if err != nil {
		return nil, err
	}
	return &DatasetWriter[T]{d: d, t: t, w: w, mode: mode}, nil
}

// Write encodes rows (see Writer.Write).
func (dw *DatasetWriter[T]) Write(ctx context.Context, rows []T) error {
	return dw.w.Write(ctx, rows)
}

// Commit commits every row written as one snapshot (see Writer.Commit);
// a partition overwrite that conflicts is zones.ErrConflict.
func (dw *DatasetWriter[T]) Commit(ctx context.Context) (*zones.CommitResult, error) {
	c, err := dw.w.Commit(ctx)
	if errors.Is(err, ErrConflict) {
		return nil, fmt.Errorf("%w: %w", zones.ErrConflict, err)
	}
	if err != nil {
		return nil, err
	}
	return dw.d.result(ctx, dw.t, dw.mode, c)
}

// Abort deletes the data files written so far; nothing is committed.
func (dw *DatasetWriter[T]) Abort() error { return dw.w.Abort() }

// Writer is the underlying Writer (Buffered, Files).
func (dw *DatasetWriter[T]) Writer() *Writer[T] { return dw.w }
