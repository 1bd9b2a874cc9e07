package transform

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Func is what a transform does to its input rows: a row function (Map),
// a row-to-many function (FlatMap), or a function over a whole input
// partition (PerPartition). Build one with those constructors.
type Func[In, Out any] struct {
	row  func(context.Context, In) (Out, error)
	flat func(context.Context, In, func(Out)) error
	part func(context.Context, lake.Partition, iter.Seq2[In, error], func(Out)) error
}

// Map applies fn to every valid input row. fn returns the output row; or
// Skip to drop the row deliberately; or an error, which sends the row to
// quarantine (rule "map") and the batch goes on — wrap the error with Fatal
// to stop the run instead.
func Map[In, Out any](fn func(ctx context.Context, in In) (Out, error)) Func[In, Out] {
	return Func[In, Out]{row: fn}
}

// Identity passes rows through unchanged: decode, validate, quarantine and
// write, with no transformation (raw → cleaned).
func Identity[T any]() Func[T, T] {
	return Map(func(_ context.Context, in T) (T, error) { return in, nil })
}

// FlatMap applies fn to every valid input row; fn emits zero or more output
// rows. Errors are handled as for Map; the rows emitted by a call that
// returns an error are dropped with its record. An output row the output
// dataset cannot file (an empty or invalid partition value) goes to
// quarantine on its own (rule "partition"), with its input's position.
func FlatMap[In, Out any](fn func(ctx context.Context, in In, emit func(Out)) error) Func[In, Out] {
	return Func[In, Out]{flat: fn}
}

// PerPartition runs fn once per unit of work over the valid rows of one
// input partition (aggregations): rows yields them (rejected rows have
// already gone to quarantine), emit writes output rows. An error from fn
// stops the run. Use it with zones.OverwritePartitions so a unit is the
// whole input partition and a recomputation replaces the previous result.
func PerPartition[In, Out any](fn func(ctx context.Context, partition lake.Partition, rows iter.Seq2[In, error], emit func(Out)) error) Func[In, Out] {
	return Func[In, Out]{part: fn}
}

func (f Func[In, Out]) valid() bool {
	n := 0
	for _, ok := range []bool{f.row != nil, f.flat != nil, f.part != nil} {
		if ok {
			n++
		}
	}
	return n == 1
}

// Options configure a transform. A nil *Options means defaults.
type Options[Out any] struct {
	// Mode is zones.Append (default: each unit's output is appended) or
	// zones.OverwritePartitions (a unit is a whole input partition; its
	// output replaces the output partitions it produces, so recomputing a
	// partition replaces it). Overwrite is refused.
	Mode zones.Mode
	// Parallelism bounds the units processed at once (default 4).
	Parallelism int
	// FilesPerUnit is how many new input files make one unit of work, and
	// so one output commit, in Append mode (default 8).
	FilesPerUnit int
	// MaxUnits bounds the units of one run (0: all pending input).
	MaxUnits int
	// Rules validate every decoded input row; a row that breaks one goes
	// to quarantine with the rule and reason.
	Rules []Rule
	// Quarantine receives rejected records; nil means QuarantineDataset(out).
	Quarantine *zones.Dataset[Quarantine]
	// DedupKey, when set, drops output rows whose key was already written:
	// within the run and by earlier runs (against the rows stored in the
	// output partitions the new rows fall into). Rows with the same key
	// must fall into the same output partition. Concurrent runs of the
	// same transform in different processes are not deduplicated against
	// each other.
	DedupKey func(Out) string
	// BatchSize is how many output rows are handed to the writer at once
	// (default 4096).
	BatchSize int
	// Caller goes into the audit record of each commit.
	Caller string
	// Logger receives a line per unit and per run; nil means the lake's.
	Logger *slog.Logger
}

// Result counts what a run did.
type Result struct {
	Transform string
	// Units processed (output commits made); Files consumed.
	Units, Files int
	// RowsIn are the records read; RowsOut the rows written; Rejected the
	// records sent to quarantine; Skipped the rows a Map dropped with Skip;
	// Duplicates the rows DedupKey dropped. For Map and FlatMap,
	// RowsIn = accepted + Rejected + Skipped, where accepted rows produced
	// the output.
	RowsIn, RowsOut, Rejected, Skipped, Duplicates int64
	// Merge counts what a CDC merge did (Merge only).
	Merge MergeStats
	// Versions are the output table versions committed, in commit order
	// (ascending), whatever order parallel units finished in.
	Versions []int64
	// Unaccepted counts the raw objects under the source's prefix that no
	// rule of its layout accepts (FromRaw): they were not read, and each
	// was logged with its key. Not counted in Files.
	Unaccepted int
	// Duplicate counts units whose commit was already in the output table
	// (a retry after a crash): nothing was written twice.
	DuplicateCommits int
	// CatalogErr is set when units were committed (their output and
	// ledger entries are in the output table, counted above) but
	// publishing a commit to the catalog failed: it wraps zones.ErrCatalog
	// (one error per such commit, joined). The data must not be written
	// again: the next commit, Dataset.SyncCatalog or Vacuum brings the
	// catalog up to date. When it is the only failure, Run returns it too
	// (see Transform.Run); when Run also fails otherwise it is only here.
	CatalogErr error
	Duration   time.Duration
}

func (r *Result) add(o *Result) {
	r.Units += o.Units
	r.Files += o.Files
	r.RowsIn += o.RowsIn
	r.RowsOut += o.RowsOut
	r.Rejected += o.Rejected
	r.Skipped += o.Skipped
	r.Duplicates += o.Duplicates
	r.Merge.add(o.Merge)
	r.Versions = append(r.Versions, o.Versions...)
	r.DuplicateCommits += o.DuplicateCommits
	r.Unaccepted += o.Unaccepted
	r.CatalogErr = errors.Join(r.CatalogErr, o.CatalogErr)
}

// finish puts Versions in commit order: units run in parallel and finish
// in any order, but a table's versions are numbered in commit order.
func (r *Result) finish(start time.Time) {
	slices.Sort(r.Versions)
	r.Duration = time.Since(start)
}

func (r *Result) logAttrs() []any {
	return []any{"transform", r.Transform, "units", r.Units, "files", r.Files, "rows_in", r.RowsIn,
		"rows_out", r.RowsOut, "rejected", r.Rejected, "skipped", r.Skipped, "duplicates", r.Duplicates,
		"unaccepted", r.Unaccepted,
		"duration", r.Duration}
}

// Transform moves rows from a source into an output dataset, incrementally
// and exactly once. See the package documentation.
type Transform[In, Out any] struct {
	name   string
	src    Source[In]
	fn     Func[In, Out]
	out    *zones.Dataset[Out]
	opts   Options[Out]
	val    *Validator[In]
	qds    *zones.Dataset[Quarantine]
	sys    *lake.Store
	logger *slog.Logger
}

// New makes a transform called name (a transform's name keys its ledger:
// lower case letters, digits and underscore) reading src, applying fn and
// writing to out. Bad options, rules that don't fit In, or a source without
// what it needs are refused with ErrInvalid before anything is read.
func New[In, Out any](name string, src Source[In], fn Func[In, Out], out *zones.Dataset[Out], opts *Options[Out]) (*Transform[In, Out], error) {
	t := &Transform[In, Out]{name: name, src: src, fn: fn, out: out}
	if opts != nil {
		t.opts = *opts
	}
	if err := lake.ValidateName("transform name", name); err != nil {
		return nil, fmt.Errorf("transform: %w: %w", ErrInvalid, err)
	}
	if src == nil || out == nil {
		return nil, invalidf("transform %s: nil source or output dataset", name)
	}
	if rs, ok := src.(interface{ check() error }); ok {
		if err := rs.check(); err != nil {
			return nil, err
		}
	}
	if !fn.valid() {
		return nil, invalidf("transform %s: the function must be built with Map, FlatMap, PerPartition or Identity", name)
	}
	switch t.opts.Mode {
	case zones.Append, zones.OverwritePartitions:
	default:
		return nil, invalidf("transform %s: mode %s (want append or overwrite_partitions)", name, t.opts.Mode)
	}
	if t.opts.Parallelism <= 0 {
		t.opts.Parallelism = 4
	}
	if t.opts.FilesPerUnit <= 0 {
		t.opts.FilesPerUnit = 8
	}
	if t.opts.BatchSize <= 0 {
		t.opts.BatchSize = 4096
	}
	val, err := NewValidator[In](t.opts.Rules...)
	if err != nil {
		return nil, fmt.Errorf("transform %s: %w", name, err)
	}
	t.val = val
	t.qds = t.opts.Quarantine
	if t.qds == nil {
		if t.qds, err = QuarantineDataset(out); err != nil {
			return nil, fmt.Errorf("transform %s: quarantine dataset: %w", name, err)
		}
	}
	lk := out.Table().Zone().Lake()
	if t.sys, err = lk.System("transform"); err != nil {
		return nil, err
	}
	t.logger = t.opts.Logger
	if t.logger == nil {
		t.logger = lk.Logger()
	}
	t.logger = t.logger.With("transform", name)
	return t, nil
}

// Name returns the transform's name.
func (t *Transform[In, Out]) Name() string { return t.name }

// Output returns the output dataset.
func (t *Transform[In, Out]) Output() *zones.Dataset[Out] { return t.out }

// QuarantineDataset returns where rejected records go.
func (t *Transform[In, Out]) QuarantineDataset() *zones.Dataset[Quarantine] { return t.qds }

// Ledger reads the transform's ledger back from the output table's
// commits.
func (t *Transform[In, Out]) Ledger(ctx context.Context) (*Ledger, error) {
	return loadLedger(ctx, t.name, t.out.Table(), t.sys)
}

// Run processes the input not yet in the ledger: it plans units of work
// from listings and the ledger (no data is read when nothing is new), runs
// them with bounded parallelism, and commits each unit's output together
// with its ledger entry. A unit that was committed before (a retry after a
// crash) is not written again. Rejected records go to quarantine and the
// run goes on; Run fails on I/O errors, Fatal row errors and errors from a
// PerPartition function (committed units stay committed, and a rerun does
// the rest).
//
// What the error says about the output:
//   - nil: every planned unit is committed and recorded.
//   - an error wrapping zones.ErrCatalog (and only then): every planned
//     unit is committed and recorded as well, and the Result counts them,
//     but the catalog was not brought up to date for some commit
//     (Result.CatalogErr). Do not rerun for it; the next commit,
//     Dataset.SyncCatalog or Vacuum updates the catalog.
//   - an error wrapping zones.ErrCommitUnknown: a unit's commit may or may
//     not have landed. Rerun: the unit's idempotency key is derived from
//     the transform, the ledger epoch and the unit's exact inputs, so the
//     rerun skips the unit when its commit is in the ledger and commits it
//     under the same key when it is not.
//   - any other error: the units in the Result are committed, the others
//     are not; a rerun does the rest.
func (t *Transform[In, Out]) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	res := &Result{Transform: t.name}
	l, err := t.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	var ps planStats
	units, err := t.src.plan(ctx, l, planOptions{wholePartitions: t.opts.Mode == zones.OverwritePartitions,
		filesPerUnit: t.opts.FilesPerUnit, maxUnits: t.opts.MaxUnits, stats: &ps})
	res.Unaccepted = ps.unaccepted
	if err != nil {
		return nil, fmt.Errorf("transform %s: plan: %w", t.name, err)
	}
	var dd *dedupState[Out]
	if t.opts.DedupKey != nil && len(units) > 0 {
		dd = newDedupState(t.out, t.opts.DedupKey)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Parallelism)
	for _, u := range units {
		g.Go(func() error {
			r, err := t.runUnit(gctx, l.Epoch, u, dd)
			if err != nil {
				return fmt.Errorf("transform %s: unit %s: %w", t.name, u.name, err)
			}
			mu.Lock()
			res.add(r)
			mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	res.finish(start)
	if err != nil {
		t.logger.Error("transform: run failed", append(res.logAttrs(), "err", err)...)
		return res, err
	}
	if len(units) > 0 {
		// refresh the ledger hint so the next run starts from here
		if _, lerr := t.Ledger(ctx); lerr != nil {
			t.logger.Warn("transform: ledger cache not refreshed", "err", lerr)
		}
	}
	t.logger.Info("transform: run", res.logAttrs()...)
	return res, catalogOutcome(t.name, res)
}

// unitRun holds the state of one unit of work.
type unitRun[In, Out any] struct {
	t      *Transform[In, Out]
	u      *unit
	res    *Result
	q      []Quarantine
	now    time.Time
	buf    []Out
	w      *unitWriter[Out]
	entry  *LedgerEntry
	cur    Record   // position of the input record being processed (no Raw)
	bufPos []Record // input position of each buffered output row
	dd     *dedupState[Out]
	err    error // first error of emit (writer failures)
	// sink, when set, takes the output rows instead of the unit's writer
	// (a fan-out worker writes staging files and does not commit).
	sink func(context.Context, []Out) error
}

func (t *Transform[In, Out]) runUnit(ctx context.Context, epoch int, u *unit, dd *dedupState[Out]) (*Result, error) {
	r := &unitRun[In, Out]{t: t, u: u, res: &Result{Transform: t.name}, now: time.Now().UTC(), dd: dd}
	r.entry = &LedgerEntry{Transform: t.name, Epoch: epoch, Unit: u.name, Partition: u.partPath, Inputs: u.inputs, InputVersion: u.version}
	if err := r.process(ctx); err != nil {
		if r.w != nil {
			r.w.Abort(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return r.commit(ctx)
}

func (r *unitRun[In, Out]) reject(rec Record, row any, rule, field, reason string) {
	r.res.Rejected++
	r.q = append(r.q, quarantineOf(r.t.name, rec, r.u.partPath, row, rule, field, reason, r.now))
}

// valid yields the unit's rows that decode and pass the rules; the others
// go to quarantine.
func (r *unitRun[In, Out]) valid(ctx context.Context) iter.Seq2[Decoded[In], error] {
	return func(yield func(Decoded[In], error) bool) {
		for d, err := range r.t.src.rows(ctx, r.u) {
			if err != nil {
				yield(d, err)
				return
			}
			r.res.RowsIn++
			if d.Err != nil {
				r.reject(d.Record, nil, "decode", "", reasonOf(d.Err))
				continue
			}
			if r.t.val.Len() > 0 { // without rules, no copy of the row escapes
				if vi := r.t.val.Check(d.Row); vi != nil {
					r.reject(d.Record, d.Row, vi.Rule, vi.Field, vi.Reason)
					continue
				}
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// emit buffers an output row; with flushing set it writes a full batch
// at once (PerPartition), otherwise the caller flushes between records.
func (r *unitRun[In, Out]) emit(ctx context.Context, flushing bool) func(Out) {
	return func(o Out) {
		if r.err != nil {
			return
		}
		r.buf = append(r.buf, o)
		r.bufPos = append(r.bufPos, r.cur)
		if flushing && len(r.buf) >= r.t.opts.BatchSize {
			r.err = r.flush(ctx)
		}
	}
}

func (r *unitRun[In, Out]) writer(ctx context.Context) (*unitWriter[Out], error) {
	if r.w != nil {
		return r.w, nil
	}
	w, err := newUnitWriter(ctx, r.t.out, r.entry, zones.WriterOptions{Mode: r.t.opts.Mode, Caller: r.t.opts.Caller})
	if err != nil {
		return nil, err
	}
	r.w = w
	return w, nil
}

func (r *unitRun[In, Out]) flush(ctx context.Context) error {
	if len(r.buf) == 0 {
		return nil
	}
	defer func() { r.buf, r.bufPos = r.buf[:0], r.bufPos[:0] }()
	rows := r.buf
	if r.dd != nil {
		// dedup files rows by partition anyway: drop unfileable rows first
		rows = r.dropBadPartitions(rows)
		var dropped int64
		var err error
		rows, dropped, err = r.dd.filter(ctx, rows)
		if err != nil {
			return err
		}
		r.res.Duplicates += dropped
	}
	if r.sink != nil {
		if r.dd == nil {
			rows = r.dropBadPartitions(rows)
		}
		if err := r.sink(ctx, rows); err != nil {
			return err
		}
		r.res.RowsOut += int64(len(rows))
		return nil
	}
	w, err := r.writer(ctx)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		err := w.Write(ctx, rows)
		if err != nil && errors.Is(err, zones.ErrInvalid) && !errors.Is(err, zones.ErrWriterClosed) && r.dd == nil {
			// Write checks every row before writing any: find the rows
			// the output cannot file, quarantine them, write the rest
			rows = r.dropBadPartitions(rows)
			err = nil
			if len(rows) > 0 {
				err = w.Write(ctx, rows)
			}
		}
		if err != nil {
			return err
		}
	}
	r.res.RowsOut += int64(len(rows))
	return nil
}

// dropBadPartitions removes the buffered rows without a valid partition
// (rows must be r.buf, in emit order) and quarantines them with the
// position of the input record that produced them.
func (r *unitRun[In, Out]) dropBadPartitions(rows []Out) []Out {
	if len(r.t.out.PartitionKeys()) == 0 {
		return rows
	}
	kept := rows[:0]
	for i := range rows {
		if _, err := r.t.out.PartitionOf(&rows[i]); err != nil {
			r.reject(r.bufPos[i], rows[i], "partition", "", err.Error())
			continue
		}
		kept = append(kept, rows[i])
	}
	return kept
}

func (r *unitRun[In, Out]) process(ctx context.Context) error {
	f := r.t.fn
	if f.part != nil {
		emit := r.emit(ctx, true)
		var streamErr error
		rows := func(yield func(In, error) bool) {
			for d, err := range r.valid(ctx) {
				if err != nil {
					streamErr = err
					yield(d.Row, err)
					return
				}
				if !yield(d.Row, nil) {
					return
				}
			}
		}
		if err := f.part(ctx, r.u.partition, rows, emit); err != nil {
			return err
		}
		if streamErr != nil {
			return streamErr
		}
	} else {
		emit := r.emit(ctx, false)
		for d, err := range r.valid(ctx) {
			if err != nil {
				return err
			}
			r.cur = d.Record
			r.cur.Raw = nil
			mark := len(r.buf)
			var ferr error
			if f.row != nil {
				var o Out
				if o, ferr = f.row(ctx, d.Row); ferr == nil {
					emit(o)
				}
			} else {
				ferr = f.flat(ctx, d.Row, emit)
			}
			if ferr != nil { // the record's rows go with it
				r.buf, r.bufPos = r.buf[:mark], r.bufPos[:mark]
			}
			switch {
			case ferr == nil:
			case errors.Is(ferr, Skip):
				r.res.Skipped++
			case errors.Is(ferr, ErrFatal), errors.Is(ferr, context.Canceled), errors.Is(ferr, context.DeadlineExceeded):
				return ferr
			default:
				var v *Violation
				if errors.As(ferr, &v) {
					r.reject(d.Record, d.Row, v.Rule, v.Field, v.Reason)
				} else {
					r.reject(d.Record, d.Row, "map", "", ferr.Error())
				}
			}
			if len(r.buf) >= r.t.opts.BatchSize {
				if err := r.flush(ctx); err != nil {
					return err
				}
			}
		}
	}
	if r.err != nil {
		return r.err
	}
	return r.flush(ctx)
}

// commit writes the quarantine first (its own idempotent commits), then
// the output with the ledger entry in the same commit (commitUnit).
func (r *unitRun[In, Out]) commit(ctx context.Context) (*Result, error) {
	if len(r.q) > 0 {
		catErr, err := writeQuarantine(ctx, r.t.qds, r.t.name, r.u.inputs, r.t.opts.Caller, r.q)
		if err != nil {
			r.abort(ctx)
			return nil, err
		}
		r.res.CatalogErr = catErr
	}
	w, err := r.writer(ctx)
	if err != nil {
		return nil, err
	}
	if err := w.commitUnit(ctx, r.res); err != nil {
		return nil, err
	}
	if r.res.CatalogErr != nil {
		r.t.logger.Warn("transform: unit committed, catalog not updated", "unit", r.u.name, "err", r.res.CatalogErr)
	}
	r.t.logger.Info("transform: unit committed", "unit", r.u.name, "version", r.res.Versions[0], "duplicate", r.res.DuplicateCommits > 0,
		"rows_in", r.res.RowsIn, "rows_out", r.res.RowsOut, "rejected", r.res.Rejected)
	return r.res, nil
}

func (r *unitRun[In, Out]) abort(ctx context.Context) {
	if r.w != nil {
		r.w.Abort(context.WithoutCancel(ctx))
	}
}

// reasonOf is an error's message without the package's sentinel suffix.
func reasonOf(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+ErrDecode.Error())
}
