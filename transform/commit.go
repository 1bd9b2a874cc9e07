package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lakekit/lakekit/zones"
)

// This file holds the one commit path of the package. Every commit a
// transform makes — a unit of Transform.Run, the merge of Merger.Run, the
// statement of SQLTransform.Run, a rewind and a quarantine batch — goes
// through commitWriter, which reads zones' three outcomes the same way:
//
//   - committed: a result, with a nil error or one wrapping
//     zones.ErrCatalog. The data and (for a unit) its ledger entry are in
//     the table; the catalog error is carried in committed.catalogErr and
//     from there in Result.CatalogErr, never dropped and never a reason to
//     write the data again.
//   - unknown (zones.ErrCommitUnknown): the table is asked once whether a
//     commit with the key is there; if so the work is committed, else the
//     error is returned as it is (the *zones.CommitUnknownError stays
//     reachable with errors.As). The key of a unit is derived from the
//     transform, the ledger epoch, the unit and its exact inputs
//     (LedgerEntry.idempotencyKey), so rerunning the transform is the retry
//     zones asks for: a rerun either finds the unit in the ledger (the
//     commit landed: nothing is processed again) or plans the same unit and
//     commits it under the same key.
//   - refused because the key is already committed with other data
//     (zones.ErrConflict, e.g. a quarantine batch with new RejectedAt times,
//     or two runs of one transform at once): when the table has a commit
//     with the key, the work was done by that commit and it is reported as
//     a duplicate. Any other error means nothing was committed.

// committed is what commitWriter reports of a commit that is in the table.
type committed struct {
	version   int64
	rows      int64 // rows the commit added
	duplicate bool  // the key was already committed: nothing new was written
	// catalogErr wraps zones.ErrCatalog when publishing the commit to the
	// catalog failed; the next commit, SyncCatalog or Vacuum repeats it.
	catalogErr error
}

// committer is the part of a zones.Writer that commitWriter needs.
type committer interface {
	Commit(ctx context.Context) (*zones.CommitResult, error)
}

// commitWriter commits w, whose idempotency key is key, to table and
// classifies the outcome (see above). A nil *committed comes with the error
// of a commit that did not happen or whose outcome stayed unknown.
func commitWriter(ctx context.Context, w committer, table *zones.Table, key string) (*committed, error) {
	cr, err := w.Commit(ctx)
	if cr != nil {
		c := &committed{version: cr.Version, rows: cr.Rows, duplicate: cr.Duplicate}
		if err != nil {
			// zones returns a result only with a nil error or ErrCatalog;
			// either way the data is committed and the error is kept.
			c.catalogErr = err
		}
		return c, nil
	}
	if err == nil {
		return nil, fmt.Errorf("transform: commit to %s returned neither a result nor an error", table.Prefix())
	}
	if !errors.Is(err, zones.ErrCommitUnknown) && !errors.Is(err, zones.ErrConflict) {
		return nil, err
	}
	// the outcome is asked for even when ctx is done (it decides whether
	// the work is committed), within a bound
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyLookupTimeout)
	defer cancel()
	prev, lerr := commitWithKey(lctx, table, key)
	switch {
	case prev != nil:
		// ErrCommitUnknown: our attempt landed. ErrConflict: the key is
		// committed (by this unit's earlier attempt or a concurrent run).
		return &committed{version: prev.Version, rows: prev.Rows(), duplicate: errors.Is(err, zones.ErrConflict)}, nil
	case errors.Is(err, zones.ErrCommitUnknown):
		if lerr != nil {
			err = errors.Join(err, fmt.Errorf("looking the key up: %w", lerr))
		}
		return nil, fmt.Errorf("%w (rerun the transform: the unit's idempotency key %q is derived from its inputs, so a rerun skips the unit if the commit landed and commits it under the same key if not)", err, key)
	default:
		return nil, err
	}
}

// keyLookupTimeout bounds commitWithKey after a commit whose outcome is
// unknown or refused.
const keyLookupTimeout = time.Minute

// commitWithKey returns the table's commit with the idempotency key, or nil
// when there is none (or the table cannot be read: the error says why).
// It reads the log from the newest version down, so a commit just made is
// found first.
func commitWithKey(ctx context.Context, table *zones.Table, key string) (*zones.Commit, error) {
	snap, err := table.Snapshot(ctx, 0)
	if errors.Is(err, zones.ErrNoSuchTable) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for v := snap.Version; v > 0; v-- {
		c, err := table.Commit(ctx, v)
		if err != nil {
			return nil, err
		}
		if c.IdempotencyKey == key {
			return c, nil
		}
	}
	return nil, nil
}

// unitWriter is the writer of one unit of work. Its ledger entry is one of
// its options: the commit's idempotency key and metadata are made from the
// entry when the writer is opened, and commit records the entry with its
// final counts in the same commit as the unit's output.
type unitWriter[T any] struct {
	*zones.Writer[T]
	table *zones.Table
	entry *LedgerEntry
	key   string
	// md is the writer's Metadata map: zones reads it at the commit, so
	// commit puts the final counts into it.
	md map[string]string
}

// newUnitWriter opens the writer of the unit entry describes. opts gives
// the mode and caller; its IdempotencyKey and Metadata are set from entry.
func newUnitWriter[T any](ctx context.Context, out *zones.Dataset[T], entry *LedgerEntry, opts zones.WriterOptions) (*unitWriter[T], error) {
	md, err := entry.metadata()
	if err != nil {
		return nil, err
	}
	uw := &unitWriter[T]{table: out.Table(), entry: entry, key: entry.idempotencyKey(), md: md}
	opts.IdempotencyKey, opts.Metadata = uw.key, md
	if uw.Writer, err = out.NewWriter(ctx, &opts); err != nil {
		return nil, err
	}
	return uw, nil
}

// commitUnit is the commit of one unit of work, for every runner: the
// entry's counts are taken from res, the output is committed with the
// entry, and res records the outcome — Units, Files, Versions,
// DuplicateCommits (with RowsOut then what the earlier commit holds) and
// CatalogErr. It returns an error only when the unit is not committed or
// its outcome is unknown (see commitWriter); a catalog failure after the
// commit is in res.CatalogErr.
func (uw *unitWriter[T]) commitUnit(ctx context.Context, res *Result) error {
	uw.entry.RowsIn, uw.entry.RowsOut, uw.entry.Rejected = res.RowsIn, res.RowsOut, res.Rejected
	b, err := json.Marshal(uw.entry)
	if err != nil {
		uw.Abort(context.WithoutCancel(ctx))
		return err
	}
	uw.md[MetaLedger] = string(b)
	c, err := commitWriter(ctx, uw.Writer, uw.table, uw.key)
	if err != nil {
		return err
	}
	res.Units = 1
	res.Files = len(uw.entry.Inputs)
	res.Versions = []int64{c.version}
	if c.duplicate {
		res.DuplicateCommits = 1
		res.RowsOut = c.rows
	}
	res.CatalogErr = errors.Join(res.CatalogErr, c.catalogErr)
	return nil
}

// catalogOutcome is what a run returns when everything it did is committed:
// nil, or — when publishing some commit to the catalog failed — an error
// wrapping zones.ErrCatalog that says the work is committed.
func catalogOutcome(name string, res *Result) error {
	if res.CatalogErr == nil {
		return nil
	}
	return fmt.Errorf("transform %s: %d unit(s) committed and recorded in the ledger, but the catalog was not brought up to date (the next commit, Dataset.SyncCatalog or Vacuum does it; do not rerun for this): %w", name, res.Units, res.CatalogErr)
}
