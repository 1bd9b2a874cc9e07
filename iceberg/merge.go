package iceberg

import (
	"context"
	"errors"
	"fmt"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakekit/lakekit/internal/backoff"
)

// MergeResult describes a Merge.
type MergeResult struct {
	// Commit is the snapshot committed; nil when the changes changed
	// nothing (only deletes of keys the table does not have).
	*Commit
	Inserted, Updated, Deleted int64
	// Rewritten is how many data files held touched keys and were
	// replaced by rewritten copies.
	Rewritten int
}

// Merge applies a batch of changes, as from CDC, keyed by key: a change
// for which deleted is true removes the rows with its key; any other
// change replaces the rows with its key (update) or is added (insert).
// When changes holds a key more than once, the last change wins (the
// order of a change stream). deleted may be nil (no deletes).
//
// Merge is copy-on-write: it reads the keys of the current snapshot's
// data files, rewrites only the files holding a touched key (without
// those rows), writes the upserted rows as new files, and commits one
// snapshot (operation "overwrite") that removes the touched files and adds
// the new ones; untouched files stay as they are. Copy-on-write rather
// than merge-on-read (equality or position delete files) because every
// reader then sees plain data files: Athena reads both, but readers
// without Iceberg v2 delete support (older engines, Redshift Spectrum,
// this package's own reader, DuckDB views over the file list) read
// copy-on-write tables correctly and would not apply delete files; and
// for the curated tables lakekit targets (small to medium, merged in
// batches) rewriting the touched files costs less than readers merging
// deletes on every scan. The cost is reading every file's keys once per
// merge and rewriting each touched file whole.
//
// When another writer commits first, the merge is planned again from the
// new snapshot (its rewritten files removed and written again), so no
// concurrent change is lost or applied twice.
func (t *Table[T]) Merge(ctx context.Context, changes []T, key func(T) string, deleted func(T) bool) (*MergeResult, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: merge into %s without a key function", ErrInvalid, t.Name())
	}
	if len(changes) == 0 {
		return nil, fmt.Errorf("%w: merge of no changes into %s", ErrInvalid, t.Name())
	}
	ctx = t.Context(ctx)
	last := map[string]int{}
	for i := range changes {
		last[key(changes[i])] = i
	}
	var lastErr error
	for attempt := 1; attempt <= t.opts.MaxCommitAttempts; attempt++ {
		if attempt > 1 {
			if err := backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 64*time.Millisecond)); err != nil {
				return nil, fmt.Errorf("iceberg: merge into %s: %w (last conflict: %v)", t.Name(), err, lastErr)
			}
		}
		res, err := t.mergeOnce(ctx, changes, last, key, deleted)
		if errors.Is(err, errStale) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if res.Commit != nil {
			res.Commit.Attempts = attempt
		}
		return res, nil
	}
	return nil, fmt.Errorf("iceberg: merge into %s: %w: gave up after %d attempts: %v", t.Name(), table.ErrCommitFailed, t.opts.MaxCommitAttempts, lastErr)
}

// errStale: the table moved on while a merge was planned; plan again.
var errStale = errors.New("iceberg: the table changed during the merge")

// mergeOnce plans the merge on the current snapshot, writes its files and
// commits them on that snapshot only (errStale when it moved on).
func (t *Table[T]) mergeOnce(ctx context.Context, changes []T, last map[string]int, key func(T) string, deleted func(T) bool) (*MergeResult, error) {
	base, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("iceberg: merge into %s: %w", t.Name(), err)
	}
	b, err := bind(t.rt, base.Schema(), base.Spec())
	if err != nil {
		return nil, fmt.Errorf("iceberg: merge into %s: %w", t.Name(), err)
	}
	fs, err := base.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: merge into %s: file IO: %w", t.Name(), err)
	}
	if err := noDeleteFiles(ctx, base); err != nil {
		return nil, fmt.Errorf("iceberg: merge into %s: %w", t.Name(), err)
	}
	current, err := currentFiles(ctx, base, nil)
	if err != nil {
		return nil, fmt.Errorf("iceberg: merge into %s: %w", t.Name(), err)
	}
	res := &MergeResult{}
	found := map[string]bool{}
	var touched []ice.DataFile
	var rows []T // kept rows of touched files, then the upserts
	for _, f := range current {
		fileRows, err := readFile[T](fs, b, f.FilePath(), nil)
		if err != nil {
			return nil, fmt.Errorf("iceberg: merge into %s: %w", t.Name(), err)
		}
		var kept []T
		for _, r := range fileRows {
			if _, hit := last[key(r)]; hit {
				found[key(r)] = true
				continue
			}
			kept = append(kept, r)
		}
		if len(kept) < len(fileRows) {
			touched = append(touched, f)
			rows = append(rows, kept...)
		}
	}
	res.Rewritten = len(touched)
	for k, i := range last {
		switch del := deleted != nil && deleted(changes[i]); {
		case del && found[k]:
			res.Deleted++
		case del:
		case found[k]:
			res.Updated++
			rows = append(rows, changes[i])
		default:
			res.Inserted++
			rows = append(rows, changes[i])
		}
	}
	if len(touched) == 0 && len(rows) == 0 {
		return res, nil // only deletes of absent keys: nothing to commit
	}
	return res, t.commitMerge(ctx, base, touched, rows, res)
}

// commitMerge writes rows as new data files and commits them, replacing
// touched, on base's snapshot only.
func (t *Table[T]) commitMerge(ctx context.Context, base *table.Table, touched []ice.DataFile, rows []T, res *MergeResult) error {
	wfs, err := writeIO(ctx, base)
	if err != nil {
		return fmt.Errorf("iceberg: merge into %s: %w", t.Name(), err)
	}
	var files []ice.DataFile
	var paths []string
	if len(rows) > 0 {
		if files, paths, err = t.stageRows(ctx, base, wfs, rows); err != nil {
			return err
		}
	}
	stage := func(ctx context.Context, now *table.Table, tx *table.Transaction, files []ice.DataFile, props ice.Properties) error {
		if now.MetadataLocation() != base.MetadataLocation() {
			return errStale
		}
		if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
			return err
		}
		if len(touched) == 0 {
			return tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck())
		}
		return tx.ReplaceDataFilesWithDataFiles(ctx, touched, files, props)
	}
	c, err := t.commit(ctx, files, stage)
	if err != nil {
		removeAll(wfs, paths)
		if errors.Is(err, errStale) || errors.Is(err, table.ErrCommitFailed) {
			return errStale
		}
		return err
	}
	c.Rows = int64(len(rows))
	res.Commit = c
	return nil
}
