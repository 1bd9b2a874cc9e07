package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
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
