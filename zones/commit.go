package zones

import (
	"context"
	"fmt"
	"sort"

	"github.com/lakekit/lakekit/catalog"
)

// Commit uploads the remaining files and commits everything written as one
// new table version (Tx.Commit): one create-only log object. When another
// writer took the version first, Commit reads the commits it missed; an
// append is rebased and retried (jittered backoff), an overwrite that
// collides with them fails with ErrConflict. A key already committed with
// the same data returns the earlier result (Duplicate); with other data,
// ErrConflict naming the key and version.
//
// The outcome is always one of three, and an error says which:
//   - committed: a result, and a nil error or one wrapping ErrCatalog
//     (the data is committed; moving its files into place or updating the
//     catalog failed, and the next commit, SyncCatalog or Vacuum finishes
//     it — never write the data again);
//   - not committed: any other error except ErrCommitUnknown; the files
//     this attempt uploaded are deleted;
//   - unknown: an error wrapping ErrCommitUnknown (a *CommitUnknownError
//     with the key). Retry the whole write with the same idempotency key.
//
// After Commit (successful or not) the writer is finished.
func (w *Writer[T]) Commit(ctx context.Context) (*CommitResult, error) {
	if w.fw != nil { // Options.Format: see format.go
		return w.formatCommit(ctx)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, fmt.Errorf("zones: commit %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	w.done = true
	defer w.closePool()
	t := w.d.table
	w.wait() // the last Write's encoding; its error is in w.failed
	if w.failed != nil {
		w.discardOpen()
		w.tx.Abort(ctx) // best effort; leftovers are orphans for Vacuum
		return nil, fmt.Errorf("zones: commit %s: an earlier write failed, nothing is committed: %w", t.prefix, w.failed)
	}
	if err := w.flush(ctx); err != nil {
		w.discardOpen()
		w.tx.Abort(ctx)
		return nil, fmt.Errorf("zones: commit %s: not committed: %w", t.prefix, err)
	}
	var publish func(context.Context) error
	if w.d.opts.Catalog != nil {
		publish = w.d.syncCatalog
	}
	return w.tx.Commit(ctx, publish)
}

func equalColumns(a, b []Column) bool {
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

// checkColumns applies the evolution rules to the commit log's schema:
// every old column stays with its type (or a wider one), new columns are
// nullable.
func checkColumns(old, cur []Column, partitionKeys []string) error {
	toCat := func(cs []Column) catalog.Schema {
		var s catalog.Schema
		for _, c := range cs {
			s.Columns = append(s.Columns, catalog.Column{Name: c.Name, Type: c.Type, Required: c.Required})
		}
		// the rules depend on whether the table is partitioned (Athena
		// reads a widened column of a partitioned table only)
		for _, k := range partitionKeys {
			s.PartitionKeys = append(s.PartitionKeys, catalog.Column{Name: k, Type: "string"})
		}
		return s
	}
	return checkEvolution(toCat(old), toCat(cur))
}

// checkEvolution is the one place the schema-evolution rules are applied
// to a schema change (catalog.CheckEvolution): columns may be added
// (nullable) and widened; dropping, renaming, narrowing or changing a
// column's type is refused naming the column.
func checkEvolution(old, cur catalog.Schema) error {
	return catalog.CheckEvolution(old, cur, false)
}

func resultOf(c *Commit, dup bool, attempts int) *CommitResult {
	r := &CommitResult{Version: c.Version, Files: c.Added, Rows: c.Rows(), Bytes: c.Bytes(), Removed: c.Removed,
		Duplicate: dup, Attempts: attempts, Commit: c}
	seen := map[string]bool{}
	for _, f := range c.Added {
		if p := partPath(f.Partition); !seen[p] {
			seen[p] = true
			r.Partitions = append(r.Partitions, f.Partition)
		}
	}
	sort.Slice(r.Partitions, func(i, j int) bool { return partPath(r.Partitions[i]) < partPath(r.Partitions[j]) })
	return r
}

// SyncCatalog brings the catalog, and the files other engines read, to
// the newest version: it finishes moving committed files into place and
// compares every catalog partition with the snapshot (adding, repointing
// and removing), whatever version the catalog says it reflects. Use it
// after a commit reported ErrCatalog, or to repair a catalog changed by
// hand; the next commit does the same for what changed since the version
// the catalog records.
func (d *Dataset[T]) SyncCatalog(ctx context.Context) error {
	if err := d.unsupported("SyncCatalog (the format commits to its own catalog)"); err != nil {
		return err
	}
	if d.opts.Catalog == nil {
		return fmt.Errorf("zones: sync catalog of %s: no Options.Catalog: %w", d.table.prefix, ErrInvalid)
	}
	if err := d.converge(ctx, true); err != nil {
		return err
	}
	if err := d.table.rollForward(ctx); err != nil {
		return fmt.Errorf("zones: sync %s: %w", d.table.prefix, err)
	}
	return nil
}
