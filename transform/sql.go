package transform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/zones"
)

// SQLOptions configure a SQL transform. A nil *SQLOptions means defaults.
type SQLOptions struct {
	// Inputs are the tables the statement reads. Their versions make the
	// ledger entry: a run when none of them changed since the last
	// committed run does nothing (no query runs).
	Inputs []*zones.Table
	// Params are bound to the statement's ? placeholders by the engine.
	Params []any
	// By default the result replaces the whole output table (the
	// statement computes all of it). OverwritePartitions replaces only the
	// partitions the result has rows in; Append adds the rows (INSERT
	// INTO). At most one may be set.
	OverwritePartitions, Append bool
	// BatchSize is how many rows are handed to the writer at once
	// (default 4096).
	BatchSize int
	Caller    string
	Logger    *slog.Logger
}

// Refresher is implemented by engines whose views of the lake must be
// brought to the newest snapshots before a statement (the DuckDB engine).
type Refresher interface {
	Refresh(ctx context.Context) error
}

// Versioner is implemented by engines that know which version of a table
// their view shows (the DuckDB engine); the ledger then records exactly
// what the statement read.
type Versioner interface {
	Version(database, table string) (int64, bool)
}

// SQLTransform runs one SQL statement over zone datasets through a
// query.Engine and writes its rows to an output dataset. Build one with
// SQL.
type SQLTransform[Out any] struct {
	name   string
	eng    query.Engine
	stmt   string
	out    *zones.Dataset[Out]
	opts   SQLOptions
	mode   zones.Mode
	sys    *lake.Store
	logger *slog.Logger
}

// SQL makes a SQL transform called name: statement runs on eng (locally
// the DuckDB engine of query/duckdb, whose views are the lake's tables as
// "<database>"."<table>"), its result columns map to Out's fields by name
// (query.Rows), and the rows go to out in one commit with the ledger
// entry. On an engine that writes files itself (a query.Unloader: Athena,
// Redshift) no row passes through the client: the statement runs as an
// UNLOAD into a staging folder of out's table, its columns cast to the
// table's types, and the Parquet files are adopted
// (zones.Dataset.AddFiles) in one commit with the ledger entry; BatchSize
// does not apply there. Where the engine cannot UNLOAD the output as the
// table reads it (Athena writes timestamps as INT96; Redshift has no
// tinyint; an output table off S3) nothing is unloaded and the rows take
// the client path, which is logged.
func SQL[Out any](name string, eng query.Engine, statement string, out *zones.Dataset[Out], opts *SQLOptions) (*SQLTransform[Out], error) {
	s := &SQLTransform[Out]{name: name, eng: eng, stmt: statement, out: out}
	if opts != nil {
		s.opts = *opts
	}
	if err := lake.ValidateName("transform name", name); err != nil {
		return nil, fmt.Errorf("transform: %w: %w", ErrInvalid, err)
	}
	if eng == nil || out == nil || statement == "" {
		return nil, invalidf("SQL transform %s: needs an engine, a statement and an output dataset", name)
	}
	switch {
	case s.opts.OverwritePartitions && s.opts.Append:
		return nil, invalidf("SQL transform %s: OverwritePartitions and Append both set", name)
	case s.opts.OverwritePartitions:
		s.mode = zones.OverwritePartitions
	case s.opts.Append:
		s.mode = zones.Append
	default:
		s.mode = zones.Overwrite
	}
	if s.opts.BatchSize <= 0 {
		s.opts.BatchSize = 4096
	}
	lk := out.Table().Zone().Lake()
	var err error
	if s.sys, err = lk.System("transform"); err != nil {
		return nil, err
	}
	s.logger = s.opts.Logger
	if s.logger == nil {
		s.logger = lk.Logger()
	}
	s.logger = s.logger.With("transform", name)
	return s, nil
}

// Ledger reads the SQL transform's ledger back from the output table.
func (s *SQLTransform[Out]) Ledger(ctx context.Context) (*Ledger, error) {
	return loadLedger(ctx, s.name, s.out.Table(), s.sys)
}

// Name returns the SQL transform's name.
func (s *SQLTransform[Out]) Name() string { return s.name }

// Run refreshes the engine's views (when it is a Refresher), and unless no
// input table changed since the last run, runs the statement and commits
// its rows with the input versions as the ledger entry. The error says
// what is committed as for Transform.Run: nil or one wrapping
// zones.ErrCatalog (only then) means the rows are committed and recorded
// (Result.CatalogErr has the catalog error); one wrapping
// zones.ErrCommitUnknown means rerun — with declared Inputs the rerun
// finds the commit in the ledger, or commits under the same key (the key
// is derived from the input versions), while a transform without Inputs
// makes a new key each run, so check the output's history before rerunning
// an Append one; any other error means nothing is committed.
func (s *SQLTransform[Out]) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	res := &Result{Transform: s.name}
	if r, ok := s.eng.(Refresher); ok {
		if err := r.Refresh(ctx); err != nil {
			return nil, fmt.Errorf("transform %s: refresh engine: %w", s.name, err)
		}
	}
	l, err := s.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	inputs, err := s.inputs(ctx)
	if err != nil {
		return nil, err
	}
	if len(inputs) > 0 && len(l.Entries) > 0 {
		last := l.Entries[len(l.Entries)-1]
		if sameInputs(last.Inputs, inputs) {
			res.finish(start)
			s.logger.Info("transform: sql: inputs unchanged", res.logAttrs()...)
			return res, nil
		}
	}
	entry := &LedgerEntry{Transform: s.name, Epoch: l.Epoch, Unit: "sql", Inputs: inputs}
	if len(inputs) == 0 {
		// no declared inputs: every run is new work
		entry.Unit = "sql:" + time.Now().UTC().Format(time.RFC3339Nano)
	}
	if u, ok := s.eng.(query.Unloader); ok {
		err := s.runUnload(ctx, u, entry, res)
		if err == nil {
			res.finish(start)
			s.logger.Info("transform: sql: unloaded and adopted", res.logAttrs()...)
			return res, catalogOutcome(s.name, res)
		}
		if !errors.Is(err, errUnloadRefused) {
			return res, fmt.Errorf("transform %s: %w", s.name, err)
		}
		// The engine cannot write this output as files lakekit adopts (an
		// Athena timestamp column: its UNLOAD writes INT96; an output
		// table off S3): nothing ran, so the rows take the client path.
		s.logger.Info("transform: sql: the engine cannot UNLOAD this output; its rows pass through the client", "transform", s.name, "reason", err)
	}
	w, err := newUnitWriter(ctx, s.out, entry, zones.WriterOptions{Mode: s.mode, Caller: s.opts.Caller})
	if err != nil {
		return nil, err
	}
	if err := s.write(ctx, w, res); err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return res, fmt.Errorf("transform %s: %w", s.name, err)
	}
	res.RowsIn = res.RowsOut
	if err := w.commitUnit(ctx, res); err != nil {
		return res, fmt.Errorf("transform %s: %w", s.name, err)
	}
	res.finish(start)
	s.logger.Info("transform: sql", res.logAttrs()...)
	return res, catalogOutcome(s.name, res)
}

// inputs are the versions of the declared input tables, as the engine
// sees them when it can say, else the newest.
func (s *SQLTransform[Out]) inputs(ctx context.Context) ([]InputFile, error) {
	var inputs []InputFile
	for _, t := range s.opts.Inputs {
		var v int64
		if vr, ok := s.eng.(Versioner); ok {
			v, _ = vr.Version(t.Database(), t.Name())
		}
		if v == 0 {
			snap, err := t.Snapshot(ctx, 0)
			if err != nil && !errors.Is(err, zones.ErrNoSuchTable) {
				return nil, err
			}
			if snap != nil {
				v = snap.Version
			}
		}
		inputs = append(inputs, InputFile{Key: tableID(t), Size: v})
	}
	return inputs, nil
}

// write runs the statement and writes its rows to w in batches.
func (s *SQLTransform[Out]) write(ctx context.Context, w *unitWriter[Out], res *Result) error {
	buf := make([]Out, 0, s.opts.BatchSize)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := w.Write(ctx, buf); err != nil {
			return err
		}
		res.RowsOut += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	for row, err := range query.Rows[Out](ctx, s.eng, s.stmt, s.opts.Params...) {
		if err != nil {
			return err
		}
		buf = append(buf, row)
		if len(buf) >= s.opts.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func sameInputs(a, b []InputFile) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]InputFile{}
	for _, f := range a {
		m[f.Key] = f
	}
	for _, f := range b {
		if c, ok := m[f.Key]; !ok || !c.same(f) {
			return false
		}
	}
	return true
}
