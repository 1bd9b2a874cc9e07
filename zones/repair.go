package zones

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// RepairOptions configure Table.Repair.
type RepairOptions struct {
	// Caller names who repairs, for the audit record (default: the lake's
	// identity).
	Caller string
	// DryRun reports the damage without changing anything.
	DryRun bool
}

// RepairResult says what Repair found and did.
type RepairResult struct {
	// Damaged lists the versions that were missing or did not decode.
	Damaged []int64
	// Saved maps a replaced version to the key its damaged bytes were
	// copied to ("<table>/_lakekit/repair/<version>-<unix nanos>.bad").
	Saved map[int64]string
	// AuditID names the audit record (a lake.HistoryRepair entry).
	AuditID string
	// SetAside maps data files that no version names any more, but that
	// lay where engines reading the table's folders would read them (a
	// lost commit's files), to where Repair moved them:
	// "<table>/_lakekit/repair/unreferenced/<key>". Inspect them, and add
	// them back with a new commit if they belong.
	SetAside map[string]string
}

// Repair restores service to a table whose commit log is damaged (reads
// and writes fail with ErrCorrupt). It is explicit because it gives up
// information: each missing or undecodable version is replaced by an empty
// "repair" commit, so the versions after it apply again; the damaged bytes
// are kept under _lakekit/repair/ and an audit record (lake.HistoryRepair,
// written before any change) names every replaced version.
//
// What the lost entries did is rebuilt where later versions prove it (see
// inferLost): a partition a later append found in another folder was
// moved there by the lost version, with the files in it. Other files only
// the lost entries named are no longer part of the table; those an engine
// reading the table's folders would still see are moved aside
// (RepairResult.SetAside) so that Athena reads what lakekit reads. A
// "repair" commit at the head makes catalogs compare everything at their
// next sync. Where the object can be restored instead — from S3 object
// versioning or a backup — do that and do not run Repair.
func (t *Table) Repair(ctx context.Context, opts *RepairOptions) (*RepairResult, error) {
	var o RepairOptions
	if opts != nil {
		o = *opts
	}
	res, newest, err := t.findDamaged(ctx)
	if err != nil {
		return nil, err
	}
	if len(res.Damaged) == 0 || o.DryRun {
		return res, nil
	}
	now := time.Now().UTC()
	audit := t.lk.Audit(ctx, o.Caller)
	names := make([]string, len(res.Damaged))
	for i, v := range res.Damaged {
		names[i] = strconv.FormatInt(v, 10)
	}
	ev := &lake.HistoryEntry{Kind: lake.HistoryRepair, Version: newest, Time: now, Operation: "repair", Audit: audit,
		Status: lake.EventStarted, Metadata: map[string]string{"versions": strings.Join(names, ",")}}
	if err := t.zone.RecordEvent(ctx, t.database, t.name, ev); err != nil {
		return nil, fmt.Errorf("zones: repair %s: the audit record could not be written, nothing changed: %w", t.prefix, err)
	}
	res.AuditID = ev.ID
	if err := t.replaceDamaged(ctx, res, ev.ID, audit, now); err != nil {
		return res, err
	}
	t.mu.Lock()
	t.latest = nil // rebuild from the repaired log
	t.mu.Unlock()
	if err := t.setAsideUnreferenced(ctx, res); err != nil {
		return res, fmt.Errorf("zones: repair %s: %w", t.prefix, err)
	}
	if err := t.appendRepairMarker(ctx, newest+1, audit, ev.ID, names); err != nil {
		return res, err
	}
	ev.Status, ev.Finished = lake.EventDone, time.Now().UTC()
	if err := t.zone.RecordEvent(ctx, t.database, t.name, ev); err != nil {
		t.logger.Warn("zones: repair audit record not completed", "id", ev.ID, "err", err)
	}
	t.logger.Warn("zones: commit log repaired", "versions", names, "audit", ev.ID)
	return res, nil
}

// findDamaged lists the versions up to the newest (the log's, or the
// hint's when the newest entries themselves were lost) that are missing
// or do not decode, and returns that newest version.
func (t *Table) findDamaged(ctx context.Context) (*RepairResult, int64, error) {
	versions, err := t.log.Versions(ctx)
	if err != nil {
		return nil, 0, err
	}
	res := &RepairResult{Saved: map[int64]string{}}
	newest := int64(0)
	if len(versions) > 0 {
		newest = versions[len(versions)-1]
	}
	if hint, err := t.log.Hint(ctx); err != nil {
		return nil, 0, err
	} else if hint > newest { // the newest entries themselves were lost
		newest = hint
	}
	present := map[int64]bool{}
	for _, v := range versions {
		present[v] = true
	}
	for v := int64(1); v <= newest; v++ {
		if !present[v] {
			res.Damaged = append(res.Damaged, v)
			continue
		}
		if _, err := t.readCommit(ctx, v); errors.Is(err, ErrCorrupt) {
			res.Damaged = append(res.Damaged, v)
		} else if err != nil {
			return nil, 0, err
		}
	}
	return res, newest, nil
}

// replaceDamaged keeps each damaged entry's bytes under _lakekit/repair/
// and replaces it with a repair commit holding what later versions prove
// it did (inferLost).
func (t *Table) replaceDamaged(ctx context.Context, res *RepairResult, auditID string, audit lake.Audit, now time.Time) error {
	for _, v := range res.Damaged {
		if b, err := t.log.Read(ctx, v); err == nil {
			saved := fmt.Sprintf("%s/_lakekit/repair/%020d-%d.bad", t.prefix, v, now.UnixNano())
			if err := t.store.PutBytes(ctx, saved, b, nil); err != nil {
				return fmt.Errorf("zones: repair %s: keep the damaged version %d: %w", t.prefix, v, err)
			}
			res.Saved[v] = saved
		}
		c := &Commit{Version: v, Timestamp: now, Operation: "repair", Audit: audit,
			Metadata: map[string]string{"repair": auditID, "saved": res.Saved[v]}}
		t.mu.Lock()
		t.latest = nil
		t.mu.Unlock()
		if err := t.inferLost(ctx, c, res.Damaged); err != nil {
			return fmt.Errorf("zones: repair %s: version %d: %w", t.prefix, v, err)
		}
		b, err := logcodec.Encode(c)
		if err != nil {
			return err
		}
		if err := t.log.Replace(ctx, v, b); err != nil {
			return fmt.Errorf("zones: repair %s: replace version %d: %w", t.prefix, v, err)
		}
	}
	return nil
}

// appendRepairMarker appends a repair commit at version (the head), so
// catalogs and other syncers that recorded a version at or past the
// damage see they are behind and compare everything (syncTouched does a
// full sync over a repair).
func (t *Table) appendRepairMarker(ctx context.Context, version int64, audit lake.Audit, auditID string, names []string) error {
	marker := &Commit{Version: version, Timestamp: time.Now().UTC(), Operation: "repair", Audit: audit,
		Metadata: map[string]string{"repair": auditID, "versions": strings.Join(names, ",")}}
	st, err := t.refresh(ctx)
	if err != nil {
		return err
	}
	marker.PartitionKeys, marker.SchemaVersion = st.PartitionKeys, st.SchemaVersion
	mb, err := logcodec.Encode(marker)
	if err != nil {
		return err
	}
	if err := t.log.Append(ctx, marker.Version, mb); err != nil {
		return fmt.Errorf("zones: repair %s: the repair commit: %w", t.prefix, err)
	}
	if err := t.log.NoteVersion(ctx, marker.Version); err != nil {
		t.logger.Warn("zones: newest-version hint not written", "version", marker.Version, "err", err)
	}
	return nil
}

// inferLost fills the replacement c of a lost version with what the later
// versions prove it did. A later append that put files of partition p in
// a folder F other than p's location before the lost version shows that
// the lost version moved p to F (an overwrite): the replacement points p
// at F, removes p's older files outside F (the overwrite replaced them),
// and adds back the Parquet objects in F that no version names (the lost
// version's own files, read from their footers). Partitions no later
// append touched keep what the versions before say.
func (t *Table) inferLost(ctx context.Context, c *Commit, damaged []int64) error {
	v := c.Version
	prev := newState()
	if v > 1 {
		st, err := t.travel(ctx, v-1)
		if err != nil {
			return err
		}
		prev = st
	}
	c.PartitionKeys, c.SchemaVersion = prev.PartitionKeys, prev.SchemaVersion
	moved := map[string]string{} // partition path → the folder the lost version moved it to
	settled := map[string]bool{} // partitions a later version relocated
	named := map[string]bool{}   // data files later versions add
	isDamaged := map[int64]bool{}
	for _, d := range damaged {
		isDamaged[d] = true
	}
	for later := v + 1; ; later++ {
		if isDamaged[later] {
			continue
		}
		lc, err := t.readCommit(ctx, later)
		if errors.Is(err, lake.ErrNotFound) {
			break
		}
		if err != nil {
			return err
		}
		if c.PartitionKeys == nil && lc.PartitionKeys != nil {
			c.PartitionKeys = lc.PartitionKeys
		}
		for _, f := range lc.Added {
			named[f.Key] = true
			p := partPath(f.Partition)
			folder := path.Dir(f.Key)
			if settled[p] || moved[p] != "" || lc.Mode != Append {
				continue
			}
			if loc, ok := prev.Locations[p]; !ok || loc != folder {
				moved[p] = folder
			}
		}
		for p := range lc.touched() {
			if lc.Mode != Append {
				settled[p] = true
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(moved)) {
		folder := moved[p]
		part, err := lake.ParsePartitionPath(p)
		if err != nil {
			return err
		}
		c.Mode = OverwritePartitions
		c.Locations = append(c.Locations, PartitionLocation{Partition: part, Prefix: folder})
		for _, f := range prev.sortedFiles() {
			if partPath(f.Partition) == p && path.Dir(f.Key) != folder {
				c.Removed = append(c.Removed, f)
			}
		}
		for e, err := range t.store.List(ctx, folder+"/", &lake.ListOptions{Delimiter: "/"}) {
			if err != nil {
				return err
			}
			if e.IsDir || !strings.HasSuffix(e.Key, ".parquet") || named[e.Key] || prev.files[e.Key].Key != "" {
				continue
			}
			rows, err := t.footerRows(ctx, e.Key, e.Size)
			if err != nil {
				return fmt.Errorf("adopt %s: %w", e.Key, err)
			}
			c.Added = append(c.Added, DataFile{Key: e.Key, Partition: part, Rows: rows, Size: e.Size})
		}
	}
	return nil
}

// footerRows reads a Parquet object's row count from its footer.
func (t *Table) footerRows(ctx context.Context, key string, size int64) (int64, error) {
	r, err := t.store.OpenReader(ctx, key, nil)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if err := checkFooter(r, r.Size()); err != nil {
		return 0, err
	}
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, err
	}
	return f.NumRows(), nil
}

// setAsideUnreferenced moves Parquet objects that lie in the repaired
// table's current folders, visible to an engine reading them, but that no
// version names, out of sight (a lost version's files: lakekit no longer
// reads them, so Athena must not either).
func (t *Table) setAsideUnreferenced(ctx context.Context, res *RepairResult) error {
	st, err := t.refresh(ctx)
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for k, f := range st.files {
		named[k] = true
		if f.Staged != "" {
			named[f.Staged] = true
		}
	}
	for _, ts := range st.Tombstones {
		named[ts.Key] = true // replaced files: Vacuum's to delete
	}
	// where engines look: the current locations, and the Hive folders
	// below the table (a partition added later starts in its Hive folder)
	locs := []string{t.prefix + "/"}
	for _, l := range st.Locations {
		locs = append(locs, l+"/")
	}
	res.SetAside = map[string]string{}
	for e, err := range t.store.List(ctx, t.prefix+"/", nil) {
		if err != nil {
			return err
		}
		if e.IsDir || !strings.HasSuffix(e.Key, ".parquet") || named[e.Key] {
			continue
		}
		shown := false
		for _, loc := range locs {
			shown = shown || VisibleUnder(loc, e.Key)
		}
		if !shown {
			continue
		}
		dst := t.prefix + "/_lakekit/repair/unreferenced/" + strings.TrimPrefix(e.Key, t.prefix+"/")
		if err := t.store.Move(ctx, e.Key, dst); err != nil {
			return fmt.Errorf("set aside %s: %w", e.Key, err)
		}
		res.SetAside[e.Key] = dst
	}
	return nil
}
