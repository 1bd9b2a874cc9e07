package catalog_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/structtag/structtagtest"
)

// TestFidelityOneGrammarCatalog checks that catalog.SchemaOfType derives
// the shared cases' columns and types (the same as zones, query and
// transform; see internal/structtag/structtagtest).
func TestFidelityOneGrammarCatalog(t *testing.T) {
	for _, tc := range structtagtest.Cases {
		s, err := catalog.SchemaOfType(tc.Type, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		if d := cmp.Diff(tc.Columns, columnsOf(s.Columns)); d != "" {
			t.Errorf("%s: columns (-want +got):\n%s", tc.Name, d)
		}
		if d := cmp.Diff(tc.Keys, columnsOf(s.PartitionKeys)); d != "" {
			t.Errorf("%s: partition keys (-want +got):\n%s", tc.Name, d)
		}
	}
	for _, typ := range structtagtest.Refused {
		if _, err := catalog.SchemaOfType(typ, nil); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%v: got %v, want ErrInvalid", typ, err)
		}
	}
}

func columnsOf(cs []catalog.Column) []structtagtest.Column {
	var out []structtagtest.Column
	for _, c := range cs {
		out = append(out, structtagtest.Column{Name: c.Name, Type: c.Type})
	}
	return out
}
