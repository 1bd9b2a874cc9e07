package duckdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
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
	return e.drop(ctx, gone)
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

// localPath returns the local path DuckDB reads a data file from: the file
// itself on the file store, else a cached copy. A committed file whose
// move out of the staging folder is still to come (DataFile.Staged) is
// read from a cached copy on the file store too: the view lists paths, and
// the staged path disappears with the move.
func (e *Engine) localPath(ctx context.Context, tv *tableView, f zones.DataFile) (string, error) {
	if e.local != "" {
		u, err := url.Parse(f.Location)
		if err != nil || u.Scheme != "file" {
			return "", fmt.Errorf("data file location %q is not a file:// URL", f.Location)
		}
		p := filepath.FromSlash(u.Path)
		if _, err := os.Stat(p); err == nil || f.Staged == "" {
			return p, nil
		}
	}
	return e.stage(ctx, tv, f)
}

// stage copies a data file into the cache, under a name keyed by the
// lake, the file's key and its ETag, keeping the key's directories (so the
// Hive partition segments stay in the path). A file not yet at its key is
// read from where it waits for its commit's move (DataFile.Staged).
func (e *Engine) stage(ctx context.Context, tv *tableView, f zones.DataFile) (string, error) {
	z, err := e.lk.Zone(tv.ref.Zone)
	if err != nil {
		return "", err
	}
	src := f.Key
	attrs, err := z.Store().Stat(ctx, src)
	if errors.Is(err, lake.ErrNotFound) && f.Staged != "" {
		src = f.Staged
		attrs, err = z.Store().Stat(ctx, src)
		if errors.Is(err, lake.ErrNotFound) { // moved in between
			src = f.Key
			attrs, err = z.Store().Stat(ctx, src)
		}
	}
	if err != nil {
		return "", err
	}
	lakeID := sha256.Sum256([]byte(e.lk.Store().Location("")))
	tag := sha256.Sum256([]byte(f.Location + "\x00" + attrs.ETag))
	dir, base := path.Split(f.Key)
	local := filepath.Join(e.cacheDir, hex.EncodeToString(lakeID[:8]), string(tv.ref.Zone), filepath.FromSlash(dir),
		hex.EncodeToString(tag[:12])+"-"+base)
	if st, err := os.Stat(local); err == nil && st.Size() == attrs.Size {
		return local, nil
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	rc, err := z.Store().Get(ctx, src)
	if errors.Is(err, lake.ErrNotFound) && src == f.Staged { // moved in between
		rc, err = z.Store().Get(ctx, f.Key)
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".staging-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), local)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("staging %s: %w", f.Key, err)
	}
	return local, nil
}

// viewBody renders the SELECT of a view over a snapshot's files.
func (e *Engine) viewBody(ctx context.Context, tv *tableView, snap *zones.Snapshot) (string, error) {
	keys := snap.PartitionKeys
	typeOf := func(k string) string {
		if t, ok := tv.partTypes[k]; ok && t != "" {
			return t
		}
		return "VARCHAR"
	}
	if len(snap.Files) == 0 {
		// an empty table still has its columns
		var cols []string
		for _, c := range snap.Schema {
			n, err := sqltext.QuoteIdent(c.Name)
			if err != nil {
				return "", err
			}
			cols = append(cols, "CAST(NULL AS "+duckType(c.Type)+") AS "+n)
		}
		for _, k := range keys {
			n, err := sqltext.QuoteIdent(k)
			if err != nil {
				return "", err
			}
			cols = append(cols, "CAST(NULL AS "+typeOf(k)+") AS "+n)
		}
		if len(cols) == 0 {
			return "", errors.New("an empty snapshot without schema")
		}
		return "SELECT " + strings.Join(cols, ", ") + " LIMIT 0", nil
	}
	paths := make([]string, len(snap.Files))
	hiveOK := len(keys) > 0
	for i, f := range snap.Files {
		p, err := e.localPath(ctx, tv, f)
		if err != nil {
			return "", err
		}
		paths[i] = p
		if hiveOK && !hivePathMatches(p, keys, f.Partition) {
			hiveOK = false
		}
	}
	// union_by_name makes DuckDB read every file's footer at each bind;
	// only files written under different schema versions need it
	byName := ""
	if !uniformSchema(snap) {
		byName = ", union_by_name = true"
	}
	if len(keys) == 0 {
		return "SELECT * FROM read_parquet(" + pathList(paths) + ", hive_partitioning = false" + byName + ")", nil
	}
	if hiveOK {
		// DuckDB reads the partition values from the paths and prunes files
		// by them, also for prepared parameters
		var types []string
		for _, k := range keys {
			types = append(types, sqlString(k)+": "+sqlString(typeOf(k)))
		}
		return "SELECT * FROM read_parquet(" + pathList(paths) + ", hive_partitioning = true, hive_types_autocast = false, hive_types = {" +
			strings.Join(types, ", ") + "}" + byName + ")", nil
	}
	// values the paths cannot carry faithfully: one branch per partition
	// with the values as typed constants (DuckDB prunes a branch whose
	// constant fails the filter)
	groups := map[string][]string{}
	parts := map[string]lake.Partition{}
	var order []string
	for i, f := range snap.Files {
		id := partitionID(f.Partition)
		if _, ok := groups[id]; !ok {
			order = append(order, id)
			parts[id] = f.Partition
		}
		groups[id] = append(groups[id], paths[i])
	}
	sort.Strings(order)
	branches := make([]string, 0, len(order))
	for _, id := range order {
		var consts []string
		for _, k := range keys {
			v, ok := parts[id].Get(k)
			n, err := sqltext.QuoteIdent(k)
			if err != nil {
				return "", err
			}
			if !ok {
				consts = append(consts, "CAST(NULL AS "+typeOf(k)+") AS "+n)
				continue
			}
			consts = append(consts, "CAST("+sqlString(v)+" AS "+typeOf(k)+") AS "+n)
		}
		branches = append(branches, "SELECT *, "+strings.Join(consts, ", ")+" FROM read_parquet("+pathList(groups[id])+", hive_partitioning = false, union_by_name = true)")
	}
	return strings.Join(branches, " UNION ALL BY NAME "), nil
}

func partitionID(p lake.Partition) string {
	var b strings.Builder
	for _, kv := range p {
		b.WriteString(kv.Key + "\x00" + kv.Value + "\x00")
	}
	return b.String()
}

func pathList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = sqlString(p)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// hivePathMatches reports whether DuckDB's Hive parsing of p (every
// key=value directory segment, URL-decoded) yields exactly the file's
// partition: no stray key=value segment above the table, and values whose
// escaped form DuckDB decodes back to the same string.
func hivePathMatches(p string, keys []string, part lake.Partition) bool {
	if len(part) != len(keys) {
		return false
	}
	var got []lake.KV
	for _, seg := range strings.Split(filepath.ToSlash(filepath.Dir(p)), "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		got = append(got, lake.KV{Key: k, Value: v})
	}
	if len(got) != len(part) {
		return false
	}
	for i, kv := range part {
		raw := got[i].Value
		// only plain values: what Hive escaped and what DuckDB decodes
		// ('+', '%') could differ
		if got[i].Key != kv.Key || keys[i] != kv.Key || raw != kv.Value || strings.ContainsAny(raw, "%+") || raw == "__HIVE_DEFAULT_PARTITION__" {
			return false
		}
	}
	return true
}

// duckType maps a Glue/Hive type to DuckDB's spelling.
func duckType(glue string) string {
	t, err := catalog.ParseType(glue)
	if err != nil {
		return "VARCHAR"
	}
	return duckTypeOf(t)
}

func duckTypeOf(t *catalog.Type) string {
	switch t.Kind {
	case catalog.KindTinyint:
		return "TINYINT"
	case catalog.KindSmallint:
		return "SMALLINT"
	case catalog.KindInt:
		return "INTEGER"
	case catalog.KindBigint:
		return "BIGINT"
	case catalog.KindFloat:
		return "FLOAT"
	case catalog.KindDouble:
		return "DOUBLE"
	case catalog.KindBoolean:
		return "BOOLEAN"
	case catalog.KindBinary:
		return "BLOB"
	case catalog.KindTimestamp:
		return "TIMESTAMP"
	case catalog.KindDate:
		return "DATE"
	case catalog.KindDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case catalog.KindArray:
		return duckTypeOf(t.Elem) + "[]"
	case catalog.KindMap:
		return "MAP(" + duckTypeOf(t.Key) + ", " + duckTypeOf(t.Value) + ")"
	case catalog.KindStruct:
		fs := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			n, _ := sqltext.QuoteIdent(f.Name)
			fs[i] = n + " " + duckTypeOf(f.Type)
		}
		return "STRUCT(" + strings.Join(fs, ", ") + ")"
	}
	return "VARCHAR"
}

// uniformSchema reports whether every file of the snapshot has the same
// columns: the table never changed its schema, or each file's column
// statistics name exactly the current columns.
func uniformSchema(snap *zones.Snapshot) bool {
	if snap.SchemaVersion <= 1 {
		return true
	}
	want := map[string]bool{}
	for _, c := range snap.Schema {
		want[c.Name] = true
	}
	for _, f := range snap.Files {
		if len(f.Stats) != len(want) {
			return false
		}
		for _, st := range f.Stats {
			if !want[st.Column] {
				return false
			}
		}
	}
	return true
}
