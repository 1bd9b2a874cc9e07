package catalog_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/catalog"
)

type address struct {
	City string `parquet:"city"`
	Zip  *int32 `parquet:"zip"`
}

type audit struct {
	CreatedBy string `parquet:"created_by" lakekit:"comment=who made the row"`
}

// everyType has a field of every supported kind.
type everyType struct {
	audit                         // embedded: flattened like parquet-go does
	I64      int64                `parquet:"i64"`
	I        int                  `parquet:"i"`
	I32      int32                `parquet:"i32"`
	I16      int16                `parquet:"i16"`
	I8       int8                 `parquet:"i8"`
	U32      uint32               `parquet:"u32"`
	U16      uint16               `parquet:"u16"`
	U8       uint8                `parquet:"u8"`
	F64      float64              `parquet:"f64"`
	F32      float32              `parquet:"f32"`
	B        bool                 `parquet:"b"`
	S        string               `parquet:"s,zstd"`
	PS       *string              `parquet:"ps"`
	OS       string               `parquet:"os,optional"`
	Enum     string               `parquet:"enum,enum"`
	JSON     string               `parquet:"json,json"`
	UUID     [16]byte             `parquet:"uuid,uuid"`
	Bytes    []byte               `parquet:"bytes"`
	Fixed    [4]byte              `parquet:"fixed"`
	T        time.Time            `parquet:"t"`
	TMicro   time.Time            `parquet:"t_micro,timestamp(microsecond)"`
	TLocal   *time.Time           `parquet:"t_local,timestamp(microsecond:local)"`
	TInt     int64                `parquet:"t_int,timestamp(millisecond)"`
	Date     time.Time            `parquet:"date,date"`
	Date32   int32                `parquet:"date32,date"`
	Dec      int64                `parquet:"dec,decimal(2:18)"`
	Dec32    int32                `parquet:"dec32,decimal(0:9)"`
	Strs     []string             `parquet:"strs"`
	List     []int64              `parquet:"list,list"`
	OptList  []string             `parquet:"opt_list,list,optional"`
	M        map[string]int64     `parquet:"m"`
	MTime    map[string]time.Time `parquet:"m_time" parquet-value:",timestamp(microsecond)"`
	Addr     address              `parquet:"addr"`
	PAddr    *address             `parquet:"p_addr"`
	Addrs    []address            `parquet:"addrs,list"`
	Nested   map[string][]address `parquet:"nested"`
	Email    *string              `parquet:"email" lakekit:"pii,comment=customer e-mail, as typed"`
	Secret   string               `parquet:"secret" lakekit:"classification=confidential"`
	Phone    string               `parquet:"phone" lakekit:"comment=mobile, landline or fax,pii,classification=restricted"`
	Skipped  string               `parquet:"-"`
	internal string
	Dt       time.Time `parquet:"-" lakekit:"partition,name=dt"`
	Region   string    `parquet:"region" lakekit:"partition"`
	Hour     int8      `parquet:"hour" lakekit:"partition"`
}

func TestSchemaOfEveryType(t *testing.T) {
	got, err := catalog.SchemaOf[everyType]()
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Schema{
		Version: 1,
		Columns: []catalog.Column{
			{Name: "created_by", Type: "string", Required: true, Comment: "who made the row"},
			{Name: "i64", Type: "bigint", Required: true},
			{Name: "i", Type: "bigint", Required: true},
			{Name: "i32", Type: "int", Required: true},
			{Name: "i16", Type: "smallint", Required: true},
			{Name: "i8", Type: "tinyint", Required: true},
			{Name: "u32", Type: "bigint", Required: true},
			{Name: "u16", Type: "int", Required: true},
			{Name: "u8", Type: "smallint", Required: true},
			{Name: "f64", Type: "double", Required: true},
			{Name: "f32", Type: "float", Required: true},
			{Name: "b", Type: "boolean", Required: true},
			{Name: "s", Type: "string", Required: true},
			{Name: "ps", Type: "string"},
			{Name: "os", Type: "string"},
			{Name: "enum", Type: "string", Required: true},
			{Name: "json", Type: "string", Required: true},
			{Name: "uuid", Type: "binary", Required: true}, // 16 raw bytes, as Athena returns them
			{Name: "bytes", Type: "binary", Required: true},
			{Name: "fixed", Type: "binary", Required: true},
			{Name: "t", Type: "timestamp", Required: true},
			{Name: "t_micro", Type: "timestamp", Required: true},
			{Name: "t_local", Type: "timestamp"},
			{Name: "t_int", Type: "timestamp", Required: true},
			{Name: "date", Type: "date", Required: true},
			{Name: "date32", Type: "date", Required: true},
			{Name: "dec", Type: "decimal(18,2)", Required: true},
			{Name: "dec32", Type: "decimal(9,0)", Required: true},
			{Name: "strs", Type: "array<string>"},
			{Name: "list", Type: "array<bigint>", Required: true},
			{Name: "opt_list", Type: "array<string>"},
			{Name: "m", Type: "map<string,bigint>", Required: true},
			{Name: "m_time", Type: "map<string,timestamp>", Required: true},
			{Name: "addr", Type: "struct<city:string,zip:int>", Required: true},
			{Name: "p_addr", Type: "struct<city:string,zip:int>"},
			{Name: "addrs", Type: "array<struct<city:string,zip:int>>", Required: true},
			{Name: "nested", Type: "map<string,array<struct<city:string,zip:int>>>", Required: true},
			{Name: "email", Type: "string", Comment: "customer e-mail, as typed", Classification: "PII"},
			{Name: "secret", Type: "string", Required: true, Classification: "confidential"},
			{Name: "phone", Type: "string", Required: true, Comment: "mobile, landline or fax", Classification: "restricted"},
		},
		PartitionKeys: []catalog.Column{
			{Name: "dt", Type: "date", Required: true},
			{Name: "region", Type: "string", Required: true},
			{Name: "hour", Type: "tinyint", Required: true},
		},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("SchemaOf[everyType] (-want +got):\n%s", d)
	}
	// Every type it produced parses back to itself.
	for _, c := range append(got.Columns, got.PartitionKeys...) {
		if canon, err := catalog.CanonicalType(c.Type); err != nil || canon != c.Type {
			t.Errorf("column %s: type %q canonicalises to %q, %v", c.Name, c.Type, canon, err)
		}
	}
}

func TestSchemaOfTypeMapping(t *testing.T) {
	// One struct per Go type, so each mapping is its own case.
	cases := []struct {
		name     string
		typ      reflect.Type
		want     string
		required bool
	}{
		{"int64", reflect.TypeFor[struct {
			X int64 `parquet:"x"`
		}](), "bigint", true},
		{"*int64", reflect.TypeFor[struct {
			X *int64 `parquet:"x"`
		}](), "bigint", false},
		{"int32 optional", reflect.TypeFor[struct {
			X int32 `parquet:"x,optional"`
		}](), "int", false},
		{"*float32", reflect.TypeFor[struct {
			X *float32 `parquet:"x"`
		}](), "float", false},
		{"decimal in bytes", reflect.TypeFor[struct {
			X []byte `parquet:"x,decimal(3:20)"`
		}](), "decimal(20,3)", true},
		{"string as bytes", reflect.TypeFor[struct {
			X []byte `parquet:"x,string"`
		}](), "string", true},
		{"[]*string list", reflect.TypeFor[struct {
			X []*string `parquet:"x,list"`
		}](), "array<string>", true},
		{"[][]int32 list", reflect.TypeFor[struct {
			X [][]int32 `parquet:"x,list" parquet-element:",list"`
		}](), "array<array<int>>", true},
		{"map[int32]bool", reflect.TypeFor[struct {
			X map[int32]bool `parquet:"x"`
		}](), "map<int,boolean>", true},
	}
	for _, tc := range cases {
		s, err := catalog.SchemaOfType(tc.typ, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := s.Columns[0]
		if got.Type != tc.want || got.Required != tc.required {
			t.Errorf("%s: got %s required=%v, want %s required=%v", tc.name, got.Type, got.Required, tc.want, tc.required)
		}
	}
}

func TestSchemaOfPartitionKeysByName(t *testing.T) {
	type row struct {
		ID  int64  `parquet:"id"`
		Day string `parquet:"day"`
	}
	s, err := catalog.SchemaOf[row](catalog.WithPartitionKeys("day"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Columns) != 1 || len(s.PartitionKeys) != 1 || s.PartitionKeys[0].Name != "day" || s.PartitionKeys[0].Type != "string" {
		t.Errorf("got %+v", s)
	}
	if _, err := catalog.SchemaOf[row](catalog.WithPartitionKeys("nope")); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("unknown partition key column: %v", err)
	}
}

func TestSchemaOfErrors(t *testing.T) {
	cases := []struct {
		name string
		typ  reflect.Type
		want string // in the error
	}{
		{"uint64", reflect.TypeFor[struct {
			X uint64 `parquet:"x"`
		}](), "uint64"},
		{"interface", reflect.TypeFor[struct {
			X any `parquet:"x"`
		}](), "interface"},
		{"chan", reflect.TypeFor[struct {
			X chan int `parquet:"x"`
		}](), "chan int"},
		{"complex in a struct", reflect.TypeFor[struct {
			X struct {
				C complex128 `parquet:"c"`
			} `parquet:"x"`
		}](), "complex128"},
		{"no tag name", reflect.TypeFor[struct{ UserID int64 }](), `parquet:"userid"`},
		{"upper case tag", reflect.TypeFor[struct {
			X int64 `parquet:"UserID"`
		}](), "lower case"},
		{"duplicate name", reflect.TypeFor[struct {
			X int64 `parquet:"x"`
			Y int64 `parquet:"x"`
		}](), `"x"`},
		{"column named like a partition key", reflect.TypeFor[struct {
			X  int64  `parquet:"dt"`
			Dt string `parquet:"-" lakekit:"partition,name=dt"`
		}](), "duplicate"},
		{"unknown lakekit option", reflect.TypeFor[struct {
			X int64 `parquet:"x" lakekit:"sensitive"`
		}](), "sensitive"},
		{"float partition", reflect.TypeFor[struct {
			X int64   `parquet:"x"`
			P float64 `parquet:"p" lakekit:"partition"`
		}](), "float64"},
		{"time column", reflect.TypeFor[struct {
			X int64 `parquet:"x,time(microsecond)"`
		}](), "TIME"},
		{"bad parquet tag", reflect.TypeFor[struct {
			X int64 `parquet:"x,enum"`
		}](), "enum"},
		{"not a struct", reflect.TypeFor[int](), "struct"},
		{"no columns", reflect.TypeFor[struct {
			P string `parquet:"p" lakekit:"partition"`
		}](), "at least one column"},
	}
	for _, tc := range cases {
		_, err := catalog.SchemaOfType(tc.typ, nil)
		if !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}

func TestPartitionFields(t *testing.T) {
	type embedded struct {
		Region string `parquet:"region" lakekit:"partition"`
	}
	type row struct {
		ID  int64     `parquet:"id"`
		Day time.Time `parquet:"-" lakekit:"partition,name=dt"`
		embedded
		Hour int32 `parquet:"hour" lakekit:"partition"`
		OK   bool  `parquet:"ok" lakekit:"partition"`
	}
	fs, err := catalog.PartitionFields(reflect.TypeFor[*row]())
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.PartitionField{
		{Name: "dt", Index: []int{1}, Type: "date"},
		{Name: "region", Index: []int{2, 0}, Type: "string"},
		{Name: "hour", Index: []int{3}, Type: "int"},
		{Name: "ok", Index: []int{4}, Type: "boolean"},
	}
	if d := cmp.Diff(want, fs); d != "" {
		t.Fatalf("PartitionFields (-want +got):\n%s", d)
	}
	r := &row{Day: time.Date(2024, 3, 9, 23, 30, 0, 0, time.FixedZone("x", -3600)), embedded: embedded{"eu"}, Hour: 7, OK: true}
	var got []string
	for _, f := range fs {
		v, err := f.Value(reflect.ValueOf(r))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if d := cmp.Diff([]string{"2024-03-10", "eu", "7", "true"}, got); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	r.Region = ""
	if _, err := fs[1].Value(reflect.ValueOf(*r)); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("empty partition value: %v", err)
	}
	s, err := catalog.SchemaOf[row]()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range s.PartitionKeys {
		keys = append(keys, k.Name+" "+k.Type)
	}
	if d := cmp.Diff([]string{"dt date", "region string", "hour int", "ok boolean"}, keys); d != "" {
		t.Errorf("SchemaOf keys (-want +got):\n%s", d)
	}
}

func TestParseType(t *testing.T) {
	good := map[string]string{
		"BIGINT":                             "bigint",
		"integer":                            "int",
		"real":                               "float",
		"decimal":                            "decimal(10,0)",
		"decimal(5)":                         "decimal(5,0)",
		"Decimal( 12 , 4 )":                  "decimal(12,4)",
		"varchar(20)":                        "varchar(20)",
		"array< struct< a : int, b:string>>": "array<struct<a:int,b:string>>",
		"map<string,array<double>>":          "map<string,array<double>>",
	}
	for in, want := range good {
		got, err := catalog.CanonicalType(in)
		if err != nil || got != want {
			t.Errorf("CanonicalType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "strng", "array<int", "array<>", "map<array<int>,int>", "decimal(40,2)", "decimal(5,6)",
		"struct<>", "struct<a:int,a:int>", "struct<A:int>", "int int", "varchar", "char(300)"} {
		if _, err := catalog.ParseType(bad); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("ParseType(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
