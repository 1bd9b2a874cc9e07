package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lakekit/lakekit/lake"
)

// Kinds of Glue/Hive types, as ParseType reports them.
const (
	KindTinyint   = "tinyint"
	KindSmallint  = "smallint"
	KindInt       = "int"
	KindBigint    = "bigint"
	KindFloat     = "float"
	KindDouble    = "double"
	KindBoolean   = "boolean"
	KindString    = "string"
	KindVarchar   = "varchar"
	KindChar      = "char"
	KindBinary    = "binary"
	KindTimestamp = "timestamp"
	KindDate      = "date"
	KindDecimal   = "decimal"
	KindArray     = "array"
	KindMap       = "map"
	KindStruct    = "struct"
)

// Type is a parsed Glue/Hive column type. Build one with ParseType; its
// String method gives the canonical spelling ("decimal(10,2)",
// "array<struct<a:int,b:string>>").
type Type struct {
	Kind string
	// Precision and Scale of a decimal; Length of a varchar or char.
	Precision, Scale, Length int
	// Elem of an array; Key and Value of a map.
	Elem, Key, Value *Type
	// Fields of a struct, in order.
	Fields []StructField
}

// StructField is one field of a struct type.
type StructField struct {
	Name string
	Type *Type
}

// String renders the canonical Glue spelling.
func (t *Type) String() string {
	switch t.Kind {
	case KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case KindVarchar, KindChar:
		return fmt.Sprintf("%s(%d)", t.Kind, t.Length)
	case KindArray:
		return "array<" + t.Elem.String() + ">"
	case KindMap:
		return "map<" + t.Key.String() + "," + t.Value.String() + ">"
	case KindStruct:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Name + ":" + f.Type.String())
		}
		b.WriteByte('>')
		return b.String()
	}
	return t.Kind
}

// Primitive reports whether t is not an array, map or struct.
func (t *Type) Primitive() bool {
	return t.Kind != KindArray && t.Kind != KindMap && t.Kind != KindStruct
}

// Integer reports whether t is tinyint, smallint, int or bigint.
func (t *Type) Integer() bool { return intRank(t.Kind) > 0 }

func intRank(kind string) int {
	switch kind {
	case KindTinyint:
		return 1
	case KindSmallint:
		return 2
	case KindInt:
		return 3
	case KindBigint:
		return 4
	}
	return 0
}

// ParseType parses a Glue/Hive type: tinyint, smallint, int (integer),
// bigint, float (real), double, boolean, string, varchar(n), char(n),
// binary, timestamp, date, decimal(p,s) (decimal alone is decimal(10,0)),
// array<T>, map<K,V>, struct<name:T,...>. Spelling is case-insensitive and
// may contain spaces; anything else is an error wrapping ErrInvalid.
func ParseType(s string) (*Type, error) {
	p := &typeParser{s: s}
	t, err := p.parse()
	if err == nil {
		p.skipSpace()
		if p.i < len(p.s) {
			err = p.errorf("unexpected %q", p.s[p.i:])
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: type %q: %v", ErrInvalid, s, err)
	}
	return t, nil
}

// CanonicalType returns ParseType(s).String().
func CanonicalType(s string) (string, error) {
	t, err := ParseType(s)
	if err != nil {
		return "", err
	}
	return t.String(), nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at position %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func (p *typeParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *typeParser) word() string {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *typeParser) peek(c byte) bool {
	p.skipSpace()
	return p.i < len(p.s) && p.s[p.i] == c
}

func (p *typeParser) expect(c byte) error {
	if !p.peek(c) {
		if p.i >= len(p.s) {
			return p.errorf("expected %q, found the end", c)
		}
		return p.errorf("expected %q, found %q", c, p.s[p.i])
	}
	p.i++
	return nil
}

func (p *typeParser) number() (int, error) {
	w := p.word()
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return 0, p.errorf("expected a number, found %q", w)
	}
	return n, nil
}

// parse reads one type: a primitive, or varchar/char/decimal with their
// arguments, or array, map and struct with the types inside them.
func (p *typeParser) parse() (*Type, error) {
	start := p.i
	w := strings.ToLower(p.word())
	switch w {
	case "":
		if p.i >= len(p.s) {
			return nil, p.errorf("expected a type, found the end")
		}
		return nil, p.errorf("expected a type, found %q", p.s[p.i])
	case "tinyint", "smallint", "bigint", "float", "double", "boolean", "string", "binary", "timestamp", "date":
		return &Type{Kind: w}, nil
	case "int", "integer":
		return &Type{Kind: KindInt}, nil
	case "real":
		return &Type{Kind: KindFloat}, nil
	case "varchar", "char":
		return p.parseChars(w)
	case "decimal":
		return p.parseDecimal()
	case "array":
		return p.parseArray()
	case "map":
		return p.parseMap()
	case "struct":
		return p.parseStruct()
	}
	p.i = start
	p.skipSpace()
	return nil, p.errorf("unknown type %q", w)
}

// parseChars reads the (length) of varchar or char (w).
func (p *typeParser) parseChars(w string) (*Type, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	n, err := p.number()
	if err != nil {
		return nil, err
	}
	if n < 1 || (w == "char" && n > 255) || n > 65535 {
		return nil, p.errorf("%s length %d is out of range", w, n)
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	return &Type{Kind: w, Length: n}, nil
}

// parseDecimal reads the optional (precision[, scale]) of decimal.
func (p *typeParser) parseDecimal() (*Type, error) {
	t := &Type{Kind: KindDecimal, Precision: 10}
	if !p.peek('(') {
		return t, nil
	}
	p.i++
	prec, err := p.number()
	if err != nil {
		return nil, err
	}
	t.Precision, t.Scale = prec, 0
	if p.peek(',') {
		p.i++
		if t.Scale, err = p.number(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(')'); err != nil {
		return nil, err
	}
	if t.Precision < 1 || t.Precision > 38 {
		return nil, p.errorf("decimal precision %d is out of range 1..38", t.Precision)
	}
	if t.Scale > t.Precision {
		return nil, p.errorf("decimal scale %d exceeds precision %d", t.Scale, t.Precision)
	}
	return t, nil
}

// parseArray reads the <element> of array.
func (p *typeParser) parseArray() (*Type, error) {
	if err := p.expect('<'); err != nil {
		return nil, err
	}
	e, err := p.parse()
	if err != nil {
		return nil, err
	}
	if err := p.expect('>'); err != nil {
		return nil, err
	}
	return &Type{Kind: KindArray, Elem: e}, nil
}

// parseMap reads the <key,value> of map; the key must be primitive.
func (p *typeParser) parseMap() (*Type, error) {
	if err := p.expect('<'); err != nil {
		return nil, err
	}
	k, err := p.parse()
	if err != nil {
		return nil, err
	}
	if !k.Primitive() {
		return nil, p.errorf("map key must be a primitive type, not %s", k)
	}
	if err := p.expect(','); err != nil {
		return nil, err
	}
	v, err := p.parse()
	if err != nil {
		return nil, err
	}
	if err := p.expect('>'); err != nil {
		return nil, err
	}
	return &Type{Kind: KindMap, Key: k, Value: v}, nil
}

// parseStruct reads the <name:type,...> of struct; names are valid and
// distinct.
func (p *typeParser) parseStruct() (*Type, error) {
	if err := p.expect('<'); err != nil {
		return nil, err
	}
	t := &Type{Kind: KindStruct}
	seen := map[string]bool{}
	for {
		name := p.word()
		if err := lake.ValidateName("struct field name", name); err != nil {
			return nil, p.errorf("%v", err)
		}
		if seen[name] {
			return nil, p.errorf("struct field %q appears twice", name)
		}
		seen[name] = true
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		ft, err := p.parse()
		if err != nil {
			return nil, err
		}
		t.Fields = append(t.Fields, StructField{Name: name, Type: ft})
		if p.peek(',') {
			p.i++
			continue
		}
		if err := p.expect('>'); err != nil {
			return nil, err
		}
		return t, nil
	}
}

// widens reports whether a value of type from can be read as type to
// without loss: the same type, tinyint→smallint→int→bigint, float→double,
// decimal(p,s)→decimal(p',s) with p'>=p, varchar(n)→varchar(m≥n) or string,
// and the same rules inside arrays, map values and struct fields (a struct
// may also gain fields).
func widens(from, to *Type) bool {
	if from.String() == to.String() {
		return true
	}
	switch {
	case from.Integer() && to.Integer():
		return intRank(from.Kind) <= intRank(to.Kind)
	case from.Kind == KindFloat && to.Kind == KindDouble:
		return true
	case from.Kind == KindDecimal && to.Kind == KindDecimal:
		return from.Scale == to.Scale && to.Precision >= from.Precision
	case from.Kind == KindVarchar && to.Kind == KindVarchar:
		return to.Length >= from.Length
	case from.Kind == KindVarchar && to.Kind == KindString:
		return true
	case from.Kind == KindArray && to.Kind == KindArray:
		return widens(from.Elem, to.Elem)
	case from.Kind == KindMap && to.Kind == KindMap:
		return from.Key.String() == to.Key.String() && widens(from.Value, to.Value)
	case from.Kind == KindStruct && to.Kind == KindStruct:
		for _, f := range from.Fields {
			found := false
			for _, g := range to.Fields {
				if g.Name == f.Name {
					if !widens(f.Type, g.Type) {
						return false
					}
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return false
}
