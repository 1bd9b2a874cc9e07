package iceberg

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/lakekit/lakekit/internal/backoff"
)

// DefaultOrphanAge is VacuumOptions.OrphanAge's default: a data file that
// no snapshot references is deleted only when it is older than this, so
// that the files of a write still in progress (written, not yet
// committed) are never taken for a failed writer's.
const DefaultOrphanAge = 24 * time.Hour

// VacuumOptions configure Vacuum. A nil *VacuumOptions means defaults.
type VacuumOptions struct {
	// RetainLast is how many of the newest snapshots are kept whatever
	// their age (default 1: the current one, which is always kept).
	RetainLast int
	// OlderThan: a snapshot beyond RetainLast expires only when it is
	// older than this. 0 expires every snapshot beyond RetainLast.
	OlderThan time.Duration
	// OrphanAge is how old an unreferenced data file must be to be
	// deleted as a failed writer's (default DefaultOrphanAge).
	OrphanAge time.Duration
	// KeepOrphans skips the orphan data file sweep.
	KeepOrphans bool
}

// VacuumResult describes a Vacuum.
type VacuumResult struct {
	// Expired are the IDs of the snapshots expired, oldest first.
	Expired []int64
	// Orphans are the unreferenced data files deleted (failed writers').
	Orphans []string
}

// Vacuum expires old snapshots and deletes the files nothing references
// any more. Snapshots beyond the newest opts.RetainLast that are older
// than opts.OlderThan are removed from the table metadata with
// iceberg-go's expire-snapshots update (one metadata commit; retried when
// another writer commits first); after the commit iceberg-go deletes the
// manifest lists, manifests and data files that only expired snapshots
// referenced. Then data files under the table's data/ directory that no
// remaining snapshot references and that are older than opts.OrphanAge
// (the files of writers that died between writing and committing) are
// deleted with iceberg-go's orphan file cleanup.
//
// The current snapshot is never expired. Time travel to an expired
// snapshot fails with ErrNoSnapshot.
func (t *Table[T]) Vacuum(ctx context.Context, opts *VacuumOptions) (*VacuumResult, error) {
	o := VacuumOptions{}
	if opts != nil {
		o = *opts
	}
	if o.RetainLast < 0 || o.OlderThan < 0 || o.OrphanAge < 0 {
		return nil, fmt.Errorf("%w: vacuum of %s: RetainLast %d, OlderThan %s and OrphanAge %s must not be negative", ErrInvalid, t.Name(), o.RetainLast, o.OlderThan, o.OrphanAge)
	}
	if o.RetainLast == 0 {
		o.RetainLast = 1
	}
	if o.OrphanAge == 0 {
		o.OrphanAge = DefaultOrphanAge
	}
	ctx = t.Context(ctx)
	res := &VacuumResult{}
	tbl, err := t.expire(ctx, o, res)
	if err != nil {
		return nil, err
	}
	if o.KeepOrphans {
		return res, nil
	}
	out, err := tbl.DeleteOrphanFiles(ctx,
		table.WithLocation(strings.TrimRight(tbl.Location(), "/")+"/data"),
		table.WithFilesOlderThan(o.OrphanAge))
	if err != nil {
		return res, fmt.Errorf("iceberg: vacuum of %s: orphan data files: %w", t.Name(), err)
	}
	res.Orphans = append(res.Orphans, out.DeletedFiles...)
	sort.Strings(res.Orphans)
	return res, nil
}

// expire commits the expiry of the snapshots o selects (if any) and
// returns the table after it.
func (t *Table[T]) expire(ctx context.Context, o VacuumOptions, res *VacuumResult) (*table.Table, error) {
	var lastErr error
	for attempt := 1; attempt <= t.opts.MaxCommitAttempts; attempt++ {
		if attempt > 1 {
			if err := backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 64*time.Millisecond)); err != nil {
				return nil, fmt.Errorf("iceberg: vacuum of %s: %w (last conflict: %v)", t.Name(), err, lastErr)
			}
		}
		base, err := t.cat.LoadTable(ctx, t.ident)
		if err != nil {
			return nil, fmt.Errorf("iceberg: vacuum of %s: %w", t.Name(), err)
		}
		tx := base.NewTransaction()
		if err := tx.ExpireSnapshots(table.WithRetainLast(o.RetainLast), table.WithOlderThan(o.OlderThan)); err != nil {
			return nil, fmt.Errorf("iceberg: vacuum of %s: expire snapshots: %w", t.Name(), err)
		}
		after, err := tx.Commit(ctx)
		if err != nil && (errors.Is(err, table.ErrCommitFailed) || t.moved(ctx, base)) {
			lastErr = err
			continue
		}
		if err != nil && after == nil {
			return nil, fmt.Errorf("iceberg: vacuum of %s: %w", t.Name(), err)
		}
		if after == nil {
			after = base
		}
		res.Expired = expiredIDs(base, after)
		if err != nil {
			// The metadata commit landed; deleting the expired files failed.
			return nil, fmt.Errorf("iceberg: vacuum of %s: expired %d snapshots, but deleting their files: %w", t.Name(), len(res.Expired), err)
		}
		return after, nil
	}
	return nil, fmt.Errorf("iceberg: vacuum of %s: %w: gave up after %d attempts: %v", t.Name(), table.ErrCommitFailed, t.opts.MaxCommitAttempts, lastErr)
}

// moved tells whether the table's metadata is no longer base's (another
// writer committed: iceberg-go's local catalog reports that without
// ErrCommitFailed).
func (t *Table[T]) moved(ctx context.Context, base *table.Table) bool {
	now, err := t.cat.LoadTable(ctx, t.ident)
	return err == nil && now.MetadataLocation() != base.MetadataLocation()
}

// expiredIDs are the snapshots of before that after no longer has, oldest
// first.
func expiredIDs(before, after *table.Table) []int64 {
	var out []int64
	snaps := append([]table.Snapshot(nil), before.Metadata().Snapshots()...)
	sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].TimestampMs < snaps[j].TimestampMs })
	for _, s := range snaps {
		if after.SnapshotByID(s.SnapshotID) == nil {
			out = append(out, s.SnapshotID)
		}
	}
	return out
}
