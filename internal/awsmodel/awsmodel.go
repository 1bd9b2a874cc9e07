// Package awsmodel checks the requests lakekit sends to AWS against what
// the services accept, for tests: emulators (moto, gofakes3, the Athena
// peer, the Redshift fake) accept much that AWS refuses, so each suite
// that talks to one installs Check on its aws.Config, and every request the
// SDK is about to send is validated: string and blob lengths, numeric
// ranges, list and map sizes, enum values. A violation fails the test that
// built the config.
//
// Where the rules come from:
//
//   - Lengths, ranges and sizes: the table in constraints.go, written by
//     hand from the AWS API Reference (docs.aws.amazon.com) for the members
//     lakekit sets in the operations it calls; every entry names the page
//     it was read from. A member without an entry is not checked.
//   - Enums: the SDK's own types. Every enum type of an aws-sdk-go-v2
//     service has a Values method listing its values; a string member of
//     such a type is checked against it.
//   - Required members: the SDK's own validators (validators.go of each
//     service) refuse a request missing one before it is sent, with a
//     smithy.InvalidParamsError; the check runs after them, so it sees only
//     requests that passed them.
//
// Operations lists the operations checked; another operation is not
// checked (tests call some for their own setup). Add lakekit's new calls
// there, and the constraints of the members they set to the table.
//
// The input struct is walked with reflection. A nil pointer, slice or map,
// an empty string (enums are string types) and a zero number or false held
// by value are absent, as the SDK's serializers treat optional members; a
// non-nil empty slice or map is sent, and counted.
package awsmodel

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Operations returns the operations the check covers, by SDK service id
// ("S3", "Glue", "Redshift Data"): those lakekit calls.
func Operations() map[string][]string {
	out := make(map[string][]string, len(operations))
	for svc, ops := range operations {
		out[svc] = append([]string(nil), ops...)
	}
	return out
}

// Covers reports whether the check covers service's operation.
func Covers(service, operation string) bool {
	for _, op := range operations[service] {
		if op == operation {
			return true
		}
	}
	return false
}

// Violation is one way a request breaks what its service accepts.
type Violation struct {
	Service   string
	Operation string
	// Path names the member by its Go field names: "Parameters[0].Value".
	Path    string
	Problem string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s: %s: %s", v.Service, v.Operation, v.Path, v.Problem)
}

// Validate checks input, the SDK input struct of service's operation,
// against the constraints table and the SDK's enums. It returns nil for an
// operation the check does not cover (known reports whether it does).
func Validate(service, operation string, input any) (violations []Violation, known bool) {
	if !Covers(service, operation) {
		return nil, false
	}
	w := &walker{add: func(p, problem string) {
		violations = append(violations, Violation{Service: service, Operation: operation, Path: p, Problem: problem})
	}}
	w.value("", reflect.ValueOf(input), "")
	return violations, true
}

type walker struct {
	add func(path, problem string)
}

// present reports whether the SDK sends v: nil pointers, slices, maps and
// interfaces, empty strings (enums are string types) and zero scalars
// without a pointer are left out by its serializers.
func present(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Invalid:
		return false
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return !v.IsNil()
	case reflect.String:
		return v.Len() > 0
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return !v.IsZero()
	}
	return true
}

// sdkPackage returns the service a type of aws-sdk-go-v2 belongs to
// ("glue" for .../service/glue and .../service/glue/types), or "".
func sdkPackage(t reflect.Type) string {
	const marker = "github.com/aws/aws-sdk-go-v2/service/"
	p := t.PkgPath()
	i := strings.Index(p, marker)
	if i < 0 {
		return ""
	}
	p = p[i+len(marker):]
	if j := strings.IndexByte(p, '/'); j >= 0 {
		p = p[:j]
	}
	return p
}

func (w *walker) checkLimit(p, key string, v reflect.Value) {
	l, ok := constraints[key]
	if !ok {
		return
	}
	var n float64
	what := "length"
	switch v.Kind() {
	case reflect.String:
		n = float64(utf8.RuneCountInString(v.String()))
		if l.Bytes {
			n, what = float64(len(v.String())), "length in bytes"
		}
	case reflect.Slice, reflect.Map, reflect.Array:
		n = float64(v.Len())
		if v.Kind() != reflect.Map && v.Type().Elem().Kind() != reflect.Uint8 {
			what = "items"
		} else if v.Kind() == reflect.Map {
			what = "entries"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, what = float64(v.Int()), "value"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, what = float64(v.Uint()), "value"
	case reflect.Float32, reflect.Float64:
		n, what = v.Float(), "value"
		if math.IsNaN(n) {
			return
		}
	default:
		return // a streaming body (io.Reader)
	}
	if n < float64(l.Min) {
		w.add(p, fmt.Sprintf("%s %v, the API Reference says at least %d (%s)", what, n, l.Min, l.Doc))
	} else if l.Max > 0 && n > float64(l.Max) {
		w.add(p, fmt.Sprintf("%s %v, the API Reference says at most %d (%s)", what, n, l.Max, l.Doc))
	}
}

var enumCache sync.Map // reflect.Type -> []string (nil: not an enum)

// enumValues returns the values of an SDK enum type (a string type with a
// Values method returning a slice of itself), or nil.
func enumValues(t reflect.Type) []string {
	if got, ok := enumCache.Load(t); ok {
		return got.([]string)
	}
	var vals []string
	if t.Kind() == reflect.String && t.PkgPath() != "" && sdkPackage(t) != "" {
		if m, ok := t.MethodByName("Values"); ok && m.Type.NumIn() == 1 && m.Type.NumOut() == 1 &&
			m.Type.Out(0).Kind() == reflect.Slice && m.Type.Out(0).Elem() == t {
			out := m.Func.Call([]reflect.Value{reflect.Zero(t)})[0]
			vals = make([]string, out.Len())
			for i := range vals {
				vals[i] = out.Index(i).String()
			}
		}
	}
	enumCache.Store(t, vals)
	return vals
}

// value checks v, found at path p, under the constraints key (""
// for the input itself).
func (w *walker) value(p string, v reflect.Value, key string) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if key != "" {
		w.checkLimit(p, key, v)
	}
	switch v.Kind() {
	case reflect.String:
		if vals := enumValues(v.Type()); vals != nil && v.Len() > 0 {
			for _, e := range vals {
				if e == v.String() {
					return
				}
			}
			w.add(p, fmt.Sprintf("%q is not one of the SDK's %s values %q", v.String(), v.Type().Name(), vals))
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // a blob
		}
		for i := 0; i < v.Len(); i++ {
			w.value(fmt.Sprintf("%s[%d]", p, i), v.Index(i), key+"[]")
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			kp := fmt.Sprintf("%s[%q]", p, fmt.Sprint(k))
			w.value(kp+"(key)", k, key+"{key}")
			w.value(kp, v.MapIndex(k), key+"{value}")
		}
	case reflect.Struct:
		t := v.Type()
		pkg := sdkPackage(t)
		if pkg == "" {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			f := v.Field(i)
			if !sf.IsExported() || !present(f) {
				continue
			}
			fp := sf.Name
			if p != "" {
				fp = p + "." + sf.Name
			}
			w.value(fp, f, pkg+"."+t.Name()+"."+sf.Name)
		}
	}
}

// MemberKeys lists the constraint keys the members of the SDK input type t
// have, recursively, each with the Go type of the member ("glue.Column.Name":
// string): what a key of the constraints table may name.
func MemberKeys(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, key string)
	walk = func(t reflect.Type, key string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if key != "" {
			out[key] = t
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			if t.Elem().Kind() != reflect.Uint8 {
				walk(t.Elem(), key+"[]")
			}
		case reflect.Map:
			walk(t.Key(), key+"{key}")
			walk(t.Elem(), key+"{value}")
		case reflect.Struct:
			pkg := sdkPackage(t)
			if pkg == "" || seen[t] {
				return
			}
			seen[t] = true
			for i := 0; i < t.NumField(); i++ {
				if sf := t.Field(i); sf.IsExported() {
					walk(sf.Type, pkg+"."+t.Name()+"."+sf.Name)
				}
			}
		}
	}
	walk(t, "")
	return out
}

// Recorder collects the requests checked and their violations.
type Recorder struct {
	mu         sync.Mutex
	requests   []Request
	violations []Violation
}

// Request is one request the SDK was about to send.
type Request struct {
	Service   string
	Operation string
	Input     any
	// Checked: the check covers the operation.
	Checked bool
}

// Requests returns the requests seen so far.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Violations returns the violations found so far.
func (r *Recorder) Violations() []Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Violation(nil), r.violations...)
}

// APIOption returns the middleware that records and validates every
// request of a client, for aws.Config.APIOptions or a client's
// Options.APIOptions. It sits at the end of the initialize step, after the
// SDK has filled in idempotency tokens and validated required members,
// and before it serializes; it never stops a request (the emulator then
// answers as it does).
func (r *Recorder) APIOption() func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("lakekit.awsmodel.Check",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
				vs, known := Validate(service, op, in.Parameters)
				r.mu.Lock()
				r.requests = append(r.requests, Request{Service: service, Operation: op, Input: in.Parameters, Checked: known})
				r.violations = append(r.violations, vs...)
				r.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

// Check installs a Recorder on cfg: every client built from cfg validates
// its requests, and when t ends each violation fails it.
func Check(t testing.TB, cfg *aws.Config) *Recorder {
	t.Helper()
	r := &Recorder{}
	cfg.APIOptions = append(cfg.APIOptions, r.APIOption())
	t.Cleanup(func() {
		for _, v := range r.Violations() {
			t.Errorf("request AWS would refuse: %s", v)
		}
	})
	return r
}
