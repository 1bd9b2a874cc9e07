package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/query"
)

// TestSchemaHints: the errors for the struct shapes users get wrong say
// what to write instead (issue 15 item 6).
func TestSchemaHints(t *testing.T) {
	type decimalRow struct {
		ID    int64         `parquet:"id"`
		Price query.Decimal `parquet:"price"`
	}
	type decimalPtrRow struct {
		ID     int64            `parquet:"id"`
		Prices []*query.Decimal `parquet:"prices"`
	}
	type address struct {
		Street string
		City   string `parquet:"city"`
	}
	type nestedRow struct {
		ID   int64   `parquet:"id"`
		Addr address `parquet:"addr"`
	}
	type deepRow struct {
		ID    int64     `parquet:"id"`
		Stops []address `parquet:"stops"`
	}
	type topRow struct {
		ID int64
	}
	cases := []struct {
		name  string
		err   func() error
		wants []string
	}{
		{"decimal", func() error { _, err := catalog.SchemaOf[decimalRow](); return err },
			[]string{"field Price", "query.Decimal", "decimal(2:18)", "int64"}},
		{"decimal in a slice", func() error { _, err := catalog.SchemaOf[decimalPtrRow](); return err },
			[]string{"field Prices", "query.Decimal", "decimal(SCALE:PRECISION)"}},
		{"nested untagged", func() error { _, err := catalog.SchemaOf[nestedRow](); return err },
			[]string{"field Addr.Street", "add `parquet:\"street\"`"}},
		{"untagged in a slice of structs", func() error { _, err := catalog.SchemaOf[deepRow](); return err },
			[]string{"field Stops.Street", "add `parquet:\"street\"`"}},
		{"top-level untagged", func() error { _, err := catalog.SchemaOf[topRow](); return err },
			[]string{"field ID", "add `parquet:\"id\"`"}},
	}
	for _, c := range cases {
		err := c.err()
		if !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%s: %v, want catalog.ErrInvalid", c.name, err)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "Unscaled") {
			t.Errorf("%s: the error still talks about Decimal's insides: %v", c.name, err)
		}
	}

	// the recipe the hint gives works
	type cents struct {
		ID    int64 `parquet:"id"`
		Price int64 `parquet:"price,decimal(2:18)"`
	}
	s, err := catalog.SchemaOf[cents]()
	if err != nil {
		t.Fatalf("the hinted decimal(2:18) on an int64: %v", err)
	}
	if got := s.Columns[1].Type; got != "decimal(18,2)" {
		t.Fatalf("price is %s, want decimal(18,2)", got)
	}
}
