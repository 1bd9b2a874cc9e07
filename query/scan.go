package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/big"
	"reflect"
	"strings"
	"time"

	"github.com/lakekit/lakekit/internal/structtag"
)

// Rows runs sql on e and yields each row scanned into a T. T is a struct or
// a pointer to one (fields matched to columns, see ScanRows), or a single
// value type (the result must then have exactly one column).
func Rows[T any](ctx context.Context, e Engine, sql string, params ...any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		res, err := e.Query(ctx, sql, params...)
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		defer res.Close()
		for v, err := range ScanRows[T](res) {
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// All runs sql on e and returns every row scanned into a T (see Rows).
func All[T any](ctx context.Context, e Engine, sql string, params ...any) ([]T, error) {
	var out []T
	for v, err := range Rows[T](ctx, e, sql, params...) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ScanRows yields the rows of res scanned into T.
//
// A struct field takes the column named by its `db` tag; without one, a
// lakekit partition field (`lakekit:"partition,name=dt"`) takes its
// partition key; then the `parquet` tag (the name before the comma);
// without any, the column whose name equals the field's name
// case-insensitively. A db or parquet tag of "-" skips the field; embedded structs contribute their fields. Every field must find
// a column (else an error naming the field and the columns there are);
// extra columns are ignored.
//
// Values convert when no information is lost: any integer into any integer
// type it fits, integers and decimals into floats, decimals into string or
// *big.Rat, strings into []byte, DATE/TIMESTAMP into time.Time, arrays into
// slices, maps into maps, rows (structs) into structs or map[string]T, JSON
// into any type json.Unmarshal fills. NULL needs a pointer, a slice, a map,
// an interface or an sql.Scanner (sql.NullInt64, ...). A field that
// implements sql.Scanner receives the value as database/sql would pass it.
func ScanRows[T any](res *Result) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		t := reflect.TypeFor[T]()
		ptr := t.Kind() == reflect.Pointer && isStructTarget(t.Elem())
		if ptr {
			t = t.Elem()
		}
		plan, err := planScan(t, res.Columns)
		if err != nil {
			res.Close()
			yield(zero, err)
			return
		}
		for row, err := range res.Rows() {
			if err != nil {
				yield(zero, err)
				return
			}
			var v T
			dst := reflect.ValueOf(&v).Elem()
			if ptr {
				dst.Set(reflect.New(t))
				dst = dst.Elem()
			}
			if err := plan.scan(dst, row); err != nil {
				yield(zero, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

type fieldPlan struct {
	index []int
	col   int
	name  string // Type.Field for errors
}

type scanPlan struct {
	cols   []Column
	single bool
	fields []fieldPlan
}

var (
	typeTime    = reflect.TypeFor[time.Time]()
	typeDecimal = reflect.TypeFor[Decimal]()
	typeScanner = reflect.TypeFor[sql.Scanner]()
	typeRaw     = reflect.TypeFor[json.RawMessage]()
	typeBigRat  = reflect.TypeFor[*big.Rat]()
	typeBytes   = reflect.TypeFor[[]byte]()
)

// isStructTarget: a struct scanned field by field (not a value struct like
// time.Time or Decimal, nor a Scanner).
func isStructTarget(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t == typeTime || t == typeDecimal {
		return false
	}
	return !reflect.PointerTo(t).Implements(typeScanner)
}

func planScan(t reflect.Type, cols []Column) (*scanPlan, error) {
	p := &scanPlan{cols: cols}
	if !isStructTarget(t) {
		if len(cols) != 1 {
			return nil, fmt.Errorf("query: scanning into %v needs a result with exactly one column, got %d (%s): %w", t, len(cols), colList(cols), ErrScan)
		}
		p.single = true
		return p, nil
	}
	var missing []string
	for _, f := range structFields(t, nil) {
		ci := columnIndex(cols, f.col)
		if ci < 0 {
			missing = append(missing, fmt.Sprintf("field %s.%s (%v) wants column %q", t.Name(), f.goName, f.typ, f.col))
			continue
		}
		p.fields = append(p.fields, fieldPlan{index: f.index, col: ci, name: t.Name() + "." + f.goName})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("query: %s, not in the result (columns: %s): %w", strings.Join(missing, "; "), colList(cols), ErrScan)
	}
	return p, nil
}

func colList(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.Name + " " + c.DatabaseType
	}
	return strings.Join(s, ", ")
}

type structField struct {
	index  []int
	col    string
	goName string
	typ    reflect.Type
}

// fieldColumn returns the column name a field maps to, and false to skip
// it: its db tag, else the column or partition key lakekit's tag grammar
// (internal/structtag, shared with zones and catalog) gives it.
func fieldColumn(f reflect.StructField) (string, bool) {
	if name, present, skip := structtag.Name(f, "db"); present && (skip || name != "") {
		return name, !skip
	}
	// A malformed lakekit tag is the writer's to refuse; a scan still
	// names the field by what parsed.
	fl, ok, _ := structtag.FieldOf(f)
	return fl.Name, ok
}

// structFields lists the fields of t a scan fills, in order. Embedded
// structs are flattened as parquet-go and zones flatten them (whatever
// their parquet name; `parquet:"-"` skips one), unless a db tag names them.
func structFields(t reflect.Type, prefix []int) []structField {
	var out []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(append([]int(nil), prefix...), i)
		_, hasDB, _ := structtag.Name(f, "db")
		if f.Anonymous && !hasDB && f.Type.Kind() == reflect.Struct && isStructTarget(f.Type) {
			if _, _, skip := structtag.Name(f, "parquet"); !skip {
				out = append(out, structFields(f.Type, idx)...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, ok := fieldColumn(f)
		if !ok {
			continue
		}
		out = append(out, structField{index: idx, col: name, goName: f.Name, typ: f.Type})
	}
	return out
}

func (p *scanPlan) scan(dst reflect.Value, row []any) error {
	if len(row) != len(p.cols) {
		return fmt.Errorf("query: row has %d values for %d columns: %w", len(row), len(p.cols), ErrScan)
	}
	if p.single {
		if err := assign(dst, row[0]); err != nil {
			c := p.cols[0]
			return fmt.Errorf("query: column %q (%s) into %v: %v: %w", c.Name, c.DatabaseType, dst.Type(), err, ErrScan)
		}
		return nil
	}
	for _, f := range p.fields {
		fv := dst.FieldByIndex(f.index)
		if err := assign(fv, row[f.col]); err != nil {
			c := p.cols[f.col]
			return fmt.Errorf("query: column %q (%s) into field %s (%v): %v: %w", c.Name, c.DatabaseType, f.name, fv.Type(), err, ErrScan)
		}
	}
	return nil
}

// driverValue converts a decoded value to what database/sql hands a Scanner.
func driverValue(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case Decimal:
		return x.String()
	case json.RawMessage:
		return []byte(x)
	}
	return v
}

// assign stores src into dst, converting as ScanRows documents. Each
// step below handles what it knows and reports whether it did; the first
// that does (or fails) decides.
func assign(dst reflect.Value, src any) error {
	for _, step := range []func(reflect.Value, any) (bool, error){
		assignIndirect, assignJSON, assignScalar, assignComposite, assignNumber,
	} {
		if done, err := step(dst, src); done || err != nil {
			return err
		}
	}
	dt, sv := dst.Type(), reflect.ValueOf(src)
	if sv.Type().ConvertibleTo(dt) && sv.Kind() == dt.Kind() {
		dst.Set(sv.Convert(dt))
		return nil
	}
	return fmt.Errorf("a %T value cannot be stored in %v", src, dt)
}

// assignIndirect handles a sql.Scanner destination, NULL, a *big.Rat
// destination, and pointer and interface destinations.
func assignIndirect(dst reflect.Value, src any) (bool, error) {
	dt := dst.Type()
	if dst.CanAddr() && reflect.PointerTo(dt).Implements(typeScanner) {
		return true, dst.Addr().Interface().(sql.Scanner).Scan(driverValue(src))
	}
	if src == nil {
		switch dt.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			dst.SetZero()
			return true, nil
		}
		return true, fmt.Errorf("NULL cannot be stored in %v (use a pointer, or sql.Null*)", dt)
	}
	if dt == typeBigRat {
		switch x := src.(type) {
		case Decimal:
			dst.Set(reflect.ValueOf(x.Rat()))
			return true, nil
		case float64:
			r := new(big.Rat)
			if r.SetFloat64(x) == nil {
				return true, fmt.Errorf("%v has no exact value", x)
			}
			dst.Set(reflect.ValueOf(r))
			return true, nil
		}
		if n, ok := toBigInt(src); ok {
			dst.Set(reflect.ValueOf(new(big.Rat).SetInt(n)))
			return true, nil
		}
	}
	switch dt.Kind() {
	case reflect.Pointer:
		nv := reflect.New(dt.Elem())
		if err := assign(nv.Elem(), src); err != nil {
			return true, err
		}
		dst.Set(nv)
		return true, nil
	case reflect.Interface:
		sv := reflect.ValueOf(src)
		if !sv.Type().AssignableTo(dt) {
			return true, fmt.Errorf("%T does not implement %v", src, dt)
		}
		dst.Set(sv)
		return true, nil
	}
	return false, nil
}

// assignJSON handles a json.RawMessage destination and a JSON source
// (decoded into dst), and a source of dst's own type.
func assignJSON(dst reflect.Value, src any) (bool, error) {
	dt := dst.Type()
	if dt == typeRaw {
		switch x := src.(type) {
		case json.RawMessage:
			dst.SetBytes(append([]byte(nil), x...))
			return true, nil
		case string:
			dst.SetBytes([]byte(x))
			return true, nil
		}
	}
	if raw, ok := src.(json.RawMessage); ok {
		switch dt.Kind() {
		case reflect.String:
			dst.SetString(string(raw))
			return true, nil
		}
		if dt == typeBytes {
			dst.SetBytes(append([]byte(nil), raw...))
			return true, nil
		}
		return true, json.Unmarshal(raw, dst.Addr().Interface())
	}
	sv := reflect.ValueOf(src)
	if sv.Type() == dt && dt.Kind() != reflect.Slice && dt.Kind() != reflect.Map {
		dst.Set(sv)
		return true, nil
	}
	return false, nil
}

// assignScalar handles decimal, time, string, byte and bool sources.
func assignScalar(dst reflect.Value, src any) (bool, error) {
	dt := dst.Type()
	switch x := src.(type) {
	case Decimal:
		switch {
		case dt == typeBigRat:
			dst.Set(reflect.ValueOf(x.Rat()))
			return true, nil
		case dt.Kind() == reflect.String:
			dst.SetString(x.String())
			return true, nil
		case dt.Kind() == reflect.Float32 || dt.Kind() == reflect.Float64:
			dst.SetFloat(x.Float64())
			return true, nil
		case isInt(dt.Kind()) || isUint(dt.Kind()):
			r := x.Rat()
			if !r.IsInt() {
				return true, fmt.Errorf("decimal %s is not an integer", x)
			}
			return true, assignInt(dst, r.Num())
		}
	case time.Time:
		if dt == typeTime {
			dst.Set(reflect.ValueOf(src))
			return true, nil
		}
	case string:
		if dt.Kind() == reflect.String {
			dst.SetString(x)
			return true, nil
		}
		if dt == typeBytes {
			dst.SetBytes([]byte(x))
			return true, nil
		}
	case []byte:
		if dt.Kind() == reflect.Slice && dt.Elem().Kind() == reflect.Uint8 {
			dst.SetBytes(append([]byte(nil), x...))
			return true, nil
		}
		if dt.Kind() == reflect.String {
			dst.SetString(string(x))
			return true, nil
		}
	case bool:
		if dt.Kind() == reflect.Bool {
			dst.SetBool(x)
			return true, nil
		}
	}
	return false, nil
}

// assignComposite handles list sources (into slices and arrays) and map
// sources (into structs and maps).
func assignComposite(dst reflect.Value, src any) (bool, error) {
	dt := dst.Type()
	switch x := src.(type) {
	case []any:
		if dt.Kind() == reflect.Slice {
			out := reflect.MakeSlice(dt, len(x), len(x))
			for i, e := range x {
				if err := assign(out.Index(i), e); err != nil {
					return true, fmt.Errorf("element %d: %v", i, err)
				}
			}
			dst.Set(out)
			return true, nil
		}
		if dt.Kind() == reflect.Array && dt.Len() == len(x) {
			for i, e := range x {
				if err := assign(dst.Index(i), e); err != nil {
					return true, fmt.Errorf("element %d: %v", i, err)
				}
			}
			return true, nil
		}
	case map[string]any:
		if isStructTarget(dt) {
			return true, assignStruct(dst, x)
		}
		if dt.Kind() == reflect.Map {
			return true, assignMap(dst, len(x), func(yield func(any, any) bool) {
				for k, v := range x {
					if !yield(k, v) {
						return
					}
				}
			})
		}
	case map[any]any:
		if dt.Kind() == reflect.Map {
			return true, assignMap(dst, len(x), func(yield func(any, any) bool) {
				for k, v := range x {
					if !yield(k, v) {
						return
					}
				}
			})
		}
	}
	return false, nil
}

// assignStruct stores a row (a map of field names, matched to columns
// case-insensitively) into a struct.
func assignStruct(dst reflect.Value, x map[string]any) error {
	dt := dst.Type()
	for _, f := range structFields(dt, nil) {
		var val any
		found := false
		for k, v := range x {
			if k == f.col || equalFold(k, f.col) {
				val, found = v, true
				break
			}
		}
		if !found {
			return fmt.Errorf("field %s.%s: the row has no field %q", dt.Name(), f.goName, f.col)
		}
		if err := assign(dst.FieldByIndex(f.index), val); err != nil {
			return fmt.Errorf("field %s.%s: %v", dt.Name(), f.goName, err)
		}
	}
	return nil
}

// assignNumber handles integer and floating-point sources.
func assignNumber(dst reflect.Value, src any) (bool, error) {
	dt := dst.Type()
	if n, ok := toBigInt(src); ok {
		switch {
		case isInt(dt.Kind()) || isUint(dt.Kind()):
			return true, assignInt(dst, n)
		case dt.Kind() == reflect.Float32 || dt.Kind() == reflect.Float64:
			f, _ := new(big.Float).SetInt(n).Float64()
			dst.SetFloat(f)
			return true, nil
		case dt == typeDecimal:
			dst.Set(reflect.ValueOf(Decimal{Unscaled: n}))
			return true, nil
		case dt == typeBigRat:
			dst.Set(reflect.ValueOf(new(big.Rat).SetInt(n)))
			return true, nil
		}
	}
	if f, ok := toFloat(src); ok {
		switch dt.Kind() {
		case reflect.Float64:
			dst.SetFloat(f)
			return true, nil
		case reflect.Float32:
			if math.Abs(f) <= math.MaxFloat32 || math.IsInf(f, 0) || math.IsNaN(f) {
				dst.SetFloat(f)
				return true, nil
			}
			return true, fmt.Errorf("%v overflows float32", f)
		}
	}
	return false, nil
}

func assignMap(dst reflect.Value, n int, entries iter.Seq2[any, any]) error {
	dt := dst.Type()
	m := reflect.MakeMapWithSize(dt, n)
	for k, v := range entries {
		kv := reflect.New(dt.Key()).Elem()
		if err := assign(kv, k); err != nil {
			return fmt.Errorf("map key %v: %v", k, err)
		}
		vv := reflect.New(dt.Elem()).Elem()
		if err := assign(vv, v); err != nil {
			return fmt.Errorf("map value of %v: %v", k, err)
		}
		m.SetMapIndex(kv, vv)
	}
	dst.Set(m)
	return nil
}

func isInt(k reflect.Kind) bool {
	return k == reflect.Int || k == reflect.Int8 || k == reflect.Int16 || k == reflect.Int32 || k == reflect.Int64
}

func isUint(k reflect.Kind) bool {
	return k == reflect.Uint || k == reflect.Uint8 || k == reflect.Uint16 || k == reflect.Uint32 || k == reflect.Uint64 || k == reflect.Uintptr
}

func toBigInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int:
		return big.NewInt(int64(x)), true
	case int8:
		return big.NewInt(int64(x)), true
	case int16:
		return big.NewInt(int64(x)), true
	case int32:
		return big.NewInt(int64(x)), true
	case int64:
		return big.NewInt(x), true
	case uint:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint8:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint16:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint32:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	case *big.Int:
		if x != nil {
			return x, true
		}
	}
	return nil, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func assignInt(dst reflect.Value, n *big.Int) error {
	k := dst.Kind()
	if isInt(k) {
		if !n.IsInt64() || dst.OverflowInt(n.Int64()) {
			return fmt.Errorf("%s overflows %v", n, dst.Type())
		}
		dst.SetInt(n.Int64())
		return nil
	}
	if n.Sign() < 0 || !n.IsUint64() || dst.OverflowUint(n.Uint64()) {
		return fmt.Errorf("%s overflows %v", n, dst.Type())
	}
	dst.SetUint(n.Uint64())
	return nil
}
