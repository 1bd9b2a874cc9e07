package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

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
	// Distributed, when set, compiles the step to a Distributed Map over
	// an item file in S3 (see DistributedMap); ItemsPath is then unused.
	Distributed *DistributedMap
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
