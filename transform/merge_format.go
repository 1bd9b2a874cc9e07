package transform

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/lakekit/lakekit/zones"
)

// formatMerger is the in-place merge of a target dataset stored in a table
// format that has one (zones.Options.Format = iceberg.Format).
func formatMerger[T any](out *zones.Dataset[T]) (zones.FormatMerger[T], bool) {
	_, ft := out.Format()
	if ft == nil {
		return nil, false
	}
	fm, ok := ft.(zones.FormatMerger[T])
	return fm, ok
}

// writeFormat is write for a target in such a format (Iceberg). The
// changes are decided as for lakekit's own format — each affected
// partition's rows at the current snapshot merged with the changes and
// tombstones, last write wins by order — and then only the keys the
// changes touched go to the format's merge, which rewrites just the data
// files holding them (copy-on-write) in one snapshot.
//
// The ledger entry cannot ride in that snapshot (the format's commits
// carry no caller metadata), so it is committed after it, as a commit
// without files in the dataset's own lakekit log, where Ledger reads it.
// A run that stops between the two commits is rerun: the same change
// files merge to the same rows (equal orders replay to the same result,
// tombstones keep deleted keys deleted), so the replay changes nothing but
// the counts, and then records the entry.
func (r *mergeRun[C, T, K, O]) writeFormat(ctx context.Context, entry *LedgerEntry, fm zones.FormatMerger[T]) error {
	m := r.m
	var base int64
	snap, err := m.out.Snapshot(ctx, 0)
	switch {
	case err == nil:
		base = snap.Version
	case isNoTable(err):
	default:
		return err
	}
	results, err := r.mergeFormat(ctx, base)
	if err != nil {
		return err
	}
	key := func(t T) string { return fmt.Sprintf("%#v", m.spec.RowKey(t)) }
	var changes []T
	deletes := map[string]bool{}
	for i, path := range r.paths {
		mr := results[i]
		r.res.Merge.add(mr.st)
		// tombstones first, as writeMerged does
		if err := m.saveTombstones(ctx, path, mr.tombs); err != nil {
			return err
		}
		live := make(map[K]T, len(mr.rows))
		for _, row := range mr.rows {
			live[m.spec.RowKey(row)] = row
		}
		touched := map[K]T{} // key → the image of its last change
		var order []K
		for _, c := range r.byPart[path].changes {
			k := m.spec.Key(c)
			if _, seen := touched[k]; !seen {
				order = append(order, k)
			}
			touched[k] = m.spec.Image(c)
		}
		for _, k := range order {
			if row, ok := live[k]; ok {
				changes = append(changes, row)
				continue
			}
			img := touched[k]
			deletes[key(img)] = true
			changes = append(changes, img)
		}
	}
	if len(changes) > 0 {
		cr, err := fm.Merge(ctx, changes, key, func(t T) bool { return deletes[key(t)] })
		if err != nil {
			return fmt.Errorf("merge %s: %w", m.name, err)
		}
		r.res.RowsOut = cr.Rows
		if cr.Version != 0 {
			r.res.Versions = []int64{cr.Version}
		}
	}
	return r.recordLedger(ctx, entry)
}

// mergeFormat is mergeAll for a format's table: the snapshot base is read
// once (a format read is of the whole snapshot) and its rows sorted into
// the affected partitions, instead of one read per partition.
func (r *mergeRun[C, T, K, O]) mergeFormat(ctx context.Context, base int64) ([]merged[T, K, O], error) {
	m := r.m
	current := map[string][]T{}
	if base != 0 {
		err := m.out.ReadBatches(ctx, &zones.ReadOptions{Version: base}, func(rows []T) error {
			for i := range rows {
				p, err := m.out.PartitionOf(&rows[i])
				if err != nil {
					return err
				}
				if path := partitionPath(p); r.byPart[path] != nil {
					current[path] = append(current[path], rows[i])
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	results := make([]merged[T, K, O], len(r.paths))
	for i, path := range r.paths {
		tombs, err := m.loadTombstones(ctx, path)
		if err != nil {
			return nil, err
		}
		rows, newTombs, st, err := applyChanges(&m.spec, current[path], tombs, r.byPart[path].changes)
		if err != nil {
			return nil, err
		}
		results[i] = merged[T, K, O]{rows, newTombs, st}
	}
	return results, nil
}

// recordLedger commits the ledger entry of a merge into a format's table
// as a commit without files in the dataset's own log.
func (r *mergeRun[C, T, K, O]) recordLedger(ctx context.Context, entry *LedgerEntry) error {
	m := r.m
	entry.RowsIn, entry.RowsOut, entry.Rejected = r.res.RowsIn, r.res.RowsOut, r.res.Rejected
	md, err := entry.metadata()
	if err != nil {
		return err
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	md[MetaLedger] = string(b)
	tx, err := m.out.Table().Begin(ctx, &zones.TxOptions{Mode: zones.Append, IdempotencyKey: entry.idempotencyKey(), Metadata: md,
		Caller: m.opts.Caller, PartitionKeys: m.out.PartitionKeys(), Schema: m.out.Columns()})
	if err != nil {
		return fmt.Errorf("merge %s: the merge is committed but its ledger entry is not (rerun: the replay changes nothing): %w: %w", m.name, zones.ErrCommitUnknown, err)
	}
	if _, err := tx.Commit(ctx, nil); err != nil {
		return fmt.Errorf("merge %s: the merge is committed but its ledger entry is not (rerun: the replay changes nothing): %w: %w", m.name, zones.ErrCommitUnknown, err)
	}
	r.res.Units = 1
	r.res.Files = len(entry.Inputs)
	return nil
}
