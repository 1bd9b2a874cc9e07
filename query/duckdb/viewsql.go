package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query/sqltext"
	"github.com/lakekit/lakekit/zones"
)

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
