package iceberg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	ice "github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
)

// Writer defaults: what a Writer holds in memory is at most
// DefaultMaxOpenFiles data files, each rolled at DefaultMaxRowsPerFile
// rows or DefaultTargetFileSize bytes (estimated, before compression).
const (
	DefaultMaxRowsPerFile = 1 << 20
	DefaultTargetFileSize = 128 << 20
	DefaultMaxOpenFiles   = 128
)

// WriteMode is what a Writer's Commit does with its rows.
type WriteMode int

const (
	// WriteAppend is Append: the rows are added as a new snapshot.
	WriteAppend WriteMode = iota
	// WriteOverwrite is Overwrite: the rows replace every row.
	WriteOverwrite
	// WriteOverwritePartitions is OverwritePartitions: the rows replace
	// the partitions they fall in.
	WriteOverwritePartitions
)

// WriterOptions configure NewWriter. A nil *WriterOptions means defaults.
type WriterOptions struct {
	// MaxRowsPerFile rolls a partition's data file at this many rows
	// (default DefaultMaxRowsPerFile).
	MaxRowsPerFile int64
	// TargetFileSize rolls a partition's data file once its rows'
	// estimated size reaches this many bytes (default
	// DefaultTargetFileSize).
	TargetFileSize int64
	// MaxOpenFiles is how many partitions' files are encoded at once: a
	// row of another partition first finishes the least recently written
	// one (default DefaultMaxOpenFiles).
	MaxOpenFiles int
}

// Writer writes rows of any number of Write calls as one snapshot, with
// bounded memory: rows are encoded as they come into one Parquet data
// file per partition, and a file that reaches WriterOptions'
// MaxRowsPerFile or TargetFileSize (or that is the least recently written
// one when MaxOpenFiles are open) is finished and written to the table's
// data/ folder at once, uncommitted. Commit commits every file in one
// snapshot; Abort (or a failed Commit) deletes them. Files of a writer
// that dies before either are unreferenced: Vacuum deletes them once
// older than its OrphanAge. A Writer is safe for concurrent use.
type Writer[T any] struct {
	t     *Table[T]
	mode  WriteMode
	opts  WriterOptions
	start *table.Table // the table when the write began
	b     *binding
	wfs   icebergio.WriteFileIO
	dir   string // <location>/data

	mu    sync.Mutex
	open  map[string]*openFile
	tick  uint64
	files []ice.DataFile
	paths []string
	rows  int64
	done  bool
}

// openFile is a partition's data file being encoded.
type openFile struct {
	key   string
	buf   bytes.Buffer
	w     *parquet.Writer
	batch []parquet.Row
	rows  int64
	size  int64 // estimated bytes of the rows encoded
	used  uint64
}

// NewWriter starts a write of mode to the table.
func (t *Table[T]) NewWriter(ctx context.Context, mode WriteMode, opts *WriterOptions) (*Writer[T], error) {
	if mode < WriteAppend || mode > WriteOverwritePartitions {
		return nil, fmt.Errorf("%w: write to %s: unknown mode %d", ErrInvalid, t.Name(), mode)
	}
	w := &Writer[T]{t: t, mode: mode, open: map[string]*openFile{}}
	if opts != nil {
		w.opts = *opts
	}
	if w.opts.MaxRowsPerFile < 0 || w.opts.TargetFileSize < 0 || w.opts.MaxOpenFiles < 0 {
		return nil, fmt.Errorf("%w: write to %s: MaxRowsPerFile %d, TargetFileSize %d and MaxOpenFiles %d must not be negative",
			ErrInvalid, t.Name(), w.opts.MaxRowsPerFile, w.opts.TargetFileSize, w.opts.MaxOpenFiles)
	}
	if w.opts.MaxRowsPerFile == 0 {
		w.opts.MaxRowsPerFile = DefaultMaxRowsPerFile
	}
	if w.opts.TargetFileSize == 0 {
		w.opts.TargetFileSize = DefaultTargetFileSize
	}
	if w.opts.MaxOpenFiles == 0 {
		w.opts.MaxOpenFiles = DefaultMaxOpenFiles
	}
	ctx = t.Context(ctx)
	start, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	if w.b, err = bind(t.rt, start.Schema(), start.Spec()); err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	if w.wfs, err = writeIO(ctx, start); err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	w.start, w.dir = start, strings.TrimRight(start.Location(), "/")+"/data"
	return w, nil
}

// ErrWriterClosed is returned by a Writer's Write, Commit or Abort after
// Commit or Abort.
var ErrWriterClosed = errors.New("iceberg: writer already committed or aborted")

// Write encodes rows into their partitions' data files, finishing (and
// writing out) the files that reach a threshold. On an error the writer
// is aborted: its files are deleted and nothing will be committed.
func (w *Writer[T]) Write(ctx context.Context, rows []T) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("iceberg: write to %s: %w", w.t.Name(), ErrWriterClosed)
	}
	ctx = w.t.Context(ctx)
	// Rows are encoded partition by partition (in the order each first
	// appears, each partition's rows in their order): rows of more
	// partitions than MaxOpenFiles, interleaved, would otherwise finish a
	// file at nearly every row.
	keys := make([]string, len(rows))
	order := make([]int, len(rows))
	first := map[string]int{}
	for i := range rows {
		keys[i] = w.b.partitionKey(reflect.ValueOf(&rows[i]).Elem())
		if _, ok := first[keys[i]]; !ok {
			first[keys[i]] = i
		}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return first[keys[order[a]]] < first[keys[order[b]]] })
	for _, i := range order {
		if err := w.writeRow(ctx, keys[i], reflect.ValueOf(&rows[i]).Elem()); err != nil {
			w.abort()
			return err
		}
	}
	w.rows += int64(len(rows))
	return nil
}

func (w *Writer[T]) writeRow(ctx context.Context, key string, v reflect.Value) error {
	f := w.open[key]
	if f == nil {
		if len(w.open) >= w.opts.MaxOpenFiles {
			if err := w.finish(ctx, w.leastRecent()); err != nil {
				return err
			}
		}
		f = &openFile{key: key, batch: make([]parquet.Row, 0, 256)}
		f.w = parquet.NewWriter(&f.buf, w.b.pschema, parquet.Compression(zstdCodec),
			parquet.MaxRowsPerRowGroup(min(w.t.opts.RowGroupSize, w.opts.MaxRowsPerFile)))
		w.open[key] = f
	}
	w.tick++
	f.used = w.tick
	// The batch's rows are reused once written: WriteRows copies them.
	n := len(f.batch)
	f.batch = f.batch[:n+1]
	f.batch[n] = w.b.encode(f.batch[n][:0], v)
	for _, val := range f.batch[n] {
		f.size += 8
		if k := val.Kind(); k == parquet.ByteArray || k == parquet.FixedLenByteArray {
			f.size += int64(len(val.ByteArray()))
		}
	}
	f.rows++
	if len(f.batch) == cap(f.batch) {
		if _, err := f.w.WriteRows(f.batch); err != nil {
			return fmt.Errorf("iceberg: %s: encode rows: %w", w.t.Name(), err)
		}
		f.batch = f.batch[:0]
	}
	if f.rows >= w.opts.MaxRowsPerFile || f.size >= w.opts.TargetFileSize {
		return w.finish(ctx, f)
	}
	return nil
}

func (w *Writer[T]) leastRecent() *openFile {
	var lru *openFile
	for _, f := range w.open {
		if lru == nil || f.used < lru.used {
			lru = f
		}
	}
	return lru
}

// finish closes f, writes it under the table's data/ folder and
// describes it for the commit; its memory is released.
func (w *Writer[T]) finish(ctx context.Context, f *openFile) error {
	delete(w.open, f.key)
	if len(f.batch) > 0 {
		if _, err := f.w.WriteRows(f.batch); err != nil {
			return fmt.Errorf("iceberg: %s: encode rows: %w", w.t.Name(), err)
		}
	}
	if err := f.w.Close(); err != nil {
		return fmt.Errorf("iceberg: %s: encode rows: %w", w.t.Name(), err)
	}
	dir := w.dir
	if f.key != "" {
		dir += "/" + f.key
	}
	p := dir + "/" + uuid.NewString() + ".parquet"
	if err := w.wfs.WriteFile(p, f.buf.Bytes()); err != nil {
		return fmt.Errorf("iceberg: %s: write %s: %w", w.t.Name(), p, err)
	}
	w.paths = append(w.paths, p)
	df, err := table.FileToDataFile(ctx, w.wfs, p, w.start.Schema(), w.start.Spec(), 0, w.start.Properties())
	if err != nil {
		return fmt.Errorf("iceberg: %s: data file %s: %w", w.t.Name(), p, err)
	}
	w.files = append(w.files, df)
	return nil
}

// Buffered is how many rows the writer holds in files not yet written
// out (what its memory grows with; bounded by MaxOpenFiles files of
// MaxRowsPerFile rows).
func (w *Writer[T]) Buffered() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for _, f := range w.open {
		n += f.rows
	}
	return n
}

// Files lists the data files written out so far (not yet committed).
func (w *Writer[T]) Files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.paths...)
}

// Commit finishes the open files and commits every file of the write as
// one snapshot with the writer's mode (the conflict rules and retries of
// Append, Overwrite and OverwritePartitions; OverwritePartitions checks
// the partitions against the table as it was at NewWriter). On an error
// the files are deleted and nothing is committed.
func (w *Writer[T]) Commit(ctx context.Context) (*Commit, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, fmt.Errorf("iceberg: commit to %s: %w", w.t.Name(), ErrWriterClosed)
	}
	ctx = w.t.Context(ctx)
	c, err := w.commit(ctx)
	if err != nil {
		w.abort()
		return nil, err
	}
	w.done = true
	c.Rows = w.rows
	return c, nil
}

func (w *Writer[T]) commit(ctx context.Context) (*Commit, error) {
	t := w.t
	if w.rows == 0 && w.mode != WriteOverwrite {
		return nil, fmt.Errorf("%w: %s of no rows to %s", ErrInvalid, [...]string{"append", "overwrite", "partition overwrite"}[w.mode], t.Name())
	}
	keys := make([]string, 0, len(w.open))
	for k := range w.open {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := w.finish(ctx, w.open[k]); err != nil {
			return nil, err
		}
	}
	var stage stageFunc = appendStage
	switch {
	case w.mode == WriteOverwrite, w.mode == WriteOverwritePartitions && w.start.Spec().IsUnpartitioned():
		stage = t.overwriteStage
	case w.mode == WriteOverwritePartitions:
		s, err := t.replacePartitionsStage(ctx, w.start, w.files)
		if err != nil {
			return nil, err
		}
		stage = s
	}
	return t.commit(ctx, w.files, stage)
}

// Abort deletes the files written out and ends the write; nothing is
// committed.
func (w *Writer[T]) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("iceberg: abort of a write to %s: %w", w.t.Name(), ErrWriterClosed)
	}
	w.abort()
	return nil
}

func (w *Writer[T]) abort() {
	w.done = true
	w.open = nil
	removeAll(w.wfs, w.paths)
	w.paths, w.files = nil, nil
}
