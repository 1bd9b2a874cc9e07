package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// FormatParquet is the only storage format lakekit tables use.
const FormatParquet = "parquet"

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func nameErr(kind, name string) error {
	if err := lake.ValidateName(kind, name); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// ValidateDatabase checks a database definition.
func ValidateDatabase(db Database) error {
	if err := nameErr(lake.KindDatabase, db.Name); err != nil {
		return err
	}
	return validateParams("database "+db.Name, db.Parameters)
}

func validateParams(what string, p map[string]string) error {
	for k := range p {
		if k == "" {
			return invalidf("%s: a parameter has an empty key", what)
		}
		if len(k) > 255 {
			return invalidf("%s: parameter key %q is longer than 255 bytes", what, k[:32])
		}
	}
	return nil
}

// ValidateSchema checks a schema: at least one column; valid, distinct
// (case-insensitively, as Glue folds case) names across columns and
// partition keys; known Glue types; primitive partition-key types.
func ValidateSchema(s Schema) error { return validateSchema(s) }

func validateSchema(s Schema) error {
	if len(s.Columns) == 0 {
		return invalidf("a table needs at least one column")
	}
	seen := map[string]string{}
	check := func(kind string, c Column) error {
		if err := nameErr(kind, c.Name); err != nil {
			return err
		}
		low := strings.ToLower(c.Name)
		if prev, dup := seen[low]; dup {
			return invalidf("duplicate column name %q (%s %q has the same name; Glue folds case)", c.Name, prev, c.Name)
		}
		t, err := ParseType(c.Type)
		if err != nil {
			return fmt.Errorf("%s %q: %w", kind, c.Name, err)
		}
		if kind == lake.KindPartition && !t.Primitive() {
			return invalidf("partition key %q has type %s; partition keys must be primitive", c.Name, c.Type)
		}
		seen[low] = kind
		return validateParams(kind+" "+c.Name, c.Parameters)
	}
	for _, c := range s.Columns {
		if err := check(lake.KindColumn, c); err != nil {
			return err
		}
	}
	for _, c := range s.PartitionKeys {
		if err := check(lake.KindPartition, c); err != nil {
			return err
		}
	}
	return nil
}

// ValidateTable checks a table definition before it reaches a catalog:
// names, format, schema and parameters.
func ValidateTable(t *Table) error {
	if t == nil {
		return invalidf("nil table")
	}
	if err := nameErr(lake.KindDatabase, t.Database); err != nil {
		return err
	}
	if err := nameErr(lake.KindTable, t.Name); err != nil {
		return err
	}
	if t.Format != "" && !strings.EqualFold(t.Format, FormatParquet) {
		return invalidf("table %s.%s: format %q is not supported (only parquet)", t.Database, t.Name, t.Format)
	}
	if err := validateSchema(t.Schema); err != nil {
		return fmt.Errorf("table %s.%s: %w", t.Database, t.Name, err)
	}
	return validateParams("table "+t.Database+"."+t.Name, t.Parameters)
}

// normalizeTable canonicalises types and fills defaults on a copy.
func normalizeTable(t *Table) *Table {
	c := cloneTable(t)
	if c.Format == "" {
		c.Format = FormatParquet
	}
	c.Format = strings.ToLower(c.Format)
	for i := range c.Schema.Columns {
		c.Schema.Columns[i].Type, _ = CanonicalType(c.Schema.Columns[i].Type)
	}
	for i := range c.Schema.PartitionKeys {
		c.Schema.PartitionKeys[i].Type, _ = CanonicalType(c.Schema.PartitionKeys[i].Type)
	}
	return c
}

func cloneColumns(cs []Column) []Column {
	if cs == nil {
		return nil
	}
	out := make([]Column, len(cs))
	for i, c := range cs {
		c.Parameters = maps.Clone(c.Parameters)
		out[i] = c
	}
	return out
}

func cloneSchema(s Schema) Schema {
	s.Columns = cloneColumns(s.Columns)
	s.PartitionKeys = cloneColumns(s.PartitionKeys)
	return s
}

func cloneTable(t *Table) *Table {
	c := *t
	c.Schema = cloneSchema(t.Schema)
	c.Parameters = maps.Clone(t.Parameters)
	return &c
}

func clonePartition(p Partition) Partition {
	p.Values = slices.Clone(p.Values)
	p.Parameters = maps.Clone(p.Parameters)
	return p
}

// sameSchema reports whether two schemas have the same columns and keys
// (ignoring Version and CreatedAt).
func sameSchema(a, b Schema) bool {
	eq := func(x, y []Column) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Name != y[i].Name || x[i].Type != y[i].Type || x[i].Comment != y[i].Comment ||
				x[i].Required != y[i].Required || x[i].Classification != y[i].Classification ||
				!maps.Equal(x[i].Parameters, y[i].Parameters) {
				return false
			}
		}
		return true
	}
	return eq(a.Columns, b.Columns) && eq(a.PartitionKeys, b.PartitionKeys)
}

// ValidatePartitionValues checks that values match the partition keys:
// one value per key, each valid (lake.ValidatePartitionValue) and of the
// key's type (an integer for integer keys, YYYY-MM-DD for date keys,
// true/false for boolean keys, a number for decimal, float and double keys).
func ValidatePartitionValues(keys []Column, values []string) error {
	if len(values) != len(keys) {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.Name
		}
		return invalidf("partition %v has %d values, the table has %d partition keys %v", values, len(values), len(keys), names)
	}
	for i, k := range keys {
		v := values[i]
		if err := lake.ValidatePartitionValue(k.Name, v); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		t, err := ParseType(k.Type)
		if err != nil {
			return err
		}
		bad := func(want string) error {
			return invalidf("partition key %s (%s): value %q is not %s", k.Name, k.Type, v, want)
		}
		switch {
		case t.Integer():
			bits := map[string]int{KindTinyint: 8, KindSmallint: 16, KindInt: 32, KindBigint: 64}[t.Kind]
			if _, err := strconv.ParseInt(v, 10, bits); err != nil {
				return bad(fmt.Sprintf("an integer that fits %s", t.Kind))
			}
		case t.Kind == KindDate:
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				return bad("a date YYYY-MM-DD")
			}
		case t.Kind == KindBoolean:
			if v != "true" && v != "false" {
				return bad("true or false")
			}
		case t.Kind == KindDecimal || t.Kind == KindFloat || t.Kind == KindDouble:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return bad("a number")
			}
		}
	}
	return nil
}

// PartitionPath renders values as the Hive path "k1=v1/k2=v2" of a
// table's partition keys.
func PartitionPath(keys []Column, values []string) (string, error) {
	if err := ValidatePartitionValues(keys, values); err != nil {
		return "", err
	}
	p := make(lake.Partition, len(keys))
	for i, k := range keys {
		p[i] = lake.KV{Key: k.Name, Value: values[i]}
	}
	s, err := p.Path()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, nil
}

// preparePartitions validates parts against t and fills default
// locations (the table location joined with the Hive path). Duplicates
// within parts keep the first.
func preparePartitions(t *Table, parts []Partition, needLocation bool) ([]Partition, error) {
	if len(t.Schema.PartitionKeys) == 0 && len(parts) > 0 {
		return nil, invalidf("table %s.%s has no partition keys", t.Database, t.Name)
	}
	out := make([]Partition, 0, len(parts))
	seen := map[string]bool{}
	for _, p := range parts {
		path, err := PartitionPath(t.Schema.PartitionKeys, p.Values)
		if err != nil {
			return nil, fmt.Errorf("table %s.%s: %w", t.Database, t.Name, err)
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		if err := validateParams("partition "+path, p.Parameters); err != nil {
			return nil, err
		}
		p = clonePartition(p)
		if p.Location == "" {
			if needLocation {
				return nil, invalidf("partition %s: a new location is required", path)
			}
			if t.Location != "" {
				p.Location = strings.TrimSuffix(t.Location, "/") + "/" + path + "/"
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func partitionKey(values []string) string { return strings.Join(values, "\x00") }

// comparePartitionValues orders partitions by their values, numerically
// for integer keys.
func comparePartitionValues(keys []Column, a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] == b[i] {
			continue
		}
		if i < len(keys) && intKind(keys[i].Type) {
			x, err1 := strconv.ParseInt(a[i], 10, 64)
			y, err2 := strconv.ParseInt(b[i], 10, 64)
			if err1 == nil && err2 == nil {
				if x < y {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a[i], b[i])
	}
	return len(a) - len(b)
}

func intKind(typ string) bool {
	return intRank(strings.ToLower(typ)) > 0 || strings.EqualFold(typ, "integer")
}

func sortPartitions(keys []Column, ps []Partition) {
	slices.SortFunc(ps, func(a, b Partition) int { return comparePartitionValues(keys, a.Values, b.Values) })
}
