package zones

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// History lists the audit trail of the table database.table in a zone of
// lk: one entry per table version (Kind lake.HistoryCommit, version order,
// read through the table's one commit log) and the events that are not
// versions — vacuum runs (lake.HistoryVacuum) and repairs
// (lake.HistoryRepair) recorded with lake.Zone.RecordEvent — placed among
// the versions by time. A table with neither commits nor events gives an
// error matching lake.ErrNotFound; a damaged log gives the entries before
// the damage together with an error matching ErrCorrupt.
func History(ctx context.Context, lk *lake.Lake, zone lake.ZoneName, database, table string) ([]lake.HistoryEntry, error) {
	t, err := OpenTable(lk, zone, database, table)
	if err != nil {
		return nil, err
	}
	return t.AuditTrail(ctx)
}

// AuditTrail is History for this table.
func (t *Table) AuditTrail(ctx context.Context) ([]lake.HistoryEntry, error) {
	commits, damage := t.History(ctx)
	if errors.Is(damage, ErrNoSuchTable) {
		commits, damage = nil, nil
	}
	if damage != nil && !errors.Is(damage, ErrCorrupt) {
		return nil, damage
	}
	events, err := t.events(ctx)
	if err != nil {
		return nil, err
	}
	if len(commits) == 0 && len(events) == 0 && damage == nil {
		return nil, fmt.Errorf("zones: history of %s table %s: no commit log: %w", t.zone.Name(), t.prefix, lake.ErrNotFound)
	}
	// Versions stay in version order (commit clocks of different hosts may
	// disagree); events go in by time, before the first commit made after
	// them.
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	out := make([]lake.HistoryEntry, 0, len(commits)+len(events))
	i := 0
	for _, c := range commits {
		e := historyEntry(&c)
		for i < len(events) && events[i].Time.Before(e.Time) {
			out = append(out, events[i])
			i++
		}
		out = append(out, e)
	}
	return append(out, events[i:]...), damage
}

func historyEntry(c *Commit) lake.HistoryEntry {
	e := lake.HistoryEntry{Kind: lake.HistoryCommit, Version: c.Version, Time: c.Timestamp, Operation: c.Operation, Mode: c.Mode.String(),
		IdempotencyKey: c.IdempotencyKey, Audit: c.Audit, Metadata: c.Metadata,
		FilesAdded: len(c.Added), FilesRemoved: len(c.Removed)}
	for _, f := range c.Added {
		e.RowsAdded += f.Rows
		e.BytesAdded += f.Size
	}
	for _, f := range c.Removed {
		e.RowsRemoved += f.Rows
		e.BytesRemoved += f.Size
	}
	return e
}

// events reads the table's audit events (a few readers at once).
func (t *Table) events(ctx context.Context) ([]lake.HistoryEntry, error) {
	var ids []string
	for e, err := range t.store.List(ctx, t.prefix+"/"+logcodec.AuditDir, nil) {
		if err != nil {
			return nil, err
		}
		if id, ok := logcodec.ParseAuditKey(t.prefix, e.Key); ok {
			ids = append(ids, id)
		}
	}
	events := make([]lake.HistoryEntry, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			b, err := t.store.ReadAll(gctx, logcodec.AuditKey(t.prefix, id))
			if err != nil {
				return err
			}
			var e lake.HistoryEntry
			if err := logcodec.Decode(b, &e); err != nil {
				return fmt.Errorf("zones: history of %s: audit event %s is not valid JSON: %w: %w", t.prefix, id, ErrCorrupt, err)
			}
			if e.Kind == lake.HistoryCommit || e.Kind == "" {
				return fmt.Errorf("zones: history of %s: audit event %s claims kind %q: %w", t.prefix, id, e.Kind, ErrCorrupt)
			}
			e.ID = id
			events[i] = e
			return nil
		})
	}
	return events, g.Wait()
}
