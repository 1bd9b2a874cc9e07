package query

import (
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Decimal is an exact decimal number: Unscaled × 10^-Scale. DECIMAL columns
// of every engine decode to it (Go has no decimal type); convert with
// Float64, Rat or String, or scan into a float64, string or *big.Rat field.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// ParseDecimal parses "-123.45" (digits, an optional sign and point).
func ParseDecimal(s string) (Decimal, error) {
	t := strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return Decimal{}, fmt.Errorf("query: %q is not a decimal number: %w", s, ErrInvalid)
	}
	u, _ := new(big.Int).SetString(digits, 10)
	if neg {
		u.Neg(u)
	}
	return Decimal{Unscaled: u, Scale: int32(len(frac))}, nil
}

// MustDecimal is ParseDecimal that panics; for literals in code and tests.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// NewDecimal returns unscaled × 10^-scale.
func NewDecimal(unscaled *big.Int, scale int32) Decimal {
	return Decimal{Unscaled: new(big.Int).Set(unscaled), Scale: scale}
}

func (d Decimal) unscaled() *big.Int {
	if d.Unscaled == nil {
		return new(big.Int)
	}
	return d.Unscaled
}

// String formats the number with exactly Scale digits after the point.
func (d Decimal) String() string {
	u := d.unscaled()
	s := new(big.Int).Abs(u).String()
	if d.Scale > 0 {
		if len(s) <= int(d.Scale) {
			s = strings.Repeat("0", int(d.Scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	} else if d.Scale < 0 {
		s += strings.Repeat("0", int(-d.Scale))
	}
	if u.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// Rat returns the exact value.
func (d Decimal) Rat() *big.Rat {
	r := new(big.Rat).SetInt(d.unscaled())
	if d.Scale != 0 {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(d.Scale))), nil)
		if d.Scale > 0 {
			r.Quo(r, new(big.Rat).SetInt(p))
		} else {
			r.Mul(r, new(big.Rat).SetInt(p))
		}
	}
	return r
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 {
	f, _ := d.Rat().Float64()
	return f
}

// Equal reports whether d and o are the same number (1.50 equals 1.5).
// go-cmp uses it.
func (d Decimal) Equal(o Decimal) bool { return d.Rat().Cmp(o.Rat()) == 0 }

// Date is a calendar date, for binding a DATE parameter (a time.Time binds
// as a TIMESTAMP). DATE columns decode to time.Time at midnight UTC.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns t's date in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Time returns the date at midnight UTC.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// normalizeParam reduces a Go value to one of: nil, string, []byte, bool,
// int64, uint64, float32, float64, time.Time, Date, Decimal.
func normalizeParam(i int, v any) (any, error) {
	for depth := 0; depth < 8; depth++ {
		switch x := v.(type) {
		case nil, string, []byte, bool, int64, uint64, float32, float64, time.Time, Date, Decimal:
			return x, nil
		case int:
			return int64(x), nil
		case int8:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case uint:
			return uint64(x), nil
		case uint8:
			return uint64(x), nil
		case uint16:
			return uint64(x), nil
		case uint32:
			return uint64(x), nil
		case *big.Int:
			if x == nil {
				return nil, nil
			}
			return Decimal{Unscaled: x}, nil
		case driver.Valuer:
			rv := reflect.ValueOf(x)
			if rv.Kind() == reflect.Pointer && rv.IsNil() {
				return nil, nil
			}
			nv, err := x.Value()
			if err != nil {
				return nil, fmt.Errorf("query: parameter %d (%T): %v: %w", i+1, v, err, ErrInvalidParam)
			}
			v = nv
			continue
		}
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Pointer:
			if rv.IsNil() {
				return nil, nil
			}
			v = rv.Elem().Interface()
			continue
		case reflect.String:
			return rv.String(), nil
		case reflect.Bool:
			return rv.Bool(), nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return rv.Int(), nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return rv.Uint(), nil
		case reflect.Float32:
			return float32(rv.Float()), nil
		case reflect.Float64:
			return rv.Float(), nil
		}
		return nil, fmt.Errorf("query: parameter %d has type %T, which no engine binds (use string, []byte, bool, an integer, a float, time.Time, query.Date, query.Decimal or nil): %w", i+1, v, ErrInvalidParam)
	}
	return nil, fmt.Errorf("query: parameter %d (%T): too many levels of indirection: %w", i+1, v, ErrInvalidParam)
}

// NormalizeParams reduces params to the value kinds engines bind (see
// Engine). It is for engine implementations.
func NormalizeParams(params []any) ([]any, error) {
	out := make([]any, len(params))
	for i, p := range params {
		v, err := normalizeParam(i, p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// timestampLayout is how timestamps are written in SQL literals and
// Redshift parameters: UTC, up to microseconds.
const timestampLayout = "2006-01-02 15:04:05.999999"

// SQLLiteral renders a parameter value as a typed SQL literal of the
// Trino/Athena dialect: 42, DOUBLE '1.5', REAL '1.5', TRUE,
// TIMESTAMP '2024-01-02 03:04:05.123', DATE '2024-01-02',
// DECIMAL '12.34', X'00ff', NULL. Athena binds execution parameters given in
// this form (the SQL text keeps its ?); it is not for building SQL text.
func SQLLiteral(v any) (string, error) {
	n, err := normalizeParam(0, v)
	if err != nil {
		return "", err
	}
	switch x := n.(type) {
	case nil:
		return "NULL", nil
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return "", fmt.Errorf("query: string parameter contains a NUL byte: %w", ErrInvalidParam)
		}
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case []byte:
		return "X'" + hex.EncodeToString(x) + "'", nil
	case bool:
		if x {
			return "TRUE", nil
		}
		return "FALSE", nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return "", fmt.Errorf("query: float parameter %v has no SQL literal: %w", x, ErrInvalidParam)
		}
		return "REAL '" + strconv.FormatFloat(float64(x), 'g', -1, 32) + "'", nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("query: float parameter %v has no SQL literal: %w", x, ErrInvalidParam)
		}
		return "DOUBLE '" + strconv.FormatFloat(x, 'g', -1, 64) + "'", nil
	case time.Time:
		return "TIMESTAMP '" + x.UTC().Format(timestampLayout) + "'", nil
	case Date:
		return "DATE '" + x.String() + "'", nil
	case Decimal:
		return "DECIMAL '" + x.String() + "'", nil
	}
	return "", fmt.Errorf("query: parameter of type %T: %w", v, ErrInvalidParam)
}

// paramText renders a value as the plain text the Redshift Data API takes
// in SqlParameter.Value (Redshift casts it to the column's type).
func paramText(i int, v any) (string, error) {
	n, err := normalizeParam(i, v)
	if err != nil {
		return "", err
	}
	switch x := n.(type) {
	case nil:
		return "", fmt.Errorf("query: parameter %d is NULL; the Redshift Data API cannot bind NULL (write NULL in the SQL): %w", i+1, ErrInvalidParam)
	case string:
		return x, nil
	case []byte:
		return hex.EncodeToString(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case time.Time:
		return x.UTC().Format(timestampLayout), nil
	case Date:
		return x.String(), nil
	case Decimal:
		return x.String(), nil
	}
	return "", fmt.Errorf("query: parameter %d of type %T: %w", i+1, v, ErrInvalidParam)
}

func bigInt(v int64) *big.Int { return big.NewInt(v) }
