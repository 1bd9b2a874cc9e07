package zones

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// TableFormat is a table format other than lakekit's own (Hive-style
// partitioned Parquet and the commit log), set as Options.Format: with it
// a Dataset keeps its typed API (NewWriter, Write, Commit, Read, History,
// Snapshot, Vacuum) and stores its rows in that format instead. The
// Iceberg format (package iceberg, iceberg.Format) is one; zones does not
// import it, so services that do not use it do not compile it.
//
// Bind is called once by NewDataset; the FormatTable it returns does the
// work.
type TableFormat[T any] interface {
	// Name names the format in errors and logs ("iceberg").
	Name() string
	// Bind returns the format's table for the dataset described by target.
	Bind(target FormatTarget) (FormatTable[T], error)
}

// FormatTarget is the dataset a TableFormat binds to.
type FormatTarget struct {
	Zone     lake.ZoneName
	Database string
	Table    string
	// Location is the dataset's folder as a URL ("s3://bucket/curated/db/t/"
	// or "file:///lake/curated/db/t/"), where a format may put the table
	// when its catalog lets it choose.
	Location string
}

// FormatTable is a TableFormat's table under one Dataset. Versions are the
// format's snapshot IDs (0: the current snapshot). An operation the format
// cannot do returns an error wrapping errors.ErrUnsupported that names the
// format and the operation.
type FormatTable[T any] interface {
	// Commit writes rows as one new snapshot with the mode (Append,
	// Overwrite, OverwritePartitions); metadata goes into the snapshot's
	// summary where the format keeps such properties.
	Commit(ctx context.Context, mode Mode, rows []T, metadata map[string]string) (*CommitResult, error)
	// Read returns the rows of the snapshot version (0: the current one;
	// no snapshot yet: no rows).
	Read(ctx context.Context, version int64) ([]T, error)
	// Snapshot describes the snapshot version (0: the current one); a
	// table with no snapshot yet is ErrNoSuchTable, an unknown version
	// ErrNoSuchVersion.
	Snapshot(ctx context.Context, version int64) (*Snapshot, error)
	// History lists the snapshots as commits, oldest first.
	History(ctx context.Context) ([]Commit, error)
	// Vacuum expires snapshots older than retention and deletes the files
	// only they referenced.
	Vacuum(ctx context.Context, retention time.Duration) (*VacuumResult, error)
}

// FormatMerger is implemented by a FormatTable that applies keyed changes
// in place, in one snapshot (the Iceberg format: copy-on-write, only the
// data files holding a changed key are rewritten). transform's CDC merge
// commits through it when its target dataset has such a format.
type FormatMerger[T any] interface {
	// Merge applies changes keyed by key: a change for which deleted is
	// true removes the rows with its key, any other replaces them or is
	// added; the last change of a key wins. The result's Version is the
	// new snapshot (0 when nothing changed).
	Merge(ctx context.Context, changes []T, key func(T) string, deleted func(T) bool) (*CommitResult, error)
}

// FormatStreamer is implemented by a FormatTable whose writes stream: rows
// are encoded into the format's data files as they are written (memory
// bounded by the format's writer, not by the rows of the write) and
// committed as one snapshot by the FormatWriter's Commit. A Dataset writer
// on such a format keeps no rows; on any other it keeps them until Commit.
type FormatStreamer[T any] interface {
	StreamWriter(ctx context.Context, mode Mode, metadata map[string]string) (FormatWriter[T], error)
}

// FormatWriter is one streaming write to a table format.
type FormatWriter[T any] interface {
	Write(ctx context.Context, rows []T) error
	// Commit commits every row written as one snapshot.
	Commit(ctx context.Context) (*CommitResult, error)
	// Abort deletes what was written; nothing is committed.
	Abort() error
}

// FormatPartitionReader is implemented by a FormatTable that prunes a
// read by partition before it opens data files: keep is asked with a row
// holding a file's partition values (from the format's manifests) and
// the files it refuses are not read; the rows returned are those keep
// accepts. A Dataset read with ReadOptions.Partitions uses it.
type FormatPartitionReader[T any] interface {
	ReadPartitions(ctx context.Context, version int64, keep func(row *T) bool) ([]T, error)
}

// UnsupportedError is an operation the dataset's table format cannot do.
// It wraps errors.ErrUnsupported.
type UnsupportedError struct {
	Format    string // "iceberg"
	Operation string // "AddFiles", "ReadOptions.Columns", ...
	Table     string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("zones: %s: %s is not supported on a table in the %s format", e.Table, e.Operation, e.Format)
}

func (e *UnsupportedError) Unwrap() error { return errors.ErrUnsupported }

// Format returns the dataset's table format and its table, or nil, nil
// for lakekit's own format.
func (d *Dataset[T]) Format() (TableFormat[T], FormatTable[T]) {
	return d.opts.Format, d.format
}

// bindFormat checks the options a table format cannot honour and binds it
// (NewDataset).
func (d *Dataset[T]) bindFormat() error {
	f := d.opts.Format
	if f == nil {
		return nil
	}
	t := d.table
	refuse := func(opt string) error {
		return fmt.Errorf("zones: dataset %s: Options.%s is lakekit's own format's; the %s format does not use it: %w", t.prefix, opt, f.Name(), ErrInvalid)
	}
	switch {
	case d.opts.Catalog != nil:
		return refuse("Catalog (the format keeps its own catalog)")
	case d.opts.PartitionBy != nil:
		return refuse("PartitionBy (partition by tagged fields)")
	}
	ft, err := f.Bind(FormatTarget{Zone: t.zone.Name(), Database: t.database, Table: t.name, Location: t.Location()})
	if err != nil {
		return fmt.Errorf("zones: dataset %s: %s format: %w", t.prefix, f.Name(), err)
	}
	if ft == nil {
		return fmt.Errorf("zones: dataset %s: %s format bound no table: %w", t.prefix, f.Name(), ErrInvalid)
	}
	d.format = ft
	return nil
}

// unsupported is the error of an operation the dataset's format cannot do
// (nil for lakekit's own format).
func (d *Dataset[T]) unsupported(op string) error {
	if d.format == nil {
		return nil
	}
	return &UnsupportedError{Format: d.opts.Format.Name(), Operation: op, Table: d.table.prefix}
}

// formatWriter is a write to a table format: streamed to the format's
// writer when it has one (FormatStreamer), else the rows buffered until
// Commit, which commits them as one snapshot.
type formatWriter[T any] struct {
	stream FormatWriter[T]
	rows   []T
}

// newFormatWriter is NewWriter on a table format.
func (d *Dataset[T]) newFormatWriter(ctx context.Context, opts *WriterOptions) (*Writer[T], error) {
	w := &Writer[T]{d: d, fw: &formatWriter[T]{}}
	if opts != nil {
		w.opts = *opts
	}
	switch {
	case w.opts.Mode < Append || w.opts.Mode > OverwritePartitions:
		return nil, fmt.Errorf("zones: write to %s: unknown mode %d: %w", d.table.prefix, w.opts.Mode, ErrInvalid)
	case w.opts.ReplaceSchema:
		return nil, d.unsupported("WriterOptions.ReplaceSchema")
	case w.opts.IdempotencyKey != "":
		// A key promises that a retry commits nothing twice; the format's
		// commits do not look keys up, so the promise would be false.
		return nil, d.unsupported("WriterOptions.IdempotencyKey")
	}
	if s, ok := d.format.(FormatStreamer[T]); ok {
		fw, err := s.StreamWriter(ctx, w.opts.Mode, w.opts.Metadata)
		if err != nil {
			return nil, fmt.Errorf("zones: write to %s (%s format): %w", d.table.prefix, d.opts.Format.Name(), err)
		}
		w.fw.stream = fw
	}
	return w, nil
}

// formatWrite is Writer.Write on a table format (w.mu held, rows checked).
func (w *Writer[T]) formatWrite(ctx context.Context, rows []T) error {
	if w.fw.stream != nil {
		if err := w.fw.stream.Write(ctx, rows); err != nil {
			w.failed = err
			return fmt.Errorf("zones: write to %s (%s format): %w", w.d.table.prefix, w.d.opts.Format.Name(), err)
		}
	} else {
		w.fw.rows = append(w.fw.rows, rows...)
	}
	atomic.AddInt64(&w.rows, int64(len(rows)))
	return nil
}

// formatCommit is Writer.Commit on a table format.
func (w *Writer[T]) formatCommit(ctx context.Context) (*CommitResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, fmt.Errorf("zones: commit %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	w.done = true
	rows := w.fw.rows
	w.fw.rows = nil
	if atomic.LoadInt64(&w.rows) == 0 && w.opts.Mode == Append {
		if w.fw.stream != nil {
			w.fw.stream.Abort()
		}
		return nil, fmt.Errorf("zones: commit %s: nothing written to append: %w", w.d.table.prefix, ErrInvalid)
	}
	var res *CommitResult
	var err error
	switch {
	case w.failed != nil:
		if w.fw.stream != nil {
			w.fw.stream.Abort()
		}
		return nil, fmt.Errorf("zones: commit %s: an earlier write failed, nothing committed: %w", w.d.table.prefix, w.failed)
	case w.fw.stream != nil:
		res, err = w.fw.stream.Commit(ctx)
	default:
		res, err = w.d.format.Commit(ctx, w.opts.Mode, rows, w.opts.Metadata)
	}
	if err != nil {
		return nil, fmt.Errorf("zones: commit %s (%s format): %w", w.d.table.prefix, w.d.opts.Format.Name(), err)
	}
	return res, nil
}

// formatAbort is Writer.Abort on a table format: the streamed data files
// are deleted (nothing was committed); buffered rows are dropped.
func (w *Writer[T]) formatAbort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("zones: abort %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	w.done = true
	w.fw.rows = nil
	if w.fw.stream != nil {
		return w.fw.stream.Abort()
	}
	return nil
}

// formatReadBatches is ReadBatches on a table format: the snapshot's rows,
// filtered by ReadOptions.Partitions, in batches of BatchSize.
func (d *Dataset[T]) formatReadBatches(ctx context.Context, opts *ReadOptions, fn func([]T) error) error {
	var o ReadOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case len(o.Where) > 0:
		return d.unsupported("ReadOptions.Where")
	case len(o.Columns) > 0:
		return d.unsupported("ReadOptions.Columns")
	case o.Files != nil:
		return d.unsupported("ReadOptions.Files")
	case o.BatchSize < 0:
		return fmt.Errorf("zones: read %s: negative BatchSize: %w", d.table.prefix, ErrInvalid)
	}
	batch := o.BatchSize
	if batch == 0 {
		batch = 4096
	}
	rows, err := d.formatRead(ctx, o)
	if err != nil {
		return fmt.Errorf("zones: read %s (%s format): %w", d.table.prefix, d.opts.Format.Name(), err)
	}
	if o.Partitions != nil {
		kept := rows[:0]
		for i := range rows {
			p, err := d.partitionOf(&rows[i])
			if err != nil {
				return fmt.Errorf("zones: read %s: partition of a row: %w", d.table.prefix, err)
			}
			if o.Partitions(p) {
				kept = append(kept, rows[i])
			}
		}
		rows = kept
	}
	for len(rows) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(batch, len(rows))
		if err := fn(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// formatRead reads the snapshot o.Version, pruned by o.Partitions before
// data files are opened when the format can (FormatPartitionReader); the
// caller filters the rows by partition either way.
func (d *Dataset[T]) formatRead(ctx context.Context, o ReadOptions) ([]T, error) {
	pr, ok := d.format.(FormatPartitionReader[T])
	if !ok || o.Partitions == nil {
		return d.format.Read(ctx, o.Version)
	}
	keep := func(row *T) bool {
		p, err := d.partitionOf(row)
		return err != nil || o.Partitions(p) // on an error the row filter reports it
	}
	return pr.ReadPartitions(ctx, o.Version, keep)
}
