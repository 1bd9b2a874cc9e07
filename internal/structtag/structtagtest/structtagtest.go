// Package structtagtest holds struct types whose tags are easy to read
// wrongly, and the columns lakekit's one tag grammar (internal/structtag)
// derives from them. Tests of the five places that read the tags —
// catalog.SchemaOf, zones' schema derivation and reader, query's ScanRows
// and transform's field lookup — check each against the same expectation.
package structtagtest

import (
	"reflect"
	"time"
)

// Audit is embedded: its fields are flattened into the row's columns.
type Audit struct {
	CreatedAt time.Time `parquet:"created_at"`
	By        string    `parquet:"by"`
}

// Origin is embedded with a parquet name, which parquet-go ignores: it
// is flattened like any embedded struct.
type Origin struct {
	Source string `parquet:"source"`
}

// Tricky has a field of each kind that the tag readers used to disagree
// on: an embedded struct holding a time.Time, one with a parquet name,
// pointers, a bare slice, a map, an int32 date, a uuid string, a decimal,
// unsigned integers, an optional bare slice, skipped and unexported fields
// and a partition key not stored in the files.
type Tricky struct {
	Audit
	Origin  `parquet:"origin"`
	ID      int64            `parquet:"id"`
	Note    *string          `parquet:"note"`
	Tags    []string         `parquet:"tags"`
	Attrs   map[string]int32 `parquet:"attrs"`
	Day     int32            `parquet:"day,date"`
	Token   string           `parquet:"token,uuid"`
	Amount  int64            `parquet:"amount,decimal(2:18)"`
	Count   uint32           `parquet:"count"`
	Small   uint8            `parquet:"small"`
	Seen    *time.Time       `parquet:"seen"`
	Opt     []int64          `parquet:"opt,optional"`
	Skipped string           `parquet:"-"`
	hidden  string
	Region  string `parquet:"-" lakekit:"partition,name=region"`
}

// Column is a column name and its Glue type.
type Column struct{ Name, Type string }

// Case is a struct type and the columns and partition keys derived from it.
type Case struct {
	Name    string
	Type    reflect.Type
	Columns []Column // stored columns, in order
	Keys    []Column // partition keys, in order
}

// Cases are the struct types every tag reader must agree on.
var Cases = []Case{{
	Name: "Tricky",
	Type: reflect.TypeFor[Tricky](),
	Columns: []Column{
		{"created_at", "timestamp"}, {"by", "string"}, {"source", "string"}, {"id", "bigint"}, {"note", "string"},
		{"tags", "array<string>"}, {"attrs", "map<string,int>"}, {"day", "date"}, {"token", "string"},
		{"amount", "decimal(18,2)"}, {"count", "bigint"}, {"small", "smallint"}, {"seen", "timestamp"},
		{"opt", "array<bigint>"},
	},
	Keys: []Column{{"region", "string"}},
}}

// EmbeddedTime embeds a time.Time, which has no column name: parquet-go
// drops it silently, so lakekit refuses the type.
type EmbeddedTime struct {
	time.Time
	ID int64 `parquet:"id"`
}

// EmbeddedPointer embeds a pointer to a struct, which parquet-go cannot
// flatten.
type EmbeddedPointer struct {
	*Audit
	ID int64 `parquet:"id"`
}

// Unsigned64 has a uint64, which fits no Athena type.
type Unsigned64 struct {
	N uint64 `parquet:"n"`
}

// Refused are struct types every schema reader must refuse.
var Refused = []reflect.Type{
	reflect.TypeFor[EmbeddedTime](),
	reflect.TypeFor[EmbeddedPointer](),
	reflect.TypeFor[Unsigned64](),
}
