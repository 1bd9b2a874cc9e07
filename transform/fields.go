package transform

import (
	"reflect"
	"strings"

	"github.com/lakekit/lakekit/internal/structtag"
)

// field is a struct field reachable by name.
type field struct {
	Name  string // the name the field was found under
	Index []int
	Type  reflect.Type
}

// tagName returns the name part of a struct tag ("" when absent or "-"),
// read with lakekit's one tag grammar (internal/structtag): for the
// parquet tag, the column or partition key zones and the catalog give the
// field (a partition field tagged `parquet:"-" lakekit:"partition,name=dt"`
// answers to dt).
func tagName(sf reflect.StructField, key string) (string, bool) {
	if key == "parquet" {
		if _, present, _ := structtag.Name(sf, key); !present {
			if lk, _ := structtag.ParseLakekit(sf); !lk.Partition || lk.Name == "" {
				return "", false
			}
		}
		fl, ok, _ := structtag.FieldOf(sf)
		if !ok {
			return "", true // explicitly ignored for that encoding
		}
		return fl.Name, true
	}
	name, present, skip := structtag.Name(sf, key)
	if skip {
		return "", true // explicitly ignored for that encoding
	}
	return name, present
}

// structFields lists the exported, non-embedded fields of t (a struct, or a
// pointer to one) with the names they answer to, in field order. The tags
// searched are given in priority order; a field without any of them answers
// to its Go name.
func structFields(t reflect.Type, tags ...string) []field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []field
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			continue
		}
		name := ""
		ignored := false
		for _, tag := range tags {
			n, ok := tagName(sf, tag)
			if !ok {
				continue
			}
			if n == "" {
				ignored = true
				break
			}
			name = n
			break
		}
		if ignored {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{Name: name, Index: sf.Index, Type: sf.Type})
	}
	return out
}

// findField finds a field of t by name: an exact match of a json, csv or
// parquet tag name or the Go field name, then a case-insensitive match.
func findField(t reflect.Type, name string) (field, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return field{}, false
	}
	var fold []field
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			continue
		}
		f := field{Name: name, Index: sf.Index, Type: sf.Type}
		names := []string{sf.Name}
		for _, tag := range []string{"json", "csv", "parquet"} {
			if n, _ := tagName(sf, tag); n != "" {
				names = append(names, n)
			}
		}
		for _, n := range names {
			if n == name {
				return f, true
			}
			if strings.EqualFold(n, name) {
				fold = append(fold, f)
			}
		}
	}
	if len(fold) > 0 {
		return fold[0], true
	}
	return field{}, false
}

// fieldValue returns the field of v (a struct value) at index, or an
// invalid Value when a nil embedded pointer is in the way.
func fieldValue(v reflect.Value, index []int) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	fv, err := v.FieldByIndexErr(index)
	if err != nil {
		return reflect.Value{}
	}
	return fv
}
