package query

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
)

type athenaDecoder func(string) (any, error)

var (
	typeInt64   = reflect.TypeFor[int64]()
	typeInt32   = reflect.TypeFor[int32]()
	typeInt16   = reflect.TypeFor[int16]()
	typeInt8    = reflect.TypeFor[int8]()
	typeFloat64 = reflect.TypeFor[float64]()
	typeFloat32 = reflect.TypeFor[float32]()
	typeBool    = reflect.TypeFor[bool]()
	typeString  = reflect.TypeFor[string]()
	typeSlice   = reflect.TypeFor[[]any]()
	typeMapAny  = reflect.TypeFor[map[any]any]()
	typeMapStr  = reflect.TypeFor[map[string]any]()
)

// athenaColumn maps Athena's column info to a Column and a decoder of
// VarCharValue text.
//
// Athena reports nested types without their element types ("array",
// "map", "row"), so their elements are decoded by their text: NULL → nil,
// integers → int64, other numbers → float64, true/false → bool, nested
// [..] and {..} recursively, anything else → string. Use UNLOAD
// (QueryUnload) or CAST(x AS JSON) where element types matter.
func athenaColumn(ci types.ColumnInfo) (Column, athenaDecoder) {
	typ := strings.ToLower(strings.TrimSpace(aws.ToString(ci.Type)))
	col := Column{Name: aws.ToString(ci.Name), DatabaseType: typ, Nullable: ci.Nullable != types.ColumnNullableNotNull}
	base := typ
	if i := strings.IndexAny(base, "(<"); i >= 0 {
		base = strings.TrimSpace(base[:i])
	}
	switch {
	case base == "decimal":
		if !strings.Contains(typ, "(") && (ci.Precision > 0 || ci.Scale > 0) {
			col.DatabaseType = fmt.Sprintf("decimal(%d,%d)", ci.Precision, ci.Scale)
		}
		col.GoType = typeDecimal
		return col, func(s string) (any, error) { return ParseDecimal(s) }
	case base == "bigint":
		col.GoType = typeInt64
		return col, func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) }
	case base == "integer" || base == "int":
		col.GoType = typeInt32
		return col, func(s string) (any, error) { v, err := strconv.ParseInt(s, 10, 32); return int32(v), err }
	case base == "smallint":
		col.GoType = typeInt16
		return col, func(s string) (any, error) { v, err := strconv.ParseInt(s, 10, 16); return int16(v), err }
	case base == "tinyint":
		col.GoType = typeInt8
		return col, func(s string) (any, error) { v, err := strconv.ParseInt(s, 10, 8); return int8(v), err }
	case base == "double":
		col.GoType = typeFloat64
		return col, func(s string) (any, error) { return parseFloat(s, 64) }
	case base == "float" || base == "real":
		col.GoType = typeFloat32
		return col, func(s string) (any, error) { f, err := parseFloat(s, 32); return float32(f), err }
	case base == "boolean":
		col.GoType = typeBool
		return col, func(s string) (any, error) { return strconv.ParseBool(s) }
	case base == "varchar" || base == "char" || base == "string":
		col.GoType = typeString
		return col, func(s string) (any, error) { return s, nil }
	case base == "date":
		col.GoType = typeTime
		return col, func(s string) (any, error) { return time.Parse("2006-01-02", s) }
	case typ == "timestamp with time zone":
		col.GoType = typeTime
		return col, parseTimestampTZ
	case base == "timestamp":
		col.GoType = typeTime
		return col, func(s string) (any, error) { return time.Parse("2006-01-02 15:04:05.999999999", s) }
	case base == "varbinary":
		col.GoType = typeBytes
		return col, func(s string) (any, error) { return hex.DecodeString(strings.ReplaceAll(s, " ", "")) }
	case base == "json":
		col.GoType = typeRaw
		return col, func(s string) (any, error) {
			if !json.Valid([]byte(s)) {
				return nil, fmt.Errorf("not valid JSON")
			}
			return json.RawMessage(s), nil
		}
	case base == "array":
		col.GoType = typeSlice
		return col, func(s string) (any, error) {
			v, err := parseNested(s)
			if err != nil {
				return nil, err
			}
			if _, ok := v.([]any); !ok {
				return nil, fmt.Errorf("an array must be written [..]")
			}
			return v, nil
		}
	case base == "map":
		col.GoType = typeMapAny
		return col, func(s string) (any, error) { return parseBraces(s, false) }
	case base == "row" || base == "struct":
		col.GoType = typeMapStr
		return col, func(s string) (any, error) { return parseBraces(s, true) }
	}
	// time, interval, ipaddress, uuid, ... stay text
	col.GoType = typeString
	return col, func(s string) (any, error) { return s, nil }
}

func parseFloat(s string, bits int) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, bits)
}

// parseTimestampTZ parses "2024-01-02 03:04:05.123 UTC" or with a zone
// name or offset after the last space.
func parseTimestampTZ(s string) (any, error) {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return nil, fmt.Errorf("no time zone")
	}
	ts, zone := s[:i], s[i+1:]
	if strings.HasPrefix(zone, "+") || strings.HasPrefix(zone, "-") {
		return time.Parse("2006-01-02 15:04:05.999999999 -07:00", s)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, err
	}
	return time.ParseInLocation("2006-01-02 15:04:05.999999999", ts, loc)
}

// parseBraces parses Athena's text of a map "{a=1, b=2}" (keys typed by
// their text) or a row "{x=1, y=abc}" (field names as keys).
func parseBraces(s string, row bool) (any, error) {
	p := &nestedParser{s: s}
	v, err := p.braces(row)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the value", p.s[p.i:])
	}
	return v, nil
}

func parseNested(s string) (any, error) {
	p := &nestedParser{s: s}
	v, err := p.value(false)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the value", p.s[p.i:])
	}
	return v, nil
}

type nestedParser struct {
	s string
	i int
}

func (p *nestedParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// value parses a nested value; inMapKey stops scalars at '='.
func (p *nestedParser) value(inKey bool) (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, nil
	}
	switch p.s[p.i] {
	case '[':
		p.i++
		out := []any{}
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return out, nil
		}
		for {
			v, err := p.value(false)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unterminated array")
			}
			if p.s[p.i] == ']' {
				p.i++
				return out, nil
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("expected ',' or ']' at %d", p.i)
			}
			p.i++
		}
	case '{':
		// a nested map or row: a row when every key is a plain name
		save := p.i
		v, err := p.braces(true)
		if err == nil {
			return v, nil
		}
		p.i = save
		return p.braces(false)
	}
	// scalar: up to the next delimiter at this level
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ',' || c == ']' || c == '}' || inKey && c == '=' {
			break
		}
		p.i++
	}
	return scalarText(strings.TrimSpace(p.s[start:p.i])), nil
}

func (p *nestedParser) braces(row bool) (any, error) {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, fmt.Errorf("expected '{' at %d", p.i)
	}
	p.i++
	rowOut := map[string]any{}
	mapOut := map[any]any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		if row {
			return rowOut, nil
		}
		return mapOut, nil
	}
	for {
		p.space()
		start := p.i
		var key any
		if row {
			for p.i < len(p.s) && p.s[p.i] != '=' && p.s[p.i] != ',' && p.s[p.i] != '}' {
				p.i++
			}
			name := strings.TrimSpace(p.s[start:p.i])
			if name == "" || strings.ContainsAny(name, "[{ ") {
				return nil, fmt.Errorf("bad row field name %q", name)
			}
			key = name
		} else {
			k, err := p.value(true)
			if err != nil {
				return nil, err
			}
			key = k
		}
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return nil, fmt.Errorf("expected '=' at %d", p.i)
		}
		p.i++
		v, err := p.value(false)
		if err != nil {
			return nil, err
		}
		if row {
			rowOut[key.(string)] = v
		} else {
			if key != nil && !reflect.TypeOf(key).Comparable() {
				return nil, fmt.Errorf("map key %v is not comparable", key)
			}
			mapOut[key] = v
		}
		p.space()
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("unterminated {")
		}
		if p.s[p.i] == '}' {
			p.i++
			if row {
				return rowOut, nil
			}
			return mapOut, nil
		}
		if p.s[p.i] != ',' {
			return nil, fmt.Errorf("expected ',' or '}' at %d", p.i)
		}
		p.i++
	}
}

// scalarText types an element of a nested value by its text.
func scalarText(s string) any {
	switch s {
	case "null", "NULL":
		return nil
	case "true":
		return true
	case "false":
		return false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if len(s) > 0 && (s[0] == '-' || s[0] == '.' || s[0] >= '0' && s[0] <= '9') {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}
