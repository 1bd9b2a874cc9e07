package catalog

import (
	"context"
	"iter"
	"slices"
	"strings"
)

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
