package query

import (
	"fmt"
	"testing"

	"github.com/lakekit/lakekit/internal/structtag/structtagtest"
)

// TestFidelityOneGrammarScan checks that ScanRows maps the shared cases'
// fields to the columns zones and the catalog derive
// (internal/structtag/structtagtest): every column and partition key finds
// its Go field, embedded ones included, and no other field is scanned.
func TestFidelityOneGrammarScan(t *testing.T) {
	for _, tc := range structtagtest.Cases {
		var cols []Column
		for _, c := range append(tc.Columns, tc.Keys...) {
			cols = append(cols, Column{Name: c.Name, DatabaseType: c.Type})
		}
		p, err := planScan(tc.Type, cols)
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		if len(p.fields) != len(cols) {
			t.Errorf("%s: %d fields scanned, want %d", tc.Name, len(p.fields), len(cols))
		}
		for _, f := range p.fields {
			c := cols[f.col]
			sf := tc.Type.FieldByIndex(f.index)
			if want := goFieldOf(tc, c.Name); sf.Name != want {
				t.Errorf("%s: column %s scans into %s, want %s", tc.Name, c.Name, sf.Name, want)
			}
		}
	}
}

// goFieldOf names the Go field of a shared case's column.
func goFieldOf(tc structtagtest.Case, col string) string {
	m := map[string]string{"created_at": "CreatedAt", "by": "By", "source": "Source", "id": "ID", "note": "Note", "tags": "Tags", "attrs": "Attrs",
		"day": "Day", "token": "Token", "amount": "Amount", "count": "Count", "small": "Small", "seen": "Seen", "opt": "Opt", "region": "Region"}
	if n, ok := m[col]; ok {
		return n
	}
	return fmt.Sprintf("?%s", col)
}
