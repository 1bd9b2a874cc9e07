package transform

import (
	"reflect"
	"testing"

	"github.com/lakekit/lakekit/internal/structtag/structtagtest"
)

// TestFidelityOneGrammarFields checks that transform finds the shared
// cases' fields by the column names zones and the catalog derive
// (internal/structtag/structtagtest), partition keys and embedded fields
// included, and lists exactly those names for the parquet tag.
func TestFidelityOneGrammarFields(t *testing.T) {
	for _, tc := range structtagtest.Cases {
		var want []string
		for _, c := range append(tc.Columns, tc.Keys...) {
			want = append(want, c.Name)
			f, ok := findField(tc.Type, c.Name)
			if !ok {
				t.Errorf("%s: no field for column %s", tc.Name, c.Name)
				continue
			}
			if f.Type != tc.Type.FieldByIndex(f.Index).Type {
				t.Errorf("%s: column %s: index %v does not reach a %v", tc.Name, c.Name, f.Index, f.Type)
			}
		}
		var got []string
		for _, f := range structFields(tc.Type, "parquet") {
			got = append(got, f.Name)
		}
		// Partition keys come last in the derived schema; compare as sets.
		if !sameSet(got, want) {
			t.Errorf("%s: parquet names %v; want %v", tc.Name, got, want)
		}
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return reflect.DeepEqual(len(a), len(b))
}
