package query

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/big"
	"reflect"
	"time"
)

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
