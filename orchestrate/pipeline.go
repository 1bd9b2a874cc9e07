package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest pipeline or step name Step Functions accepts.
const MaxNameLength = 80

// Kind is what a step does.
type Kind int

// The step kinds.
const (
	KindGo       Kind = iota + 1 // a Go function (Fargate task or Lambda on AWS)
	KindSQL                      // a SQL statement (a SQLRunner locally, Athena on AWS)
	KindGlueJob                  // an AWS Glue job run
	KindCrawler                  // an AWS Glue crawler run
	KindWait                     // a pause
	KindChoice                   // a branch on a condition over an earlier output
	KindMap                      // a per-item fan-out over a list an earlier step produced
	KindParallel                 // parallel branches, each a pipeline
	KindPass                     // a fixed JSON value (a Pass state on AWS)
)

var kindNames = map[Kind]string{KindGo: "go", KindSQL: "sql", KindGlueJob: "glue-job", KindCrawler: "crawler",
	KindWait: "wait", KindChoice: "choice", KindMap: "map", KindParallel: "parallel", KindPass: "pass"}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Output is a step's result: JSON.
type Output = json.RawMessage

// Func is a Go step: it gets the step's input and returns its output as
// JSON (nil means null).
type Func func(ctx context.Context, in Input) (Output, error)

// Input is what a step receives.
type Input struct {
	Pipeline string `json:"pipeline"`
	Step     string `json:"step"`
	RunID    string `json:"runId,omitempty"`
	// Params are the run's parameters (the execution input on AWS).
	Params json.RawMessage `json:"params,omitempty"`
	// Deps holds the outputs of the step's dependencies by step name.
	Deps map[string]json.RawMessage `json:"deps,omitempty"`
	// Item is the element a Map iteration works on; Index its position.
	Item  json.RawMessage `json:"item,omitempty"`
	Index int             `json:"index,omitempty"`
	// Error is set for a catch handler: the error it caught.
	Error *StepError `json:"error,omitempty"`
}

// Value is the step's main input decoded into v: the Map item for a Map
// iteration, the output of the only dependency for a step with one, and
// the run's parameters otherwise.
func (in Input) Value(v any) error {
	raw := in.Params
	switch {
	case in.Item != nil:
		raw = in.Item
	case len(in.Deps) == 1:
		for _, d := range in.Deps {
			raw = d
		}
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: step %q: decoding input: %v", ErrBadInput, in.Step, err)
	}
	return nil
}

// Typed adapts a typed function to a Func: the input is decoded from
// Input.Value and the result encoded as JSON.
func Typed[I, O any](fn func(ctx context.Context, in I) (O, error)) Func {
	return func(ctx context.Context, in Input) (Output, error) {
		var v I
		if err := in.Value(&v); err != nil {
			return nil, err
		}
		out, err := fn(ctx, v)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// SQLRunner runs a SQL statement. The query engines (and anything else
// that can run SQL) implement it; the result is recorded as the step's
// output.
type SQLRunner interface {
	ExecSQL(ctx context.Context, sql string, params ...any) (json.RawMessage, error)
}

// RetryPolicy retries a failed attempt whose error matches ErrorEquals.
// Zero fields take the Amazon States Language defaults: Interval 1s,
// BackoffRate 2, MaxAttempts 3 (a negative MaxAttempts means never).
type RetryPolicy struct {
	ErrorEquals []string
	Interval    time.Duration
	BackoffRate float64
	MaxAttempts int
	// MaxDelay caps the interval between attempts (0: no cap).
	MaxDelay time.Duration
	// Jitter randomises each delay in [0, delay] ("FULL" jitter).
	Jitter bool
}

func (r RetryPolicy) norm() RetryPolicy {
	if r.Interval <= 0 {
		r.Interval = time.Second
	}
	if r.BackoffRate < 1 {
		r.BackoffRate = 2
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 3
	}
	if r.MaxAttempts < 0 {
		r.MaxAttempts = 0
	}
	return r
}

// CatchHandler routes a failed step whose error matches ErrorEquals to the
// step named Next, which receives the error in Input.Error.
type CatchHandler struct {
	ErrorEquals []string
	Next        string
}

// Op is a comparison in a choice rule.
type Op string

// Comparison operators for choice rules (Amazon States Language names).
const (
	StringEquals             Op = "StringEquals"
	NumericEquals            Op = "NumericEquals"
	NumericLessThan          Op = "NumericLessThan"
	NumericGreaterThan       Op = "NumericGreaterThan"
	NumericLessThanEquals    Op = "NumericLessThanEquals"
	NumericGreaterThanEquals Op = "NumericGreaterThanEquals"
	BooleanEquals            Op = "BooleanEquals"
	IsPresent                Op = "IsPresent"
)

// Rule is one branch of a choice: when the field Field (dot-separated
// names, "" for the whole output) of the output of step Step compares true
// with Value, the step named Next runs.
type Rule struct {
	Step  string
	Field string
	Op    Op
	Value any
	Next  string
}

// GlueJob describes a Glue job run.
type GlueJob struct {
	JobName   string
	Arguments map[string]string
}

// MapSpec is a per-item fan-out: the items are the JSON array at ItemsPath
// (dot-separated field names; "" for the whole output) in the output of
// step ItemsFrom; Func runs once per item, at most MaxConcurrency at once
// (0: the runner's parallelism locally, unlimited on AWS). Each iteration's
// Input holds its Item and Index, and in Deps the outputs of the step's
// other dependencies: the items source's output only when the step also
// names it in DependsOn, so no iteration carries the whole list.
type MapSpec struct {
	ItemsFrom      string
	ItemsPath      string
	MaxConcurrency int
	Func           Func
}

// SQLSpec is a SQL step.
type SQLSpec struct {
	Query  string
	Params []string
	// Database, WorkGroup and OutputLocation are used by Athena on AWS.
	Database       string
	WorkGroup      string
	OutputLocation string
}

// Step is one named step of a pipeline. Build steps with the constructors
// (GoStep, SQLStep, ...) and the chaining methods (After, Retry, ...).
type Step struct {
	Name      string
	Kind      Kind
	DependsOn []string
	Retries   []RetryPolicy
	Catches   []CatchHandler
	Timeout   time.Duration
	Comment   string

	Func     Func
	SQL      SQLSpec
	Glue     GlueJob
	Crawler  string
	Wait     time.Duration
	Rules    []Rule
	Default  string
	Map      MapSpec
	Branches []*Pipeline
	Result   json.RawMessage

	buildErr error // a constructor's error, reported by Validate

	access access // data declared with Reads, Writes and KMS (policy.go)
}

// GoStep is a step running fn.
func GoStep(name string, fn Func) *Step { return &Step{Name: name, Kind: KindGo, Func: fn} }

// SQLStep is a step running a SQL statement with positional parameters.
func SQLStep(name, query string, params ...string) *Step {
	return &Step{Name: name, Kind: KindSQL, SQL: SQLSpec{Query: query, Params: params}}
}

// GlueJobStep is a step running the Glue job jobName and waiting for it.
func GlueJobStep(name, jobName string, args map[string]string) *Step {
	return &Step{Name: name, Kind: KindGlueJob, Glue: GlueJob{JobName: jobName, Arguments: args}}
}

// CrawlerStep is a step running the Glue crawler and waiting until it is done.
func CrawlerStep(name, crawler string) *Step {
	return &Step{Name: name, Kind: KindCrawler, Crawler: crawler}
}

// WaitStep pauses for d.
func WaitStep(name string, d time.Duration) *Step { return &Step{Name: name, Kind: KindWait, Wait: d} }

// ChoiceStep branches: the first matching rule's Next runs, or otherwise
// (which may be "" for none: then no match fails with States.NoChoiceMatched).
// The steps a rule reads become dependencies; the targets that are not
// chosen are skipped, with everything that depends on them.
func ChoiceStep(name string, otherwise string, rules ...Rule) *Step {
	return &Step{Name: name, Kind: KindChoice, Rules: rules, Default: otherwise}
}

// MapStep fans fn out over the items at itemsPath in the output of step
// itemsFrom (which becomes a dependency).
func MapStep(name, itemsFrom, itemsPath string, fn Func) *Step {
	return &Step{Name: name, Kind: KindMap, Map: MapSpec{ItemsFrom: itemsFrom, ItemsPath: itemsPath, Func: fn}}
}

// ParallelStep runs branches at the same time, each a pipeline of its own;
// its output is a JSON array with one object per branch mapping the
// branch's step keys (see Key) to their outputs.
func ParallelStep(name string, branches ...*Pipeline) *Step {
	return &Step{Name: name, Kind: KindParallel, Branches: branches}
}

// PassStep outputs value (any JSON-able value): constants and settings
// that later steps read, or a placeholder.
func PassStep(name string, value any) *Step {
	raw, err := toRaw(value)
	if raw == nil && err == nil {
		raw = json.RawMessage("null")
	}
	return &Step{Name: name, Kind: KindPass, Result: raw, buildErr: err}
}

// After adds dependencies.
func (s *Step) After(steps ...string) *Step { s.DependsOn = append(s.DependsOn, steps...); return s }

// Retry adds a retry policy.
func (s *Step) Retry(r RetryPolicy) *Step { s.Retries = append(s.Retries, r); return s }

// Catch routes errors matching errorEquals to the step next.
func (s *Step) Catch(next string, errorEquals ...string) *Step {
	if len(errorEquals) == 0 {
		errorEquals = []string{ErrorAll}
	}
	s.Catches = append(s.Catches, CatchHandler{ErrorEquals: errorEquals, Next: next})
	return s
}

// WithTimeout limits each attempt of the step to d.
func (s *Step) WithTimeout(d time.Duration) *Step { s.Timeout = d; return s }

// MaxConcurrency limits how many Map iterations run at once.
func (s *Step) MaxConcurrency(n int) *Step { s.Map.MaxConcurrency = n; return s }

// Athena sets where a SQL step runs on AWS.
func (s *Step) Athena(database, workGroup, outputLocation string) *Step {
	s.SQL.Database, s.SQL.WorkGroup, s.SQL.OutputLocation = database, workGroup, outputLocation
	return s
}

// deps returns the step's dependencies, explicit and implied (a Map's items
// source, the steps a choice reads), without duplicates, in a stable order.
func (s *Step) deps() []string {
	out := slices.Clone(s.DependsOn)
	if s.Kind == KindMap && s.Map.ItemsFrom != "" {
		out = append(out, s.Map.ItemsFrom)
	}
	if s.Kind == KindChoice {
		for _, r := range s.Rules {
			out = append(out, r.Step)
		}
	}
	var uniq []string
	for _, d := range out {
		if !slices.Contains(uniq, d) {
			uniq = append(uniq, d)
		}
	}
	return uniq
}

// Pipeline is a DAG of named steps. Build it with New and Add, then check
// it with Validate (the runner and the compiler validate too).
type Pipeline struct {
	name  string
	steps []*Step
}

// New returns an empty pipeline.
func New(name string, steps ...*Step) *Pipeline {
	return &Pipeline{name: name, steps: steps}
}

// Name is the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// Add appends steps.
func (p *Pipeline) Add(steps ...*Step) *Pipeline { p.steps = append(p.steps, steps...); return p }

// Steps returns the steps in the order they were added.
func (p *Pipeline) Steps() []*Step { return slices.Clone(p.steps) }

// Step returns the step named name.
func (p *Pipeline) Step(name string) (*Step, bool) {
	for _, s := range p.steps {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// find looks for a step in this pipeline or any Parallel branch.
func (p *Pipeline) find(name string) (*Step, *Pipeline) {
	for _, s := range p.steps {
		if s.Name == name {
			return s, p
		}
		for _, b := range s.Branches {
			if f, bp := b.find(name); f != nil {
				return f, bp
			}
		}
	}
	return nil, nil
}

const forbiddenNameChars = "<>{}[]?*\"#%\\^|~$&,;:/"

// ValidateName checks a pipeline or step name against the rules of Step
// Functions: 1 to 80 characters, no whitespace, brackets (< > { } [ ]),
// wildcards (? *), any of " # % \ ^ | ~ $ & , ; : /, or control characters.
func ValidateName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s name is empty", ErrInvalidPipeline, kind)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalidPipeline, kind, name)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Errorf("%w: %s %q is %d characters long; Step Functions allows at most %d",
			ErrInvalidPipeline, kind, name, n, MaxNameLength)
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("%w: %s %q contains whitespace, which Step Functions refuses", ErrInvalidPipeline, kind, name)
		case unicode.IsControl(r):
			return fmt.Errorf("%w: %s %q contains a control character (%U), which Step Functions refuses", ErrInvalidPipeline, kind, name, r)
		case strings.ContainsRune(forbiddenNameChars, r):
			return fmt.Errorf("%w: %s %q contains %q, which Step Functions refuses", ErrInvalidPipeline, kind, name, r)
		}
	}
	return nil
}

// Key is the JSON key a step's result is stored under in the state of a
// compiled state machine: the name with every character other than ASCII
// letters, digits and '_' replaced by '_', and an "s" in front when it
// does not start with a letter (JSONPath reference paths need one). Keys
// must be unique within a pipeline (Validate checks).
func Key(name string) string {
	var b strings.Builder
	for i, r := range name {
		letter := r < 128 && unicode.IsLetter(r)
		if i == 0 && !letter {
			b.WriteByte('s')
		}
		if letter || r < 128 && (unicode.IsDigit(r) || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func validField(path string) bool {
	if path == "" {
		return true
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r < 128 && (unicode.IsLetter(r) || (i > 0 && (r == '_' || unicode.IsDigit(r))))) {
				return false
			}
		}
	}
	return true
}

func stepErr(step, format string, args ...any) error {
	return fmt.Errorf("%w: step %q: %s", ErrInvalidPipeline, step, fmt.Sprintf(format, args...))
}

// Validate checks the pipeline: names Step Functions accepts, no duplicate
// names (or result keys), known dependencies and targets, no cycles, a Map
// with an items source, steps that can run at all, and kind-specific
// settings. Each error names the step.
func (p *Pipeline) Validate() error {
	return p.validate(map[string]bool{}, map[string]bool{})
}

func (p *Pipeline) validate(names, keys map[string]bool) error {
	if err := ValidateName("pipeline", p.name); err != nil {
		return err
	}
	if len(p.steps) == 0 {
		return fmt.Errorf("%w: pipeline %q has no steps", ErrInvalidPipeline, p.name)
	}
	local := map[string]*Step{}
	for _, s := range p.steps {
		if s == nil {
			return fmt.Errorf("%w: pipeline %q has a nil step", ErrInvalidPipeline, p.name)
		}
		if err := ValidateName("step", s.Name); err != nil {
			return fmt.Errorf("step %q: %w", s.Name, err)
		}
		if names[s.Name] {
			return stepErr(s.Name, "duplicate step name")
		}
		names[s.Name] = true
		if keys[Key(s.Name)] {
			return stepErr(s.Name, "its result key %q is the same as another step's (keys replace characters other than letters, digits and '_' with '_')", Key(s.Name))
		}
		keys[Key(s.Name)] = true
		local[s.Name] = s
	}
	for _, s := range p.steps {
		if err := s.validateKind(p, names, keys); err != nil {
			return err
		}
		for _, d := range s.deps() {
			if d == s.Name {
				return stepErr(s.Name, "depends on itself")
			}
			if local[d] == nil {
				return stepErr(s.Name, "depends on unknown step %q", d)
			}
		}
		for _, c := range s.Catches {
			if local[c.Next] == nil {
				return stepErr(s.Name, "catch handler %q is not a step of pipeline %q", c.Next, p.name)
			}
			if c.Next == s.Name {
				return stepErr(s.Name, "catches its own errors")
			}
			if len(c.ErrorEquals) == 0 {
				return stepErr(s.Name, "catch to %q matches no errors", c.Next)
			}
		}
		for _, r := range s.Retries {
			if len(r.ErrorEquals) == 0 {
				return stepErr(s.Name, "retry policy matches no errors")
			}
		}
		if err := s.checkStatesAll(); err != nil {
			return err
		}
		if s.Timeout < 0 {
			return stepErr(s.Name, "negative timeout")
		}
	}
	g, err := newGraph(p)
	if err != nil {
		return err
	}
	return g.checkReachable()
}

// checkStatesAll refuses what Step Functions refuses: States.ALL together
// with other error names, or in a retrier or catcher other than the last.
func (s *Step) checkStatesAll() error {
	check := func(what string, n int, errs func(int) []string) error {
		for k := range n {
			e := errs(k)
			if !slices.Contains(e, ErrorAll) {
				continue
			}
			if len(e) > 1 {
				return stepErr(s.Name, "%s %d lists %s with other error names %v; Step Functions wants it alone", what, k, ErrorAll, e)
			}
			if k != n-1 {
				return stepErr(s.Name, "%s %d matches %s but is not the last %s; Step Functions wants it last", what, k, ErrorAll, what)
			}
		}
		return nil
	}
	if err := check("retry policy", len(s.Retries), func(k int) []string { return s.Retries[k].ErrorEquals }); err != nil {
		return err
	}
	return check("catch", len(s.Catches), func(k int) []string { return s.Catches[k].ErrorEquals })
}

func (s *Step) validateKind(p *Pipeline, names, keys map[string]bool) error {
	switch s.Kind {
	case KindGo:
		if s.Func == nil {
			return stepErr(s.Name, "Go step without a function")
		}
	case KindSQL:
		if strings.TrimSpace(s.SQL.Query) == "" {
			return stepErr(s.Name, "SQL step without a statement")
		}
	case KindGlueJob:
		if s.Glue.JobName == "" {
			return stepErr(s.Name, "Glue job step without a job name")
		}
	case KindCrawler:
		if s.Crawler == "" {
			return stepErr(s.Name, "crawler step without a crawler name")
		}
	case KindWait:
		if s.Wait < 0 {
			return stepErr(s.Name, "negative wait")
		}
		if len(s.Catches) > 0 || len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a wait cannot have retry, catch or timeout policies")
		}
	case KindPass:
		if s.buildErr != nil {
			return stepErr(s.Name, "pass value: %v", s.buildErr)
		}
		if s.Result == nil || !json.Valid(s.Result) {
			return stepErr(s.Name, "pass step without a JSON value")
		}
		if len(s.Catches) > 0 || len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a pass step cannot have retry, catch or timeout policies")
		}
	case KindChoice:
		if len(s.Rules) == 0 {
			return stepErr(s.Name, "choice without rules")
		}
		for i, r := range s.Rules {
			if r.Step == "" {
				return stepErr(s.Name, "rule %d reads no step", i)
			}
			if !validField(r.Field) {
				return stepErr(s.Name, "rule %d: field %q is not dot-separated names (each an ASCII letter, then letters, digits or '_')", i, r.Field)
			}
			if err := checkOp(r); err != nil {
				return stepErr(s.Name, "rule %d: %v", i, err)
			}
			if _, ok := p.Step(r.Next); !ok {
				return stepErr(s.Name, "rule %d goes to unknown step %q", i, r.Next)
			}
		}
		if s.Default != "" {
			if _, ok := p.Step(s.Default); !ok {
				return stepErr(s.Name, "default goes to unknown step %q", s.Default)
			}
		}
		if len(s.Catches) > 0 || len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a choice cannot have retry, catch or timeout policies")
		}
	case KindMap:
		if s.Map.ItemsFrom == "" {
			return stepErr(s.Name, "Map without an items source (MapSpec.ItemsFrom names the step whose output lists the items)")
		}
		if !validField(s.Map.ItemsPath) {
			return stepErr(s.Name, "items path %q is not dot-separated names (each an ASCII letter, then letters, digits or '_')", s.Map.ItemsPath)
		}
		if s.Map.Func == nil {
			return stepErr(s.Name, "Map without a function to run per item")
		}
		if s.Map.MaxConcurrency < 0 {
			return stepErr(s.Name, "negative MaxConcurrency")
		}
	case KindParallel:
		if len(s.Branches) == 0 {
			return stepErr(s.Name, "Parallel without branches")
		}
		if len(s.Retries) > 0 || s.Timeout > 0 {
			return stepErr(s.Name, "a Parallel step cannot have retry or timeout policies (give them to the steps in its branches)")
		}
		for i, b := range s.Branches {
			if b == nil {
				return stepErr(s.Name, "branch %d is nil", i)
			}
			if err := b.validate(names, keys); err != nil {
				return fmt.Errorf("step %q branch %d: %w", s.Name, i, err)
			}
		}
	default:
		return stepErr(s.Name, "unknown kind %v", s.Kind)
	}
	return nil
}

func checkOp(r Rule) error {
	switch r.Op {
	case StringEquals:
		if _, ok := r.Value.(string); !ok {
			return fmt.Errorf("%s needs a string value", r.Op)
		}
	case NumericEquals, NumericLessThan, NumericGreaterThan, NumericLessThanEquals, NumericGreaterThanEquals:
		if _, ok := toFloat(r.Value); !ok {
			return fmt.Errorf("%s needs a numeric value", r.Op)
		}
	case BooleanEquals, IsPresent:
		if _, ok := r.Value.(bool); !ok {
			return fmt.Errorf("%s needs a bool value", r.Op)
		}
	default:
		return fmt.Errorf("unknown operator %q", r.Op)
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
