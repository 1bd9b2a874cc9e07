package transform

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Rule is a declarative validation rule on a field of the row type, named
// as in a json, csv or parquet tag or as the Go field. Build rules with
// Required, Range, Regexp, Enum, Custom and RowCheck; a Validator compiles
// them against a row type, so a rule on a field the type does not have is
// an error before anything runs.
type Rule struct {
	kind  string // "required", "range", "regexp", "enum", "custom", "row"
	field string
	min   float64
	max   float64
	re    string
	enum  []string
	fn    func(any) error
	row   any // func(T) error for RowCheck
	name  string
}

// Name returns the rule's kind as quarantine records it: "required",
// "range", "regexp", "enum", "custom" or the name given to RowCheck.
func (r Rule) Name() string {
	if r.name != "" {
		return r.name
	}
	return r.kind
}

// Field returns the field the rule checks ("" for a row rule).
func (r Rule) Field() string { return r.field }

// Required rejects a row whose field holds its zero value: an empty string,
// a nil pointer, slice or map, a zero time. Numbers are exempt (0 is a
// value; use a pointer field to tell "absent" from 0).
func Required(field string) Rule { return Rule{kind: "required", field: field} }

// Range rejects a row whose numeric field lies outside [min, max]. A nil
// pointer passes (combine with Required). NaN is always outside.
func Range(field string, min, max float64) Rule {
	return Rule{kind: "range", field: field, min: min, max: max}
}

// Regexp rejects a row whose string field does not match pattern (RE2
// syntax; anchor it with ^...$ for a whole-value match). An empty string
// or nil pointer passes (combine with Required).
func Regexp(field, pattern string) Rule { return Rule{kind: "regexp", field: field, re: pattern} }

// Enum rejects a row whose field, rendered with fmt.Sprint, is not one of
// values. An empty string or nil pointer passes (combine with Required).
func Enum(field string, values ...string) Rule {
	return Rule{kind: "enum", field: field, enum: append([]string(nil), values...)}
}

// Custom runs fn on a field's value (the field's Go value, e.g. a string or
// *int64); a non-nil error rejects the row with the error as reason.
func Custom(field string, fn func(value any) error) Rule {
	return Rule{kind: "custom", field: field, fn: fn}
}

// RowCheck runs fn on the whole row; a non-nil error rejects it. name is
// recorded as the rule in quarantine ("" means "row"). T must be the row
// type of the transform the rule is used with.
func RowCheck[T any](name string, fn func(T) error) Rule {
	if name == "" {
		name = "row"
	}
	return Rule{kind: "row", name: name, row: fn}
}

// Violation is one broken rule. It wraps ErrRejected.
type Violation struct {
	Rule   string // rule name ("required", "range", ...)
	Field  string // field name as the rule named it; "" for row rules
	Reason string
}

func (v *Violation) Error() string {
	if v.Field == "" {
		return fmt.Sprintf("rule %s: %s", v.Rule, v.Reason)
	}
	return fmt.Sprintf("field %s: rule %s: %s", v.Field, v.Rule, v.Reason)
}

// Unwrap returns ErrRejected.
func (v *Violation) Unwrap() error { return ErrRejected }

// Validator checks rows of type T against compiled rules.
type Validator[T any] struct {
	checks []func(rv reflect.Value, row *T) *Violation
}

// NewValidator compiles rules for row type T. A rule on a field T does not
// have, a Range on a non-numeric field, a Regexp on a non-string field, a
// bad pattern or a RowCheck for another type is an error matching
// ErrInvalid.
func NewValidator[T any](rules ...Rule) (*Validator[T], error) {
	t := reflect.TypeFor[T]()
	v := &Validator[T]{}
	for _, r := range rules {
		c, err := compileRule[T](t, r)
		if err != nil {
			return nil, err
		}
		v.checks = append(v.checks, c)
	}
	return v, nil
}

// Check returns the first violation of row, or nil when the row passes.
func (v *Validator[T]) Check(row T) *Violation {
	if v == nil || len(v.checks) == 0 {
		return nil
	}
	rv := reflect.ValueOf(&row).Elem()
	for _, c := range v.checks {
		if viol := c(rv, &row); viol != nil {
			return viol
		}
	}
	return nil
}

// Len is the number of rules.
func (v *Validator[T]) Len() int {
	if v == nil {
		return 0
	}
	return len(v.checks)
}

func compileRule[T any](t reflect.Type, r Rule) (func(reflect.Value, *T) *Violation, error) {
	if r.kind == "" {
		return nil, invalidf("zero Rule (build rules with Required, Range, ...)")
	}
	if r.kind == "row" {
		fn, ok := r.row.(func(T) error)
		if !ok {
			return nil, invalidf("RowCheck %q is for %T, the rows are %s", r.name, r.row, t)
		}
		name := r.Name()
		return func(_ reflect.Value, row *T) *Violation {
			if err := fn(*row); err != nil {
				return &Violation{Rule: name, Reason: err.Error()}
			}
			return nil
		}, nil
	}
	f, ok := findField(t, r.field)
	if !ok {
		return nil, invalidf("rule %s: %s has no field %q", r.kind, t, r.field)
	}
	c := &fieldCheck{r: r, t: t, index: f.Index, typ: f.Type, base: f.Type}
	if c.base.Kind() == reflect.Pointer {
		c.base = c.base.Elem()
	}
	var check func(reflect.Value) *Violation
	var err error
	switch r.kind {
	case "required":
		check = c.required()
	case "range":
		check, err = c.inRange()
	case "regexp":
		check, err = c.matches()
	case "enum":
		check, err = c.oneOf()
	case "custom":
		check, err = c.custom()
	default:
		return nil, invalidf("unknown rule kind %q", r.kind)
	}
	if err != nil {
		return nil, err
	}
	return func(rv reflect.Value, _ *T) *Violation { return check(rv) }, nil
}

// fieldCheck compiles a rule on one field of the row type t.
type fieldCheck struct {
	r     Rule
	t     reflect.Type
	index []int
	typ   reflect.Type // the field's type
	base  reflect.Type // without one pointer
}

func (c *fieldCheck) viol(format string, args ...any) *Violation {
	return &Violation{Rule: c.r.kind, Field: c.r.field, Reason: fmt.Sprintf(format, args...)}
}

func (c *fieldCheck) get(rv reflect.Value) reflect.Value { return fieldValue(rv, c.index) }

// deref returns the value behind pointers, or ok=false for nil.
func deref(fv reflect.Value) (reflect.Value, bool) {
	for fv.IsValid() && fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return reflect.Value{}, false
		}
		fv = fv.Elem()
	}
	return fv, fv.IsValid()
}

func (c *fieldCheck) required() func(reflect.Value) *Violation {
	return func(rv reflect.Value) *Violation {
		fv := c.get(rv)
		if !fv.IsValid() {
			return c.viol("is missing")
		}
		switch fv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64, reflect.Bool:
			return nil
		case reflect.String:
			if strings.TrimSpace(fv.String()) == "" {
				return c.viol("is empty")
			}
			return nil
		}
		if fv.IsZero() {
			return c.viol("is missing")
		}
		return nil
	}
}

func (c *fieldCheck) inRange() (func(reflect.Value) *Violation, error) {
	r := c.r
	if !isNumeric(c.base.Kind()) {
		return nil, invalidf("rule range: field %q of %s is %s, not a number", r.field, c.t, c.typ)
	}
	if r.min > r.max {
		return nil, invalidf("rule range on %q: min %v > max %v", r.field, r.min, r.max)
	}
	return func(rv reflect.Value) *Violation {
		fv, ok := deref(c.get(rv))
		if !ok {
			return nil
		}
		x := toFloat(fv)
		if math.IsNaN(x) || x < r.min || x > r.max {
			return c.viol("%v is outside [%v, %v]", fv.Interface(), r.min, r.max)
		}
		return nil
	}, nil
}

func (c *fieldCheck) matches() (func(reflect.Value) *Violation, error) {
	r := c.r
	if c.base.Kind() != reflect.String {
		return nil, invalidf("rule regexp: field %q of %s is %s, not a string", r.field, c.t, c.typ)
	}
	re, err := regexp.Compile(r.re)
	if err != nil {
		return nil, invalidf("rule regexp on %q: %v", r.field, err)
	}
	return func(rv reflect.Value) *Violation {
		fv, ok := deref(c.get(rv))
		if !ok || fv.String() == "" {
			return nil
		}
		if !re.MatchString(fv.String()) {
			return c.viol("%q does not match %s", fv.String(), r.re)
		}
		return nil
	}, nil
}

func (c *fieldCheck) oneOf() (func(reflect.Value) *Violation, error) {
	if len(c.r.enum) == 0 {
		return nil, invalidf("rule enum on %q: no values", c.r.field)
	}
	allowed := slices.Clone(c.r.enum)
	return func(rv reflect.Value) *Violation {
		fv, ok := deref(c.get(rv))
		if !ok {
			return nil
		}
		s := fmt.Sprint(fv.Interface())
		if s == "" {
			return nil
		}
		if !slices.Contains(allowed, s) {
			return c.viol("%q is not one of %s", s, strings.Join(allowed, ", "))
		}
		return nil
	}, nil
}

func (c *fieldCheck) custom() (func(reflect.Value) *Violation, error) {
	fn := c.r.fn
	if fn == nil {
		return nil, invalidf("rule custom on %q: nil function", c.r.field)
	}
	return func(rv reflect.Value) *Violation {
		fv := c.get(rv)
		var x any
		if fv.IsValid() {
			x = fv.Interface()
		}
		if err := fn(x); err != nil {
			return c.viol("%v", err)
		}
		return nil
	}, nil
}

func isNumeric(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func toFloat(v reflect.Value) float64 {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return math.NaN()
}
