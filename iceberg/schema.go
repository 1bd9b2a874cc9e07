package iceberg

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/parquet-go/parquet-go"
)

// ErrInvalid marks bad input: a row type this package cannot store, a bad
// table name, options that contradict each other. Errors wrapping it name
// what was wrong.
var ErrInvalid = errors.New("iceberg: invalid")

// ErrSchemaMismatch is returned by Open when the existing table's schema
// does not store the Go struct's fields (a missing column, another type,
// another nullability, other partition columns).
var ErrSchemaMismatch = errors.New("iceberg: table schema does not match the Go type")

var timeType = reflect.TypeOf(time.Time{})

// goField is one stored column of T: a top-level struct field.
type goField struct {
	name      string // column name (parquet tag name, else the Go name)
	goName    string
	index     int
	typ       reflect.Type // field type without the pointer
	optional  bool         // a pointer field: nil is null
	partition bool         // tagged `lakekit:"partition"`
	// transform of a partition field: "identity", or "year", "month",
	// "day", "hour" of a time.Time field (hidden partitioning).
	transform string
	was       []string // former column names (`lakekit:"was=old"`), newest first
	ice       ice.Type
}

// rowType describes T: its columns in field order.
type rowType struct {
	t      reflect.Type
	fields []goField
}

// describe maps struct type t to Iceberg columns. Only flat structs of
// scalar fields are stored: bool, int8-int64 and int, float32, float64,
// string, []byte and time.Time (as timestamptz, microseconds), each
// optionally behind a pointer (then nullable).
func describe(t reflect.Type) (*rowType, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: row type %v is not a struct", ErrInvalid, t)
	}
	rt := &rowType{t: t}
	seen := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("parquet"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if prev, dup := seen[strings.ToLower(name)]; dup {
			return nil, fmt.Errorf("%w: %v: fields %s and %s both store column %q", ErrInvalid, t, prev, sf.Name, name)
		}
		seen[strings.ToLower(name)] = sf.Name
		f := goField{name: name, goName: sf.Name, index: i, typ: sf.Type}
		if f.typ.Kind() == reflect.Pointer {
			f.optional = true
			f.typ = f.typ.Elem()
		}
		if err := parseTag(&f, sf.Tag.Get("lakekit")); err != nil {
			return nil, fmt.Errorf("%w: %v.%s: %v", ErrInvalid, t, sf.Name, err)
		}
		it, err := iceType(f.typ)
		if err != nil {
			return nil, fmt.Errorf("%w: %v.%s: %v", ErrInvalid, t, sf.Name, err)
		}
		if f.partition && (f.optional || f.typ.Kind() == reflect.Slice) {
			return nil, fmt.Errorf("%w: %v.%s: a partition column must be a non-pointer scalar, not %v", ErrInvalid, t, sf.Name, sf.Type)
		}
		if f.transform != "identity" && f.transform != "" && f.typ != timeType {
			return nil, fmt.Errorf("%w: %v.%s: partition transform %q needs a time.Time field, not %v", ErrInvalid, t, sf.Name, f.transform, sf.Type)
		}
		f.ice = it
		rt.fields = append(rt.fields, f)
	}
	if len(rt.fields) == 0 {
		return nil, fmt.Errorf("%w: row type %v has no exported fields to store", ErrInvalid, t)
	}
	return rt, nil
}

// parseTag reads a field's lakekit tag: comma-separated options
//
//	partition              identity partition on the field
//	partition,day          hidden partitioning by day(field) of a time.Time
//	                       (also year, month, hour): no extra column
//	was=old_name           the column was called old_name (rename by field
//	                       ID when the schema evolves; repeatable)
func parseTag(f *goField, tag string) error {
	if tag == "" {
		return nil
	}
	for _, opt := range strings.Split(tag, ",") {
		opt = strings.TrimSpace(opt)
		switch {
		case opt == "partition":
			f.partition = true
			if f.transform == "" {
				f.transform = "identity"
			}
		case opt == "year" || opt == "month" || opt == "day" || opt == "hour":
			if f.transform != "" && f.transform != "identity" {
				return fmt.Errorf("lakekit tag %q has two partition transforms", tag)
			}
			f.transform = opt
		case strings.HasPrefix(opt, "was="):
			old := strings.TrimPrefix(opt, "was=")
			if old == "" || old == f.name {
				return fmt.Errorf("lakekit tag %q: was= needs the column's former name", tag)
			}
			f.was = append(f.was, old)
		default:
			return fmt.Errorf("unknown lakekit tag option %q in %q (want partition, partition,year|month|day|hour, was=old_name)", opt, tag)
		}
	}
	if f.transform != "" && !f.partition {
		return fmt.Errorf("lakekit tag %q: transform %s without partition (write \"partition,%s\")", tag, f.transform, f.transform)
	}
	return nil
}

// transform is the Iceberg transform of partition field f.
func (f goField) icebergTransform() ice.Transform {
	switch f.transform {
	case "year":
		return ice.YearTransform{}
	case "month":
		return ice.MonthTransform{}
	case "day":
		return ice.DayTransform{}
	case "hour":
		return ice.HourTransform{}
	}
	return ice.IdentityTransform{}
}

// partitionName is the partition field's name: the column's for identity,
// else column_transform ("at_day"), as Spark and Athena name them.
func (f goField) partitionName() string {
	if f.transform == "identity" {
		return f.name
	}
	return f.name + "_" + f.transform
}

func iceType(t reflect.Type) (ice.Type, error) {
	if t == timeType {
		return ice.PrimitiveTypes.TimestampTz, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return ice.PrimitiveTypes.Bool, nil
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return ice.PrimitiveTypes.Int32, nil
	case reflect.Int, reflect.Int64:
		return ice.PrimitiveTypes.Int64, nil
	case reflect.Float32:
		return ice.PrimitiveTypes.Float32, nil
	case reflect.Float64:
		return ice.PrimitiveTypes.Float64, nil
	case reflect.String:
		return ice.PrimitiveTypes.String, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return ice.PrimitiveTypes.Binary, nil
		}
	}
	return nil, fmt.Errorf("type %v cannot be stored in an Iceberg table by this package (flat structs of bool, signed integers, floats, string, []byte and time.Time only)", t)
}

// icebergSchema is the schema a new table gets: field IDs 1..n in field
// order (the catalog may reassign them; bind reads them back by name).
func (rt *rowType) icebergSchema() *ice.Schema {
	fields := make([]ice.NestedField, len(rt.fields))
	for i, f := range rt.fields {
		fields[i] = ice.NestedField{ID: i + 1, Name: f.name, Type: f.ice, Required: !f.optional}
	}
	return ice.NewSchema(0, fields...)
}

// partitionSpec partitions by the tagged fields, each with its transform.
func (rt *rowType) partitionSpec(sc *ice.Schema) (*ice.PartitionSpec, error) {
	var opts []ice.PartitionOption
	for _, f := range rt.fields {
		if f.partition {
			opts = append(opts, ice.AddPartitionFieldByName(f.name, f.partitionName(), f.icebergTransform(), sc, nil))
		}
	}
	spec, err := ice.NewPartitionSpecOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("iceberg: partition spec of %v: %w", rt.t, err)
	}
	return &spec, nil
}

// binding ties T's fields to one table schema: field IDs and the Parquet
// schema data files are written with.
type binding struct {
	rt       *rowType
	ids      []int // field ID of rt.fields[i]
	byID     map[int]int
	nullable []bool // the table column of rt.fields[i] is optional
	pschema  *parquet.Schema
	column   []int // leaf column index in pschema of rt.fields[i]
	parts    []int // indexes into rt.fields of the partition columns, spec order
}

// bind checks that the table schema sc and partition spec store rt's
// fields (same names and types, partitions on the tagged fields with
// their transforms) and returns the binding. A pointer field needs an
// optional column; a value field may have one (a null, or a column older
// files lack, reads as the zero value: columns added by schema evolution
// are optional, as Iceberg requires). Extra optional table columns are
// allowed (T does not read them); extra required ones are not (T could
// not write them).
func bind(rt *rowType, sc *ice.Schema, spec ice.PartitionSpec) (*binding, error) {
	b := &binding{rt: rt, ids: make([]int, len(rt.fields)), byID: map[int]int{}, nullable: make([]bool, len(rt.fields))}
	used := map[int]bool{}
	for i, f := range rt.fields {
		nf, ok := sc.FindFieldByNameCaseInsensitive(f.name)
		if !ok {
			return nil, fmt.Errorf("%w: column %q (%v.%s) is not in the table", ErrSchemaMismatch, f.name, rt.t, f.goName)
		}
		if !nf.Type.Equals(f.ice) {
			return nil, fmt.Errorf("%w: column %q is %s in the table, %s in %v.%s", ErrSchemaMismatch, f.name, nf.Type, f.ice, rt.t, f.goName)
		}
		if nf.Required && f.optional {
			return nil, fmt.Errorf("%w: column %q is required in the table, but %v.%s is %v (nil could not be stored)", ErrSchemaMismatch, f.name, rt.t, f.goName, reflect.PointerTo(f.typ))
		}
		b.ids[i] = nf.ID
		b.byID[nf.ID] = i
		b.nullable[i] = !nf.Required
		used[nf.ID] = true
	}
	for _, nf := range sc.Fields() {
		if !used[nf.ID] && nf.Required {
			return nil, fmt.Errorf("%w: required column %q is not a field of %v", ErrSchemaMismatch, nf.Name, rt.t)
		}
	}
	if err := b.bindSpec(spec); err != nil {
		return nil, err
	}
	b.parquetSchema()
	return b, nil
}

// bindSpec checks that the partition fields are T's tagged fields with
// their transforms, and records them in spec order.
func (b *binding) bindSpec(spec ice.PartitionSpec) error {
	rt := b.rt
	var specCols []int
	for _, pf := range spec.Fields() {
		i, ok := b.byID[pf.SourceIDs[0]]
		if !ok || !rt.fields[i].partition || pf.Transform.String() != rt.fields[i].transform {
			return fmt.Errorf("%w: partition field %q (%s) of the table is not a `lakekit:\"partition\"` field of %v with that transform", ErrSchemaMismatch, pf.Name, pf.Transform, rt.t)
		}
		specCols = append(specCols, i)
	}
	for i, f := range rt.fields {
		if f.partition && !containsInt(specCols, i) {
			return fmt.Errorf("%w: %v.%s is tagged partition (%s) but the table is not partitioned by %q", ErrSchemaMismatch, rt.t, f.goName, f.transform, f.partitionName())
		}
	}
	b.parts = specCols
	return nil
}

// parquetSchema is the schema data files are written with: one column per
// field, optional where the table column is, with the field's ID.
func (b *binding) parquetSchema() {
	rt := b.rt
	group := parquet.Group{}
	for i, f := range rt.fields {
		var node parquet.Node
		switch f.ice.(type) {
		case ice.BooleanType:
			node = parquet.Leaf(parquet.BooleanType)
		case ice.Int32Type:
			node = parquet.Int(32)
		case ice.Int64Type:
			node = parquet.Int(64)
		case ice.Float32Type:
			node = parquet.Leaf(parquet.FloatType)
		case ice.Float64Type:
			node = parquet.Leaf(parquet.DoubleType)
		case ice.StringType:
			node = parquet.String()
		case ice.BinaryType:
			node = parquet.Leaf(parquet.ByteArrayType)
		case ice.TimestampTzType:
			node = parquet.Timestamp(parquet.Microsecond)
		}
		if b.nullable[i] {
			node = parquet.Optional(node)
		}
		group[f.name] = parquet.FieldID(node, b.ids[i])
	}
	b.pschema = parquet.NewSchema("table", group)
	b.column = make([]int, len(rt.fields))
	for c, pf := range b.pschema.Fields() {
		for i, f := range rt.fields {
			if f.name == pf.Name() {
				b.column[i] = c
			}
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// encode appends row v (a T) as a Parquet row of b.pschema.
func (b *binding) encode(dst parquet.Row, v reflect.Value) parquet.Row {
	n := len(dst)
	dst = slices.Grow(dst, len(b.rt.fields))[:n+len(b.rt.fields)]
	row := dst[n:]
	for i, f := range b.rt.fields {
		fv := v.Field(f.index)
		col := b.column[i]
		if f.optional {
			if fv.IsNil() {
				row[col] = parquet.NullValue().Level(0, 0, col)
				continue
			}
			row[col] = scalar(f, fv.Elem()).Level(0, 1, col)
			continue
		}
		def := 0
		if b.nullable[i] {
			def = 1
		}
		row[col] = scalar(f, fv).Level(0, def, col)
	}
	return dst
}

func scalar(f goField, v reflect.Value) parquet.Value {
	switch f.ice.(type) {
	case ice.BooleanType:
		return parquet.BooleanValue(v.Bool())
	case ice.Int32Type:
		return parquet.Int32Value(int32(v.Int()))
	case ice.Int64Type:
		return parquet.Int64Value(v.Int())
	case ice.Float32Type:
		return parquet.FloatValue(float32(v.Float()))
	case ice.Float64Type:
		return parquet.DoubleValue(v.Float())
	case ice.StringType:
		return parquet.ByteArrayValue([]byte(v.String()))
	case ice.BinaryType:
		return parquet.ByteArrayValue(v.Bytes())
	case ice.TimestampTzType:
		return parquet.Int64Value(v.Interface().(time.Time).UnixMicro())
	}
	panic(fmt.Sprintf("iceberg: unhandled type %s", f.ice))
}

// setScalar stores Parquet value pv into field f of the struct value dst.
func setScalar(f goField, dst reflect.Value, pv parquet.Value) {
	fv := dst.Field(f.index)
	if pv.IsNull() {
		fv.Set(reflect.Zero(fv.Type()))
		return
	}
	if f.optional {
		p := reflect.New(f.typ)
		fv.Set(p)
		fv = p.Elem()
	}
	switch f.ice.(type) {
	case ice.BooleanType:
		fv.SetBool(pv.Boolean())
	case ice.Int32Type:
		fv.SetInt(int64(pv.Int32()))
	case ice.Int64Type:
		if pv.Kind() == parquet.Int32 { // written before int was widened to long
			fv.SetInt(int64(pv.Int32()))
			break
		}
		fv.SetInt(pv.Int64())
	case ice.Float32Type:
		fv.SetFloat(float64(pv.Float()))
	case ice.Float64Type:
		if pv.Kind() == parquet.Float { // written before float was widened to double
			fv.SetFloat(float64(pv.Float()))
			break
		}
		fv.SetFloat(pv.Double())
	case ice.StringType:
		fv.SetString(string(pv.ByteArray()))
	case ice.BinaryType:
		fv.SetBytes(append([]byte(nil), pv.ByteArray()...))
	case ice.TimestampTzType:
		fv.Set(reflect.ValueOf(time.UnixMicro(pv.Int64()).UTC()))
	}
}

// partitionKey is the partition of row v: its values and a path segment
// ("k=v/k2=v2") for data file locations.
func (b *binding) partitionKey(v reflect.Value) string {
	var parts []string
	for _, i := range b.parts {
		f := b.rt.fields[i]
		fv := v.Field(f.index)
		var s string
		switch {
		case f.transform != "identity":
			s = fv.Interface().(time.Time).UTC().Format(transformLayout[f.transform])
		case f.typ == timeType:
			s = fv.Interface().(time.Time).UTC().Format("2006-01-02T15-04-05.000000Z")
		default:
			s = fmt.Sprint(fv.Interface())
		}
		parts = append(parts, f.partitionName()+"="+escapePath(s))
	}
	return strings.Join(parts, "/")
}

// transformLayout formats a time as its partition of each transform, as
// Iceberg writes it in paths (hour: "2026-01-02-15").
var transformLayout = map[string]string{
	"year": "2006", "month": "2006-01", "day": "2006-01-02", "hour": "2006-01-02-15",
}

// escapePath keeps a partition value usable as one path segment of any
// store: characters other than ASCII letters, digits, '.', '-' and '_'
// become '_' (the path is for people; the value is in the manifest).
func escapePath(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
