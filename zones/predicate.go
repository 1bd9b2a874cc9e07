package zones

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Op is a comparison of a Predicate.
type Op int

// Comparisons.
const (
	OpEq Op = iota
	OpLt
	OpLe
	OpGt
	OpGe
	OpIn
)

var opNames = [...]string{"=", "<", "<=", ">", ">=", "IN"}

func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return fmt.Sprintf("Op(%d)", int(o))
	}
	return opNames[o]
}

// Predicate compares one column with constants: Column Op Values[0] (or
// Column IN Values). Read keeps only rows that satisfy every predicate, and
// skips whole files and row groups whose min/max statistics rule them out
// (partition columns prune partitions from the commit log). Values may be Go
// integers, floats, strings, bools or time.Time, matching the column's type.
type Predicate struct {
	Column string
	Op     Op
	Values []any
}

// Eq is Column = v.
func Eq(column string, v any) Predicate { return Predicate{column, OpEq, []any{v}} }

// Lt is Column < v.
func Lt(column string, v any) Predicate { return Predicate{column, OpLt, []any{v}} }

// Le is Column <= v.
func Le(column string, v any) Predicate { return Predicate{column, OpLe, []any{v}} }

// Gt is Column > v.
func Gt(column string, v any) Predicate { return Predicate{column, OpGt, []any{v}} }

// Ge is Column >= v.
func Ge(column string, v any) Predicate { return Predicate{column, OpGe, []any{v}} }

// In is Column IN (vs...).
func In(column string, vs ...any) Predicate { return Predicate{column, OpIn, vs} }

func (p Predicate) String() string { return fmt.Sprintf("%s %s %v", p.Column, p.Op, p.Values) }

// Kinds of scalar values in statistics and predicates.
const (
	kindInt       = "int"
	kindUint      = "uint"
	kindFloat     = "float"
	kindString    = "string"
	kindBool      = "bool"
	kindTimestamp = "timestamp"
)

// scalar is a comparable value of one kind.
type scalar struct {
	i int64
	u uint64
	f float64
	s string
	b bool
}

func cmpScalar(kind string, a, b scalar) int {
	switch kind {
	case kindInt, kindTimestamp:
		return cmpOrdered(a.i, b.i)
	case kindUint:
		return cmpOrdered(a.u, b.u)
	case kindFloat:
		return cmpOrdered(a.f, b.f)
	case kindString:
		return cmpOrdered(a.s, b.s)
	case kindBool:
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	}
	return 0
}

func cmpOrdered[V int64 | uint64 | float64 | string](a, b V) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseScalar reads a statistics value rendered by renderScalar.
func parseScalar(kind, s string) (scalar, error) {
	var v scalar
	var err error
	switch kind {
	case kindInt, kindTimestamp:
		v.i, err = strconv.ParseInt(s, 10, 64)
	case kindUint:
		v.u, err = strconv.ParseUint(s, 10, 64)
	case kindFloat:
		v.f, err = strconv.ParseFloat(s, 64)
	case kindString:
		v.s = s
	case kindBool:
		v.b, err = strconv.ParseBool(s)
	default:
		err = fmt.Errorf("unknown statistics kind %q", kind)
	}
	return v, err
}

func renderScalar(kind string, v scalar) string {
	switch kind {
	case kindInt, kindTimestamp:
		return strconv.FormatInt(v.i, 10)
	case kindUint:
		return strconv.FormatUint(v.u, 10)
	case kindFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case kindBool:
		return strconv.FormatBool(v.b)
	}
	return v.s
}

// toScalar converts a predicate constant (or a field value) to kind.
func toScalar(kind string, x any) (scalar, error) {
	var v scalar
	if t, ok := x.(time.Time); ok {
		if kind == kindString {
			v.s = t.UTC().Format(time.DateOnly) // date partitions
			return v, nil
		}
		if kind != kindTimestamp {
			return v, fmt.Errorf("a time.Time compared with a %s column", kind)
		}
		v.i = t.UnixMicro()
		return v, nil
	}
	if t, ok := x.(*time.Time); ok && t != nil {
		return toScalar(kind, *t)
	}
	rv := reflect.ValueOf(x)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return v, fmt.Errorf("nil value")
		}
		rv = rv.Elem()
	}
	switch kind {
	case kindInt, kindTimestamp:
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.i = rv.Int()
			return v, nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if rv.Uint() > math.MaxInt64 {
				return v, fmt.Errorf("%v overflows int64", x)
			}
			v.i = int64(rv.Uint())
			return v, nil
		}
	case kindUint:
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if rv.Int() < 0 {
				return v, fmt.Errorf("negative %v compared with an unsigned column", x)
			}
			v.u = uint64(rv.Int())
			return v, nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.u = rv.Uint()
			return v, nil
		}
	case kindFloat:
		switch rv.Kind() {
		case reflect.Float32, reflect.Float64:
			v.f = rv.Float()
			return v, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.f = float64(rv.Int())
			return v, nil
		}
	case kindString:
		switch rv.Kind() {
		case reflect.String:
			v.s = rv.String()
			return v, nil
		case reflect.Slice:
			if rv.Type().Elem().Kind() == reflect.Uint8 {
				v.s = string(rv.Bytes())
				return v, nil
			}
		}
	case kindBool:
		if rv.Kind() == reflect.Bool {
			v.b = rv.Bool()
			return v, nil
		}
	}
	return v, fmt.Errorf("a %T compared with a %s column", x, kind)
}

// compiled is a predicate with its constants converted to the column kind.
type compiled struct {
	p      Predicate
	kind   string
	values []scalar
}

func compile(p Predicate, kind string) (compiled, error) {
	c := compiled{p: p, kind: kind}
	if p.Op < OpEq || p.Op > OpIn {
		return c, fmt.Errorf("predicate on %s: unknown operator %d: %w", p.Column, int(p.Op), ErrInvalid)
	}
	if len(p.Values) == 0 || (p.Op != OpIn && len(p.Values) != 1) {
		return c, fmt.Errorf("predicate %v: %s takes %s: %w", p, p.Op, map[bool]string{true: "one or more values", false: "one value"}[p.Op == OpIn], ErrInvalid)
	}
	for _, x := range p.Values {
		v, err := toScalar(kind, x)
		if err != nil {
			return c, fmt.Errorf("predicate %v: %v: %w", p, err, ErrInvalid)
		}
		c.values = append(c.values, v)
	}
	return c, nil
}

// match reports whether x satisfies the predicate.
func (c *compiled) match(x scalar) bool {
	switch c.p.Op {
	case OpEq:
		return cmpScalar(c.kind, x, c.values[0]) == 0
	case OpLt:
		return cmpScalar(c.kind, x, c.values[0]) < 0
	case OpLe:
		return cmpScalar(c.kind, x, c.values[0]) <= 0
	case OpGt:
		return cmpScalar(c.kind, x, c.values[0]) > 0
	case OpGe:
		return cmpScalar(c.kind, x, c.values[0]) >= 0
	case OpIn:
		for _, v := range c.values {
			if cmpScalar(c.kind, x, v) == 0 {
				return true
			}
		}
	}
	return false
}

// mayMatch reports whether some value in [min, max] could satisfy the
// predicate (false means the range can be skipped).
func (c *compiled) mayMatch(min, max scalar) bool {
	switch c.p.Op {
	case OpEq:
		return cmpScalar(c.kind, c.values[0], min) >= 0 && cmpScalar(c.kind, c.values[0], max) <= 0
	case OpLt:
		return cmpScalar(c.kind, min, c.values[0]) < 0
	case OpLe:
		return cmpScalar(c.kind, min, c.values[0]) <= 0
	case OpGt:
		return cmpScalar(c.kind, max, c.values[0]) > 0
	case OpGe:
		return cmpScalar(c.kind, max, c.values[0]) >= 0
	case OpIn:
		for _, v := range c.values {
			if cmpScalar(c.kind, v, min) >= 0 && cmpScalar(c.kind, v, max) <= 0 {
				return true
			}
		}
	}
	return false
}

// mayMatchStats applies mayMatch to a file's or row group's statistics;
// a column without min/max can't be skipped... unless it holds only NULLs.
func (c *compiled) mayMatchStats(cs *ColumnStats, rows int64) bool {
	if cs == nil {
		return true
	}
	if !cs.HasMinMax {
		return !(rows > 0 && cs.Nulls >= rows) // all NULL: no row matches
	}
	if cs.Kind != c.kind {
		return true
	}
	min, err1 := parseScalar(cs.Kind, cs.Min)
	max, err2 := parseScalar(cs.Kind, cs.Max)
	if err1 != nil || err2 != nil {
		return true
	}
	return c.mayMatch(min, max)
}

// leafKind returns the statistics kind of a Parquet leaf node, or "" for
// types without usable ordering (binary, int96, nested).
func leafKind(n parquet.Node) string {
	if !n.Leaf() || n.Repeated() {
		return ""
	}
	t := n.Type()
	switch lt := logical(n).(type) {
	case *format.TimestampType:
		if _, micros := lt.Unit.Value.(*format.MicroSeconds); micros && t.Kind() == parquet.Int64 {
			return kindTimestamp
		}
		return ""
	case *format.StringType, *format.EnumType, *format.JsonType:
		return kindString
	case *format.IntType:
		if !lt.IsSigned {
			return kindUint
		}
		return kindInt
	case *format.DateType:
		return kindInt
	case nil:
	default:
		return ""
	}
	switch t.Kind() {
	case parquet.Boolean:
		return kindBool
	case parquet.Int32, parquet.Int64:
		return kindInt
	case parquet.Float, parquet.Double:
		return kindFloat
	}
	return ""
}

// statScalar decodes a Parquet statistics value of a leaf.
func statScalar(n parquet.Node, kind string, b []byte) scalar {
	v := n.Type().Kind().Value(b)
	var s scalar
	switch kind {
	case kindInt, kindTimestamp:
		if n.Type().Kind() == parquet.Int32 {
			s.i = int64(v.Int32())
		} else {
			s.i = v.Int64()
		}
	case kindUint:
		if n.Type().Kind() == parquet.Int32 {
			s.u = uint64(v.Uint32())
		} else {
			s.u = v.Uint64()
		}
	case kindFloat:
		if n.Type().Kind() == parquet.Float {
			s.f = float64(v.Float())
		} else {
			s.f = v.Double()
		}
	case kindString:
		s.s = string(v.ByteArray())
	case kindBool:
		s.b = v.Boolean()
	}
	return s
}

// topLeaves returns the top-level leaf columns of a schema with their
// column index (nested columns are left out of statistics).
func topLeaves(schema *parquet.Schema) map[int]parquet.Field {
	out := map[int]parquet.Field{}
	byName := map[string]parquet.Field{}
	for _, f := range schema.Fields() {
		byName[f.Name()] = f
	}
	for i, path := range schema.Columns() {
		if len(path) == 1 {
			if f, ok := byName[path[0]]; ok && f.Leaf() {
				out[i] = f
			}
		}
	}
	return out
}

// rowGroupStats merges the statistics of row groups (all of a file, or one)
// into ColumnStats per top-level leaf column.
func rowGroupStats(schema *parquet.Schema, rgs []format.RowGroup) []ColumnStats {
	leaves := topLeaves(schema)
	var out []ColumnStats
	for i, path := range schema.Columns() {
		f, ok := leaves[i]
		if !ok {
			continue
		}
		kind := leafKind(f)
		cs := ColumnStats{Column: path[0], Kind: kind}
		var min, max scalar
		first, usable := true, kind != ""
		for _, rg := range rgs {
			if i >= len(rg.Columns) {
				usable = false
				break
			}
			st := rg.Columns[i].MetaData.Statistics
			cs.Nulls += st.NullCount
			minB, maxB := st.MinValue, st.MaxValue
			if minB == nil || maxB == nil {
				if rg.Columns[i].MetaData.NumValues > st.NullCount {
					usable = false // values but no bounds
				}
				continue
			}
			if !usable {
				continue
			}
			lo, hi := statScalar(f, kind, minB), statScalar(f, kind, maxB)
			if first || cmpScalar(kind, lo, min) < 0 {
				min = lo
			}
			if first || cmpScalar(kind, hi, max) > 0 {
				max = hi
			}
			first = false
		}
		if usable && !first && (kind != kindFloat || !(math.IsNaN(min.f) || math.IsNaN(max.f))) {
			cs.HasMinMax = true
			cs.Min, cs.Max = renderScalar(kind, min), renderScalar(kind, max)
		}
		if kind == "" {
			cs.Kind = "other"
		}
		out = append(out, cs)
	}
	return out
}

// fileStats returns the statistics of a written file.
func fileStats(schema *parquet.Schema, md *format.FileMetaData) []ColumnStats {
	return rowGroupStats(schema, md.RowGroups)
}

// scalarOf reads a row's field as a scalar of kind; ok is false for NULL.
func scalarOf(kind string, v reflect.Value) (scalar, bool) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return scalar{}, false
		}
		v = v.Elem()
	}
	if v.Type() == reflect.TypeOf(time.Time{}) {
		return scalar{i: v.Interface().(time.Time).UnixMicro()}, true
	}
	s, err := toScalar(kind, v.Interface())
	return s, err == nil
}
