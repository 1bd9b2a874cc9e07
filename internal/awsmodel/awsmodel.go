// Package awsmodel checks the requests lakekit sends to AWS against the
// services' Smithy models, for tests: emulators (moto, gofakes3, the
// Athena peer, the Redshift fake) accept much that AWS refuses, so each
// suite that talks to one installs Check on its aws.Config, and every
// request the SDK sends is validated before it leaves: required members,
// string and blob lengths, numeric ranges, list and map sizes, enum values.
// A violation fails the test that built the config.
//
// The models in testdata/ are the services' Smithy JSON models, trimmed by
// trim.go to the operations lakekit calls and the shapes reachable from
// their inputs (see README, Development). An operation missing from them is
// not checked (tests call some for their own setup); add lakekit's new
// calls to trim.go's list.
//
// The input struct is walked with reflection: the SDK's Go field names are
// the model's member names (compared without regard to case). A nil
// pointer, slice or map, an empty enum string and a zero number or false
// held by value in an optional member are absent, as the SDK's serializers
// treat them; a non-nil empty slice is sent, and counted, and so is a
// required member held by value.
package awsmodel

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
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

//go:embed testdata/*.json
var modelFiles embed.FS

type member struct {
	Target string                     `json:"target"`
	Traits map[string]json.RawMessage `json:"traits"`
}

type shape struct {
	Type       string                     `json:"type"`
	Input      *struct{ Target string }   `json:"input"`
	Operations []struct{ Target string }  `json:"operations"`
	Member     *member                    `json:"member"`
	Key        *member                    `json:"key"`
	Value      *member                    `json:"value"`
	Members    map[string]*member         `json:"members"`
	Traits     map[string]json.RawMessage `json:"traits"`
}

// Model is one service's (trimmed) Smithy model.
type Model struct {
	// SdkID is the service's SDK id ("S3", "Glue", "Redshift Data").
	SdkID  string
	shapes map[string]*shape
	inputs map[string]string // operation name -> input shape id
}

var (
	loadOnce sync.Once
	models   map[string]*Model // by SdkID
	loadErr  error
)

// Models returns the vendored models by SDK service id.
func Models() (map[string]*Model, error) {
	loadOnce.Do(func() {
		models = map[string]*Model{}
		files, err := modelFiles.ReadDir("testdata")
		if err != nil {
			loadErr = err
			return
		}
		for _, f := range files {
			b, err := modelFiles.ReadFile(path.Join("testdata", f.Name()))
			if err != nil {
				loadErr = err
				return
			}
			m, err := parse(b)
			if err != nil {
				loadErr = fmt.Errorf("awsmodel: %s: %w", f.Name(), err)
				return
			}
			models[m.SdkID] = m
		}
	})
	return models, loadErr
}

func parse(b []byte) (*Model, error) {
	var doc struct {
		Shapes map[string]*shape `json:"shapes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := &Model{shapes: doc.Shapes, inputs: map[string]string{}}
	for _, s := range doc.Shapes {
		if s.Type != "service" {
			continue
		}
		var svc struct {
			SdkID string `json:"sdkId"`
		}
		if err := json.Unmarshal(s.Traits["aws.api#service"], &svc); err != nil || svc.SdkID == "" {
			return nil, fmt.Errorf("service shape without an sdkId")
		}
		m.SdkID = svc.SdkID
		for _, op := range s.Operations {
			o := doc.Shapes[op.Target]
			if o == nil {
				return nil, fmt.Errorf("no operation shape %s", op.Target)
			}
			name := op.Target[strings.IndexByte(op.Target, '#')+1:]
			if o.Input != nil {
				m.inputs[name] = o.Input.Target
			} else {
				m.inputs[name] = ""
			}
		}
	}
	if m.SdkID == "" {
		return nil, fmt.Errorf("no service shape")
	}
	return m, nil
}

// Operations lists the operations the model covers.
func (m *Model) Operations() []string {
	out := make([]string, 0, len(m.inputs))
	for op := range m.inputs {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Violation is one way a request breaks its service's model.
type Violation struct {
	Service   string
	Operation string
	// Path names the member: "Parameters[0].Value".
	Path    string
	Problem string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s: %s: %s", v.Service, v.Operation, v.Path, v.Problem)
}

// Validate checks input, the SDK input struct of service's operation,
// against the model. It returns nil for an operation the models do not
// cover (known reports whether they do).
func Validate(service, operation string, input any) (violations []Violation, known bool) {
	ms, err := Models()
	if err != nil {
		panic(err)
	}
	m := ms[service]
	if m == nil {
		return nil, false
	}
	in, ok := m.inputs[operation]
	if !ok {
		return nil, false
	}
	if in == "" {
		return nil, true
	}
	w := &walker{m: m, add: func(p, problem string) {
		violations = append(violations, Violation{Service: service, Operation: operation, Path: p, Problem: problem})
	}}
	w.value("", reflect.ValueOf(input), in, nil)
	return violations, true
}

type walker struct {
	m   *Model
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

func trait[T any](traits map[string]json.RawMessage, name string) (T, bool) {
	var out T
	raw, ok := traits[name]
	if !ok {
		return out, false
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, false
	}
	return out, true
}

type bounds struct {
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

// constraint looks a trait up on the member first, then on its target.
func (w *walker) constraint(name string, memberTraits map[string]json.RawMessage, s *shape) (bounds, bool) {
	if b, ok := trait[bounds](memberTraits, name); ok {
		return b, true
	}
	if s != nil {
		return trait[bounds](s.Traits, name)
	}
	return bounds{}, false
}

func checkBounds(b bounds, n float64) (string, bool) {
	if b.Min != nil && n < *b.Min {
		return fmt.Sprintf("at least %v", *b.Min), false
	}
	if b.Max != nil && n > *b.Max {
		return fmt.Sprintf("at most %v", *b.Max), false
	}
	return "", true
}

// value checks v (present) against shape id, with the traits of the member
// that holds it.
func (w *walker) value(p string, v reflect.Value, id string, memberTraits map[string]json.RawMessage) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	s := w.m.shapes[id] // nil for prelude shapes (smithy.api#String, ...)
	typ := ""
	if s != nil {
		typ = s.Type
	}
	if b, ok := w.constraint("smithy.api#length", memberTraits, s); ok {
		var n int
		measured := true
		switch v.Kind() {
		case reflect.String:
			n = utf8.RuneCountInString(v.String())
		case reflect.Slice, reflect.Map, reflect.Array:
			n = v.Len()
		default:
			measured = false // a streaming body (io.Reader)
		}
		if measured {
			if want, ok := checkBounds(b, float64(n)); !ok {
				w.add(p, fmt.Sprintf("length %d, the model says %s", n, want))
			}
		}
	}
	if b, ok := w.constraint("smithy.api#range", memberTraits, s); ok {
		var n float64
		measured := true
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n = float64(v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			n = float64(v.Uint())
		case reflect.Float32, reflect.Float64:
			n = v.Float()
		default:
			measured = false
		}
		if measured && !math.IsNaN(n) {
			if want, ok := checkBounds(b, n); !ok {
				w.add(p, fmt.Sprintf("value %v, the model says %s", n, want))
			}
		}
	}
	if s == nil {
		return
	}
	switch typ {
	case "enum", "intEnum":
		w.enumMember(p, v, s)
	case "string":
		if vals, ok := trait[[]struct{ Value string }](s.Traits, "smithy.api#enum"); ok && v.Kind() == reflect.String {
			for _, e := range vals {
				if e.Value == v.String() {
					return
				}
			}
			w.add(p, fmt.Sprintf("%q is not one of the model's enum values", v.String()))
		}
	case "list", "set":
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array || s.Member == nil {
			return
		}
		for i := 0; i < v.Len(); i++ {
			w.value(fmt.Sprintf("%s[%d]", p, i), v.Index(i), s.Member.Target, s.Member.Traits)
		}
	case "map":
		if v.Kind() != reflect.Map {
			return
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			kp := fmt.Sprintf("%s[%q]", p, fmt.Sprint(k))
			if s.Key != nil {
				w.value(kp+"(key)", k, s.Key.Target, s.Key.Traits)
			}
			if s.Value != nil {
				w.value(kp, v.MapIndex(k), s.Value.Target, s.Value.Traits)
			}
		}
	case "structure":
		if v.Kind() != reflect.Struct {
			return
		}
		names := make([]string, 0, len(s.Members))
		for n := range s.Members {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			mb := s.Members[name]
			f := fieldByMember(v, name)
			mp := name
			if p != "" {
				mp = p + "." + name
			}
			_, req := mb.Traits["smithy.api#required"]
			if req && f.IsValid() && isScalar(f) {
				// the SDK always serializes a required member it holds
				// by value, zero or not
				w.value(mp, f, mb.Target, mb.Traits)
				continue
			}
			if !f.IsValid() || !present(f) {
				if req && !isStreaming(f) {
					w.add(mp, "required member missing")
				}
				continue
			}
			w.value(mp, f, mb.Target, mb.Traits)
		}
	}
}

func isScalar(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// isStreaming: a body the SDK may send even when the field is nil (an
// empty S3 object) counts as present.
func isStreaming(f reflect.Value) bool {
	return f.IsValid() && f.Type() == reflect.TypeFor[io.Reader]()
}

func (w *walker) enumMember(p string, v reflect.Value, s *shape) {
	var got string
	switch v.Kind() {
	case reflect.String:
		got = v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		got = fmt.Sprint(v.Int())
	default:
		return
	}
	for _, mb := range s.Members {
		raw, ok := mb.Traits["smithy.api#enumValue"]
		if !ok {
			continue
		}
		var sv string
		if json.Unmarshal(raw, &sv) != nil {
			sv = strings.TrimSpace(string(raw))
		}
		if sv == got {
			return
		}
	}
	w.add(p, fmt.Sprintf("%q is not one of the model's enum values", got))
}

// fieldByMember finds the Go field for a model member: the SDK's field
// names are the member names, capitalised.
func fieldByMember(v reflect.Value, name string) reflect.Value {
	if f := v.FieldByName(name); f.IsValid() {
		return f
	}
	t := v.Type()
	want := strings.ToLower(strings.ReplaceAll(name, "_", ""))
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() && strings.ToLower(t.Field(i).Name) == want {
			return v.Field(i)
		}
	}
	return reflect.Value{}
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
	// Checked: the models cover the operation.
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
// SDK has filled in idempotency tokens and before it serializes; it never
// stops a request (the emulator then answers as it does).
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
			t.Errorf("request refused by the %s service model: %s", v.Service, v)
		}
	})
	return r
}

// UnmatchedMembers lists the members of operation's input, recursively,
// that have no field in the Go type t (the SDK's input struct): names the
// reflection walk would skip. The models' own tests keep it empty.
func UnmatchedMembers(service, operation string, t reflect.Type) []string {
	ms, err := Models()
	if err != nil {
		panic(err)
	}
	m := ms[service]
	if m == nil || m.inputs[operation] == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	var walk func(p string, t reflect.Type, id string)
	walk = func(p string, t reflect.Type, id string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		s := m.shapes[id]
		if s == nil || seen[id+" "+t.String()] {
			return
		}
		seen[id+" "+t.String()] = true
		switch s.Type {
		case "list", "set":
			if (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && s.Member != nil {
				walk(p+"[]", t.Elem(), s.Member.Target)
			}
		case "map":
			if t.Kind() == reflect.Map && s.Value != nil {
				walk(p+"[]", t.Elem(), s.Value.Target)
			}
		case "structure":
			if t.Kind() != reflect.Struct {
				return
			}
			for name, mb := range s.Members {
				mp := name
				if p != "" {
					mp = p + "." + name
				}
				f, ok := structField(t, name)
				if !ok {
					out = append(out, mp)
					continue
				}
				walk(mp, f.Type, mb.Target)
			}
		}
	}
	walk("", t, m.inputs[operation])
	sort.Strings(out)
	return out
}

func structField(t reflect.Type, name string) (reflect.StructField, bool) {
	if f, ok := t.FieldByName(name); ok {
		return f, true
	}
	want := strings.ToLower(strings.ReplaceAll(name, "_", ""))
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() && strings.ToLower(f.Name) == want {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
