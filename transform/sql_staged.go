package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// StagedOptions configure a Staged commit. A nil *StagedOptions means an
// append.
type StagedOptions struct {
	// OverwritePartitions replaces the partitions a run wrote; Overwrite
	// replaces the whole table. At most one may be set.
	OverwritePartitions, Overwrite bool
	Caller                         string
}

// Staged commits what an external step — a Glue (Spark) job, an EMR step,
// any engine that writes Parquet — wrote into a staging folder of a
// lakekit table: one commit per run, holding the run's files (adopted with
// zones.Dataset.AddFiles, checked against the table's schema) and a ledger
// entry whose unit is the run. Build one with NewStaged; the orchestrate
// package's GlueJobInto wires it after a Glue job step.
//
// The staging folder is StagingURL(): "<table>/_lakekit/staging/job-<name>/".
// Each run writes its Parquet files (partitioned as key=value folders for
// a partitioned table) under its own folder StagingURL()+"<run id>/" — a
// Glue job under its --JOB_RUN_ID — so the files of a failed or retried
// run are never adopted: Commit takes one run's folder. Hive, Athena,
// Spectrum and crawlers skip the "_lakekit" folder and no catalog location
// points there, so nothing staged is visible before its commit, and Vacuum
// deletes what was never committed once the retention has passed.
type Staged[T any] struct {
	name   string
	out    *zones.Dataset[T]
	mode   zones.Mode
	caller string
	sys    *lake.Store
}

// NewStaged returns the staged commit called name (the ledger's transform
// name) into out.
func NewStaged[T any](name string, out *zones.Dataset[T], opts *StagedOptions) (*Staged[T], error) {
	if err := lake.ValidateName("transform name", name); err != nil {
		return nil, fmt.Errorf("transform: %w: %w", ErrInvalid, err)
	}
	if out == nil {
		return nil, invalidf("staged commit %s: no output dataset", name)
	}
	var o StagedOptions
	if opts != nil {
		o = *opts
	}
	s := &Staged[T]{name: name, out: out, caller: o.Caller}
	switch {
	case o.OverwritePartitions && o.Overwrite:
		return nil, invalidf("staged commit %s: OverwritePartitions and Overwrite both set", name)
	case o.OverwritePartitions:
		s.mode = zones.OverwritePartitions
	case o.Overwrite:
		s.mode = zones.Overwrite
	default:
		s.mode = zones.Append
	}
	var err error
	if s.sys, err = out.Table().Zone().Lake().System("transform"); err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns the staged commit's name.
func (s *Staged[T]) Name() string { return s.name }

// stagingPrefix is the staging folder's key prefix in the table's zone.
func (s *Staged[T]) stagingPrefix() string {
	return s.out.Table().Prefix() + "/" + zones.StagingDir + "job-" + s.name + "/"
}

// StagingURL is the folder runs write under (ending in "/"): an s3:// URL
// on S3, file:// on a directory lake.
func (s *Staged[T]) StagingURL() string {
	return s.out.Table().Zone().Store().Location(s.stagingPrefix())
}

// Ledger reads the staged commit's ledger back from the output table.
func (s *Staged[T]) Ledger(ctx context.Context) (*Ledger, error) {
	return loadLedger(ctx, s.name, s.out.Table(), s.sys)
}

// Commit adopts the files run wrote under StagingURL()+run+"/" into the
// table in one commit whose ledger entry has the unit "run:<run>". A run
// already committed adds nothing again (the commit's idempotency key is
// derived from the unit: Result.DuplicateCommits is 1). A run that wrote
// no file commits the ledger entry alone (with Overwrite: an empty table).
// A file the table cannot take is refused, naming it and the column
// (zones.ErrSchema), and nothing is committed. The error says what is
// committed as for Transform.Run.
func (s *Staged[T]) Commit(ctx context.Context, run string) (*Result, error) {
	start := time.Now()
	if run == "" || strings.ContainsAny(run, "/\\") || run == "." || run == ".." {
		return nil, invalidf("staged commit %s: run id %q must be a non-empty folder name", s.name, run)
	}
	res := &Result{Transform: s.name}
	l, err := s.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	entry := &LedgerEntry{Transform: s.name, Epoch: l.Epoch, Unit: "run:" + run}
	st := s.out.Table().Zone().Store()
	prefix := s.stagingPrefix() + run + "/"
	entries, err := st.ListAll(ctx, prefix, nil)
	if err != nil {
		return nil, fmt.Errorf("transform %s: listing run %s: %w", s.name, run, err)
	}
	var keys []string
	for _, e := range entries {
		name := path.Base(e.Key)
		if e.IsDir || e.Size == 0 || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue // folders, markers (_SUCCESS), empty files
		}
		keys = append(keys, e.Key)
	}
	for _, k := range keys {
		n, err := parquetRows(ctx, st, k)
		if err != nil {
			return nil, fmt.Errorf("transform %s: run %s: %s: %w", s.name, run, st.Location(k), err)
		}
		res.RowsOut += n
	}
	res.RowsIn = res.RowsOut
	if len(keys) == 0 {
		w, err := newUnitWriter(ctx, s.out, entry, zones.WriterOptions{Mode: s.mode, Caller: s.caller})
		if err != nil {
			return nil, err
		}
		err = w.commitUnit(ctx, res)
		if err != nil {
			return res, fmt.Errorf("transform %s: %w", s.name, err)
		}
	} else if err := commitAdoption(ctx, s.out, keys, entry, s.mode, s.caller, res); err != nil {
		return res, fmt.Errorf("transform %s: run %s: %w", s.name, run, err)
	}
	// committed: the table holds copies under its own names
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := st.DeleteMany(dctx, keys); err != nil {
		s.out.Table().Zone().Lake().Logger().Warn("transform: staged: removing committed staging files failed; Vacuum removes them after the retention",
			"transform", s.name, "run", run, "err", err)
	}
	res.finish(start)
	return res, catalogOutcome(s.name, res)
}

// CommitRun is Commit with the result as JSON (a pipeline step's output):
// orchestrate.StagedCommitter.
func (s *Staged[T]) CommitRun(ctx context.Context, run string) (json.RawMessage, error) {
	res, err := s.Commit(ctx, run)
	if res == nil {
		return nil, err
	}
	out, merr := json.Marshal(map[string]any{"run": run, "rows": res.RowsOut, "versions": res.Versions, "duplicate": res.DuplicateCommits > 0})
	if err == nil {
		err = merr
	}
	return out, err
}
