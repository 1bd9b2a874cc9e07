package zones

import (
	"context"
	"errors"
	"iter"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake"
)

// ReadOptions select what a read returns. A nil *ReadOptions reads every
// row and column of the newest version.
type ReadOptions struct {
	// Version is the table version to read (time travel); 0 means newest.
	// The whole read sees exactly that version.
	Version int64
	// Partitions keeps only partitions for which it returns true (see
	// PartitionIn, PartitionRange). Pruning uses the commit log; the store
	// is never listed.
	Partitions func(lake.Partition) bool
	// Where keeps only rows satisfying every predicate; files and row groups
	// whose min/max statistics rule a predicate out are not read.
	Where []Predicate
	// Columns to read (stored or partition columns); others are left zero.
	// Empty means all.
	Columns []string
	// Parallelism is how many files are read at once (default GOMAXPROCS,
	// at most 8). Whatever it is, rows arrive in file key order (and in
	// file order within a file): files read ahead wait for their turn.
	Parallelism int
	// BatchSize is the number of rows per batch (default 4096). Every batch
	// ReadBatches hands over holds exactly BatchSize rows, taken across
	// files as needed, except the last, which holds the rest.
	BatchSize int
	// Files, when set, keeps only the data files for which it returns true
	// (a transform reading just the files it has not consumed yet).
	Files func(DataFile) bool
}

// PartitionIn keeps partitions whose key has one of values.
func PartitionIn(key string, values ...string) func(lake.Partition) bool {
	set := map[string]bool{}
	for _, v := range values {
		set[v] = true
	}
	return func(p lake.Partition) bool {
		v, ok := p.Get(key)
		return ok && set[v]
	}
}

// PartitionRange keeps partitions whose value of key lies in [from, to]
// compared as strings (right for ISO dates like dt=2024-01-31); an empty
// bound is open.
func PartitionRange(key, from, to string) func(lake.Partition) bool {
	return func(p lake.Partition) bool {
		v, ok := p.Get(key)
		return ok && (from == "" || v >= from) && (to == "" || v <= to)
	}
}

// Files returns the files a read with opts would open (after partition and
// statistics pruning), for engines that read the files themselves.
func (d *Dataset[T]) Files(ctx context.Context, opts *ReadOptions) ([]DataFile, error) {
	if err := d.unsupported("Files (the format's engines read its own file list)"); err != nil {
		return nil, err
	}
	p, err := d.plan(ctx, opts)
	if err != nil {
		return nil, err
	}
	return p.files, nil
}

// Read returns the rows of a snapshot as an iterator. A failure ends the
// sequence with (zero, err). Stopping early cancels the reads in flight.
func (d *Dataset[T]) Read(ctx context.Context, opts *ReadOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		stopped := false
		err := d.ReadBatches(ctx, opts, func(rows []T) error {
			for i := range rows {
				if !yield(rows[i], nil) {
					stopped = true
					return errStop
				}
			}
			return nil
		})
		if err != nil && !stopped {
			var zero T
			yield(zero, err)
		}
	}
}

var errStop = errors.New("zones: iteration stopped")

// readAhead is how many batches a file being read may hold before its turn
// to be delivered comes.
const readAhead = 4

// ReadAll collects a read into a slice.
func (d *Dataset[T]) ReadAll(ctx context.Context, opts *ReadOptions) ([]T, error) {
	var out []T
	err := d.ReadBatches(ctx, opts, func(rows []T) error {
		out = append(out, rows...)
		return nil
	})
	return out, err
}

// ReadBatches calls fn with batches of rows of a snapshot, from the calling
// goroutine, one batch at a time: each batch holds BatchSize rows (the last
// may hold fewer), in file key order whatever the parallelism. The slice is
// reused after fn returns, so fn must copy rows it keeps. An error from fn
// stops the read and is returned. Memory stays bounded: at most
// readAhead+1 batches and one row group's needed column chunks (up to
// 16 MiB) per file in flight, Parallelism files at a time.
func (d *Dataset[T]) ReadBatches(ctx context.Context, opts *ReadOptions, fn func([]T) error) error {
	if d.format != nil { // Options.Format: see format.go
		return d.formatReadBatches(ctx, opts, fn)
	}
	p, err := d.plan(ctx, opts)
	if err != nil {
		return err
	}
	if len(p.files) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each file sends its batches on a channel of its own; the channels are
	// drained in file order, so the order does not depend on which file
	// finishes first.
	files := make(chan chan []T, p.parallel)
	free := make(chan []T, (readAhead+1)*p.parallel+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.parallel)
	go func() {
		defer close(files)
		for _, f := range p.files {
			if gctx.Err() != nil {
				return
			}
			// A file read ahead of its turn fills a few batches, so the
			// files in flight decode in parallel instead of waiting for
			// the one being delivered.
			out := make(chan []T, readAhead)
			g.Go(func() error {
				defer close(out)
				return d.readFile(gctx, p, f, out, free)
			})
			files <- out
		}
	}()
	var fnErr error
	deliver := func(rows []T) {
		if fnErr == nil {
			if err := fn(rows); err != nil {
				fnErr = err
				cancel()
			}
		}
	}
	acc := make([]T, 0, p.batch) // rows waiting for a full batch
	for out := range files {
		for batch := range out {
			for rows := batch; len(rows) > 0 && fnErr == nil; {
				if len(acc) == 0 && len(rows) >= p.batch {
					deliver(rows[:p.batch])
					rows = rows[p.batch:]
					continue
				}
				n := min(p.batch-len(acc), len(rows))
				acc = append(acc, rows[:n]...)
				rows = rows[n:]
				if len(acc) == p.batch {
					deliver(acc)
					acc = acc[:0]
				}
			}
			select {
			case free <- batch[:0]:
			default:
			}
		}
	}
	err = g.Wait()
	if err == nil && ctx.Err() == nil && len(acc) > 0 {
		deliver(acc)
	}
	if err != nil && fnErr == nil {
		if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if fnErr != nil {
		return fnErr
	}
	return ctx.Err()
}
