package zones

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/backoff"
	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// Commit uploads the remaining files and commits everything written as one
// new table version: one create-if-absent log object. When another writer
// took the version first, Commit reads the commits it missed; an append is
// rebased and retried (jittered backoff), an overwrite that collides with
// them fails with ErrConflict. A key already committed returns the earlier
// result (Duplicate). With a Catalog, the schema is checked before the
// commit, and after it the table and partitions are brought up to date; a
// failure there is reported wrapping ErrCatalog together with the result
// (the data is committed; Dataset.SyncCatalog repeats the step).
//
// After Commit (successful or not) the writer is finished.
func (w *Writer[T]) Commit(ctx context.Context) (*CommitResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, fmt.Errorf("zones: commit %s: %w", w.d.table.prefix, ErrWriterClosed)
	}
	w.done = true
	defer w.closePool()
	t := w.d.table
	if w.failed != nil {
		w.discardOpen()
		w.deleteUploaded(ctx) // best effort; leftovers are orphans for Vacuum
		return nil, fmt.Errorf("zones: commit %s: an earlier write failed, nothing is committed: %w", t.prefix, w.failed)
	}
	if w.dup != nil {
		return w.d.duplicate(ctx, w.dup, 0)
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	var catTable *catalog.Table
	if w.d.opts.Catalog != nil {
		ct, err := w.d.opts.Catalog.GetTable(ctx, t.database, t.name)
		switch {
		case err == nil:
			if err := checkEvolution(ct.Schema, w.d.catalogSchema()); err != nil {
				return nil, fmt.Errorf("zones: commit %s: %w: %w", t.prefix, ErrSchema, err)
			}
			catTable = ct
		case errors.Is(err, catalog.ErrNoSuchTable), errors.Is(err, catalog.ErrNoSuchDatabase):
		default:
			return nil, fmt.Errorf("zones: commit %s: catalog: %w", t.prefix, err)
		}
	}
	// who: this process, and the caller's identity — the writer's, else
	// the lake's (lake.Options.Caller, or the store's principal, looked up
	// once per lake with a short timeout)
	audit := t.lk.Audit(ctx, w.opts.Caller)
	checked := w.base.Version // commits up to here were checked for conflicts
	for attempt := 1; ; attempt++ {
		st, err := t.refresh(ctx)
		if err != nil {
			return nil, err
		}
		if v, ok := st.key(w.opts.IdempotencyKey); ok {
			c, err := t.readCommit(ctx, v)
			if err != nil {
				return nil, err
			}
			return w.d.duplicate(ctx, c, attempt)
		}
		for v := checked + 1; v <= st.Version; v++ {
			c, err := t.readCommit(ctx, v)
			if err != nil {
				return nil, err
			}
			if err := w.conflicts(c); err != nil {
				return nil, err
			}
		}
		checked = st.Version
		c, err := w.buildCommit(st, audit)
		if err != nil {
			return nil, err
		}
		b, err := logcodec.Encode(c)
		if err != nil {
			return nil, err
		}
		err = t.store.Create(ctx, logKey(t.prefix, c.Version), b, &lake.PutOptions{ContentType: "application/json"})
		if err == nil {
			next := st.clone()
			if err := next.apply(c); err != nil {
				return nil, err
			}
			t.publish(next)
			if c.Version%CheckpointInterval == 0 {
				t.writeCheckpoint(ctx, next)
			}
			res := resultOf(c, false, attempt)
			w.d.logger.Info("zones: committed", "version", c.Version, "mode", c.Mode.String(), "files", len(c.Added), "rows", res.Rows, "attempts", attempt)
			if w.d.opts.Catalog != nil {
				if err := w.d.syncCommit(ctx, catTable, st, c); err != nil {
					return res, fmt.Errorf("zones: commit %s version %d: %w: %w", t.prefix, c.Version, ErrCatalog, err)
				}
			}
			return res, nil
		}
		if !errors.Is(err, lake.ErrExists) && !errors.Is(err, lake.ErrThrottled) {
			return nil, fmt.Errorf("zones: commit %s: %w", t.prefix, err)
		}
		if attempt >= w.opts.MaxAttempts {
			return nil, fmt.Errorf("zones: commit %s: %d attempts: %w", t.prefix, attempt, ErrTooManyAttempts)
		}
		// full jitter: a random wait up to 1, 2, 4 ... 64 ms
		if err := backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 64*time.Millisecond)+100*time.Microsecond); err != nil {
			return nil, err
		}
	}
}

// conflicts reports whether a commit made after this writer started
// collides with it.
func (w *Writer[T]) conflicts(c *Commit) error {
	if c.IdempotencyKey == w.opts.IdempotencyKey {
		return nil // handled by the caller as a duplicate
	}
	theirs := c.touched()
	switch w.opts.Mode {
	case Overwrite:
		if len(theirs) > 0 {
			return fmt.Errorf("zones: overwrite of %s: version %d (%s) changed the table meanwhile: %w", w.d.table.prefix, c.Version, c.Mode, ErrConflict)
		}
	case OverwritePartitions:
		for p := range w.touched {
			if theirs[p] {
				return fmt.Errorf("zones: overwrite of %s partition %q: version %d (%s) changed it meanwhile: %w", w.d.table.prefix, p, c.Version, c.Mode, ErrConflict)
			}
		}
		if c.Mode == Overwrite {
			return fmt.Errorf("zones: overwrite of %s partitions: version %d overwrote the whole table meanwhile: %w", w.d.table.prefix, c.Version, ErrConflict)
		}
	case Append:
		if c.Mode == Append {
			return nil
		}
		for p := range w.touched {
			if theirs[p] {
				return fmt.Errorf("zones: append to %s partition %q: version %d overwrote it meanwhile: %w", w.d.table.prefix, p, c.Version, ErrConflict)
			}
		}
	}
	return nil
}

// buildCommit makes the log entry of this write on top of st.
func (w *Writer[T]) buildCommit(st *state, audit Audit) (*Commit, error) {
	t := w.d.table
	c := &Commit{
		Version:        st.Version + 1,
		Timestamp:      time.Now().UTC(),
		Operation:      "write",
		Mode:           w.opts.Mode,
		IdempotencyKey: w.opts.IdempotencyKey,
		PartitionKeys:  w.d.partKeys,
		Added:          w.files,
		Metadata:       w.opts.Metadata,
		Audit:          audit,
		SchemaVersion:  st.SchemaVersion,
	}
	if st.Version > 0 && !equalStrings(st.PartitionKeys, w.d.partKeys) {
		return nil, fmt.Errorf("zones: commit %s: table is partitioned by %v, the dataset by %v: %w", t.prefix, st.PartitionKeys, w.d.partKeys, ErrSchema)
	}
	switch {
	case st.Version == 0 || st.Schema == nil:
		c.Schema, c.SchemaVersion = w.d.columns, 1
	case !equalColumns(st.Schema, w.d.columns):
		if err := checkColumns(st.Schema, w.d.columns); err != nil {
			return nil, fmt.Errorf("zones: commit %s: %w: %w", t.prefix, ErrSchema, err)
		}
		c.Schema, c.SchemaVersion = w.d.columns, st.SchemaVersion+1
	}
	paths := make([]string, 0, len(w.touched))
	for p := range w.touched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	switch w.opts.Mode {
	case Append:
		for _, p := range paths {
			want := joinKey(t.prefix, p)
			if loc, ok := st.Locations[p]; ok {
				want = loc
			}
			if got := w.prefixFor(w.touched[p], p); got != want {
				return nil, fmt.Errorf("zones: append to %s partition %q: its location moved to %s meanwhile: %w", t.prefix, p, want, ErrConflict)
			}
			if _, ok := st.Locations[p]; !ok {
				c.Locations = append(c.Locations, PartitionLocation{Partition: w.touched[p], Prefix: want})
			}
		}
	case Overwrite, OverwritePartitions:
		for _, p := range paths {
			c.Locations = append(c.Locations, PartitionLocation{Partition: w.touched[p], Prefix: w.prefixFor(w.touched[p], p)})
		}
		for _, f := range st.sortedFiles() {
			if w.opts.Mode == Overwrite || w.touched[partPath(f.Partition)] != nil {
				c.Removed = append(c.Removed, f)
			}
		}
		if w.opts.Mode == Overwrite {
			for p := range st.Locations {
				if _, ok := w.touched[p]; !ok {
					part, err := lake.ParsePartitionPath(p)
					if err != nil {
						return nil, err
					}
					c.Dropped = append(c.Dropped, part)
				}
			}
			sort.Slice(c.Dropped, func(i, j int) bool { return partPath(c.Dropped[i]) < partPath(c.Dropped[j]) })
		}
	}
	return c, nil
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
func checkColumns(old, cur []Column) error {
	toCat := func(cs []Column) catalog.Schema {
		var s catalog.Schema
		for _, c := range cs {
			s.Columns = append(s.Columns, catalog.Column{Name: c.Name, Type: c.Type, Required: c.Required})
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

// duplicate answers a commit whose idempotency key is already in the log
// with that commit's result, and repeats its catalog registration: the
// first attempt may have died between the commit object and the catalog.
func (d *Dataset[T]) duplicate(ctx context.Context, c *Commit, attempts int) (*CommitResult, error) {
	res := resultOf(c, true, attempts)
	if d.opts.Catalog != nil {
		if err := d.syncCommit(ctx, nil, nil, c); err != nil {
			return res, fmt.Errorf("zones: commit %s version %d (duplicate): %w: %w", d.table.prefix, c.Version, ErrCatalog, err)
		}
	}
	return res, nil
}

// syncCommit registers in the catalog the partitions commit c touched, at
// the locations of the NEWEST snapshot rather than c's own: a slower earlier
// committer must not point a partition back at the location a later
// overwrite replaced. After writing it reads the log again and repeats
// while newer commits appeared, so whichever syncer writes last has checked
// the newest version after its write: the catalog converges to the log.
// prev, when known, is the state c was committed on (it tells new
// partitions from moved ones and saves a round trip).
func (d *Dataset[T]) syncCommit(ctx context.Context, ct *catalog.Table, prev *state, c *Commit) error {
	t := d.table
	touched := map[string]lake.Partition{}
	for _, l := range c.Locations {
		touched[partPath(l.Partition)] = l.Partition
	}
	for _, p := range c.Dropped {
		touched[partPath(p)] = p
	}
	paths := make([]string, 0, len(touched))
	for p := range touched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	synced := int64(-1)
	for round := 0; ; round++ {
		st, err := t.refresh(ctx)
		if err != nil {
			return err
		}
		if st.Version == synced {
			return nil
		}
		if round >= 16 {
			return fmt.Errorf("catalog sync of %s did not settle: the log moved on %d times", t.prefix, round)
		}
		view := &Commit{Version: st.Version}
		for _, path := range paths {
			if prefix, ok := st.Locations[path]; ok {
				view.Locations = append(view.Locations, PartitionLocation{Partition: touched[path], Prefix: prefix})
			} else {
				view.Dropped = append(view.Dropped, touched[path])
			}
		}
		// With no commit after c, prev tells exactly which partitions are
		// new (add) and which moved (update). Otherwise any touched
		// partition may exist: update, adding the missing.
		base := st
		if round == 0 && prev != nil && st.Version == c.Version {
			base = prev
		}
		if err := d.syncCatalog(ctx, ct, base, view); err != nil {
			return err
		}
		ct = nil // the table may have changed: read it again next round
		synced = st.Version
	}
}

// syncCatalog brings the catalog up to date after commit c on top of prev.
func (d *Dataset[T]) syncCatalog(ctx context.Context, ct *catalog.Table, prev *state, c *Commit) error {
	cat, t := d.opts.Catalog, d.table
	schema := d.catalogSchema()
	if ct == nil {
		var err error
		ct, err = cat.GetTable(ctx, t.database, t.name)
		if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchDatabase) {
			if errors.Is(err, catalog.ErrNoSuchDatabase) {
				if err := cat.CreateDatabase(ctx, catalog.Database{Name: t.database}); err != nil && !errors.Is(err, catalog.ErrExists) {
					return err
				}
			}
			ct = &catalog.Table{Database: t.database, Name: t.name, Location: t.Location(), Format: "parquet",
				Schema: schema, Description: d.opts.Description, Owner: d.opts.Owner}
			if err := cat.CreateTable(ctx, ct); err != nil && !errors.Is(err, catalog.ErrExists) {
				return err
			}
			if ct, err = cat.GetTable(ctx, t.database, t.name); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	// schema and (unpartitioned) location
	loc := ct.Location
	if len(d.partKeys) == 0 {
		if p, ok := c.locationOf(""); ok {
			loc = t.store.Location(p + "/")
		}
	}
	if !sameCatalogColumns(ct.Schema, schema) || loc != ct.Location {
		for attempt := 0; ; attempt++ {
			ct.Schema.Columns, ct.Schema.PartitionKeys, ct.Location = schema.Columns, schema.PartitionKeys, loc
			err := cat.UpdateTable(ctx, ct, nil)
			if err == nil {
				break
			}
			if !errors.Is(err, catalog.ErrConflict) || attempt > 5 {
				return err
			}
			if ct, err = cat.GetTable(ctx, t.database, t.name); err != nil {
				return err
			}
		}
	}
	if len(d.partKeys) == 0 {
		return nil
	}
	var add, move []catalog.Partition
	for _, l := range c.Locations {
		cp := catalog.Partition{Values: l.Partition.Values(), Location: t.store.Location(l.Prefix + "/")}
		if _, existed := prev.Locations[partPath(l.Partition)]; existed {
			move = append(move, cp)
		} else {
			add = append(add, cp)
		}
	}
	if len(add) > 0 {
		if err := cat.AddPartitions(ctx, t.database, t.name, add); err != nil {
			return err
		}
	}
	if len(move) > 0 {
		if err := cat.UpdatePartitionLocations(ctx, t.database, t.name, move); err != nil {
			if !errors.Is(err, catalog.ErrNoSuchPartition) {
				return err
			}
			if err := cat.AddPartitions(ctx, t.database, t.name, move); err != nil {
				return err
			}
			if err := cat.UpdatePartitionLocations(ctx, t.database, t.name, move); err != nil {
				return err
			}
		}
	}
	if len(c.Dropped) > 0 {
		vals := make([][]string, len(c.Dropped))
		for i, p := range c.Dropped {
			vals[i] = p.Values()
		}
		if err := cat.DeletePartitions(ctx, t.database, t.name, vals); err != nil {
			return err
		}
	}
	return nil
}

func (c *Commit) locationOf(path string) (string, bool) {
	for _, l := range c.Locations {
		if partPath(l.Partition) == path {
			return l.Prefix, true
		}
	}
	return "", false
}

func sameCatalogColumns(a, b catalog.Schema) bool {
	if len(a.Columns) != len(b.Columns) || len(a.PartitionKeys) != len(b.PartitionKeys) {
		return false
	}
	for i := range a.Columns {
		if a.Columns[i].Name != b.Columns[i].Name || a.Columns[i].Type != b.Columns[i].Type {
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

// SyncCatalog registers the newest snapshot in the catalog: creates the
// table if missing, updates its schema, adds every partition and points
// each at its current location. Use it after a commit reported ErrCatalog.
func (d *Dataset[T]) SyncCatalog(ctx context.Context) error {
	if d.opts.Catalog == nil {
		return fmt.Errorf("zones: sync catalog of %s: no Options.Catalog: %w", d.table.prefix, ErrInvalid)
	}
	st, err := d.table.stateAt(ctx, 0)
	if err != nil {
		return err
	}
	c := &Commit{Version: st.Version}
	for p, prefix := range st.Locations {
		part, err := lake.ParsePartitionPath(p)
		if err != nil {
			return err
		}
		c.Locations = append(c.Locations, PartitionLocation{Partition: part, Prefix: prefix})
	}
	sort.Slice(c.Locations, func(i, j int) bool { return c.Locations[i].Prefix < c.Locations[j].Prefix })
	// every partition counts as possibly existing: add, then move
	empty := newState()
	if err := d.syncCatalog(ctx, nil, empty, c); err != nil {
		return err
	}
	return d.syncCatalog(ctx, nil, st, c)
}
