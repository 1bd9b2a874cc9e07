package catalog

import (
	"fmt"
	"strings"
)

// CheckEvolution checks that next may replace old under the evolution
// rules, so that data written with old stays readable with next — by
// lakekit and by Athena, whose rules for Parquet tables ("Change a column
// data type", "Updates in tables with partitions" in the Athena User Guide)
// they follow. Columns are matched by name (their order may change: Parquet
// is read by name). Allowed:
//
//   - adding a nullable (not Required) column anywhere;
//   - in a partitioned table only (old has partition keys), widening a
//     primitive column's type along Athena's list of compatible types:
//     tinyint→smallint→int→bigint and float→double. Athena reads each
//     partition's Parquet files with the partition's schema and casts; in
//     an unpartitioned table it reads old files with the new type and
//     fails, so there no type may change;
//   - making a Required column nullable;
//   - changing comments, classifications and column parameters.
//
// Refused with an error wrapping ErrIncompatibleSchema that names every
// offending column and the rule it breaks: dropping a column, renaming one
// (seen as a drop plus an add), any type change in an unpartitioned table,
// narrowing a type, changes Athena's list does not have — decimal precision
// or scale, varchar and char lengths, string to a number (the list's
// STRING→integer row re-parses text formats; in Parquet it would be a
// narrowing) — and any change to the type of an array, map or struct column
// (Athena's schema updates do not cover nested types; that includes a
// struct gaining a field), adding a Required column, making a nullable
// column Required, and any change to the partition keys. With force set,
// every change is allowed.
func CheckEvolution(old, next Schema, force bool) error {
	if force {
		return nil
	}
	var problems []string
	if !sameKeys(old.PartitionKeys, next.PartitionKeys) {
		problems = append(problems, fmt.Sprintf("partition keys changed from %s to %s (partition keys cannot change)",
			keyList(old.PartitionKeys), keyList(next.PartitionKeys)))
	}
	newCols := map[string]Column{}
	for _, c := range next.Columns {
		newCols[strings.ToLower(c.Name)] = c
	}
	oldCols := map[string]bool{}
	for _, oc := range old.Columns {
		oldCols[strings.ToLower(oc.Name)] = true
		nc, ok := newCols[strings.ToLower(oc.Name)]
		if !ok {
			problems = append(problems, fmt.Sprintf("column %q is dropped (dropping or renaming a column is refused)", oc.Name))
			continue
		}
		ot, err1 := ParseType(oc.Type)
		nt, err2 := ParseType(nc.Type)
		switch {
		case err1 != nil:
			problems = append(problems, fmt.Sprintf("column %q: stored type: %v", oc.Name, err1))
		case err2 != nil:
			problems = append(problems, fmt.Sprintf("column %q: %v", oc.Name, err2))
		default:
			if rule := typeChangeRule(ot, nt, len(old.PartitionKeys) > 0); rule != "" {
				problems = append(problems, fmt.Sprintf("column %q: type %s → %s (%s)", oc.Name, ot, nt, rule))
			}
		}
		if nc.Required && !oc.Required {
			problems = append(problems, fmt.Sprintf("column %q becomes required (existing rows may hold NULL)", oc.Name))
		}
	}
	for _, nc := range next.Columns {
		if !oldCols[strings.ToLower(nc.Name)] && nc.Required {
			problems = append(problems, fmt.Sprintf("column %q is added as required (added columns must be nullable: old rows have no value)", nc.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrIncompatibleSchema, strings.Join(problems, "; "))
	}
	return nil
}

func sameKeys(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i].Name, b[i].Name) {
			return false
		}
		at, err1 := CanonicalType(a[i].Type)
		bt, err2 := CanonicalType(b[i].Type)
		if err1 != nil || err2 != nil || at != bt {
			return false
		}
	}
	return true
}

func keyList(cs []Column) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + c.Type
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// typeChangeRule returns "" when Athena reads Parquet data written as a
// column of type from when the table says to (see CheckEvolution), else the
// rule the change breaks.
func typeChangeRule(from, to *Type, partitioned bool) string {
	switch {
	case from.String() == to.String():
		return ""
	case widens(to, from):
		return "narrowing a column's type is refused"
	case !partitioned:
		return "changing a column's type is refused in an unpartitioned table: Athena reads Parquet files under the table's type and cannot read old files as another"
	case !from.Primitive() || !to.Primitive():
		return "changing the type of an array, map or struct column is refused: Athena's schema updates do not cover nested types"
	case from.Integer() && to.Integer() && intRank(from.Kind) < intRank(to.Kind),
		from.Kind == KindFloat && to.Kind == KindDouble:
		return ""
	}
	return "changing a column's type is refused: Athena reads Parquet columns only as tinyint→smallint→int→bigint and float→double"
}
