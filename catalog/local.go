package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/internal/backoff"
	"github.com/lakekit/lakekit/lake"
)

// Local is the catalog kept inside the lake, as JSON objects in a lake
// store (normally <root>/_lakekit/catalog/, see OpenLocal), so it works the
// same on file, memory and S3 stores and needs nothing else to run.
//
// Layout under its store:
//
//	databases/<db>.json                          a database
//	tables/<db>/<table>/v/<seq>.json             table versions 1, 2, 3, ... (each the whole table
//	                                             and its schema history); a deleted table's last
//	                                             version is a tombstone
//	tables/<db>/<table>/latest                   hint: the newest version number
//	tables/<db>/<table>/p/<id>/log/<seq>.json    partition changes, one object per batch
//	tables/<db>/<table>/p/<id>/snap/<seq>.json   all partitions as of a log entry
//	tables/<db>/<table>/p/<id>/head              hint: newest log entry and snapshot
//
// Every change creates the next numbered object with lake.Store.Create
// (create-if-absent, atomic across processes: an O_EXCL link on files,
// If-None-Match on S3). Of two writers racing for one number exactly one
// wins; the other re-reads and, when its change still applies (an append
// of partitions, an update whose VersionID still matches), retries with
// jittered backoff, so no update is ever lost. UpdateTable with a stale
// VersionID fails with ErrConflict.
//
// Reads are cheap: the hints say where to start and a few existence checks
// find anything newer, so reading a table costs about three requests however
// many versions it has; partitions are read from the newest snapshot
// (written every 32 log entries) plus the entries after it.
//
// DeleteDatabase and concurrent CreateTable in the same database may race;
// everything else is safe for concurrent use by many goroutines and
// processes.
type Local struct {
	store *lake.Store
	now   func() time.Time

	// parts caches the partition state last read per partition directory.
	// Log entries never change once created and a re-created table gets a
	// new directory, so a cached state only ever needs the entries after it.
	mu    sync.Mutex
	parts map[string]*partState
}

var _ Catalog = (*Local)(nil)

// NewLocal returns a local catalog kept in store (all keys relative to it).
func NewLocal(store *lake.Store) *Local {
	return &Local{store: store, now: func() time.Time { return time.Now().UTC() }, parts: map[string]*partState{}}
}

// OpenLocal returns the local catalog of a lake, kept under
// <root>/_lakekit/catalog/.
func OpenLocal(lk *lake.Lake) (*Local, error) {
	s, err := lk.System("catalog")
	if err != nil {
		return nil, err
	}
	return NewLocal(s), nil
}

// As exposes the catalog's store: pass a **lake.Store.
func (l *Local) As(i any) bool {
	if p, ok := i.(**lake.Store); ok {
		*p = l.store
		return true
	}
	return false
}

const (
	snapEvery   = 32
	maxAttempts = 200
)

func seqName(n int64) string { return fmt.Sprintf("%020d.json", n) }

func dbKey(db string) string       { return "databases/" + db + ".json" }
func tableDir(db, t string) string { return "tables/" + db + "/" + t + "/" }
func versionKey(db, t string, n int64) string {
	return tableDir(db, t) + "v/" + seqName(n)
}
func partDir(db, t, inc string) string { return tableDir(db, t) + "p/" + inc + "/" }

func newIncarnation() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pause sleeps a jittered, growing delay before attempt n (1-based):
// 2 ms doubling to 128 ms, in [d/2, 3d/2).
func pause(ctx context.Context, n int) error {
	return backoff.Sleep(ctx, backoff.Equal(n, 2*time.Millisecond, 128*time.Millisecond))
}

func (l *Local) getJSON(ctx context.Context, key string, v any) error {
	b, err := l.store.ReadAll(ctx, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("catalog: corrupt object %q: %w", key, err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, lake.ErrNotFound) }
func isExists(err error) bool   { return errors.Is(err, lake.ErrExists) }

// ---- databases ----

// CreateDatabase implements Catalog.
func (l *Local) CreateDatabase(ctx context.Context, db Database) error {
	if err := ValidateDatabase(db); err != nil {
		return err
	}
	b, err := json.Marshal(db)
	if err != nil {
		return err
	}
	if err := l.store.Create(ctx, dbKey(db.Name), b, nil); err != nil {
		if isExists(err) {
			return fmt.Errorf("catalog: database %q: %w", db.Name, ErrExists)
		}
		return err
	}
	return nil
}

// GetDatabase implements Catalog.
func (l *Local) GetDatabase(ctx context.Context, name string) (*Database, error) {
	if err := nameErr(lake.KindDatabase, name); err != nil {
		return nil, err
	}
	var db Database
	if err := l.getJSON(ctx, dbKey(name), &db); err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("catalog: database %q: %w", name, ErrNoSuchDatabase)
		}
		return nil, err
	}
	return &db, nil
}

// ListDatabases implements Catalog; databases come sorted by name.
func (l *Local) ListDatabases(ctx context.Context) iter.Seq2[*Database, error] {
	return func(yield func(*Database, error) bool) {
		ents, err := l.store.ListAll(ctx, "databases/", nil)
		if err != nil {
			yield(nil, err)
			return
		}
		var names []string
		for _, e := range ents {
			name, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, "databases/"), ".json")
			if ok && !strings.Contains(name, "/") {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			db, err := l.GetDatabase(ctx, n)
			if errors.Is(err, ErrNoSuchDatabase) {
				continue // deleted meanwhile
			}
			if !yield(db, err) || err != nil {
				return
			}
		}
	}
}

// DeleteDatabase implements Catalog: a database that still has tables is
// refused with ErrInvalid.
func (l *Local) DeleteDatabase(ctx context.Context, name string) error {
	if _, err := l.GetDatabase(ctx, name); err != nil {
		return err
	}
	var tables []string
	for t, err := range l.ListTables(ctx, name) {
		if err != nil {
			return err
		}
		tables = append(tables, t.Name)
	}
	if len(tables) > 0 {
		return invalidf("database %q still has %d tables (%s); delete them first", name, len(tables), strings.Join(tables, ", "))
	}
	if err := l.deletePrefix(ctx, "tables/"+name+"/"); err != nil {
		return err
	}
	return l.store.Delete(ctx, dbKey(name))
}

func (l *Local) deletePrefix(ctx context.Context, prefix string, keep ...string) error {
	var keys []string
	for e, err := range l.store.List(ctx, prefix, nil) {
		if err != nil {
			return err
		}
		if !slices.Contains(keep, e.Key) {
			keys = append(keys, e.Key)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := l.store.DeleteMany(ctx, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// ---- tables ----

// tableRecord is one stored table version.
type tableRecord struct {
	Seq         int64    `json:"seq"`
	Incarnation string   `json:"incarnation"`
	Deleted     bool     `json:"deleted,omitempty"`
	Table       *Table   `json:"table,omitempty"`
	Schemas     []Schema `json:"schemas,omitempty"`
}

func (r *tableRecord) live() bool { return r != nil && !r.Deleted && r.Table != nil }

// latest reads a table's newest version, or nil when it has none.
func (l *Local) latest(ctx context.Context, db, name string) (*tableRecord, error) {
	dir := tableDir(db, name)
	var h int64
	if b, err := l.store.ReadAll(ctx, dir+"latest"); err == nil {
		h, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	} else if !isNotFound(err) {
		return nil, err
	}
	start := h
	for probes := 0; ; probes++ {
		if h <= 0 {
			var err error
			if h, err = l.maxSeq(ctx, dir+"v/"); err != nil {
				return nil, err
			}
			if h == 0 {
				return nil, nil
			}
			start = -1
		}
		// probe upward: the hint may lag behind
		for {
			ok, err := l.store.Exists(ctx, versionKey(db, name, h+1))
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			h++
		}
		var rec tableRecord
		err := l.getJSON(ctx, versionKey(db, name, h), &rec)
		if isNotFound(err) && probes < 3 {
			h = 0 // the hint pointed at a removed version: rescan
			continue
		}
		if err != nil {
			return nil, err
		}
		if h != start {
			l.store.PutBytes(ctx, dir+"latest", []byte(strconv.FormatInt(h, 10)), nil) // best effort
		}
		return &rec, nil
	}
}

func (l *Local) maxSeq(ctx context.Context, prefix string) (int64, error) {
	var max int64
	for e, err := range l.store.List(ctx, prefix, nil) {
		if err != nil {
			return 0, err
		}
		base := strings.TrimSuffix(strings.TrimPrefix(e.Key, prefix), ".json")
		if n, err := strconv.ParseInt(base, 10, 64); err == nil && n > max {
			max = n
		}
	}
	return max, nil
}

var errRetry = errors.New("retry")

// mutateTable applies fn to the newest version and stores the result as
// the next version, retrying with backoff when another writer got there
// first. fn sees the current record (nil when the table never existed).
func (l *Local) mutateTable(ctx context.Context, db, name string, fn func(cur *tableRecord) (*tableRecord, error)) (*tableRecord, error) {
	for attempt := 1; ; attempt++ {
		cur, err := l.latest(ctx, db, name)
		if err != nil {
			return nil, err
		}
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		next.Seq = 1
		if cur != nil {
			next.Seq = cur.Seq + 1
		}
		if next.Table != nil {
			next.Table.VersionID = strconv.FormatInt(next.Seq, 10) + "-" + next.Incarnation
		}
		b, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		err = l.store.Create(ctx, versionKey(db, name, next.Seq), b, nil)
		if err == nil {
			l.store.PutBytes(ctx, tableDir(db, name)+"latest", []byte(strconv.FormatInt(next.Seq, 10)), nil)
			return next, nil
		}
		if !isExists(err) {
			return nil, err
		}
		if attempt >= maxAttempts {
			return nil, fmt.Errorf("catalog: table %s.%s: gave up after %d attempts: %w", db, name, attempt, ErrConflict)
		}
		if err := pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

func noTable(db, name string) error {
	return fmt.Errorf("catalog: table %s.%s: %w", db, name, ErrNoSuchTable)
}

// CreateTable implements Catalog.
func (l *Local) CreateTable(ctx context.Context, t *Table) error {
	if err := ValidateTable(t); err != nil {
		return err
	}
	if _, err := l.GetDatabase(ctx, t.Database); err != nil {
		return err
	}
	nt := normalizeTable(t)
	now := l.now()
	nt.Schema.Version, nt.Schema.CreatedAt = 1, now
	nt.CreatedAt, nt.UpdatedAt = now, now
	rec, err := l.mutateTable(ctx, t.Database, t.Name, func(cur *tableRecord) (*tableRecord, error) {
		if cur.live() {
			return nil, fmt.Errorf("catalog: table %s.%s: %w", t.Database, t.Name, ErrExists)
		}
		return &tableRecord{Incarnation: newIncarnation(), Table: cloneTable(nt), Schemas: []Schema{cloneSchema(nt.Schema)}}, nil
	})
	if err != nil {
		return err
	}
	*t = *cloneTable(rec.Table)
	return nil
}

// GetTable implements Catalog.
func (l *Local) GetTable(ctx context.Context, database, name string) (*Table, error) {
	rec, err := l.liveRecord(ctx, database, name)
	if err != nil {
		return nil, err
	}
	return cloneTable(rec.Table), nil
}

func (l *Local) liveRecord(ctx context.Context, database, name string) (*tableRecord, error) {
	if err := nameErr(lake.KindDatabase, database); err != nil {
		return nil, err
	}
	if err := nameErr(lake.KindTable, name); err != nil {
		return nil, err
	}
	rec, err := l.latest(ctx, database, name)
	if err != nil {
		return nil, err
	}
	if !rec.live() {
		if _, err := l.GetDatabase(ctx, database); err != nil {
			return nil, err
		}
		return nil, noTable(database, name)
	}
	return rec, nil
}

// UpdateTable implements Catalog.
func (l *Local) UpdateTable(ctx context.Context, t *Table, opts *UpdateOptions) error {
	if err := ValidateTable(t); err != nil {
		return err
	}
	force := opts != nil && opts.Force
	nt := normalizeTable(t)
	rec, err := l.mutateTable(ctx, t.Database, t.Name, func(cur *tableRecord) (*tableRecord, error) {
		if !cur.live() {
			if _, err := l.GetDatabase(ctx, t.Database); err != nil {
				return nil, err
			}
			return nil, noTable(t.Database, t.Name)
		}
		if cur.Table.VersionID != t.VersionID {
			return nil, fmt.Errorf("catalog: table %s.%s: version %q was read, the table is now at %q: %w",
				t.Database, t.Name, t.VersionID, cur.Table.VersionID, ErrConflict)
		}
		next := &tableRecord{Incarnation: cur.Incarnation, Schemas: cloneSchemas(cur.Schemas)}
		tb := cloneTable(nt)
		tb.CreatedAt = cur.Table.CreatedAt
		tb.UpdatedAt = l.now()
		old := cur.Table.Schema
		if sameSchema(old, tb.Schema) {
			tb.Schema.Version, tb.Schema.CreatedAt = old.Version, old.CreatedAt
		} else {
			if err := CheckEvolution(old, tb.Schema, force); err != nil {
				return nil, fmt.Errorf("catalog: table %s.%s: %w", t.Database, t.Name, err)
			}
			tb.Schema.Version, tb.Schema.CreatedAt = old.Version+1, tb.UpdatedAt
			next.Schemas = append(next.Schemas, cloneSchema(tb.Schema))
		}
		next.Table = tb
		return next, nil
	})
	if err != nil {
		return err
	}
	*t = *cloneTable(rec.Table)
	return nil
}

func cloneSchemas(ss []Schema) []Schema {
	out := make([]Schema, len(ss))
	for i, s := range ss {
		out[i] = cloneSchema(s)
	}
	return out
}

// ListTables implements Catalog; tables come sorted by name.
func (l *Local) ListTables(ctx context.Context, database string) iter.Seq2[*Table, error] {
	return func(yield func(*Table, error) bool) {
		if _, err := l.GetDatabase(ctx, database); err != nil {
			yield(nil, err)
			return
		}
		prefix := "tables/" + database + "/"
		var names []string
		for e, err := range l.store.List(ctx, prefix, &lake.ListOptions{Delimiter: "/"}) {
			if err != nil {
				yield(nil, err)
				return
			}
			if e.IsDir {
				names = append(names, strings.TrimSuffix(strings.TrimPrefix(e.Key, prefix), "/"))
			}
		}
		slices.Sort(names)
		for _, n := range names {
			if lake.ValidateName(lake.KindTable, n) != nil {
				continue
			}
			rec, err := l.latest(ctx, database, n)
			if err != nil {
				yield(nil, err)
				return
			}
			if !rec.live() {
				continue
			}
			if !yield(cloneTable(rec.Table), nil) {
				return
			}
		}
	}
}

// DeleteTable implements Catalog. It records a tombstone version, then
// removes the table's partitions and older versions.
func (l *Local) DeleteTable(ctx context.Context, database, name string) error {
	if _, err := l.liveRecord(ctx, database, name); err != nil {
		return err
	}
	var inc string
	rec, err := l.mutateTable(ctx, database, name, func(cur *tableRecord) (*tableRecord, error) {
		if !cur.live() {
			return nil, noTable(database, name)
		}
		inc = cur.Incarnation
		return &tableRecord{Incarnation: cur.Incarnation, Deleted: true}, nil
	})
	if err != nil {
		return err
	}
	if err := l.deletePrefix(ctx, partDir(database, name, inc)); err != nil {
		return err
	}
	return l.deletePrefix(ctx, tableDir(database, name)+"v/", versionKey(database, name, rec.Seq))
}

// SchemaVersions implements Catalog.
func (l *Local) SchemaVersions(ctx context.Context, database, table string) ([]Schema, error) {
	rec, err := l.liveRecord(ctx, database, table)
	if err != nil {
		return nil, err
	}
	return cloneSchemas(rec.Schemas), nil
}

// SchemaVersion implements Catalog.
func (l *Local) SchemaVersion(ctx context.Context, database, table string, version int) (*Schema, error) {
	ss, err := l.SchemaVersions(ctx, database, table)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.Version == version {
			return &s, nil
		}
	}
	return nil, fmt.Errorf("catalog: table %s.%s has no schema version %d (versions 1..%d): %w", database, table, version, len(ss), ErrNoSuchVersion)
}

// ---- partitions ----

type partLog struct {
	Seq    int64       `json:"seq"`
	Op     string      `json:"op"` // add, update, delete
	Parts  []Partition `json:"parts,omitempty"`
	Values [][]string  `json:"values,omitempty"`
}

type partSnap struct {
	Seq   int64       `json:"seq"`
	Parts []Partition `json:"parts"`
}

type partHead struct {
	Log  int64 `json:"log"`
	Snap int64 `json:"snap"`
}

type partState struct {
	seq   int64
	snap  int64
	parts map[string]Partition
}

func (s *partState) apply(e *partLog) {
	switch e.Op {
	case "add":
		for _, p := range e.Parts {
			k := partitionKey(p.Values)
			if _, ok := s.parts[k]; !ok {
				s.parts[k] = p
			}
		}
	case "update":
		for _, p := range e.Parts {
			k := partitionKey(p.Values)
			if old, ok := s.parts[k]; ok {
				old.Location = p.Location
				if p.Parameters != nil {
					old.Parameters = p.Parameters
				}
				s.parts[k] = old
			}
		}
	case "delete":
		for _, v := range e.Values {
			delete(s.parts, partitionKey(v))
		}
	}
	s.seq = e.Seq
}

func (s *partState) clone() *partState {
	return &partState{seq: s.seq, snap: s.snap, parts: maps.Clone(s.parts)}
}

func (l *Local) readPartitions(ctx context.Context, dir string) (*partState, error) {
	l.mu.Lock()
	cached := l.parts[dir]
	l.mu.Unlock()
	var st *partState
	var head partHead
	if cached != nil {
		st = cached.clone()
		head = partHead{Log: st.seq, Snap: st.snap}
	} else {
		var err error
		if st, head, err = l.loadPartitions(ctx, dir); err != nil {
			return nil, err
		}
	}
	start := st.seq
	for {
		var e partLog
		err := l.getJSON(ctx, dir+"log/"+seqName(st.seq+1), &e)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		e.Seq = st.seq + 1
		st.apply(&e)
	}
	if st.seq != head.Log {
		b, _ := json.Marshal(partHead{Log: st.seq, Snap: st.snap})
		l.store.PutBytes(ctx, dir+"head", b, nil) // best effort
	}
	if cached == nil || st.seq != start {
		l.remember(dir, st)
	}
	return st, nil
}

func (l *Local) remember(dir string, st *partState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.parts[dir]; cur == nil || cur.seq < st.seq {
		if len(l.parts) >= 256 {
			clear(l.parts)
		}
		l.parts[dir] = st.clone()
	}
}

// loadPartitions reads the newest snapshot the head hint names.
func (l *Local) loadPartitions(ctx context.Context, dir string) (*partState, partHead, error) {
	st := &partState{parts: map[string]Partition{}}
	var head partHead
	err := l.getJSON(ctx, dir+"head", &head)
	switch {
	case isNotFound(err):
		if head.Snap, err = l.maxSeq(ctx, dir+"snap/"); err != nil {
			return nil, head, err
		}
	case err != nil:
		return nil, head, err
	}
	if head.Snap > 0 {
		var snap partSnap
		err := l.getJSON(ctx, dir+"snap/"+seqName(head.Snap), &snap)
		switch {
		case err == nil:
			for _, p := range snap.Parts {
				st.parts[partitionKey(p.Values)] = p
			}
			st.seq, st.snap = snap.Seq, snap.Seq
		case !isNotFound(err):
			return nil, head, err
		}
	}
	return st, head, nil
}

// appendPartitions builds a log entry from the current state and appends
// it, retrying on races.
func (l *Local) appendPartitions(ctx context.Context, database, table string, build func(t *Table, st *partState) (*partLog, error)) error {
	for attempt := 1; ; attempt++ {
		rec, err := l.liveRecord(ctx, database, table)
		if err != nil {
			return err
		}
		dir := partDir(database, table, rec.Incarnation)
		st, err := l.readPartitions(ctx, dir)
		if err != nil {
			return err
		}
		e, err := build(rec.Table, st)
		if err != nil || e == nil {
			return err
		}
		e.Seq = st.seq + 1
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		err = l.store.Create(ctx, dir+"log/"+seqName(e.Seq), b, nil)
		if err == nil {
			st.apply(e)
			if e.Seq%snapEvery == 0 {
				snap := partSnap{Seq: e.Seq, Parts: make([]Partition, 0, len(st.parts))}
				for _, p := range st.parts {
					snap.Parts = append(snap.Parts, p)
				}
				sortPartitions(rec.Table.Schema.PartitionKeys, snap.Parts)
				sb, err := json.Marshal(snap)
				if err == nil {
					if err := l.store.Create(ctx, dir+"snap/"+seqName(e.Seq), sb, nil); err == nil || isExists(err) {
						st.snap = e.Seq
					}
				}
			}
			hb, _ := json.Marshal(partHead{Log: st.seq, Snap: st.snap})
			l.store.PutBytes(ctx, dir+"head", hb, nil) // best effort
			l.remember(dir, st)
			return nil
		}
		if !isExists(err) {
			return err
		}
		if attempt >= maxAttempts {
			return fmt.Errorf("catalog: partitions of %s.%s: gave up after %d attempts: %w", database, table, attempt, ErrConflict)
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// AddPartitions implements Catalog. A partition without a Location gets
// the table's location joined with its Hive path.
func (l *Local) AddPartitions(ctx context.Context, database, table string, parts []Partition) error {
	if len(parts) == 0 {
		_, err := l.liveRecord(ctx, database, table)
		return err
	}
	return l.appendPartitions(ctx, database, table, func(t *Table, st *partState) (*partLog, error) {
		ps, err := preparePartitions(t, parts, false)
		if err != nil {
			return nil, err
		}
		var add []Partition
		for _, p := range ps {
			if _, ok := st.parts[partitionKey(p.Values)]; !ok {
				add = append(add, p)
			}
		}
		if len(add) == 0 {
			return nil, nil
		}
		return &partLog{Op: "add", Parts: add}, nil
	})
}

// UpdatePartitionLocations implements Catalog. If any partition is
// missing nothing is changed.
func (l *Local) UpdatePartitionLocations(ctx context.Context, database, table string, parts []Partition) error {
	if len(parts) == 0 {
		_, err := l.liveRecord(ctx, database, table)
		return err
	}
	return l.appendPartitions(ctx, database, table, func(t *Table, st *partState) (*partLog, error) {
		ps, err := preparePartitions(t, parts, true)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if _, ok := st.parts[partitionKey(p.Values)]; !ok {
				return nil, fmt.Errorf("catalog: table %s.%s: partition %v: %w", database, table, p.Values, ErrNoSuchPartition)
			}
		}
		return &partLog{Op: "update", Parts: ps}, nil
	})
}

// DeletePartitions implements Catalog.
func (l *Local) DeletePartitions(ctx context.Context, database, table string, values [][]string) error {
	if len(values) == 0 {
		_, err := l.liveRecord(ctx, database, table)
		return err
	}
	return l.appendPartitions(ctx, database, table, func(t *Table, st *partState) (*partLog, error) {
		var del [][]string
		for _, v := range values {
			if err := ValidatePartitionValues(t.Schema.PartitionKeys, v); err != nil {
				return nil, fmt.Errorf("table %s.%s: %w", database, table, err)
			}
			if _, ok := st.parts[partitionKey(v)]; ok {
				del = append(del, slices.Clone(v))
			}
		}
		if len(del) == 0 {
			return nil, nil
		}
		return &partLog{Op: "delete", Values: del}, nil
	})
}

// Partitions implements Catalog.
func (l *Local) Partitions(ctx context.Context, database, table, filter string) iter.Seq2[Partition, error] {
	return func(yield func(Partition, error) bool) {
		rec, err := l.liveRecord(ctx, database, table)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		keys := rec.Table.Schema.PartitionKeys
		f, err := CompileFilter(filter, keys)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		st, err := l.readPartitions(ctx, partDir(database, table, rec.Incarnation))
		if err != nil {
			yield(Partition{}, err)
			return
		}
		ps := make([]Partition, 0, len(st.parts))
		for _, p := range st.parts {
			if f.Match(p.Values) {
				ps = append(ps, p)
			}
		}
		sortPartitions(keys, ps)
		for _, p := range ps {
			if !yield(clonePartition(p), nil) {
				return
			}
		}
	}
}

// ---- search ----

// Search implements Catalog.
func (l *Local) Search(ctx context.Context, q SearchQuery) iter.Seq2[*Table, error] {
	return func(yield func(*Table, error) bool) {
		var dbs []string
		if q.Database != "" {
			dbs = []string{q.Database}
		} else {
			for db, err := range l.ListDatabases(ctx) {
				if err != nil {
					yield(nil, err)
					return
				}
				dbs = append(dbs, db.Name)
			}
		}
		for _, db := range dbs {
			for t, err := range l.ListTables(ctx, db) {
				if err != nil {
					yield(nil, err)
					return
				}
				if MatchSearch(q, t) && !yield(t, nil) {
					return
				}
			}
		}
	}
}

// MatchSearch reports whether t matches q (see SearchQuery); catalogs
// without a server-side search use it.
func MatchSearch(q SearchQuery, t *Table) bool {
	if q.Database != "" && t.Database != q.Database {
		return false
	}
	has := func(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
	allCols := append(slices.Clone(t.Schema.Columns), t.Schema.PartitionKeys...)
	if q.Text != "" {
		found := has(t.Name, q.Text) || has(t.Description, q.Text)
		for _, c := range allCols {
			found = found || has(c.Name, q.Text) || has(c.Comment, q.Text)
		}
		if !found {
			return false
		}
	}
	if q.Column != "" {
		found := false
		for _, c := range allCols {
			found = found || has(c.Name, q.Column)
		}
		if !found {
			return false
		}
	}
	for k, v := range q.Parameters {
		got, ok := t.Parameters[k]
		if !ok || (v != "" && got != v) {
			return false
		}
	}
	if q.Classification != "" {
		found := false
		for _, c := range allCols {
			found = found || strings.EqualFold(c.Classification, q.Classification)
		}
		if !found {
			return false
		}
	}
	return true
}
