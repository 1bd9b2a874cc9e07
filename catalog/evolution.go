package catalog

import (
	"fmt"
	"strings"
)

// CheckEvolution checks that next may replace old under the evolution
// rules, so that data written with old stays readable with next. Columns
// are matched by name (their order may change). Allowed:
//
//   - adding a nullable (not Required) column anywhere;
//   - widening a column's type: tinyint→smallint→int→bigint, float→double,
//     decimal(p,s)→decimal(p',s) with p'≥p, varchar(n)→varchar(m≥n) or
//     string, and the same inside array elements, map values and struct
//     fields (a struct may also gain fields);
//   - making a Required column nullable;
//   - changing comments, classifications and column parameters.
//
// Refused with an error wrapping ErrIncompatibleSchema that names every
// offending column and the rule it breaks: dropping a column, renaming one
// (seen as a drop plus an add), narrowing or otherwise changing a type,
// adding a Required column, making a nullable column Required, and any
// change to the partition keys. With force set, every change is allowed.
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
		case !widens(ot, nt):
			rule := "changing a column's type is refused"
			if widens(nt, ot) {
				rule = "narrowing a column's type is refused"
			}
			problems = append(problems, fmt.Sprintf("column %q: type %s → %s (%s)", oc.Name, ot, nt, rule))
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
