package catalogtest

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/catalog"
)

func testEvolutionAllowed(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), tb))
	v1 := tb.Schema

	steps := []struct {
		name   string
		change func(s *catalog.Schema)
	}{
		{"add nullable column at the end", func(s *catalog.Schema) {
			s.Columns = append(s.Columns, catalog.Column{Name: "coupon", Type: "string"})
		}},
		{"add nullable column in the middle", func(s *catalog.Schema) {
			s.Columns = slices.Insert(s.Columns, 1, catalog.Column{Name: "channel", Type: "string", Comment: "web or app"})
		}},
		{"widen int to bigint", func(s *catalog.Schema) { setType(s, "qty", "bigint") }},
		{"widen float to double", func(s *catalog.Schema) { setType(s, "score", "double") }},
		{"make required column nullable", func(s *catalog.Schema) { s.Columns[0].Required = false }},
	}
	for i, st := range steps {
		st.change(&tb.Schema)
		if err := c.UpdateTable(ctx(), tb, nil); err != nil {
			t.Fatalf("%s: refused: %v", st.name, err)
		}
		if tb.Schema.Version != i+2 {
			t.Fatalf("%s: schema version %d, want %d", st.name, tb.Schema.Version, i+2)
		}
	}
	got := getTable(t, c, db, "orders")
	if d := cmp.Diff(tb.Schema, got.Schema, tableCmp...); d != "" {
		t.Errorf("schema after evolution (-want +got):\n%s", d)
	}
	vs, err := c.SchemaVersions(ctx(), db, "orders")
	must(t, err)
	if len(vs) != len(steps)+1 {
		t.Fatalf("SchemaVersions: %d versions, want %d", len(vs), len(steps)+1)
	}
	for i, v := range vs {
		if v.Version != i+1 {
			t.Errorf("SchemaVersions[%d].Version = %d", i, v.Version)
		}
	}
	if d := cmp.Diff(v1.Columns, vs[0].Columns, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("version 1 columns (-want +got):\n%s", d)
	}
	v2, err := c.SchemaVersion(ctx(), db, "orders", 2)
	must(t, err)
	if v2.Version != 2 || len(v2.Columns) != len(v1.Columns)+1 || v2.Columns[len(v2.Columns)-1].Name != "coupon" {
		t.Errorf("SchemaVersion(2) = %+v", v2)
	}
	_, err = c.SchemaVersion(ctx(), db, "orders", 99)
	wantErr(t, err, catalog.ErrNoSuchVersion, "SchemaVersion(99)")
	_, err = c.SchemaVersions(ctx(), db, "missing")
	wantErr(t, err, catalog.ErrNoSuchTable, "SchemaVersions of a missing table")
}

func setType(s *catalog.Schema, col, typ string) {
	for i := range s.Columns {
		if s.Columns[i].Name == col {
			s.Columns[i].Type = typ
		}
	}
}

func testEvolutionRefused(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	base := sampleTable(db, "orders")
	base.Schema.Columns = append(base.Schema.Columns, catalog.Column{Name: "big", Type: "bigint"}, catalog.Column{Name: "dbl", Type: "double"})
	must(t, c.CreateTable(ctx(), base))
	before := getTable(t, c, db, "orders")

	cases := []struct {
		name   string
		column string // the error must name it
		change func(s *catalog.Schema)
	}{
		{"drop", "email", func(s *catalog.Schema) { s.Columns = slices.Delete(s.Columns, 1, 2) }},
		{"rename", "email", func(s *catalog.Schema) { s.Columns[1].Name = "mail" }},
		{"narrow bigint to int", "big", func(s *catalog.Schema) { setType(s, "big", "int") }},
		{"narrow double to float", "dbl", func(s *catalog.Schema) { setType(s, "dbl", "float") }},
		{"change string to bigint", "email", func(s *catalog.Schema) { setType(s, "email", "bigint") }},
		{"narrow decimal", "amount", func(s *catalog.Schema) { setType(s, "amount", "decimal(8,2)") }},
		// Athena cannot read Parquet decimals under another precision.
		{"widen decimal precision", "amount", func(s *catalog.Schema) { setType(s, "amount", "decimal(12,2)") }},
		{"add required column", "must", func(s *catalog.Schema) {
			s.Columns = append(s.Columns, catalog.Column{Name: "must", Type: "string", Required: true})
		}},
		{"change partition keys", "partition", func(s *catalog.Schema) { s.PartitionKeys = s.PartitionKeys[:1] }},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			cur := getTable(t, c, db, "orders")
			tc.change(&cur.Schema)
			err := c.UpdateTable(ctx(), cur, nil)
			wantErr(t, err, catalog.ErrIncompatibleSchema, tc.name)
			if !strings.Contains(err.Error(), tc.column) {
				t.Errorf("%s: error %q does not name %q", tc.name, err, tc.column)
			}
			after := getTable(t, c, db, "orders")
			if d := cmp.Diff(before, after, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s: refused change altered the table (-before +after):\n%s", tc.name, d)
			}
			vs, err := c.SchemaVersions(ctx(), db, "orders")
			must(t, err)
			if len(vs) != 1 {
				t.Errorf("%s: refused change recorded a schema version (%d versions)", tc.name, len(vs))
			}
		})
	}
	// Forced, the drop is recorded as version 2.
	cur := getTable(t, c, db, "orders")
	cur.Schema.Columns = slices.Delete(cur.Schema.Columns, 1, 2)
	must(t, c.UpdateTable(ctx(), cur, &catalog.UpdateOptions{Force: true}))
	if cur.Schema.Version != 2 {
		t.Errorf("forced change: version %d, want 2", cur.Schema.Version)
	}
	got := getTable(t, c, db, "orders")
	if len(got.Schema.Columns) != len(before.Schema.Columns)-1 {
		t.Errorf("forced drop not stored: %d columns", len(got.Schema.Columns))
	}
}
