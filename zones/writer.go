package zones

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/internal/spill"
	"github.com/lakekit/lakekit/lake"
)

// WriterOptions configure one write. A nil *WriterOptions means Append
// with a generated idempotency key.
type WriterOptions struct {
	Mode Mode
	// IdempotencyKey names the commit in the log. Once a commit with the
	// key is there, another write with the key commits nothing: with the
	// same data (the same rows written the same way, compared by a digest
	// of the files' checksums) Commit returns the earlier commit
	// (Duplicate set); with other data it fails with ErrConflict naming the
	// key and the version. Object names never derive from it: two attempts
	// with one key running at once write under their own names, and the one
	// that does not commit deletes only its own files. Any string of 1 to
	// 256 bytes; generated when empty.
	IdempotencyKey string
	// Metadata is stored in the commit (e.g. the input files of a transform).
	Metadata map[string]string
	// Caller identifies who writes in the commit's audit record (a service
	// name, a job run, a principal ARN). Empty means the lake's identity:
	// lake.Options.Caller, else what the store reports (the AWS principal
	// ARN from STS GetCallerIdentity on S3; see lake.Lake.Caller).
	Caller string
	// MaxAttempts bounds how often Commit retries after losing a race to
	// another writer (default 100).
	MaxAttempts int
	// ReplaceSchema (with Mode Overwrite only) replaces the table's
	// definition: the commit may drop, retype and reorder columns and
	// change the partition keys. The catalog gets a new schema version and
	// the new partition set; time travel to earlier versions still reads
	// the old rows with the old schema. Commits racing a replacement fail
	// with ErrConflict.
	ReplaceSchema bool
}

// CommitResult summarises a commit.
type CommitResult struct {
	Version    int64
	Files      []DataFile
	Rows       int64
	Bytes      int64
	Partitions []lake.Partition
	// Removed lists the files an overwrite replaced (deleted by Vacuum once
	// the retention has passed).
	Removed []DataFile
	// Duplicate: a commit with this idempotency key was already in the log;
	// this is its result and nothing new was written.
	Duplicate bool
	// Attempts is how many times the commit object was tried.
	Attempts int
	Commit   *Commit
}

// Writer streams rows of T into Parquet files, one open file per partition,
// and commits them as one table version. It is not safe for concurrent use.
// Nothing it writes is visible to readers before Commit succeeds.
type Writer[T any] struct {
	d    *Dataset[T]
	opts WriterOptions
	tx   *Tx         // the transaction the files are committed through
	pool *spill.Pool // nil with Options.InMemoryBuffers
	tmp  string

	fw     *formatWriter[T] // set on a dataset with Options.Format
	open   map[string]*partWriter[T]
	clock  int64
	rows   int64
	bytes  int64
	nfiles int64
	done   bool
	failed error // a write failed half way: the writer can only be aborted
	mu     sync.Mutex
	// pipelined: Write may return before its batch is encoded
	// (writer_async.go); inflight is that encoding, waited for by the next
	// Write, Commit and Abort
	pipelined bool
	inflight  *errgroup.Group
	// encSampled: the dictionary columns are chosen (writer_encoding.go);
	// encSchema names them (nil: none)
	encSampled bool
	encSchema  *parquet.Schema
	// progressMu keeps Options.Progress calls one at a time
	progressMu sync.Mutex
}

type partWriter[T any] struct {
	part   lake.Partition
	path   string
	key    string // the committed file's key
	upload string // where it goes until the commit (the staging folder for appends)
	f      spool
	w      *parquet.GenericWriter[T]
	rows   int64
	used   int64
	buf    []T
}

// NewWriter starts a write (a Tx on the table). It reads the newest table
// state (to place appends in each partition's current location and to
// detect a repeated idempotency key) and checks the dataset's schema
// against it and against the catalog before anything is uploaded; the
// commit is checked against what changed since.
func (d *Dataset[T]) NewWriter(ctx context.Context, opts *WriterOptions) (*Writer[T], error) {
	if d.format != nil { // Options.Format: see format.go
		return d.newFormatWriter(ctx, opts)
	}
	w := &Writer[T]{d: d, open: map[string]*partWriter[T]{}, pipelined: d.retainable}
	if opts != nil {
		w.opts = *opts
	}
	tx, err := d.table.Begin(ctx, &TxOptions{Mode: w.opts.Mode, IdempotencyKey: w.opts.IdempotencyKey, Metadata: w.opts.Metadata,
		Caller: w.opts.Caller, MaxAttempts: w.opts.MaxAttempts, PartitionKeys: d.partKeys, Schema: d.columns, ReplaceSchema: w.opts.ReplaceSchema})
	if err != nil {
		return nil, err
	}
	if err := d.checkCatalog(ctx, tx); err != nil {
		return nil, err
	}
	w.tx = tx
	w.opts.IdempotencyKey = tx.Key()
	w.tmp = d.opts.TempDir
	if !d.opts.InMemoryBuffers {
		w.pool = spill.NewPool(w.tmp, d.memoryBudget())
	}
	return w, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// IdempotencyKey returns the writer's key (generated when none was given).
func (w *Writer[T]) IdempotencyKey() string { return w.opts.IdempotencyKey }

// Write adds rows. Every row's partition is computed and checked before any
// row of the batch is written, so a bad row fails the whole call with an
// error naming it (ErrInvalid) and nothing of the batch is kept. rows must
// not be nil (an empty slice is a no-op).
//
// Write never keeps rows of the caller's after it returns, so the caller
// may reuse them. When T holds only values (numbers, strings, time.Time,
// and structs and arrays of them: no pointers, slices or maps), Write
// keeps copies and may return while they are still being encoded, so the
// caller's next batch is routed while they are: an error encoding them (a
// spill file, or the upload of a file that filled up) is then returned by
// the next Write or by Commit, which commits nothing, as after any write
// that failed.
func (w *Writer[T]) Write(ctx context.Context, rows []T) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("zones: write to %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	if w.failed != nil {
		return fmt.Errorf("zones: write to %s: an earlier write failed (abort and retry the whole write): %w", w.d.table.prefix, w.failed)
	}
	if rows == nil {
		return fmt.Errorf("zones: write to %s: nil rows: %w", w.d.table.prefix, ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	if w.fw != nil { // Options.Format: see format.go
		return w.formatWrite(ctx, rows)
	}
	if !w.encSampled { // the encodings files are opened with may change
		if err := w.waitBeforeWrite(); err != nil {
			return err
		}
		w.sampleEncodings(rows)
	}
	if len(w.d.partKeys) == 0 { // unpartitioned: one file at a time, no routing
		if err := w.waitBeforeWrite(); err != nil {
			return err
		}
		pw := w.open[""]
		if pw == nil {
			pw = &partWriter[T]{}
		}
		return w.writeAll(ctx, pw, rows)
	}
	// route: partition slot per row, validated first (while the previous
	// batch may still be encoding: route reads no partition's buffers)
	slots, distinct, err := w.route(rows)
	if err != nil {
		return err
	}
	if err := w.waitBeforeWrite(); err != nil {
		return err
	}
	if distinct == 1 { // every row in one partition: no copy
		return w.writeAll(ctx, slots[0], rows)
	}
	parts := make([]*partWriter[T], 0, distinct)
	for i := range rows {
		if len(slots[i].buf) == 0 {
			parts = append(parts, slots[i])
		}
		slots[i].buf = append(slots[i].buf, rows[i])
	}
	if err := w.writeParts(ctx, parts); err != nil {
		w.failed = err // part of the batch may be written
		return err
	}
	atomic.AddInt64(&w.rows, int64(len(rows)))
	w.progress()
	return nil
}

// writeAll writes a whole batch to one partition's file.
func (w *Writer[T]) writeAll(ctx context.Context, pw *partWriter[T], rows []T) error {
	pw.buf = rows
	err := w.writePart(ctx, pw)
	pw.buf = nil
	if err != nil {
		w.failed = err
		return err
	}
	atomic.AddInt64(&w.rows, int64(len(rows)))
	w.progress()
	return nil
}

// route returns each row's partition writer and how many distinct
// partitions the batch has. Each distinct partition is validated and
// escaped once; a bad row fails the batch before anything is written.
func (w *Writer[T]) route(rows []T) ([]*partWriter[T], int, error) {
	slots := make([]*partWriter[T], len(rows))
	cache := map[string]*partWriter[T]{}   // by partition path
	byValue := map[string]*partWriter[T]{} // by the string field's value
	byParts := map[string]*partWriter[T]{} // by a validated partition's values (valuesKey)
	single := len(w.d.partFields) == 1 && w.d.partFields[0].typ.Kind() == reflect.String
	for i := range rows {
		var pw *partWriter[T]
		var fast string
		if single {
			fast = fieldString(&rows[i], w.d.partFields[0].index)
			pw = byValue[fast]
		}
		if pw == nil {
			p, err := w.d.partitionOf(&rows[i])
			if err != nil {
				return nil, 0, fmt.Errorf("zones: write to %s: row %d: partition: %w: %w", w.d.table.prefix, i, ErrInvalid, err)
			}
			// a partition seen in this batch is not validated and escaped again
			vk, sameKeys := w.valuesKey(p)
			if sameKeys {
				pw = byParts[vk]
			}
			if pw == nil {
				if err := w.checkPartition(p); err != nil {
					return nil, 0, fmt.Errorf("zones: write to %s: row %d: %w: %w", w.d.table.prefix, i, ErrInvalid, err)
				}
				path := partPath(p)
				pw = cache[path]
				if pw == nil {
					pw = w.open[path]
					if pw == nil {
						pw = &partWriter[T]{part: p, path: path}
					}
					cache[path] = pw
				}
				if sameKeys {
					byParts[vk] = pw
				}
			}
			if single {
				byValue[fast] = pw
			}
		}
		slots[i] = pw
	}
	return slots, len(cache), nil
}

func fieldString[T any](row *T, index []int) string {
	return reflect.ValueOf(row).Elem().FieldByIndex(index).String()
}

// valuesKey returns a string naming p's values unambiguously (each value
// length-prefixed, so no value can forge another split), and whether p has
// exactly the table's keys in order — only then can two partitions be told
// apart by their values alone.
func (w *Writer[T]) valuesKey(p lake.Partition) (string, bool) {
	if len(p) != len(w.d.partKeys) {
		return "", false
	}
	for i, kv := range p {
		if kv.Key != w.d.partKeys[i] {
			return "", false
		}
	}
	if len(p) == 1 {
		return p[0].Value, true
	}
	var b strings.Builder
	for _, kv := range p {
		b.WriteString(strconv.Itoa(len(kv.Value)))
		b.WriteByte(':')
		b.WriteString(kv.Value)
	}
	return b.String(), true
}

func (w *Writer[T]) checkPartition(p lake.Partition) error {
	if len(p) != len(w.d.partKeys) {
		return fmt.Errorf("partition %v has %d keys, the table's are %v", p, len(p), w.d.partKeys)
	}
	for i, kv := range p {
		if kv.Key != w.d.partKeys[i] {
			return fmt.Errorf("partition key %d is %q, the table's is %q", i, kv.Key, w.d.partKeys[i])
		}
	}
	return p.Validate()
}

// writeParts writes the buffered rows of a batch's partitions. Encoding
// and compressing pages is most of a write's work, and each partition has
// its own file and parquet-go writer, so the partitions are written on up
// to GOMAXPROCS goroutines at once (one goroutine per partition: a file's
// rows stay in order). Opening files (which may evict another partition's)
// is done first, in order; a batch that would evict is written one
// partition at a time. The rows are copies, so with a pipelined writer
// (writer_async.go) Write returns before they are encoded; otherwise it
// returns when every row is encoded, and no row of the caller's is held
// after it.
func (w *Writer[T]) writeParts(ctx context.Context, parts []*partWriter[T]) error {
	workers := min(runtime.GOMAXPROCS(0), len(parts))
	closed := 0
	for _, pw := range parts {
		if pw.w == nil {
			closed++
		}
	}
	if workers <= 1 || len(w.open)+closed > w.d.opts.MaxOpenPartitions {
		for _, pw := range parts {
			if err := w.writePart(ctx, pw); err != nil {
				return err
			}
		}
		return nil
	}
	for _, pw := range parts {
		if err := w.prepare(ctx, pw); err != nil {
			return err
		}
	}
	// workers goroutines take the partitions in turn: starting them never
	// blocks, so a pipelined Write returns at once
	g, gctx := w.fillGroup(ctx)
	var next atomic.Int64
	for range workers {
		g.Go(func() error {
			for i := next.Add(1) - 1; i < int64(len(parts)); i = next.Add(1) - 1 {
				if err := gctx.Err(); err != nil { // another fill failed
					return err
				}
				if err := w.fill(gctx, parts[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if w.pipelined { // the rows are copies in pw.buf: see writer_async.go
		w.inflight = g
		return nil
	}
	return g.Wait()
}

// writePart writes pw.buf to its partition's file, opening (and evicting
// another) or rolling files as needed.
func (w *Writer[T]) writePart(ctx context.Context, pw *partWriter[T]) error {
	if err := w.prepare(ctx, pw); err != nil {
		pw.buf = pw.buf[:0]
		return err
	}
	return w.fill(ctx, pw)
}

// prepare opens pw's file (evicting the least recently used partition
// when too many are open) and marks pw used.
func (w *Writer[T]) prepare(ctx context.Context, pw *partWriter[T]) error {
	if pw.w == nil {
		if _, isOpen := w.open[pw.path]; !isOpen && len(w.open) >= w.d.opts.MaxOpenPartitions {
			if err := w.evict(ctx); err != nil {
				return err
			}
		}
		if err := w.openFile(pw); err != nil {
			return err
		}
		w.open[pw.path] = pw
	}
	w.clock++
	pw.used = w.clock
	return nil
}

// fill writes pw.buf to pw's open file, finishing and rolling files at the
// size or row limits. It touches only pw and what is safe to share (the
// transaction, the pool, atomic counters), so fills of different
// partitions run at once.
func (w *Writer[T]) fill(ctx context.Context, pw *partWriter[T]) error {
	defer func() { pw.buf = pw.buf[:0] }()
	rows := pw.buf
	for len(rows) > 0 {
		n := len(rows)
		if max := w.d.opts.MaxRowsPerFile; max > 0 && pw.rows+int64(n) > max {
			n = int(max - pw.rows)
		}
		if _, err := pw.w.Write(rows[:n]); err != nil {
			return fmt.Errorf("zones: write to %s: %w", pw.key, err)
		}
		pw.rows += int64(n)
		rows = rows[n:]
		full := w.d.opts.MaxRowsPerFile > 0 && pw.rows >= w.d.opts.MaxRowsPerFile
		if full || pw.w.Size() >= w.d.opts.TargetFileSize {
			if err := w.finish(ctx, pw); err != nil {
				return err
			}
			if len(rows) > 0 {
				if err := w.openFile(pw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func joinKey(parts ...string) string { return lake.JoinKey(parts...) }

func (w *Writer[T]) openFile(pw *partWriter[T]) error {
	pw.key, pw.upload = w.tx.FileKey(pw.part)
	pw.rows = 0
	var pool parquet.BufferPool
	if w.pool == nil {
		pw.f = &memFile{}
	} else {
		pool = w.pool
		pw.f = &bufferFile{w.pool, w.pool.Get()}
	}
	pw.w = parquet.NewGenericWriter[T](pw.f, w.fileOptions(pool)...)
	return nil
}

func (w *Writer[T]) evict(ctx context.Context) error {
	var lru *partWriter[T]
	for _, pw := range w.open {
		if lru == nil || pw.used < lru.used {
			lru = pw
		}
	}
	if lru == nil {
		return nil
	}
	delete(w.open, lru.path)
	if lru.w == nil {
		return nil
	}
	return w.finish(ctx, lru)
}

// finish closes and uploads pw's file and records it.
func (w *Writer[T]) finish(ctx context.Context, pw *partWriter[T]) error {
	df, ok, err := w.closeFile(ctx, pw)
	if err != nil || !ok {
		return err
	}
	w.tx.Add(df)
	atomic.AddInt64(&w.bytes, df.Size)
	atomic.AddInt64(&w.nfiles, 1)
	w.progress()
	return nil
}

// closeFile finishes pw's file and uploads it; an empty file is dropped
// (ok false). It touches no Writer state but the dataset, so several may run
// at once.
func (w *Writer[T]) closeFile(ctx context.Context, pw *partWriter[T]) (DataFile, bool, error) {
	gw, f := pw.w, pw.f
	pw.w, pw.f = nil, nil
	defer f.discard()
	if err := gw.Close(); err != nil {
		return DataFile{}, false, fmt.Errorf("zones: finish %s: %w", pw.key, err)
	}
	if pw.rows == 0 {
		return DataFile{}, false, nil
	}
	md := gw.File().Metadata()
	body, size, err := f.reader()
	if err != nil {
		return DataFile{}, false, err
	}
	df, err := w.tx.Upload(ctx, pw.part, pw.key, pw.upload, body, size)
	if err != nil {
		return DataFile{}, false, err
	}
	df.Rows, df.Stats = md.NumRows, fileStats(w.d.schema, md)
	w.d.logger.Debug("zones: file written", "key", pw.key, "rows", df.Rows, "bytes", size)
	return df, true, nil
}

func (w *Writer[T]) progress() {
	if w.d.opts.Progress != nil {
		w.progressMu.Lock() // fills of several partitions finish files at once
		defer w.progressMu.Unlock()
		w.d.opts.Progress(Progress{Table: string(w.d.table.zone.Name()) + "/" + w.d.table.prefix,
			Rows: atomic.LoadInt64(&w.rows), Files: atomic.LoadInt64(&w.nfiles), Bytes: atomic.LoadInt64(&w.bytes)})
	}
}

// flush closes and uploads every open file, a few at a time.
func (w *Writer[T]) flush(ctx context.Context) error {
	open := make([]*partWriter[T], 0, len(w.open))
	for _, pw := range w.open {
		if pw.w != nil {
			open = append(open, pw)
		}
	}
	sort.Slice(open, func(i, j int) bool { return open[i].path < open[j].path })
	w.open = map[string]*partWriter[T]{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, pw := range open {
		g.Go(func() error {
			df, ok, err := w.closeFile(gctx, pw)
			if err != nil || !ok {
				return err
			}
			mu.Lock()
			w.tx.Add(df)
			w.bytes += df.Size
			w.nfiles++
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	w.progress()
	return err
}

// discardOpen drops the open files without uploading them.
func (w *Writer[T]) discardOpen() {
	for _, pw := range w.open {
		if pw.w != nil {
			pw.w.Close()
			pw.f.discard()
			pw.w, pw.f = nil, nil
		}
	}
	w.open = nil
}

// Abort drops the write: open files are discarded and the files this
// attempt uploaded deleted (best effort; leftovers are orphans Vacuum
// removes). The table is unchanged.
func (w *Writer[T]) Abort(ctx context.Context) error {
	if w.fw != nil { // Options.Format: see format.go
		return w.formatAbort()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("zones: abort %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	w.done = true
	defer w.closePool()
	w.wait() // its error does not matter: nothing is kept
	w.discardOpen()
	if err := w.tx.Abort(ctx); err != nil {
		return fmt.Errorf("zones: abort %s: %w", w.d.table.prefix, err)
	}
	return nil
}

// closePool closes the page buffers the writer kept for reuse.
func (w *Writer[T]) closePool() {
	if w.pool != nil {
		w.pool.Close()
	}
}
