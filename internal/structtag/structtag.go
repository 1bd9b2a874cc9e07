// Package structtag is lakekit's one struct-tag grammar: how the "parquet"
// and "lakekit" tags of a Go struct name its columns and partition keys, and
// how such a struct is stored in Parquet. The catalog (schemas), zones
// (writers and readers), query (scanning results into structs) and
// transform (finding fields by name) all read tags through it, so they
// derive the same columns from the same struct.
//
// The grammar:
//
//   - A field's column is named by the part of its parquet tag before the
//     first comma, else by its Go name. `parquet:"-"` leaves the field out
//     (unless it is a partition key); `parquet:"-,"` names a column "-".
//   - Embedded structs contribute their fields, flattened, as parquet-go
//     does; an embedded struct tagged `parquet:"-"` contributes nothing.
//     Embedded pointers, non-struct types and time.Time are refused (parquet-go
//     would panic or silently drop them).
//   - Unexported fields are skipped.
//   - The lakekit tag (see ParseLakekit) marks partition keys and carries
//     business metadata. A partition key is named by the option name=KEY,
//     else like a column.
//   - Other encodings' tags (db, json, csv) follow the same "name,options"
//     form with "-" to skip (Name).
//
// Storage (StorageOptions): every time.Time, at any depth (struct fields,
// slice elements, map keys and values, embedded structs), is a
// timestamp(microsecond) adjusted to UTC (a time.Time tagged date is
// refused: parquet-go v0.32 writes it wrong; an int32 tagged date is a
// DATE); every slice other than []byte is a three-level LIST; unsigned
// integers are stored as the next wider signed integer (uint8 as INT(16),
// uint16 as INT(32), uint32 as INT(64)) so that engines that ignore the
// unsigned annotation (Athena, Trino) read the right value; a string tagged
// uuid is stored as a plain string (the textual UUID), not as 16 raw
// bytes. Files written before slices were LISTs hold bare repeated fields
// (HasBareRepeated); read them with parquet-go's plain schema of the type.
package structtag

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error of this package.
var ErrInvalid = errors.New("invalid struct tags")

// LakekitTag is the name of lakekit's own struct tag.
const LakekitTag = "lakekit"

// Lakekit is a parsed lakekit tag.
type Lakekit struct {
	Partition      bool
	Name           string // name=KEY (a partition key's name)
	Classification string // pii, or classification=NAME
	Comment        string // comment=TEXT
}

// ClassificationPII is the classification the "pii" option sets.
const ClassificationPII = "PII"

// ParseLakekit parses field's lakekit tag: partition, pii,
// classification=NAME, name=KEY, comment=TEXT (TEXT runs, commas included,
// up to the next option or the end).
func ParseLakekit(field reflect.StructField) (Lakekit, error) {
	var t Lakekit
	s, ok := field.Tag.Lookup(LakekitTag)
	if !ok {
		return t, nil
	}
	inComment := false
	for _, opt := range strings.Split(s, ",") {
		key, val, hasVal := strings.Cut(strings.TrimSpace(opt), "=")
		switch {
		case key == "partition" && !hasVal:
			t.Partition = true
		case key == "pii" && !hasVal:
			t.Classification = ClassificationPII
		case key == "classification" && hasVal && val != "":
			t.Classification = val
		case key == "name" && hasVal && val != "":
			t.Name = val
		case key == "comment" && hasVal:
			t.Comment, inComment = strings.TrimPrefix(strings.TrimLeft(opt, " "), "comment="), true
			continue
		case inComment:
			// A comment runs on, commas included, up to the next option.
			t.Comment += "," + opt
			continue
		case strings.TrimSpace(opt) == "":
		default:
			return t, fmt.Errorf("%w: field %s: unknown %s tag option %q (known: partition, pii, classification=, name=, comment=)",
				ErrInvalid, field.Name, LakekitTag, opt)
		}
		inComment = false
	}
	return t, nil
}

// Split splits a tag value of the form "name,opt1,opt2" into the name and
// the options (empty options dropped). Options with arguments keep them:
// "timestamp(microsecond)", "decimal(2:10)".
func Split(tag string) (name string, opts []string) {
	name, rest, _ := strings.Cut(tag, ",")
	for o := range strings.SplitSeq(rest, ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts = append(opts, o)
		}
	}
	return name, opts
}

// Name returns the name part of f's tag key: present reports whether the
// tag is there, skip whether it says "-" (the field is ignored for that
// encoding; "-," names a field "-"). name is "" when the tag gives no name.
func Name(f reflect.StructField, key string) (name string, present, skip bool) {
	v, ok := f.Tag.Lookup(key)
	if !ok {
		return "", false, false
	}
	name, _, _ = strings.Cut(v, ",")
	if name == "-" && v != "-," {
		return "", true, true
	}
	return name, true, false
}

// Field is one column-level field of a struct, as lakekit and parquet-go
// see it.
type Field struct {
	// Name is the column name, or the partition key for a partition field.
	Name string
	// Named reports whether Name comes from a tag (not the Go name).
	Named bool
	// Stored reports whether the field is written to the files (its
	// parquet tag is not "-"). Only partition fields can be unstored.
	Stored bool
	// Index is the field's index path (reflect.Value.FieldByIndex);
	// longer than one for fields of embedded structs.
	Index []int
	// Field is the Go struct field.
	Field reflect.StructField
	// Lakekit is the field's parsed lakekit tag.
	Lakekit Lakekit
}

// GoName is the field's Go name; it is also the path parquet-go's
// StructTag option uses for a top-level field (embedded structs do not
// extend the path).
func (f Field) GoName() string { return f.Field.Name }

var timeType = reflect.TypeFor[time.Time]()

// Deref returns t without its pointers, or an error wrapping ErrInvalid
// when t is not a struct (or pointer to one).
func Deref(t reflect.Type) (reflect.Type, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil type", ErrInvalid)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: schemas come from struct types, not %s", ErrInvalid, t)
	}
	return t, nil
}

// Fields lists the column-level fields of struct type t (or pointer to
// one) in column order: embedded structs flattened, "-" and unexported
// fields skipped (a partition field tagged "-" is kept, unstored).
func Fields(t reflect.Type) ([]Field, error) {
	st, err := Deref(t)
	if err != nil {
		return nil, err
	}
	return walk(st, nil, nil)
}

// FieldOf reads one struct field's tags: the column (or partition key)
// it names, whether it is stored, its lakekit tag. ok is false when the
// field is no column (parquet tag "-" on a field that is not a partition
// key). Embedded fields and unexported ones are the caller's to handle
// (Fields flattens the former and skips the latter). On a malformed lakekit
// tag the error wraps ErrInvalid and the Field holds what did parse.
func FieldOf(f reflect.StructField) (fl Field, ok bool, err error) {
	lk, err := ParseLakekit(f)
	fl = Field{Name: f.Name, Stored: true, Index: f.Index, Field: f, Lakekit: lk}
	if name, present, skip := Name(f, "parquet"); present {
		switch {
		case skip && !lk.Partition:
			return fl, false, err
		case skip:
			fl.Stored = false
		case name != "":
			fl.Name, fl.Named = name, true
		}
	}
	if lk.Partition && lk.Name != "" {
		fl.Name, fl.Named = lk.Name, true
	}
	return fl, true, err
}

func walk(t reflect.Type, index []int, out []Field) ([]Field, error) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(index[:len(index):len(index)], i)
		gf, ok, err := FieldOf(f)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		gf.Index = idx
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() != reflect.Struct {
				return nil, fmt.Errorf("%w: embedded field %s: only embedded structs are supported, not %s", ErrInvalid, f.Name, ft)
			}
			if ft == timeType {
				return nil, fmt.Errorf("%w: embedded field %s: an embedded time.Time has no column (parquet-go would drop it); declare a named field such as At time.Time `parquet:\"at\"`", ErrInvalid, f.Name)
			}
			if out, err = walk(ft, idx, out); err != nil {
				return nil, err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		out = append(out, gf)
	}
	return out, nil
}
