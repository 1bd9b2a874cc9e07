package duckdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/sqltext"
	"github.com/lakekit/lakekit/zones"
)

// TableRef names a table of the lake.
type TableRef struct {
	Zone     lake.ZoneName
	Database string
	Table    string
}

func (r TableRef) String() string { return r.Database + "." + r.Table }

// tableView is one view: a table and the snapshot it shows.
type tableView struct {
	ref       TableRef
	table     *zones.Table
	partTypes map[string]string // partition key -> DuckDB type
	pinned    int64             // > 0: this version, else the newest
	version   int64             // version the view shows; 0 before the first build
	body      string            // the view's SELECT
}

// Open opens a DuckDB engine over the lake lk. Each table becomes a view
// "<database>"."<table>" (a DuckDB schema per database) over exactly the
// files of the table's current snapshot, read from its commit log: a query
// sees whole commits only, and a filter on partition columns reads only the
// matching partitions' files. Partition columns are typed as the catalog
// says (VARCHAR without a catalog).
//
// With a catalog, its tables are exposed (those whose location is a
// lakekit table of lk); without one (cat == nil), the tables found in
// Options.Zones. The views stay on their snapshot until Refresh; Pin holds
// a table at an older version.
//
// A lake on the file store is read in place. Files of any other store
// (mem://, s3://) are first copied to Options.CacheDir, keyed by their
// ETag, so each is fetched once; for large lakes on S3, Athena is the
// engine to use.
func Open(ctx context.Context, lk *lake.Lake, cat catalog.Catalog, opts *Options) (*Engine, error) {
	if lk == nil {
		return nil, fmt.Errorf("duckdb: Open: nil lake: %w", query.ErrInvalid)
	}
	e, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	e.lk, e.cat = lk, cat
	var root string
	if lk.Store().As(&root) {
		e.local = root
	}
	// the cache also serves file lakes: a committed file still in its
	// table's staging folder is read from a copy, since the commit moves it
	e.cacheDir = e.opts.CacheDir
	if e.cacheDir == "" {
		e.cacheDir = CacheDirDefault()
	}
	if err := os.MkdirAll(e.cacheDir, 0o755); err != nil {
		e.Close()
		return nil, fmt.Errorf("duckdb: cache dir: %w", err)
	}
	if err := e.init(ctx, []string{e.local, e.cacheDir}); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.Refresh(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Tables lists the exposed tables and the version each view shows.
func (e *Engine) Tables() map[TableRef]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[TableRef]int64, len(e.tables))
	for _, tv := range e.tables {
		out[tv.ref] = tv.version
	}
	return out
}

// Version returns the table version the view database.table shows.
func (e *Engine) Version(database, table string) (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tv, ok := e.tables[database+"."+table]
	if !ok {
		return 0, false
	}
	return tv.version, true
}

// Pin holds the view of database.table at version (time travel); version
// <= 0 unpins it, back to the newest snapshot. The view is rebuilt now.
func (e *Engine) Pin(ctx context.Context, database, table string, version int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tv, ok := e.tables[database+"."+table]
	if !ok {
		return fmt.Errorf("duckdb: pin %s.%s: %w", database, table, catalog.ErrNoSuchTable)
	}
	old := tv.pinned
	tv.pinned = max(version, 0)
	if err := e.rebuild(ctx, []*tableView{tv}); err != nil {
		tv.pinned = old
		return err
	}
	return nil
}

// Refresh moves every unpinned view to its table's newest snapshot, and
// picks up new tables. All views change in one DuckDB transaction: a query
// sees the old set or the new set.
func (e *Engine) Refresh(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	refs, err := e.discover(ctx)
	if err != nil {
		return err
	}
	var all []*tableView
	keep := map[string]bool{}
	for _, r := range refs {
		key := r.ref.String()
		tv, ok := e.tables[key]
		if !ok || tv.ref.Zone != r.ref.Zone {
			t, err := zones.OpenTable(e.lk, r.ref.Zone, r.ref.Database, r.ref.Table)
			if err != nil {
				return fmt.Errorf("duckdb: %s: %w", key, err)
			}
			tv = &tableView{ref: r.ref, table: t}
		}
		tv.partTypes = r.partTypes
		all = append(all, tv)
		keep[key] = true
	}
	var gone []*tableView
	for key, tv := range e.tables {
		if !keep[key] {
			gone = append(gone, tv)
		}
	}
	if err := e.rebuild(ctx, all); err != nil {
		return err
	}
	if err := e.drop(ctx, gone); err != nil {
		return err
	}
	return e.refreshAttached(ctx) // Attach's views (iceberg.go)
}

// drop removes the views of tables that are no longer in the catalog.
func (e *Engine) drop(ctx context.Context, gone []*tableView) error {
	for _, tv := range gone {
		name, _ := sqltext.QuoteQualified(tv.ref.Database, tv.ref.Table)
		if _, err := e.db.ExecContext(ctx, "DROP VIEW IF EXISTS "+name); err != nil {
			return fmt.Errorf("duckdb: drop view %s: %w", tv.ref, err)
		}
		delete(e.tables, tv.ref.String())
	}
	return nil
}

type discovered struct {
	ref       TableRef
	partTypes map[string]string
}

// discover lists the tables to expose.
func (e *Engine) discover(ctx context.Context) ([]discovered, error) {
	var out []discovered
	if e.cat != nil {
		for db, err := range e.cat.ListDatabases(ctx) {
			if err != nil {
				return nil, fmt.Errorf("duckdb: list databases: %w", err)
			}
			for t, err := range e.cat.ListTables(ctx, db.Name) {
				if err != nil {
					return nil, fmt.Errorf("duckdb: list tables of %s: %w", db.Name, err)
				}
				zone, ok := e.zoneOf(t)
				if !ok {
					e.lk.Logger().Debug("duckdb: table not in this lake, skipped", "table", t.Database+"."+t.Name, "location", t.Location)
					continue
				}
				pt := map[string]string{}
				for _, k := range t.Schema.PartitionKeys {
					pt[k.Name] = duckType(k.Type)
				}
				out = append(out, discovered{ref: TableRef{Zone: zone, Database: t.Database, Table: t.Name}, partTypes: pt})
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, zn := range e.opts.Zones {
		z, err := e.lk.Zone(zn)
		if err != nil {
			return nil, fmt.Errorf("duckdb: %w", err)
		}
		dbs, err := z.Store().ListAll(ctx, "", &lake.ListOptions{Delimiter: "/"})
		if err != nil {
			return nil, fmt.Errorf("duckdb: list zone %s: %w", zn, err)
		}
		for _, d := range dbs {
			if !d.IsDir {
				continue
			}
			db := strings.TrimSuffix(d.Key, "/")
			if lake.ValidateName(lake.KindDatabase, db) != nil {
				continue
			}
			ts, err := z.Store().ListAll(ctx, db+"/", &lake.ListOptions{Delimiter: "/"})
			if err != nil {
				return nil, fmt.Errorf("duckdb: list %s/%s: %w", zn, db, err)
			}
			for _, te := range ts {
				name := strings.TrimSuffix(strings.TrimPrefix(te.Key, db+"/"), "/")
				if !te.IsDir || lake.ValidateName(lake.KindTable, name) != nil || seen[db+"."+name] {
					continue
				}
				t, err := zones.OpenTable(e.lk, zn, db, name)
				if err != nil {
					continue
				}
				if _, err := t.Snapshot(ctx, 0); err != nil {
					if errors.Is(err, zones.ErrNoSuchTable) {
						continue
					}
					return nil, fmt.Errorf("duckdb: %s.%s: %w", db, name, err)
				}
				seen[db+"."+name] = true
				out = append(out, discovered{ref: TableRef{Zone: zn, Database: db, Table: name}})
			}
		}
	}
	return out, nil
}

// zoneOf finds the zone holding the catalog table: the one whose table
// folder is the table's location or contains it. An overwrite points the
// catalog at a generation folder inside the table's folder
// (<table>/_g<version>-<id>/), so the location need not be the folder
// itself; the view reads the commit log either way.
func (e *Engine) zoneOf(t *catalog.Table) (lake.ZoneName, bool) {
	want := strings.TrimSuffix(t.Location, "/") + "/"
	for _, zn := range e.lk.ZoneNames() {
		z, err := e.lk.Zone(zn)
		if err != nil {
			continue
		}
		if strings.HasPrefix(want, strings.TrimSuffix(z.Store().Location(t.Database+"/"+t.Name+"/"), "/")+"/") {
			return zn, true
		}
	}
	return "", false
}

// rebuild reads each view's snapshot and replaces the changed views in one
// transaction.
func (e *Engine) rebuild(ctx context.Context, tvs []*tableView) error {
	type change struct {
		tv      *tableView
		version int64
		body    string
	}
	var changes []change
	var live []*tableView
	for _, tv := range tvs {
		snap, err := tv.table.Snapshot(ctx, tv.pinned)
		if errors.Is(err, zones.ErrNoSuchTable) && tv.pinned == 0 {
			// cataloged but nothing committed yet: no view until there is
			e.lk.Logger().Debug("duckdb: table has no commit yet, no view", "table", tv.ref.String())
			continue
		}
		if err != nil {
			return fmt.Errorf("duckdb: snapshot of %s: %w", tv.ref, err)
		}
		live = append(live, tv)
		if snap.Version == tv.version && tv.body != "" {
			continue
		}
		body, err := e.viewBody(ctx, tv, snap)
		if err != nil {
			return fmt.Errorf("duckdb: view of %s at version %d: %w", tv.ref, snap.Version, err)
		}
		changes = append(changes, change{tv, snap.Version, body})
	}
	tvs = live
	if len(changes) == 0 {
		for _, tv := range tvs {
			e.tables[tv.ref.String()] = tv
		}
		return nil
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	defer tx.Rollback()
	schemas := map[string]bool{}
	for _, c := range changes {
		schema, _ := sqltext.QuoteIdent(c.tv.ref.Database)
		if !schemas[schema] {
			if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
				return fmt.Errorf("duckdb: create schema %s: %w", c.tv.ref.Database, err)
			}
			schemas[schema] = true
		}
		name, _ := sqltext.QuoteQualified(c.tv.ref.Database, c.tv.ref.Table)
		if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE VIEW "+name+" AS "+c.body); err != nil {
			return fmt.Errorf("duckdb: create view %s: %w", c.tv.ref, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	for _, c := range changes {
		c.tv.version, c.tv.body = c.version, c.body
	}
	for _, tv := range tvs {
		e.tables[tv.ref.String()] = tv
	}
	return nil
}
