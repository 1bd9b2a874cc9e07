package zones

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// VacuumResult says what Vacuum deleted and kept.
type VacuumResult struct {
	// Deleted are the keys removed: files replaced by overwrites whose
	// removal is older than the retention, and orphans (files no commit
	// references, left by crashed or losing writers) older than it.
	Deleted []string
	// Kept counts unreferenced files still inside the retention.
	Kept int
	// Live counts the files of the newest snapshot (never deleted).
	Live int
	// AuditID names the audit record of this run (lake.HistoryEntry.ID of
	// a HistoryVacuum entry); empty when nothing was deleted.
	AuditID string
	// Bytes is the size of the Deleted files: the bytes freed.
	Bytes int64
	// DryRun is set when nothing was deleted because the run was a dry run
	// (VacuumOptions.DryRun): Deleted and Bytes say what a run would delete.
	DryRun bool
	// Foreign are objects under the table's prefix that lakekit did not
	// write and no commit ever referenced (another engine's output, a
	// _SUCCESS marker, a file copied in by hand). Vacuum never deletes
	// them; commit Parquet ones with Dataset.AddFiles, or remove them.
	Foreign []string
}

// wroteUnreferenced reports whether an object no commit references is one
// lakekit wrote: a file in the staging folder, or a data file named by a
// transaction (an attempt that died or lost). Vacuum deletes only those
// and files a commit once referenced.
func (t *Table) wroteUnreferenced(key string) bool {
	return t.isStaging(key) || lakekitName.MatchString(path.Base(key))
}

// Vacuum deletes data files no longer needed: files an overwrite replaced,
// once retention has passed since the commit that removed them (pass
// ZoneRetention for the zone's configured retention), and orphan
// files (written by lakekit but never committed) whose age exceeds
// retention. Only what lakekit wrote or a commit referenced is deleted:
// any other object under the table's prefix is foreign, never deleted,
// and listed in VacuumResult.Foreign. It never
// deletes a file of the newest snapshot, nor anything younger than the
// retention, so a writer that is still running or a query still reading an
// older version is safe as long as it takes less than the retention.
// Reading versions older than a vacuum may then fail: their replaced files
// are gone.
//
// A run that deletes anything leaves an audit record under the table's
// _lakekit/audit/ (zones.History lists it as a HistoryVacuum entry;
// it is not a table version): who (host, process, user, the lake's caller
// identity), when, the retention, and the keys and bytes deleted. The
// record is written before the first delete (status "started", listing
// the keys to delete) and completed after ("done", or "failed" with the
// error and what was deleted), so no file is deleted without a record
// naming it. When that first record cannot be written nothing is deleted.
//
// Before deciding anything it verifies the log (a damaged log is refused
// with ErrCorrupt: deleting by a truncated view would destroy data),
// finishes moving committed files out of the staging folder, and, with a
// catalog, brings the catalog to the newest version; then it never deletes
// a file that a catalog location still shows to Athena.
func (d *Dataset[T]) Vacuum(ctx context.Context, retention time.Duration) (*VacuumResult, error) {
	retention = d.table.retention(retention)
	if retention < 0 {
		return nil, fmt.Errorf("zones: vacuum %s: negative retention %v: %w", d.table.prefix, retention, ErrInvalid)
	}
	if d.format != nil { // Options.Format: see format.go
		return d.format.Vacuum(ctx, retention)
	}
	if d.opts.Catalog == nil {
		return d.table.Vacuum(ctx, retention)
	}
	if _, err := d.table.log.Verify(ctx); err != nil {
		return nil, fmt.Errorf("zones: vacuum %s refused, nothing deleted (run Table.Repair after restoring what you can): %w", d.table.prefix, err)
	}
	if err := d.converge(ctx, false); err != nil {
		if errors.Is(err, ErrCorrupt) { // an entry that does not decode
			return nil, fmt.Errorf("zones: vacuum %s refused, nothing deleted (run Table.Repair after restoring what you can): %w", d.table.prefix, err)
		}
		return nil, fmt.Errorf("zones: vacuum %s: the catalog could not be brought to the newest version, nothing deleted: %w: %w", d.table.prefix, ErrCatalog, err)
	}
	if err := d.table.rollForward(ctx); err != nil {
		return nil, fmt.Errorf("zones: vacuum %s: %w", d.table.prefix, err)
	}
	keep, err := d.catalogLocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("zones: vacuum %s: catalog locations: %w", d.table.prefix, err)
	}
	return d.table.vacuum(ctx, retention, keep, false)
}

// Vacuum is Dataset.Vacuum for untyped tables (no catalog to consult).
func (t *Table) Vacuum(ctx context.Context, retention time.Duration) (*VacuumResult, error) {
	retention = t.retention(retention)
	if retention < 0 {
		return nil, fmt.Errorf("zones: vacuum %s: negative retention %v: %w", t.prefix, retention, ErrInvalid)
	}
	if err := t.rollForward(ctx); err != nil {
		return nil, fmt.Errorf("zones: vacuum %s: %w", t.prefix, err)
	}
	return t.vacuum(ctx, retention, nil, false)
}

// ZoneRetention, passed to Vacuum, means the zone's retention
// (lake.ZoneConfig.Retention; lake.DefaultRetention, 7 days, when the
// zone sets none): how long queries running on Athena may still read
// replaced files.
const ZoneRetention time.Duration = -1 << 62

func (t *Table) retention(r time.Duration) time.Duration {
	if r == ZoneRetention {
		return t.zone.Config().Retention
	}
	return r
}

// VisibleUnder reports whether an engine reading location prefix loc
// (relative, ending in "/") reads key: key lies below it and no folder or
// name between them starts with "_" or "." (Hive's hidden-file rule,
// which Athena and Spectrum follow).
func VisibleUnder(loc, key string) bool {
	rest, ok := strings.CutPrefix(key, loc)
	if !ok {
		return false
	}
	for _, seg := range strings.Split(rest, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// vacuum decides what to delete and, unless dry, deletes it.
func (t *Table) vacuum(ctx context.Context, retention time.Duration, keep []string, dry bool) (*VacuumResult, error) {
	now := time.Now()
	if _, err := t.log.Verify(ctx); err != nil {
		return nil, fmt.Errorf("zones: vacuum %s refused, nothing deleted (run Table.Repair after restoring what you can): %w", t.prefix, err)
	}
	// List first, then read the newest state: a file committed in between
	// is then live in the state, never mistaken for an orphan.
	type obj struct {
		key  string
		mod  time.Time
		size int64
	}
	var objs []obj
	for e, err := range t.store.List(ctx, t.prefix+"/", nil) {
		if err != nil {
			return nil, err
		}
		if e.IsDir || (strings.Contains(e.Key, "/_lakekit/") && !t.isStaging(e.Key)) {
			continue
		}
		objs = append(objs, obj{e.Key, e.ModTime, e.Size})
	}
	st, err := t.stateAt(ctx, 0)
	if err != nil {
		return nil, err
	}
	removedAt := map[string]time.Time{}
	for _, ts := range st.Tombstones {
		removedAt[ts.Key] = ts.RemovedAt
	}
	pending := map[string]bool{} // staged files a committed version names
	for _, f := range st.files {
		if f.Staged != "" {
			pending[f.Staged] = true
		}
	}
	res := &VacuumResult{Live: len(st.files)}
	var del []string
	size := map[string]int64{}
	for _, o := range objs {
		if _, live := st.files[o.key]; live || pending[o.key] {
			continue
		}
		if _, removed := removedAt[o.key]; !removed && !t.wroteUnreferenced(o.key) {
			res.Foreign = append(res.Foreign, o.key)
			continue
		}
		shown := false
		for _, loc := range keep {
			if VisibleUnder(loc, o.key) {
				shown = true
			}
		}
		if shown { // a catalog location still shows it to Athena
			res.Kept++
			continue
		}
		since := o.mod
		if at, ok := removedAt[o.key]; ok {
			since = at
		}
		if since.IsZero() || now.Sub(since) < retention {
			res.Kept++
			continue
		}
		del = append(del, o.key)
		size[o.key] = o.size
	}
	if dry {
		res.Deleted, res.DryRun = del, true
		for _, k := range del {
			res.Bytes += size[k]
		}
		return res, nil
	}
	if len(res.Foreign) > 0 {
		t.logger.Warn("zones: vacuum: objects lakekit did not write lie under the table (kept; commit them with AddFiles or remove them)",
			"table", t.prefix, "foreign", len(res.Foreign), "first", res.Foreign[0])
	}
	if len(del) == 0 {
		t.logger.Info("zones: vacuum", "deleted", 0, "kept", res.Kept, "live", res.Live)
		return res, nil
	}
	return t.deleteAudited(ctx, st.Version, now, retention, res, del, size)
}

// deleteAudited deletes del after writing the audit record that names
// them, then completes the record.
func (t *Table) deleteAudited(ctx context.Context, version int64, now time.Time, retention time.Duration, res *VacuumResult, del []string, size map[string]int64) (*VacuumResult, error) {
	var delBytes int64
	for _, k := range del {
		delBytes += size[k]
	}
	ev := &lake.HistoryEntry{Kind: lake.HistoryVacuum, Version: version, Time: now.UTC(), Operation: "vacuum",
		Audit: t.lk.Audit(ctx, ""), Status: lake.EventStarted, FilesRemoved: len(del), BytesRemoved: delBytes,
		Metadata: map[string]string{"retention": retention.String(), "kept": strconv.Itoa(res.Kept), "live": strconv.Itoa(res.Live)}}
	ev.Keys, ev.KeysTruncated = auditKeys(del)
	if err := t.zone.RecordEvent(ctx, t.database, t.name, ev); err != nil {
		return res, fmt.Errorf("zones: vacuum %s: the audit record could not be written, nothing deleted: %w", t.prefix, err)
	}
	res.AuditID = ev.ID
	var delErr error
	var deletedBytes int64
	for len(del) > 0 {
		n := min(len(del), 1000)
		if err := t.store.DeleteMany(ctx, del[:n]); err != nil {
			delErr = fmt.Errorf("zones: vacuum %s: %w", t.prefix, err)
			break
		}
		res.Deleted = append(res.Deleted, del[:n]...)
		for _, k := range del[:n] {
			deletedBytes += size[k]
		}
		del = del[n:]
	}
	res.Bytes = deletedBytes
	ev.Status, ev.Finished = lake.EventDone, time.Now().UTC()
	ev.FilesRemoved, ev.BytesRemoved = len(res.Deleted), deletedBytes
	ev.Keys, ev.KeysTruncated = auditKeys(res.Deleted)
	if delErr != nil {
		ev.Status, ev.Error = lake.EventFailed, delErr.Error()
	}
	// The started record already names every key; a failure to complete it
	// is logged, not returned: the deletes happened.
	if err := t.zone.RecordEvent(ctx, t.database, t.name, ev); err != nil {
		t.logger.Warn("zones: vacuum audit record not completed", "id", ev.ID, "err", err)
	}
	t.logger.Info("zones: vacuum", "deleted", len(res.Deleted), "kept", res.Kept, "live", res.Live, "audit", ev.ID)
	return res, delErr
}

// auditKeys bounds the keys an audit record lists.
func auditKeys(keys []string) ([]string, bool) {
	if len(keys) > lake.MaxEventKeys {
		return append([]string(nil), keys[:lake.MaxEventKeys]...), true
	}
	return append([]string(nil), keys...), false
}
