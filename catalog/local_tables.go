package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/internal/objlog"
	"github.com/lakekit/lakekit/lake"
)

// tableRecord is one stored table version: the whole table.
type tableRecord struct {
	Seq         int64    `json:"seq"`
	Incarnation string   `json:"incarnation"`
	Deleted     bool     `json:"deleted,omitempty"`
	Table       *Table   `json:"table,omitempty"`
	Schemas     []Schema `json:"schemas,omitempty"`
}

func (r *tableRecord) live() bool { return r != nil && !r.Deleted && r.Table != nil }

func tableDir(db, t string) string { return "tables/" + db + "/" + t }

// tableLog is the state log of a table's versions.
func (l *Local) tableLog(db, t string) *objlog.Log { return objlog.New(l.store, tableDir(db, t)) }

func newIncarnation() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// latest reads a table's newest version, or nil when it has none. A
// version that was committed but is lost or damaged is ErrCorrupt.
func (l *Local) latest(ctx context.Context, db, name string) (*tableRecord, error) {
	var rec tableRecord
	v, err := l.tableLog(db, name).Newest(ctx, &rec, func() int64 { return rec.Seq })
	if err != nil {
		return nil, fmt.Errorf("catalog: table %s.%s: %w", db, name, err)
	}
	if v == 0 {
		return nil, nil
	}
	return &rec, nil
}

// mutateTable applies fn to the newest version and stores the result as
// the next version, retrying (objlog.Race) when another writer got there
// first. fn sees the current record (nil when the table never existed).
func (l *Local) mutateTable(ctx context.Context, db, name string, fn func(cur *tableRecord) (*tableRecord, error)) (*tableRecord, error) {
	log := l.tableLog(db, name)
	var next *tableRecord
	err := objlog.Race(ctx, 0, func(int) error {
		cur, err := l.latest(ctx, db, name)
		if err != nil {
			return err
		}
		if next, err = fn(cur); err != nil {
			return err
		}
		next.Seq = 1
		if cur != nil {
			next.Seq = cur.Seq + 1
		}
		if next.Table != nil {
			next.Table.VersionID = strconv.FormatInt(next.Seq, 10) + "-" + next.Incarnation
		}
		b, err := logcodec.Encode(next)
		if err != nil {
			return err
		}
		return log.Append(ctx, next.Seq, b)
	})
	if errors.Is(err, objlog.ErrContended) {
		return nil, fmt.Errorf("catalog: table %s.%s: %w: %w", db, name, ErrConflict, err)
	}
	if err != nil {
		return nil, err
	}
	_ = log.NoteVersion(ctx, next.Seq) // best effort: a hint behind costs a probe
	return next, nil
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
	nt := createdTable(t, l.now())
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
		return l.updated(cur, nt, force)
	})
	if err != nil {
		return err
	}
	*t = *cloneTable(rec.Table)
	return nil
}

// updated is the version after cur that holds table nt, with a new schema
// version when the schema changed (and the change is allowed).
func (l *Local) updated(cur *tableRecord, nt *Table, force bool) (*tableRecord, error) {
	next := &tableRecord{Incarnation: cur.Incarnation, Schemas: cloneSchemas(cur.Schemas)}
	tb, err := updatedTable(cur.Table, nt, force, l.now())
	if err != nil {
		return nil, err
	}
	if tb.Schema.Version != cur.Table.Schema.Version {
		next.Schemas = append(next.Schemas, cloneSchema(tb.Schema))
	}
	next.Table = tb
	return next, nil
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
	if err := l.deletePrefix(ctx, partDir(database, name, inc)+"/"); err != nil {
		return err
	}
	return l.tableLog(database, name).DeleteBefore(ctx, rec.Seq)
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
