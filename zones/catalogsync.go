package zones

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
)

// CatalogVersionParam is the catalog table parameter in which lakekit
// records the table version the catalog reflects. A commit that finds it
// behind brings the catalog forward from there, so a writer killed between
// its commit and its catalog update is repaired by the next commit of any
// key (or by Vacuum, or SyncCatalog).
const CatalogVersionParam = "lakekit_version"

// recordEvery bounds how far the recorded version may lag when nothing
// in the catalog changed (the next sync reads at most that many log
// entries to find what they touched).
const recordEvery = 8

// maxSyncRounds bounds the converging loop of one catalog sync.
const maxSyncRounds = 32

// checkCatalog is the check a write makes before uploading anything: the
// catalog table, if it exists, must be this dataset's (its location inside
// the table's prefix, unless Options.AdoptCatalogTable) and take the
// dataset's schema by the evolution rules (unless the write replaces it).
func (d *Dataset[T]) checkCatalog(ctx context.Context, tx *Tx) error {
	if d.opts.Catalog == nil {
		return nil
	}
	t := d.table
	ct, err := d.opts.Catalog.GetTable(ctx, t.database, t.name)
	switch {
	case errors.Is(err, catalog.ErrNoSuchTable), errors.Is(err, catalog.ErrNoSuchDatabase):
		return nil
	case err != nil:
		return fmt.Errorf("zones: %s: catalog: %w", t.prefix, err)
	}
	if err := d.checkOwner(ct); err != nil {
		return err
	}
	if err := d.checkProjection(ct, tx); err != nil {
		return err
	}
	if tx.opts.ReplaceSchema {
		return nil
	}
	if err := checkEvolution(ct.Schema, d.catalogSchema()); err != nil {
		return fmt.Errorf("zones: %s: %w: %w", t.prefix, ErrSchema, err)
	}
	return nil
}

// checkProjection refuses the writes Athena partition projection cannot
// follow. Projection computes each partition's folder from the table's
// storage.location.template, so only a template that is the table's own
// Hive layout ("<location>/k1=${k1}/.../") finds exactly the committed
// files, and only while every partition stays in that folder: appends do
// (their files are moved there at the commit); an overwrite writes a new
// generation folder the template cannot point at, and its replaced files
// would stay where the template looks.
func (d *Dataset[T]) checkProjection(ct *catalog.Table, tx *Tx) error {
	if !strings.EqualFold(ct.Parameters["projection.enabled"], "true") {
		return nil
	}
	t := d.table
	if tx.opts.Mode != Append || tx.opts.ReplaceSchema {
		return fmt.Errorf("zones: %s: the catalog table uses Athena partition projection, which cannot follow an overwrite (%s) to its new folder; append, or turn projection off: %w", t.prefix, tx.opts.Mode, ErrInvalid)
	}
	segs := make([]string, len(d.partKeys))
	for i, k := range d.partKeys {
		segs[i] = k + "=${" + k + "}"
	}
	want := t.Location() + strings.Join(segs, "/") + "/"
	if tmpl := ct.Parameters["storage.location.template"]; tmpl != "" && ensureSlash(tmpl) != want {
		return fmt.Errorf("zones: %s: the projection's storage.location.template %q is not the table's layout %q, so Athena would not find the files lakekit commits: %w", t.prefix, tmpl, want, ErrInvalid)
	}
	for path, loc := range tx.base.Locations {
		if loc != joinKey(t.prefix, path) {
			return fmt.Errorf("zones: %s: partition %s lives in %s after an overwrite, where Athena partition projection cannot find it: %w", t.prefix, path, loc, ErrInvalid)
		}
	}
	return nil
}

// checkOwner refuses a catalog table located outside the dataset's prefix:
// taking it over would repoint another team's table.
func (d *Dataset[T]) checkOwner(ct *catalog.Table) error {
	own := d.table.Location()
	if d.opts.AdoptCatalogTable || ct.Location == "" || strings.HasPrefix(ensureSlash(ct.Location), own) {
		return nil
	}
	return fmt.Errorf("zones: catalog table %s.%s is located at %s, not at this dataset's %s; refusing to take it over (Options.AdoptCatalogTable allows it): %w",
		d.table.database, d.table.name, ct.Location, own, lake.ErrExists)
}

func ensureSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// syncCatalog is the catalog projection run after each commit: it brings
// the catalog from the version it records to the newest.
func (d *Dataset[T]) syncCatalog(ctx context.Context) error { return d.converge(ctx, false) }

// converge brings the catalog to the newest version of the log and
// repeats while the log moves on, so whichever syncer writes last has
// checked the newest version after its write. Each round syncs the
// partitions the commits since the last synced version touched (all of
// them when full, when the catalog records no version, or when it is far
// behind), then records the version in the table's CatalogVersionParam.
func (d *Dataset[T]) converge(ctx context.Context, full bool) error {
	t := d.table
	synced := int64(-1)
	for round := 0; ; round++ {
		st, err := t.refresh(ctx)
		if err != nil {
			return err
		}
		if st.Version == synced {
			return nil
		}
		if round >= maxSyncRounds {
			// What this syncer wrote last may be older than what a later
			// syncer recorded: point the recorded version back, so the
			// next sync checks everything after what this one checked.
			d.lowerRecorded(ctx, synced)
			return fmt.Errorf("zones: catalog of %s: synced to version %d but the log moved on to %d during %d rounds (the data is committed; the next commit or SyncCatalog continues)", t.prefix, synced, st.Version, round)
		}
		ct, err := d.catalogTable(ctx)
		if err != nil {
			return err
		}
		if !sameKeyNames(ct.Schema.PartitionKeys, st.PartitionKeys) {
			// a schema replacement changed the keys: the old partitions go
			// first, then the table, then the new partitions
			if err := d.dropAllPartitions(ctx); err != nil {
				return err
			}
			full = true
		}
		if err := d.updateTable(ctx, ct, st, false); err != nil {
			return err
		}
		if ct, err = d.opts.Catalog.GetTable(ctx, t.database, t.name); err != nil {
			return err
		}
		from := synced
		if from < 0 {
			from = recordedVersion(ct)
		}
		var changed bool
		if full || from <= 0 || from > st.Version || st.Version-from > 32 {
			changed, err = d.syncAllPartitions(ctx, st)
			full = false
		} else {
			changed, err = d.syncTouched(ctx, st, from)
		}
		if err != nil {
			return err
		}
		// Record the version when the catalog changed, or every
		// recordEvery versions: an append into existing partitions then
		// costs no catalog write (and no Glue table version) at all.
		if changed || from < 0 || st.Version-from >= recordEvery {
			if err := d.updateTable(ctx, ct, st, true); err != nil {
				return err
			}
		}
		synced = st.Version
	}
}

// lowerRecorded sets the catalog's recorded version down to v (best
// effort).
func (d *Dataset[T]) lowerRecorded(ctx context.Context, v int64) {
	cat, t := d.opts.Catalog, d.table
	for attempt := 0; attempt < 5; attempt++ {
		ct, err := cat.GetTable(ctx, t.database, t.name)
		if err != nil || recordedVersion(ct) <= v {
			return
		}
		next := *ct
		next.Parameters = map[string]string{}
		for k, val := range ct.Parameters {
			next.Parameters[k] = val
		}
		next.Parameters[CatalogVersionParam] = strconv.FormatInt(v, 10)
		if err := cat.UpdateTable(ctx, &next, nil); !errors.Is(err, catalog.ErrConflict) {
			return
		}
	}
}

func recordedVersion(ct *catalog.Table) int64 {
	v, err := strconv.ParseInt(ct.Parameters[CatalogVersionParam], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// catalogTable returns the catalog's table, creating the database and the
// table when missing.
func (d *Dataset[T]) catalogTable(ctx context.Context) (*catalog.Table, error) {
	cat, t := d.opts.Catalog, d.table
	ct, err := cat.GetTable(ctx, t.database, t.name)
	if err == nil {
		return ct, d.checkOwner(ct)
	}
	if !errors.Is(err, catalog.ErrNoSuchTable) && !errors.Is(err, catalog.ErrNoSuchDatabase) {
		return nil, err
	}
	if errors.Is(err, catalog.ErrNoSuchDatabase) {
		if err := cat.CreateDatabase(ctx, catalog.Database{Name: t.database}); err != nil && !errors.Is(err, catalog.ErrExists) {
			return nil, err
		}
	}
	ct = &catalog.Table{Database: t.database, Name: t.name, Location: t.Location(), Format: "parquet",
		Schema: d.catalogSchema(), Description: d.opts.Description, Owner: d.opts.Owner,
		Parameters: map[string]string{CatalogVersionParam: "0"}}
	if err := cat.CreateTable(ctx, ct); err != nil && !errors.Is(err, catalog.ErrExists) {
		return nil, err
	}
	return cat.GetTable(ctx, t.database, t.name)
}

// updateTable sets the schema (when the dataset's columns are the log's),
// the location of an unpartitioned table, and the recorded version (only
// ever raised), retrying on the catalog's optimistic-concurrency conflicts.
func (d *Dataset[T]) updateTable(ctx context.Context, ct *catalog.Table, st *state, record bool) error {
	cat, t := d.opts.Catalog, d.table
	for attempt := 0; ; attempt++ {
		schema := ct.Schema
		replace := false
		if equalColumns(st.Schema, d.columns) && equalStrings(st.PartitionKeys, d.partKeys) {
			want := d.catalogSchema()
			if !sameCatalogColumns(ct.Schema, want) {
				schema, replace = want, true
			}
		}
		loc := ct.Location
		if len(st.PartitionKeys) == 0 {
			if p, ok := st.Locations[""]; ok {
				loc = t.store.Location(p + "/")
			} else {
				loc = t.Location()
			}
		}
		rec := recordedVersion(ct)
		if !record {
			rec = max(rec, st.Version) // not now
		}
		if !replace && loc == ct.Location && rec >= st.Version {
			return nil
		}
		next := *ct
		next.Schema.Columns, next.Schema.PartitionKeys, next.Location = schema.Columns, schema.PartitionKeys, loc
		next.Parameters = map[string]string{}
		for k, v := range ct.Parameters {
			next.Parameters[k] = v
		}
		if rec < st.Version {
			next.Parameters[CatalogVersionParam] = strconv.FormatInt(st.Version, 10)
		}
		// A schema the evolution rules refuse only gets here from a
		// replacement the log already committed.
		err := cat.UpdateTable(ctx, &next, &catalog.UpdateOptions{Force: replace})
		if err == nil {
			return nil
		}
		if !errors.Is(err, catalog.ErrConflict) || attempt > 5 {
			return err
		}
		if ct, err = cat.GetTable(ctx, t.database, t.name); err != nil {
			return err
		}
	}
}

// syncTouched syncs the partitions the commits after version from touched,
// at their locations in st (the newest state, never the commit's own: a
// slower syncer must not point a partition back at a replaced location).
func (d *Dataset[T]) syncTouched(ctx context.Context, st *state, from int64) (bool, error) {
	if len(st.PartitionKeys) == 0 {
		return false, nil
	}
	touched := map[string]bool{}
	moved := map[string]bool{}
	for v := from + 1; v <= st.Version; v++ {
		c, err := d.table.readCommit(ctx, v)
		if err != nil {
			return false, err
		}
		if !equalStrings(c.PartitionKeys, st.PartitionKeys) && c.PartitionKeys != nil || c.Operation == "repair" {
			return d.syncAllPartitions(ctx, st) // the keys changed, or a repair: compare everything
		}
		if c.Mode == Append { // only the partitions it created
			for _, l := range c.Locations {
				touched[partPath(l.Partition)] = true
			}
			continue
		}
		for p := range c.touched() {
			touched[p] = true
			moved[p] = true
		}
	}
	var plan partitionPlan
	for _, p := range slices.Sorted(maps.Keys(touched)) {
		part, err := lake.ParsePartitionPath(p)
		if err != nil {
			return false, err
		}
		prefix, ok := st.Locations[p]
		switch {
		case !ok:
			plan.drop(d.emptyLocation(), part.Values())
		case moved[p]:
			plan.swap(d.emptyLocation(), part.Values(), d.table.store.Location(prefix+"/"))
		default: // appended: the folder holds nothing new before the moves
			plan.add = append(plan.add, catalog.Partition{Values: part.Values(), Location: d.table.store.Location(prefix + "/")})
		}
	}
	return plan.changes(), d.applyPartitions(ctx, &plan)
}

// syncAllPartitions compares every catalog partition with st.
func (d *Dataset[T]) syncAllPartitions(ctx context.Context, st *state) (bool, error) {
	if len(st.PartitionKeys) == 0 {
		return false, nil
	}
	cat, t := d.opts.Catalog, d.table
	// catalog partitions by their Hive path (the one path builder), as
	// st.Locations is keyed
	type entry struct {
		values   []string
		location string
	}
	have := map[string]entry{}
	for p, err := range cat.Partitions(ctx, t.database, t.name, "") {
		if err != nil {
			return false, err
		}
		have[catalogPath(st.PartitionKeys, p.Values)] = entry{p.Values, p.Location}
	}
	var plan partitionPlan
	for _, p := range slices.Sorted(maps.Keys(st.Locations)) {
		part, err := lake.ParsePartitionPath(p)
		if err != nil {
			return false, err
		}
		if loc := t.store.Location(st.Locations[p] + "/"); have[p].location != loc {
			plan.swap(d.emptyLocation(), part.Values(), loc)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(have)) {
		if _, ok := st.Locations[p]; !ok {
			plan.drop(d.emptyLocation(), have[p].values)
		}
	}
	return plan.changes(), d.applyPartitions(ctx, &plan)
}

// changes reports whether the plan changes the catalog.
func (p *partitionPlan) changes() bool { return len(p.add)+len(p.repoint)+len(p.dropped) > 0 }

// partitionPlan is one catalog sync: partitions to add at their own
// (still empty) folders, then ONE call that repoints every changed
// partition — moved ones to their new folder, dropped ones to an empty
// folder — and last the removal of the dropped ones. Until the repointing
// call an engine reads the previous version; after it, the new one: a sync
// that stops in between leaves one whole version visible, never a mix.
// (Glue takes at most 100 partitions per call, so a commit that moves more
// is switched in several calls.)
type partitionPlan struct {
	add, repoint []catalog.Partition
	dropped      [][]string
}

// emptyLocation is a folder that never holds objects: where new and
// dropped partitions point while a sync switches.
func (d *Dataset[T]) emptyLocation() string {
	return d.table.store.Location(d.table.prefix + "/_lakekit/empty/")
}

// swap schedules a partition to point at loc in the repointing call; a
// partition the catalog lacks is first added at the empty folder.
func (p *partitionPlan) swap(empty string, values []string, loc string) {
	p.add = append(p.add, catalog.Partition{Values: values, Location: empty})
	p.repoint = append(p.repoint, catalog.Partition{Values: values, Location: loc})
}

// drop schedules a partition to be emptied in the repointing call, then
// removed.
func (p *partitionPlan) drop(empty string, values []string) {
	p.add = append(p.add, catalog.Partition{Values: values, Location: empty}) // so the repoint finds it
	p.repoint = append(p.repoint, catalog.Partition{Values: values, Location: empty})
	p.dropped = append(p.dropped, values)
}

func (d *Dataset[T]) applyPartitions(ctx context.Context, p *partitionPlan) error {
	cat, t := d.opts.Catalog, d.table
	if len(p.add) > 0 {
		// existing partitions are left as they are
		if err := cat.AddPartitions(ctx, t.database, t.name, p.add); err != nil {
			return err
		}
	}
	if len(p.repoint) > 0 {
		for try := 0; ; try++ {
			err := cat.UpdatePartitionLocations(ctx, t.database, t.name, p.repoint)
			if err == nil {
				break
			}
			// a concurrent syncer (on an older version; it repeats on the
			// newer one) removed one in between: add it again, then repoint
			if !errors.Is(err, catalog.ErrNoSuchPartition) || try >= 3 {
				return err
			}
			missing := make([]catalog.Partition, len(p.repoint))
			for i, r := range p.repoint {
				missing[i] = catalog.Partition{Values: r.Values, Location: d.emptyLocation()}
			}
			if err := cat.AddPartitions(ctx, t.database, t.name, missing); err != nil {
				return err
			}
		}
	}
	if len(p.dropped) > 0 {
		if err := cat.DeletePartitions(ctx, t.database, t.name, p.dropped); err != nil {
			return err
		}
	}
	return nil
}

// catalogLocations lists every location the catalog points at for this
// table (the table's and its partitions'), as store keys relative to the
// zone, for Vacuum: files under them are what Athena reads.
func (d *Dataset[T]) catalogLocations(ctx context.Context) ([]string, error) {
	if d.opts.Catalog == nil {
		return nil, nil
	}
	return catalogKeyPrefixes(ctx, d.opts.Catalog, d.table)
}

func catalogKeyPrefixes(ctx context.Context, cat catalog.Catalog, t *Table) ([]string, error) {
	ct, err := cat.GetTable(ctx, t.database, t.name)
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchDatabase) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root := t.store.Location("")
	var out []string
	rel := func(loc string) {
		if k, ok := strings.CutPrefix(ensureSlash(loc), root); ok {
			out = append(out, k)
		}
	}
	if len(ct.Schema.PartitionKeys) == 0 {
		rel(ct.Location)
		return out, nil
	}
	for p, err := range cat.Partitions(ctx, t.database, t.name, "") {
		if err != nil {
			return nil, err
		}
		rel(p.Location)
	}
	return out, nil
}

func sameKeyNames(cols []catalog.Column, keys []string) bool {
	if len(cols) != len(keys) {
		return false
	}
	for i := range cols {
		if cols[i].Name != keys[i] {
			return false
		}
	}
	return true
}

func (d *Dataset[T]) dropAllPartitions(ctx context.Context) error {
	cat, t := d.opts.Catalog, d.table
	var vals [][]string
	for p, err := range cat.Partitions(ctx, t.database, t.name, "") {
		if err != nil {
			return err
		}
		vals = append(vals, p.Values)
	}
	if len(vals) == 0 {
		return nil
	}
	return cat.DeletePartitions(ctx, t.database, t.name, vals)
}

// catalogPath is the Hive path of a catalog partition's values under the
// table's keys; values that do not fit the keys get a path no partition
// has, so a sync drops them.
func catalogPath(keys, values []string) string {
	if len(keys) != len(values) {
		return "\x00" + strings.Join(values, "\x00")
	}
	p := make(lake.Partition, len(keys))
	for i, k := range keys {
		p[i] = lake.KV{Key: k, Value: values[i]}
	}
	return p.HivePath()
}

func sameCatalogColumns(a, b catalog.Schema) bool {
	if len(a.Columns) != len(b.Columns) || len(a.PartitionKeys) != len(b.PartitionKeys) {
		return false
	}
	for i := range a.Columns {
		if a.Columns[i].Name != b.Columns[i].Name || a.Columns[i].Type != b.Columns[i].Type || a.Columns[i].Required != b.Columns[i].Required {
			return false
		}
	}
	for i := range a.PartitionKeys {
		if a.PartitionKeys[i].Name != b.PartitionKeys[i].Name {
			return false
		}
	}
	return true
}
