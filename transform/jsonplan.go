package transform

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// A jsonPlan decodes a JSON object into a struct without encoding/json's
// per-record reflection: the struct's fields, their offsets and kinds are
// worked out once per row type, and a record is read in one pass over its
// bytes. It is a fast path, not a second JSON decoder: it answers only
// when it is sure encoding/json would decode the record into the same row
// without error, and gives up (ok = false) on anything else — a syntax
// error, a value of the wrong type, an unknown field with Strict, a key
// with escapes or non-ASCII bytes, a string with invalid UTF-8 — so the
// caller decodes that record with encoding/json, which then gives the row
// or the error exactly as before. Fields of kinds it does not read itself
// (structs, slices, maps, interfaces, TextUnmarshaler types) are handed,
// as their exact bytes, to encoding/json for that field alone.
type jsonPlan struct {
	fields []jsonField
	strict bool
}

type jsonKind uint8

const (
	jkString jsonKind = iota
	jkBool
	jkInt
	jkUint
	jkFloat
	jkUnmarshaler // the field's address implements json.Unmarshaler
	jkJSON        // anything else: encoding/json decodes the value
)

type jsonField struct {
	name  string
	off   uintptr
	kind  jsonKind
	bits  int
	ptr   bool         // the field is a pointer to a value of kind
	typ   reflect.Type // the field's type
	elem  reflect.Type // for ptr: the pointed-to type
	lower string       // name in ASCII lower case
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// implementsDecoding reports whether t or *t unmarshals itself.
func implementsDecoding(t reflect.Type) bool {
	for _, it := range []reflect.Type{jsonUnmarshalerType, textUnmarshalerType} {
		if t.Implements(it) || reflect.PointerTo(t).Implements(it) {
			return true
		}
	}
	return false
}

// newJSONPlan returns the plan for decoding JSON objects into t, or nil
// when t is a type the plan does not cover (then every record goes
// through encoding/json): not a struct, a struct that unmarshals itself,
// embedded fields (promotion rules), the ",string" option, two fields
// answering to one name, or non-ASCII field names (Unicode case folding).
func newJSONPlan(t reflect.Type, strict bool) *jsonPlan {
	if t.Kind() != reflect.Struct || implementsDecoding(t) {
		return nil
	}
	p := &jsonPlan{strict: strict}
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		for _, o := range strings.Split(opts, ",") {
			if o == "string" {
				return nil
			}
		}
		if !validJSONTag(name) {
			name = sf.Name
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		for j := 0; j < len(name); j++ {
			if name[j] >= utf8.RuneSelf {
				return nil
			}
		}
		p.fields = append(p.fields, planField(name, sf))
	}
	return p
}

// planField works out how one field is read.
func planField(name string, sf reflect.StructField) jsonField {
	f := jsonField{name: name, off: sf.Offset, typ: sf.Type, lower: strings.ToLower(name), kind: jkJSON}
	ft := sf.Type
	if ft.Kind() == reflect.Pointer && ft.Elem().Kind() != reflect.Pointer {
		f.ptr, f.elem = true, ft.Elem()
		ft = ft.Elem()
	}
	if ft.Kind() != reflect.Interface && reflect.PointerTo(ft).Implements(jsonUnmarshalerType) {
		f.kind = jkUnmarshaler // encoding/json asks json.Unmarshaler before anything else
		return f
	}
	if implementsDecoding(ft) {
		f.ptr, f.elem = false, nil
		return f
	}
	switch ft.Kind() {
	case reflect.String:
		f.kind = jkString
	case reflect.Bool:
		f.kind = jkBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.kind, f.bits = jkInt, ft.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f.kind, f.bits = jkUint, ft.Bits()
	case reflect.Float32, reflect.Float64:
		f.kind, f.bits = jkFloat, ft.Bits()
	default:
		f.ptr, f.elem = false, nil
	}
	return f
}

// validJSONTag is encoding/json's isValidTag: a tag name it does not
// accept makes the field answer to its Go name.
func validJSONTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= utf8.RuneSelf):
			return false
		}
	}
	return true
}

// decode reads the JSON object at the start of b (no leading white space)
// into *row (a zero value of the plan's struct) and returns where the
// object ends. ok is false when the plan cannot vouch for the result.
func (p *jsonPlan) decode(b []byte, row unsafe.Pointer) (end int, ok bool) {
	s := jsonScan{b: b}
	if !s.consume('{') {
		return 0, false
	}
	s.space()
	if s.consume('}') {
		return s.i, true
	}
	next := 0 // fields usually come in declaration order
	for {
		key, ok := s.key()
		if !ok {
			return 0, false
		}
		s.space()
		if !s.consume(':') {
			return 0, false
		}
		s.space()
		fi := p.find(key, next)
		if fi < 0 {
			if p.strict || !s.skipValue(0) {
				return 0, false
			}
		} else {
			if !p.fields[fi].read(&s, unsafe.Add(row, p.fields[fi].off), p.strict) {
				return 0, false
			}
			next = fi + 1
		}
		s.space()
		if s.consume('}') {
			return s.i, true
		}
		if !s.consume(',') {
			return 0, false
		}
		s.space()
	}
}

// find returns the index of the field key names (exactly, else ASCII
// case-insensitively, the first such field as encoding/json does), or -1.
func (p *jsonPlan) find(key []byte, next int) int {
	if next < len(p.fields) && p.fields[next].name == string(key) {
		return next
	}
	for i := range p.fields {
		if p.fields[i].name == string(key) {
			return i
		}
	}
	for i := range p.fields {
		if len(p.fields[i].lower) == len(key) && asciiEqualFold(p.fields[i].lower, key) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(lower string, b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// read reads the value at s into the field at addr.
func (f *jsonField) read(s *jsonScan, addr unsafe.Pointer, strict bool) bool {
	start := s.i
	if f.kind == jkJSON {
		if !s.skipValue(0) {
			return false
		}
		return decodeFieldJSON(s.b[start:s.i], reflect.NewAt(f.typ, addr).Interface(), strict)
	}
	if s.literal("null") {
		if f.ptr {
			*(*unsafe.Pointer)(addr) = nil
			return true
		}
		if f.kind == jkUnmarshaler {
			return reflect.NewAt(f.typ, addr).Interface().(json.Unmarshaler).UnmarshalJSON(s.b[start:s.i]) == nil
		}
		return true // null leaves a scalar as it is
	}
	if f.ptr {
		p := *(*unsafe.Pointer)(addr)
		if p == nil {
			p = reflect.New(f.elem).UnsafePointer()
			*(*unsafe.Pointer)(addr) = p
		}
		addr = p
	}
	switch f.kind {
	case jkUnmarshaler:
		if !s.skipValue(0) {
			return false
		}
		t := f.typ
		if f.ptr {
			t = f.elem
		}
		return reflect.NewAt(t, addr).Interface().(json.Unmarshaler).UnmarshalJSON(s.b[start:s.i]) == nil
	case jkString:
		v, ok := s.str()
		if ok {
			*(*string)(addr) = v
		}
		return ok
	case jkBool:
		switch {
		case s.literal("true"):
			*(*bool)(addr) = true
		case s.literal("false"):
			*(*bool)(addr) = false
		default:
			return false
		}
		return true
	}
	num, ok := s.number()
	if !ok {
		return false
	}
	return f.setNumber(num, addr)
}

// setNumber stores a JSON number as encoding/json would, or reports that
// it would refuse it (a fraction or exponent for an integer, overflow).
func (f *jsonField) setNumber(num []byte, addr unsafe.Pointer) bool {
	switch f.kind {
	case jkInt:
		n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(num), len(num)), 10, f.bits)
		if err != nil {
			return false
		}
		switch f.bits {
		case 8:
			*(*int8)(addr) = int8(n)
		case 16:
			*(*int16)(addr) = int16(n)
		case 32:
			*(*int32)(addr) = int32(n)
		default:
			*(*int64)(addr) = n
		}
	case jkUint:
		n, err := strconv.ParseUint(unsafe.String(unsafe.SliceData(num), len(num)), 10, f.bits)
		if err != nil {
			return false
		}
		switch f.bits {
		case 8:
			*(*uint8)(addr) = uint8(n)
		case 16:
			*(*uint16)(addr) = uint16(n)
		case 32:
			*(*uint32)(addr) = uint32(n)
		default:
			*(*uint64)(addr) = n
		}
	case jkFloat:
		n, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), f.bits)
		if err != nil {
			return false
		}
		if f.bits == 32 {
			*(*float32)(addr) = float32(n)
		} else {
			*(*float64)(addr) = n
		}
	default:
		return false
	}
	return true
}

// decodeFieldJSON decodes one field's value with encoding/json, as it
// would inside the record (DisallowUnknownFields reaches nested structs).
func decodeFieldJSON(b []byte, v any, strict bool) bool {
	if !strict {
		return json.Unmarshal(b, v) == nil
	}
	return decodeJSON(b, v, true) == nil
}
