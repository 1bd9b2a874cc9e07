package catalog

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/internal/structtag"
	"github.com/lakekit/lakekit/lake"
)

// TagName is the struct tag lakekit reads beside parquet-go's "parquet" tag.
// Its options, comma-separated:
//
//	partition              the field is a partition key (a Hive path segment, not a column)
//	pii                    Column.Classification = "PII"
//	classification=NAME    Column.Classification = NAME ("confidential", ...)
//	comment=TEXT           Column.Comment = TEXT; TEXT runs to the next option
//	                       (or the end), so it may contain commas that are not
//	                       followed by an option name
//
// Example:
//
//	type Order struct {
//		ID    int64     `parquet:"id"`
//		Email *string   `parquet:"email" lakekit:"pii,comment=customer e-mail, as entered"`
//		Day   time.Time `parquet:"-" lakekit:"partition,name=dt"` // key dt (a date), not written to the files
//		Shop  string    `parquet:"shop" lakekit:"partition"`      // key shop (a string)
//	}
//
// A partition field's key name is the lakekit option name=KEY if given,
// else its parquet tag name, else its Go field name (which must then
// already be a valid lower-case name: lakekit never renames). Partition
// fields are not columns of the table (Hive keeps them in the path), so
// zone writers may leave them out of the files with `parquet:"-"`.
const TagName = structtag.LakekitTag

// ClassificationPII is the classification the "pii" tag option sets.
const ClassificationPII = structtag.ClassificationPII

// walkFields lists t's column-level fields through lakekit's one
// struct-tag grammar (internal/structtag), with its errors as ErrInvalid.
func walkFields(t reflect.Type) ([]structtag.Field, error) {
	fields, err := structtag.Fields(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return fields, nil
}

func structOf(t reflect.Type) (reflect.Type, error) {
	st, err := structtag.Deref(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return st, nil
}

// PartitionField is a struct field tagged `lakekit:"partition"`.
type PartitionField struct {
	// Name is the partition key.
	Name string
	// Index is the field's index path for reflect.Value.FieldByIndex
	// (longer than one for fields of embedded structs).
	Index []int
	// Type is the key's Glue type: string, tinyint, smallint, int, bigint,
	// boolean or date (for time.Time fields).
	Type string
}

// PartitionFields returns the fields of struct type t (or pointer to
// struct) tagged `lakekit:"partition"`, in field order: the partition keys
// SchemaOf derives. Zone writers use it to route rows to partitions with
// PartitionField.Value. Supported field types: string, signed integers,
// bool and time.Time (a date key, formatted YYYY-MM-DD).
func PartitionFields(t reflect.Type) ([]PartitionField, error) {
	st, err := structOf(t)
	if err != nil {
		return nil, err
	}
	fields, err := walkFields(st)
	if err != nil {
		return nil, err
	}
	var out []PartitionField
	for _, f := range fields {
		if !f.Lakekit.Partition {
			continue
		}
		if err := lake.ValidateName(lake.KindPartition, f.Name); err != nil {
			return nil, fmt.Errorf("%w: field %s: %v (name it with the parquet tag or %s:\"partition,name=...\")", ErrInvalid, f.GoName(), err, TagName)
		}
		typ, err := partitionGoType(f.Field.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: partition field %s: %v", ErrInvalid, f.GoName(), err)
		}
		out = append(out, PartitionField{Name: f.Name, Index: f.Index, Type: typ})
	}
	return out, nil
}

var timeType = reflect.TypeFor[time.Time]()

func partitionGoType(t reflect.Type) (string, error) {
	if t.Kind() == reflect.Pointer { // nil: the partition lake.NullPartitionValue
		t = t.Elem()
	}
	if t == timeType {
		return KindDate, nil
	}
	switch t.Kind() {
	case reflect.String:
		return KindString, nil
	case reflect.Bool:
		return KindBoolean, nil
	case reflect.Int8:
		return KindTinyint, nil
	case reflect.Int16:
		return KindSmallint, nil
	case reflect.Int32:
		return KindInt, nil
	case reflect.Int, reflect.Int64:
		return KindBigint, nil
	}
	return "", fmt.Errorf("type %s cannot be a partition key (use string, a signed integer, bool or time.Time)", t)
}

// Value formats the partition value of row (a struct, or pointer to one,
// of the type PartitionFields was called with): strings as they are,
// integers in decimal, bools as true/false, time.Time as its UTC date
// YYYY-MM-DD; a nil pointer field as lake.NullPartitionValue (Hive's
// NULL partition), while that literal string as a value is refused. The
// value is checked with lake.ValidatePartitionValue.
func (f PartitionField) Value(row reflect.Value) (string, error) {
	for row.Kind() == reflect.Pointer {
		if row.IsNil() {
			return "", fmt.Errorf("%w: partition key %s: nil row", ErrInvalid, f.Name)
		}
		row = row.Elem()
	}
	v, err := row.FieldByIndexErr(f.Index)
	if err != nil {
		return "", fmt.Errorf("%w: partition key %s: %v", ErrInvalid, f.Name, err)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return lake.NullPartitionValue, nil
		}
		v = v.Elem()
	}
	var s string
	switch {
	case v.Type() == timeType:
		s = v.Interface().(time.Time).UTC().Format(time.DateOnly)
	case v.Kind() == reflect.String:
		s = v.String()
	case v.Kind() == reflect.Bool:
		s = strconv.FormatBool(v.Bool())
	case v.CanInt():
		s = strconv.FormatInt(v.Int(), 10)
	default:
		return "", fmt.Errorf("%w: partition key %s: unsupported type %s", ErrInvalid, f.Name, v.Type())
	}
	if s == lake.NullPartitionValue {
		return "", fmt.Errorf("%w: partition key %s: the value %q is how Hive, Glue and Athena write NULL; use a nil pointer field for NULL", ErrInvalid, f.Name, s)
	}
	if err := lake.ValidatePartitionValue(f.Name, s); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, nil
}

// SchemaOption modifies SchemaOf; WithPartitionKeys makes one. The zero
// SchemaOption changes nothing.
type SchemaOption struct{ partitionKeys []string }

// WithPartitionKeys makes the named columns partition keys, after the
// fields tagged `lakekit:"partition"`, in the order given.
func WithPartitionKeys(names ...string) SchemaOption {
	return SchemaOption{partitionKeys: names}
}

// SchemaOf derives a table schema (version 1) from the struct type T, the
// way parquet-go writes T (parquet.SchemaOf): column names and options come
// from the "parquet" struct tag, business metadata and partition keys from
// the "lakekit" tag (see TagName).
//
// Go and parquet types map to Glue types as follows (zones stores T the
// same way; see internal/structtag for the storage rules):
//
//	int64, int                         bigint
//	int32 / int16 / int8               int / smallint / tinyint
//	uint32 / uint16 / uint8            bigint / int / smallint, stored as the
//	                                   signed INT64 / INT32 / INT32 of that
//	                                   width, so Athena (which ignores the
//	                                   unsigned annotation) reads them right
//	float64 / float32                  double / float
//	bool                               boolean
//	string (also enum, json, uuid)     string (a uuid string is stored as text)
//	[]byte, [N]byte (also uuid)        binary
//	time.Time, timestamp(...)          timestamp, stored as
//	                                   timestamp(microsecond) at any depth
//	date (int32 days, time.Time)       date (zones refuses a time.Time date:
//	                                   parquet-go v0.32 writes it wrong)
//	decimal(scale:precision)           decimal(precision,scale)
//	[]T (with or without list)         array<T>, stored as a three-level LIST
//	map[K]V                            map<K,V>
//	struct                             struct<a:T,...>
//
// Pointers and the optional option make a column nullable
// (Column.Required false); other scalars, structs and maps are Required.
// Slices without the list option are not Required (they are stored as an
// optional LIST). uint64 and uint (bigint is signed: use int64 or a
// decimal), time(...) columns, interfaces, channels, functions
// and complex numbers are refused with ErrInvalid, as are names that break
// lake.ValidateName (a field without a parquet tag name is named by its Go
// name, which is then usually invalid: lakekit never renames) and names
// that repeat case-insensitively.
func SchemaOf[T any](opts ...SchemaOption) (Schema, error) {
	var keys []string
	for _, o := range opts {
		keys = append(keys, o.partitionKeys...)
	}
	return SchemaOfType(reflect.TypeFor[T](), keys)
}

// SchemaOfType is SchemaOf for a reflect.Type; partitionKeys name extra
// partition-key columns as WithPartitionKeys does.
func SchemaOfType(t reflect.Type, partitionKeys []string) (s Schema, err error) {
	st, err := structOf(t)
	if err != nil {
		return Schema{}, err
	}
	fields, err := walkFields(st)
	if err != nil {
		return Schema{}, err
	}
	for _, f := range fields {
		if !f.Lakekit.Partition {
			if err := checkGoType(f.Field.Type, f.GoName()); err != nil {
				return Schema{}, err
			}
		}
	}
	storage, err := structtag.DescribeOptions(st)
	if err != nil {
		return Schema{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parquet schema of %s: %v", ErrInvalid, st, r)
		}
	}()
	// The columns as lakekit stores them (zones writes with the same options).
	ps := parquet.SchemaOf(reflect.New(st).Elem().Interface(), storage...)
	nodes := map[string]parquet.Node{}
	for _, pf := range ps.Fields() {
		nodes[pf.Name()] = pf
	}
	pfields, err := PartitionFields(st)
	if err != nil {
		return Schema{}, err
	}
	isKey := map[string]bool{}
	for _, pf := range pfields {
		isKey[pf.Name] = true
		s.PartitionKeys = append(s.PartitionKeys, Column{Name: pf.Name, Type: pf.Type, Required: true})
	}
	for _, f := range fields {
		if isKey[f.Name] && f.Lakekit.Partition {
			continue
		}
		if err := lake.ValidateName(lake.KindColumn, f.Name); err != nil {
			hint := ""
			if !f.Named {
				hint = fmt.Sprintf(" (field %s has no parquet tag name; add `parquet:\"%s\"`)", f.GoName(), lake.SanitizeName(f.GoName()))
			}
			return Schema{}, fmt.Errorf("%w: %v%s", ErrInvalid, err, hint)
		}
		n, ok := nodes[f.Name]
		if !ok {
			return Schema{}, fmt.Errorf("%w: field %s: parquet-go has no column %q", ErrInvalid, f.GoName(), f.Name)
		}
		col, err := ColumnOfNode(f.Name, n)
		if err != nil {
			return Schema{}, fmt.Errorf("field %s: %w", f.GoName(), err)
		}
		col.Comment = f.Lakekit.Comment
		col.Classification = f.Lakekit.Classification
		s.Columns = append(s.Columns, col)
	}
	for _, name := range partitionKeys {
		if isKey[name] {
			continue
		}
		i := -1
		for j, c := range s.Columns {
			if c.Name == name {
				i = j
			}
		}
		if i < 0 {
			return Schema{}, fmt.Errorf("%w: partition key %q is not a column of %s", ErrInvalid, name, st)
		}
		c := s.Columns[i]
		t, err := ParseType(c.Type)
		if err != nil {
			return Schema{}, err
		}
		if !t.Primitive() {
			return Schema{}, fmt.Errorf("%w: partition key %q has type %s; partition keys must be primitive", ErrInvalid, name, c.Type)
		}
		s.Columns = append(s.Columns[:i], s.Columns[i+1:]...)
		c.Required = true
		s.PartitionKeys = append(s.PartitionKeys, c)
		isKey[name] = true
	}
	s.Version = 1
	if err := validateSchema(s); err != nil {
		return Schema{}, err
	}
	return s, nil
}

// queryPkg is the import path of package query, whose Decimal (a result
// type) cannot be a column; catalog cannot import query (query imports
// catalog), so the type is recognised by name.
const queryPkg = "github.com/lakekit/lakekit/query"

func checkGoType(t reflect.Type, path string) error {
	seen := map[reflect.Type]bool{}
	var check func(t reflect.Type, path string) error
	check = func(t reflect.Type, path string) error {
		if seen[t] {
			return fmt.Errorf("%w: field %s: recursive type %s is not supported", ErrInvalid, path, t)
		}
		switch t.Kind() {
		case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.Interface, reflect.UnsafePointer, reflect.Uintptr:
			return fmt.Errorf("%w: field %s: Go type %s has no Glue type", ErrInvalid, path, t)
		case reflect.Pointer, reflect.Slice, reflect.Array:
			return check(t.Elem(), path)
		case reflect.Map:
			if err := check(t.Key(), path+" (key)"); err != nil {
				return err
			}
			return check(t.Elem(), path+" (value)")
		case reflect.Struct:
			if t == timeType {
				return nil
			}
			if t.PkgPath() == queryPkg && t.Name() == "Decimal" {
				return fmt.Errorf("%w: field %s: query.Decimal is what queries return, not a column type: "+
					"store the unscaled number in an int64 (up to 18 digits), an int32 (up to 9) or a []byte "+
					"with a decimal(SCALE:PRECISION) tag option, e.g. `parquet:\"price,decimal(2:18)\"` on an int64 of cents "+
					"(query.NewDecimal(big.NewInt(v), 2) turns it back into a Decimal)", ErrInvalid, path)
			}
			seen[t] = true
			defer delete(seen, t)
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, skip := structtag.Name(f, "parquet")
				if skip || (!f.IsExported() && !f.Anonymous) {
					continue
				}
				if name == "" && !f.Anonymous {
					if err := lake.ValidateName("struct field name", f.Name); err != nil {
						return fmt.Errorf("%w: field %s.%s: %v (field %s.%s has no parquet tag name; add `parquet:\"%s\"`)",
							ErrInvalid, path, f.Name, err, path, f.Name, lake.SanitizeName(f.Name))
					}
				}
				if err := check(f.Type, path+"."+f.Name); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return check(t, path)
}

// ColumnOfNode maps one parquet column (a field of a parquet schema, from
// parquet.SchemaOf or a file's footer) to a Glue column: its type per the
// table in SchemaOf's doc, Required when the node is required.
func ColumnOfNode(name string, n parquet.Node) (Column, error) {
	typ, err := glueTypeOfNode(name, n)
	if err != nil {
		return Column{}, err
	}
	return Column{Name: name, Type: typ, Required: n.Required()}, nil
}

func glueTypeOfNode(path string, n parquet.Node) (string, error) {
	if n.Repeated() {
		e, err := baseTypeOfNode(path, n)
		if err != nil {
			return "", err
		}
		return "array<" + e + ">", nil
	}
	return baseTypeOfNode(path, n)
}

func baseTypeOfNode(path string, n parquet.Node) (string, error) {
	if n.Leaf() {
		return leafType(path, n)
	}
	typ := n.Type()
	lt := typ.LogicalType()
	ct := typ.ConvertedType()
	fields := n.Fields()
	isList := lt != nil && lt.Value != nil && isLogical[*format.ListType](lt) || ct != nil && *ct == deprecated.List
	isMap := lt != nil && lt.Value != nil && isLogical[*format.MapType](lt) || ct != nil && (*ct == deprecated.Map || *ct == deprecated.MapKeyValue)
	switch {
	case isList:
		if len(fields) != 1 || !fields[0].Repeated() {
			return "", fmt.Errorf("%w: column %s: malformed LIST group", ErrInvalid, path)
		}
		rep := fields[0]
		if rep.Leaf() {
			e, err := leafType(path+".element", rep)
			return "array<" + e + ">", err
		}
		rf := rep.Fields()
		// Three-level list: repeated group list { element }. Legacy
		// two-level lists name the repeated group "array" or "<name>_tuple"
		// or give it several fields: then the group itself is the element.
		if len(rf) == 1 && rep.Name() != "array" && !strings.HasSuffix(rep.Name(), "_tuple") {
			e, err := glueTypeOfNode(path+".element", rf[0])
			return "array<" + e + ">", err
		}
		e, err := structType(path+".element", rf)
		return "array<" + e + ">", err
	case isMap:
		if len(fields) != 1 || fields[0].Leaf() || len(fields[0].Fields()) != 2 {
			return "", fmt.Errorf("%w: column %s: malformed MAP group", ErrInvalid, path)
		}
		kv := fields[0].Fields()
		k, err := glueTypeOfNode(path+".key", kv[0])
		if err != nil {
			return "", err
		}
		v, err := glueTypeOfNode(path+".value", kv[1])
		if err != nil {
			return "", err
		}
		return "map<" + k + "," + v + ">", nil
	}
	return structType(path, fields)
}

func structType(path string, fields []parquet.Field) (string, error) {
	if len(fields) == 0 {
		return "", fmt.Errorf("%w: column %s: a struct needs at least one field", ErrInvalid, path)
	}
	var b strings.Builder
	b.WriteString("struct<")
	seen := map[string]bool{}
	for i, f := range fields {
		if err := lake.ValidateName("struct field name", f.Name()); err != nil {
			return "", fmt.Errorf("%w: column %s: %v", ErrInvalid, path, err)
		}
		if seen[strings.ToLower(f.Name())] {
			return "", fmt.Errorf("%w: column %s: field %q appears twice", ErrInvalid, path, f.Name())
		}
		seen[strings.ToLower(f.Name())] = true
		t, err := glueTypeOfNode(path+"."+f.Name(), f)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Name() + ":" + t)
	}
	b.WriteByte('>')
	return b.String(), nil
}

func isLogical[T any](lt *format.LogicalType) bool {
	_, ok := lt.Value.(T)
	return ok
}

func leafType(path string, n parquet.Node) (string, error) {
	typ := n.Type()
	kind := typ.Kind()
	if lt := typ.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return KindString, nil
		case *format.UUIDType:
			// 16 raw bytes, which Athena returns as such (lakekit stores a
			// uuid-tagged string as text, so only [16]byte lands here).
			return KindBinary, nil
		case *format.DateType:
			return KindDate, nil
		case *format.TimestampType:
			return KindTimestamp, nil
		case *format.DecimalType:
			return fmt.Sprintf("decimal(%d,%d)", v.Precision, v.Scale), nil
		case *format.IntType:
			return intType(path, int(v.BitWidth), v.IsSigned)
		case *format.Float16Type:
			return KindFloat, nil
		case *format.BsonType, *format.GeometryType, *format.GeographyType:
			return KindBinary, nil
		case *format.TimeType:
			return "", fmt.Errorf("%w: column %s: parquet TIME has no Glue type (store it as a duration in bigint or as a string)", ErrInvalid, path)
		default:
			return "", fmt.Errorf("%w: column %s: parquet logical type %s has no Glue type", ErrInvalid, path, lt)
		}
	}
	if ct := typ.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.UTF8, deprecated.Enum, deprecated.Json:
			return KindString, nil
		case deprecated.Date:
			return KindDate, nil
		case deprecated.TimestampMillis, deprecated.TimestampMicros:
			return KindTimestamp, nil
		case deprecated.Int8:
			return intType(path, 8, true)
		case deprecated.Int16:
			return intType(path, 16, true)
		case deprecated.Int32:
			return intType(path, 32, true)
		case deprecated.Int64:
			return intType(path, 64, true)
		case deprecated.Uint8:
			return intType(path, 8, false)
		case deprecated.Uint16:
			return intType(path, 16, false)
		case deprecated.Uint32:
			return intType(path, 32, false)
		case deprecated.Uint64:
			return intType(path, 64, false)
		case deprecated.Bson:
			return KindBinary, nil
		}
	}
	switch kind {
	case parquet.Boolean:
		return KindBoolean, nil
	case parquet.Int32:
		return KindInt, nil
	case parquet.Int64:
		return KindBigint, nil
	case parquet.Int96:
		return KindTimestamp, nil
	case parquet.Float:
		return KindFloat, nil
	case parquet.Double:
		return KindDouble, nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return KindBinary, nil
	}
	return "", fmt.Errorf("%w: column %s: parquet type %s has no Glue type", ErrInvalid, path, typ)
}

func intType(path string, bits int, signed bool) (string, error) {
	if !signed {
		bits *= 2 // widen so every unsigned value fits
	}
	switch bits {
	case 8:
		return KindTinyint, nil
	case 16:
		return KindSmallint, nil
	case 32:
		return KindInt, nil
	case 64:
		return KindBigint, nil
	}
	return "", fmt.Errorf("%w: column %s: unsigned 64-bit integers do not fit any Glue type (bigint is signed)", ErrInvalid, path)
}
