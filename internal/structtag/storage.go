package structtag

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// StorageOptions returns the parquet-go StructTag options that make
// parquet-go store struct type t (or pointer to one) the way lakekit
// promises (see the package doc). Pass them to parquet.SchemaOf and to
// every writer and reader of t. Types lakekit cannot store so that Athena
// reads them back unchanged are refused with an error wrapping ErrInvalid:
// uint, uint64 and uintptr (Athena's widest integer, bigint, is signed),
// time.Time with a timestamp unit other than microsecond or with :local,
// time.Time tagged date,
// and a time.Time, unsigned integer or uuid string nested too deep for a
// struct tag to reach (a slice of slices of time.Time, a map of slices of
// uint32: wrap the inner element in a struct).
func StorageOptions(t reflect.Type) ([]parquet.SchemaOption, error) {
	return storageOptions(t, true)
}

// DescribeOptions is StorageOptions for describing a struct type that
// files written by others may follow (catalog.SchemaOf): a time.Time keeps
// an explicitly declared timestamp unit, :local or date (each has one Glue
// type whatever its encoding); everything else is as StorageOptions.
func DescribeOptions(t reflect.Type) ([]parquet.SchemaOption, error) {
	return storageOptions(t, false)
}

func storageOptions(t reflect.Type, strict bool) ([]parquet.SchemaOption, error) {
	st, err := Deref(t)
	if err != nil {
		return nil, err
	}
	s := &storage{seen: map[reflect.Type]bool{}, strict: strict}
	if err := s.structFields(nil, st, st.Name()); err != nil {
		return nil, err
	}
	return s.opts, nil
}

type storage struct {
	opts []parquet.SchemaOption
	seen map[reflect.Type]bool // structs on the current path (recursion guard)
	// strict refuses time.Time encodings lakekit does not write.
	strict bool
}

// subTags are a field's parquet-key, parquet-value and parquet-element
// tags: the only way to reach a node one level below a field.
type subTags struct{ key, value, elem string }

func (s *storage) structFields(path []string, t reflect.Type, where string) error {
	if s.seen[t] {
		return fmt.Errorf("%w: field %s: recursive type %s is not supported", ErrInvalid, where, t)
	}
	s.seen[t] = true
	defer delete(s.seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, present, skip := Name(f, "parquet")
		if present && skip {
			continue
		}
		if f.Anonymous {
			if f.Type.Kind() != reflect.Struct {
				return fmt.Errorf("%w: embedded field %s.%s: only embedded structs are supported, not %s", ErrInvalid, where, f.Name, f.Type)
			}
			if f.Type == timeType {
				return fmt.Errorf("%w: embedded field %s.%s: an embedded time.Time has no column (parquet-go would drop it); declare a named field such as At time.Time `parquet:\"at\"`", ErrInvalid, where, f.Name)
			}
			// Embedded structs do not extend parquet-go's column path.
			if err := s.structFields(path, f.Type, where); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if lk, _ := ParseLakekit(f); lk.Partition && len(path) == 0 {
			continue // a partition key: in the path, not stored as such
		}
		col := f.Name
		if name != "" {
			col = name
		}
		_, opts := Split(f.Tag.Get("parquet"))
		sub := &subTags{key: f.Tag.Get("parquet-key"), value: f.Tag.Get("parquet-value"), elem: f.Tag.Get("parquet-element")}
		old := *sub
		nopts, err := s.node(append(path[:len(path):len(path)], col), f.Type, opts, sub, where+"."+f.Name)
		if err != nil {
			return err
		}
		if slices.Equal(nopts, opts) && *sub == old {
			continue
		}
		tag := `parquet:"` + name + "," + strings.Join(nopts, ",") + `"`
		for _, kv := range [...][2]string{{"parquet-key", sub.key}, {"parquet-value", sub.value}, {"parquet-element", sub.elem}} {
			if kv[1] != "" {
				tag += " " + kv[0] + `:"` + kv[1] + `"`
			}
		}
		s.opts = append(s.opts, parquet.StructTag(reflect.StructTag(tag), append(path[:len(path):len(path)], f.Name)...))
	}
	return nil
}

// node returns the parquet options under which a value of type t, at
// column path path, is stored; opts are the options it was declared with.
// sub is nil below the first level of a field, where no tag reaches: then
// a node that needs other options is an error.
func (s *storage) node(path []string, t reflect.Type, opts []string, sub *subTags, where string) ([]string, error) {
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	switch {
	case base == timeType:
		return s.timeOpts(opts, where)
	case base.Kind() == reflect.Uint || base.Kind() == reflect.Uint64 || base.Kind() == reflect.Uintptr:
		return nil, fmt.Errorf("%w: field %s: %s does not fit any Athena type (bigint is signed); use int64, or a decimal", ErrInvalid, where, t)
	case base.Kind() == reflect.Uint8 || base.Kind() == reflect.Uint16 || base.Kind() == reflect.Uint32:
		// Stored as the next wider signed integer: Athena (Trino) ignores
		// the unsigned annotation and would sign-extend a uint32 ≥ 2^31.
		out := slices.DeleteFunc(slices.Clone(opts), func(o string) bool {
			return strings.HasPrefix(o, "int(") || strings.HasPrefix(o, "uint(")
		})
		return append(out, "int("+strconv.Itoa(2*base.Bits())+")"), nil
	case base.Kind() == reflect.String:
		// The textual UUID, not 16 raw bytes (which Athena returns as such).
		return slices.DeleteFunc(slices.Clone(opts), func(o string) bool { return o == "uuid" }), nil
	case base.Kind() == reflect.Struct:
		return opts, s.structFields(path, base, where)
	case base.Kind() == reflect.Map:
		if slices.Contains(opts, "json") {
			return opts, nil
		}
		if err := s.sub(append(path, "key_value", "key"), base.Key(), sub, func(st *subTags) *string { return &st.key }, where+" (key)"); err != nil {
			return nil, err
		}
		return opts, s.sub(append(path, "key_value", "value"), base.Elem(), sub, func(st *subTags) *string { return &st.value }, where+" (value)")
	case base.Kind() == reflect.Slice && base.Elem().Kind() != reflect.Uint8:
		if t.Kind() == reflect.Pointer {
			return nil, fmt.Errorf("%w: field %s: a pointer to a slice cannot be a LIST; use %s (tagged optional for NULL)", ErrInvalid, where, base)
		}
		out := slices.Clone(opts)
		if !slices.Contains(out, "list") {
			// A bare slice was a repeated field, which older Athena and
			// Trino cannot read as array<T>: store it as a LIST, optional
			// as the repeated field was.
			if !slices.Contains(out, "optional") {
				out = append(out, "optional")
			}
			out = append(out, "list")
		}
		esub := sub
		if sub != nil && base.Elem().Kind() == reflect.Slice && base.Elem().Elem().Kind() != reflect.Uint8 {
			_, eopts := Split(sub.elem)
			if !slices.Contains(eopts, "list") {
				sub.elem += ",list" // parquet-go does the same implicitly
			}
		}
		return out, s.sub(append(path, "list", "element"), base.Elem(), esub, func(st *subTags) *string { return &st.elem }, where+" (element)")
	}
	return opts, nil
}

// sub normalises the node one level below a field, reached by the tag
// pick selects in sub; with sub nil, the node must need no change.
func (s *storage) sub(path []string, t reflect.Type, sub *subTags, pick func(*subTags) *string, where string) error {
	var opts []string
	if sub != nil {
		_, opts = Split(*pick(sub))
	}
	nopts, err := s.node(path, t, opts, nil, where)
	if err != nil {
		return err
	}
	if slices.Equal(nopts, opts) {
		return nil
	}
	if sub == nil {
		return fmt.Errorf("%w: field %s: %s nested this deep cannot be stored as lakekit stores it (no struct tag reaches it); wrap it in a struct", ErrInvalid, where, t)
	}
	*pick(sub) = "," + strings.Join(nopts, ",")
	return nil
}

func (s *storage) timeOpts(opts []string, where string) ([]string, error) {
	if !s.strict && slices.ContainsFunc(opts, func(o string) bool { return o == "date" || strings.HasPrefix(o, "timestamp") }) {
		return opts, nil
	}
	if slices.Contains(opts, "date") {
		// parquet-go v0.32 writes int32(t.UnixNano()) into a DATE column
		// (its time.Time writer knows only timestamp units): refuse rather
		// than store garbage.
		return nil, fmt.Errorf("%w: field %s: a time.Time tagged date cannot be written correctly by parquet-go v0.32 (it stores the low 32 bits of the Unix nanoseconds as the day number); store the day as an int32 tagged date (days since 1970-01-01) or make the date a partition key", ErrInvalid, where)
	}
	out := make([]string, 0, len(opts)+1)
	for _, o := range opts {
		if strings.HasPrefix(o, "timestamp") {
			if o != "timestamp" && o != "timestamp(microsecond)" && o != "timestamp(microsecond:utc)" {
				return nil, fmt.Errorf("%w: field %s: tag option %q: lakekit stores every time.Time as timestamp(microsecond) adjusted to UTC, so that engines never mix encodings", ErrInvalid, where, o)
			}
			continue
		}
		out = append(out, o)
	}
	return append(out, "timestamp(microsecond)"), nil
}

// HasBareRepeated reports whether a Parquet schema (a file's footer) holds
// a repeated field that is not the middle level of a LIST or MAP: a bare
// slice as lakekit wrote it before every slice became a LIST. parquet-go
// does not convert such a field to a LIST (it reads it as empty), so a
// reader of such a file uses parquet-go's plain schema of the row type
// instead of StorageOptions.
func HasBareRepeated(n parquet.Node) bool {
	group := false
	if lt := n.Type().LogicalType(); !n.Leaf() && lt != nil {
		group = isListOrMap(lt.Value)
	}
	for _, f := range n.Fields() {
		if f.Repeated() && !group {
			return true
		}
		if !f.Leaf() && HasBareRepeated(f) {
			return true
		}
	}
	return false
}

func isListOrMap(v any) bool {
	switch v.(type) {
	case *format.ListType, *format.MapType:
		return true
	}
	return false
}
