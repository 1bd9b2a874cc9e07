package catalog

import (
	"fmt"
	"time"
)

// The definitions CreateTable and UpdateTable store are made here, the same
// for every Catalog implementation: the local catalog and Glue differ in
// where they keep a table, not in what a new version of it holds.

// createdTable returns the definition CreateTable stores for t (already
// checked with ValidateTable): t normalized, at schema version 1, created
// and updated at now.
func createdTable(t *Table, now time.Time) *Table {
	nt := normalizeTable(t)
	nt.Schema.Version, nt.Schema.CreatedAt = 1, now
	nt.CreatedAt, nt.UpdatedAt = now, now
	return nt
}

// updatedTable returns the definition UpdateTable stores when t (already
// checked with ValidateTable, and read at cur's VersionID) replaces cur: t
// normalized, keeping cur's creation time, updated at now. An unchanged
// schema keeps cur's schema version; a changed one must pass
// CheckEvolution (unless force) and becomes the next version, created at
// now.
func updatedTable(cur, t *Table, force bool, now time.Time) (*Table, error) {
	nt := normalizeTable(t)
	nt.CreatedAt, nt.UpdatedAt = cur.CreatedAt, now
	old := cur.Schema
	if sameSchema(old, nt.Schema) {
		nt.Schema.Version, nt.Schema.CreatedAt = old.Version, old.CreatedAt
		return nt, nil
	}
	if err := CheckEvolution(old, nt.Schema, force); err != nil {
		return nil, fmt.Errorf("catalog: table %s.%s: %w", t.Database, t.Name, err)
	}
	nt.Schema.Version, nt.Schema.CreatedAt = old.Version+1, now
	return nt, nil
}
