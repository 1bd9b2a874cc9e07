package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/catalog"
)

func schemaOf(cols ...string) catalog.Schema {
	var s catalog.Schema
	for _, c := range cols {
		name, typ, _ := strings.Cut(c, " ")
		req := strings.HasSuffix(typ, " required")
		typ = strings.TrimSuffix(typ, " required")
		s.Columns = append(s.Columns, catalog.Column{Name: name, Type: typ, Required: req})
	}
	s.PartitionKeys = []catalog.Column{{Name: "dt", Type: "date", Required: true}}
	return s
}

func TestCheckEvolution(t *testing.T) {
	base := schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>")
	cases := []struct {
		name   string
		next   catalog.Schema
		refuse string // "" = allowed; else a substring of the error (the column)
	}{
		{"same", base, ""},
		{"add nullable at end", schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>", "x string"), ""},
		{"add nullable first, reorder", schemaOf("x string", "n int", "id bigint required", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), ""},
		{"widen int to bigint", schemaOf("id bigint required", "n bigint", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), ""},
		{"widen float to double", schemaOf("id bigint required", "n int", "f double", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), ""},
		{"widen decimal", schemaOf("id bigint required", "n int", "f float", "amount decimal(12,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"amount"`},
		{"varchar to string", schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name string", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"name"`},
		{"widen inside array, struct, map", schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<bigint>", "s struct<a:bigint,b:string>", "m map<string,bigint>"), `"tags"`},
		{"required to nullable", schemaOf("id bigint", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), ""},
		{"drop", schemaOf("id bigint required", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"n" is dropped`},
		{"rename", schemaOf("id bigint required", "count int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"n" is dropped`},
		{"narrow bigint", schemaOf("id int required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"id": type bigint → int (narrowing`},
		{"narrow decimal", schemaOf("id bigint required", "n int", "f float", "amount decimal(8,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"amount"`},
		{"decimal scale change", schemaOf("id bigint required", "n int", "f float", "amount decimal(12,3)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"amount"`},
		{"int to string", schemaOf("id bigint required", "n string", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"n": type int → string (changing`},
		{"int to double", schemaOf("id bigint required", "n double", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"n"`},
		{"struct loses a field", schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<b:int>", "m map<string,int>"), `"s"`},
		{"map key change", schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<int,int>"), `"m"`},
		{"add required", schemaOf("id bigint required", "n int", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>", "x string required"), `"x" is added as required`},
		{"nullable to required", schemaOf("id bigint required", "n int required", "f float", "amount decimal(10,2)", "name varchar(10)", "tags array<int>", "s struct<a:int>", "m map<string,int>"), `"n" becomes required`},
	}
	for _, tc := range cases {
		err := catalog.CheckEvolution(base, tc.next, false)
		switch {
		case tc.refuse == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.refuse != "" && !errors.Is(err, catalog.ErrIncompatibleSchema):
			t.Errorf("%s: got %v, want ErrIncompatibleSchema", tc.name, err)
		case tc.refuse != "" && !strings.Contains(err.Error(), tc.refuse):
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.refuse)
		}
		if err := catalog.CheckEvolution(base, tc.next, true); err != nil {
			t.Errorf("%s: forced: %v", tc.name, err)
		}
	}
	keys := base
	keys.PartitionKeys = []catalog.Column{{Name: "dt", Type: "string", Required: true}}
	if err := catalog.CheckEvolution(base, keys, false); !errors.Is(err, catalog.ErrIncompatibleSchema) || !strings.Contains(err.Error(), "partition keys") {
		t.Errorf("partition key type change: %v", err)
	}
	// Several problems are all named.
	err := catalog.CheckEvolution(base, schemaOf("id int required"), false)
	for _, col := range []string{`"id"`, `"n"`, `"f"`, `"tags"`} {
		if !errors.Is(err, catalog.ErrIncompatibleSchema) || !strings.Contains(err.Error(), col) {
			t.Errorf("multi-problem error %v is not ErrIncompatibleSchema naming %s", err, col)
		}
	}
}

// TestFidelityEvolutionAthenaParquetRules checks issue 24 item 13: the
// evolution rules allow exactly the type changes Athena's "Change a column
// data type" page allows for Parquet — none in an unpartitioned table; in a
// partitioned one only tinyint→smallint→int→bigint and float→double, on
// primitive columns — so a table lakekit evolves stays readable by Athena.
func TestFidelityEvolutionAthenaParquetRules(t *testing.T) {
	schema := func(partitioned bool, cols ...string) catalog.Schema {
		s := schemaOf(cols...)
		if !partitioned {
			s.PartitionKeys = nil
		}
		return s
	}
	cases := []struct {
		from, to    string
		partitioned bool
		refuse      string // "" = allowed; else a substring of the error
	}{
		// Partitioned: Athena casts each partition's files to the table's type.
		{"tinyint", "smallint", true, ""},
		{"tinyint", "bigint", true, ""},
		{"smallint", "int", true, ""},
		{"int", "bigint", true, ""},
		{"float", "double", true, ""},
		{"decimal(10,2)", "decimal(12,2)", true, "decimal(10,2) → decimal(12,2)"},
		{"decimal(10,2)", "decimal(12,4)", true, "decimal(10,2) → decimal(12,4)"},
		{"varchar(10)", "varchar(20)", true, "varchar(10) → varchar(20)"},
		{"varchar(10)", "string", true, "varchar(10) → string"},
		{"string", "bigint", true, "string → bigint"},
		{"int", "double", true, "int → double"},
		{"date", "timestamp", true, "date → timestamp"},
		{"bigint", "int", true, "narrowing"},
		{"array<int>", "array<bigint>", true, "nested types"},
		{"struct<a:int>", "struct<a:int,b:string>", true, "nested types"},
		{"map<string,int>", "map<string,bigint>", true, "nested types"},
		// Unpartitioned: no type may change.
		{"int", "bigint", false, "unpartitioned"},
		{"float", "double", false, "unpartitioned"},
		{"decimal(10,2)", "decimal(12,2)", false, "unpartitioned"},
		{"struct<a:int>", "struct<a:int,b:string>", false, "unpartitioned"},
		{"int", "int", false, ""},
	}
	for _, tc := range cases {
		old := schema(tc.partitioned, "id bigint required", "c "+tc.from)
		next := schema(tc.partitioned, "id bigint required", "c "+tc.to, "added string")
		err := catalog.CheckEvolution(old, next, false)
		name := fmt.Sprintf("%s → %s (partitioned %v)", tc.from, tc.to, tc.partitioned)
		switch {
		case tc.refuse == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.refuse != "" && !errors.Is(err, catalog.ErrIncompatibleSchema):
			t.Errorf("%s: got %v, want ErrIncompatibleSchema", name, err)
		case tc.refuse != "" && (!strings.Contains(err.Error(), tc.refuse) || !strings.Contains(err.Error(), `"c"`)):
			t.Errorf("%s: error %q does not name column \"c\" and %q", name, err, tc.refuse)
		}
	}
	// Adding a nullable column is allowed either way.
	for _, p := range []bool{false, true} {
		if err := catalog.CheckEvolution(schema(p, "id bigint"), schema(p, "x string", "id bigint"), false); err != nil {
			t.Errorf("add a nullable column (partitioned %v): %v", p, err)
		}
	}
}
