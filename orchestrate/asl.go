package orchestrate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// ECSOptions run Go steps as Amazon ECS tasks on Fargate, the task
// definition's container running the same binary with a Worker.
type ECSOptions struct {
	Cluster        string // cluster name or ARN
	TaskDefinition string // family[:revision] or ARN
	ContainerName  string // the container that runs the worker
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP bool
	// The state reaches the container as LAKEKIT_STATE in the container
	// overrides, which ECS limits to 8 KiB in all: keep step outputs small
	// (write data to the lake, pass keys and counts).
	//
	// WaitForTaskToken uses ecs:runTask.waitForTaskToken: the worker sends
	// its output back with SendTaskSuccess, so later steps can read it. With
	// the default (runTask.sync) the step's result is {"TaskArn": ...}
	// (taken from ECS's task description) and the output is only logged.
	WaitForTaskToken bool
}

// LambdaOptions run Go steps by invoking a Lambda function whose handler is
// Worker.HandleLambda.
type LambdaOptions struct {
	FunctionName string // name or ARN
}

// CompileOptions shape the Amazon States Language a pipeline compiles to.
// Exactly one of ECS and Lambda must be set when the pipeline has Go or
// Map steps.
type CompileOptions struct {
	ECS    *ECSOptions
	Lambda *LambdaOptions
	// CrawlerPoll is the pause between crawler polls (default 30s).
	CrawlerPoll time.Duration
	// Athena defaults for SQL steps that do not set their own.
	AthenaDatabase, AthenaWorkGroup, AthenaOutputLocation string
}

// Resources of the service integrations the compiler uses.
const (
	ResourceECSSync      = "arn:aws:states:::ecs:runTask.sync"
	ResourceECSToken     = "arn:aws:states:::ecs:runTask.waitForTaskToken"
	ResourceLambda       = "arn:aws:states:::lambda:invoke"
	ResourceAthenaSync   = "arn:aws:states:::athena:startQueryExecution.sync"
	ResourceGlueJobSync  = "arn:aws:states:::glue:startJobRun.sync"
	ResourceStartCrawler = "arn:aws:states:::aws-sdk:glue:startCrawler"
	ResourceGetCrawler   = "arn:aws:states:::aws-sdk:glue:getCrawler"
)

// Names of the environment variables and flags a compiled ECS task passes
// to the worker.
const (
	EnvPipeline  = "LAKEKIT_PIPELINE"
	EnvStep      = "LAKEKIT_STEP"
	EnvState     = "LAKEKIT_STATE"
	EnvTaskToken = "LAKEKIT_TASK_TOKEN"
)

// InitState is the first state of every compiled pipeline: it moves the
// execution input under "params" and starts an empty "steps" object.
const InitState = "lakekit:init"

type obj = map[string]any

type compiler struct {
	p    *Pipeline
	opts CompileOptions
	// owner maps every generated state name to its step.
	owner map[string]string
	// succeed holds Succeed states a guard of a level's last step needs.
	succeed map[string]bool
}

// Compile turns a pipeline into an Amazon States Language definition. The
// same pipeline and options always give the same bytes.
//
// The mapping:
//
//   - The state is {"params": <execution input>, "steps": {<key>: result}}:
//     each step writes its result under $.steps.<Key(name)> (ResultPath).
//   - The DAG becomes a chain in a stable topological order (the order
//     steps were added, among those whose dependencies are done). Fan-in
//     needs no join state; independent steps run one after the other on
//     AWS (use a Parallel step to run branches at once). A step that may
//     not run (a choice target, a catch handler, a dependent of either or
//     of a step with a catch) is preceded by a Choice state "if:<name>"
//     that checks its dependencies' results and skips it otherwise.
//   - Go steps: ecs:runTask.sync (or .waitForTaskToken) with the pipeline
//     and step in the container's command and the state in LAKEKIT_STATE,
//     or lambda:invoke with {"pipeline","step","state"} as the payload; a
//     Lambda or task-token result is kept as {"output": <output>}, a
//     runTask.sync result as {"TaskArn": <arn>} (ECS's task description
//     echoes the overrides). The state a task gets holds only the params
//     and the results of the step's dependencies (a catch handler's: of
//     the step it catches), so it does not grow with the pipeline: RunTask
//     allows 8,192 characters of overrides. For ECS a Pass state
//     "in:<name>" builds it in the step's slot first.
//   - Lambda tasks retry LambdaServiceErrors before the step's own Retry.
//   - SQL steps: athena:startQueryExecution.sync; Glue jobs:
//     glue:startJobRun.sync; crawlers: a Parallel state with one branch,
//     aws-sdk:glue:startCrawler ("start:<name>"), then a loop
//     "wait:<name>" → aws-sdk:glue:getCrawler ("poll:<name>") → Choice
//     ("check:<name>") until the crawler is READY with a last crawl, which
//     must have SUCCEEDED ("ok:<name>") or the branch fails with
//     Lakekit.StepFailed ("failed:<name>"); the step's Retry and Catch sit
//     on the Parallel state.
//   - Map: a Map state over the array at the items path of the producing
//     step's result, ItemProcessor INLINE running the Go function per item
//     ("item:<name>") on {"item","index","params","steps"} (steps: the
//     explicit dependencies' results, not the list), MaxConcurrency;
//     Parallel: a Parallel state, each
//     branch compiled the same way and ending in a Pass state returning its
//     $.steps.
//   - Choice: a Choice state whose rules go to Pass states
//     "chose:<name>:<target>" recording {"next": target}.
//   - Retry and Catch become Retry and Catch (a caught error is stored as
//     the step's result {"Error","Cause"}); Timeout becomes TimeoutSeconds.
//     Intervals and timeouts round up to whole seconds.
func Compile(p *Pipeline, opts *CompileOptions) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &compiler{p: p, owner: map[string]string{}, succeed: map[string]bool{}}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.ECS != nil && c.opts.Lambda != nil {
		return nil, fmt.Errorf("%w: pipeline %q: set either ECS or Lambda options, not both", ErrInvalidPipeline, p.Name())
	}
	states := obj{}
	start, err := c.chain(p, states, "")
	if err != nil {
		return nil, err
	}
	states[InitState] = obj{"Type": "Pass", "Parameters": obj{"params.$": "$", "steps": obj{}}, "Next": start}
	def := obj{"Comment": "lakekit pipeline " + p.Name(), "StartAt": InitState, "States": states}
	return marshalIndent(def)
}

// marshalIndent encodes with sorted keys (maps) and without HTML escaping,
// so SQL like "a < b" stays readable.
func marshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// StateOwners maps each state name of the compiled pipeline to the step it
// belongs to (guard states "if:..." and the init state are left out).
func StateOwners(p *Pipeline, opts *CompileOptions) (map[string]string, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &compiler{p: p, owner: map[string]string{}, succeed: map[string]bool{}}
	if opts != nil {
		c.opts = *opts
	}
	if _, err := c.chain(p, obj{}, ""); err != nil {
		return nil, err
	}
	return c.owner, nil
}

// genName makes a generated state name: prefix + name, shortened with a
// hash to Step Functions' 80 characters. The ':' in every prefix keeps them
// apart from step names, which may not contain one.
func genName(prefix, name string) string {
	s := prefix + name
	if len([]rune(s)) <= MaxNameLength {
		return s
	}
	h := sha256.Sum256([]byte(s))
	r := []rune(s)
	return string(r[:MaxNameLength-9]) + "~" + hex.EncodeToString(h[:4])
}

func slot(name string) string { return "$.steps." + Key(name) }

// outputPath is where the value the local runner calls a step's output
// lives in the state.
func (c *compiler) outputPath(s *Step) string {
	if s.Kind == KindGo {
		return slot(s.Name) + ".output"
	}
	return slot(s.Name)
}

// chain compiles one level (the pipeline or a Parallel branch) into states
// and returns the name of its first state. end is the state after the last
// step ("" for End).
func (c *compiler) chain(p *Pipeline, states obj, end string) (string, error) {
	g, err := newGraph(p)
	if err != nil {
		return "", err
	}
	cond := make([]bool, len(g.steps))
	for _, i := range g.order {
		_, handler := g.sources[i]
		_, target := g.choiceOf[i]
		cond[i] = handler || target
		for _, d := range g.deps[i] {
			if cond[d] || len(g.steps[d].Catches) > 0 {
				cond[i] = true
			}
		}
	}
	entry := func(k int) string { // entry state of the k-th step in order
		if k >= len(g.order) {
			return end
		}
		i := g.order[k]
		if cond[i] {
			return genName("if:", g.steps[i].Name)
		}
		return c.head(g.steps[i])
	}
	for k, i := range g.order {
		s := g.steps[i]
		next := entry(k + 1)
		if cond[i] {
			states[entry(k)] = c.guard(g, i, next)
		}
		if err := c.step(g, s, states, next); err != nil {
			return "", err
		}
	}
	return entry(0), nil
}

func setNext(st obj, next string) {
	if next == "" {
		st["End"] = true
	} else {
		st["Next"] = next
	}
}

// ran is the list of conditions under which step d produced a result.
func (c *compiler) ran(g *graph, d int) []any {
	s := g.steps[d]
	if s.Kind == KindWait { // a Wait state writes nothing: it ran if its own inputs did
		var out []any
		for _, dd := range g.deps[d] {
			out = append(out, c.ran(g, dd)...)
		}
		if z, ok := g.choiceOf[d]; ok {
			out = append(out, obj{"Variable": slot(g.steps[z].Name) + ".next", "StringEquals": s.Name})
		}
		return out
	}
	out := []any{obj{"Variable": slot(s.Name), "IsPresent": true}}
	if len(s.Catches) > 0 {
		out = append(out, obj{"Not": obj{"Variable": slot(s.Name) + ".Error", "IsPresent": true}})
	}
	return out
}

func (c *compiler) guard(g *graph, i int, skip string) obj {
	s := g.steps[i]
	var conds []any
	if srcs, ok := g.sources[i]; ok {
		for _, src := range srcs {
			conds = append(conds, obj{"Variable": slot(g.steps[src].Name) + ".Error", "IsPresent": true})
		}
		if len(conds) > 1 {
			conds = []any{obj{"Or": conds}}
		}
	} else {
		for _, d := range g.deps[i] {
			conds = append(conds, c.ran(g, d)...)
		}
		if z, ok := g.choiceOf[i]; ok {
			conds = append(conds, obj{"Variable": slot(g.steps[z].Name) + ".next", "StringEquals": s.Name})
		}
	}
	rule := obj{}
	if len(conds) == 1 {
		rule = conds[0].(obj)
	} else {
		rule["And"] = conds
	}
	rule["Next"] = c.head(s)
	st := obj{"Type": "Choice", "Choices": []any{rule}}
	if skip == "" {
		skip = genName("skip:", s.Name)
		// A Choice cannot end an execution: a Succeed state does.
		c.succeed[skip] = true
	}
	st["Default"] = skip
	return st
}

func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// LambdaServiceErrors are the transient errors of the Lambda service that
// Lambda tasks retry before the step's own retry policies, as the Step
// Functions best practice "Handle Lambda service exceptions" recommends
// (every 2s, backing off 2x, at most 6 times). A step whose retry policies
// name one of them decides for itself.
var LambdaServiceErrors = []string{"Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException",
	"Lambda.AWSLambdaException", "Lambda.SdkClientException"}

// retries renders the step's retry policies for a task state, after the
// Lambda service retrier on a Lambda task.
func (c *compiler) retries(s *Step) []any {
	var out []any
	if c.opts.Lambda != nil && (s.Kind == KindGo || s.Kind == KindMap) && !namesAny(s.Retries, LambdaServiceErrors) {
		out = append(out, obj{"ErrorEquals": LambdaServiceErrors, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2})
	}
	for _, r := range s.Retries {
		n := r.norm()
		rr := obj{"ErrorEquals": r.ErrorEquals, "IntervalSeconds": seconds(n.Interval), "BackoffRate": n.BackoffRate,
			"MaxAttempts": n.MaxAttempts}
		if n.MaxDelay > 0 {
			rr["MaxDelaySeconds"] = seconds(n.MaxDelay)
		}
		if n.Jitter {
			rr["JitterStrategy"] = "FULL"
		}
		out = append(out, rr)
	}
	return out
}

func namesAny(rs []RetryPolicy, names []string) bool {
	for _, r := range rs {
		for _, e := range r.ErrorEquals {
			if slices.Contains(names, e) {
				return true
			}
		}
	}
	return false
}

// decorate adds Retry, Catch and TimeoutSeconds to a Task, Map or Parallel
// state. A caught error goes to the next state in the chain (the handler's
// guard sees it).
func (c *compiler) decorate(s *Step, st obj, next string, timeout bool) {
	if r := c.retries(s); len(r) > 0 {
		st["Retry"] = r
	}
	if len(s.Catches) > 0 {
		var cs []any
		for _, h := range s.Catches {
			cs = append(cs, obj{"ErrorEquals": h.ErrorEquals, "Next": next, "ResultPath": slot(s.Name)})
		}
		st["Catch"] = cs
	}
	if timeout && s.Timeout > 0 {
		st["TimeoutSeconds"] = seconds(s.Timeout)
	}
}

// head is the first state of a step: the Pass state "in:<name>" that
// builds an ECS Go step's input, or the step's own state.
func (c *compiler) head(s *Step) string {
	if s.Kind == KindGo && c.opts.ECS != nil && c.opts.Lambda == nil {
		return genName("in:", s.Name)
	}
	return s.Name
}

// input is the state a Go step's worker receives, as a Parameters
// template: the run's parameters and the results of the steps whose
// outputs become its Input.Deps (for a catch handler, the step whose
// error it takes), never the whole state, which grows with every step.
// A handler of several steps gets all results: only the one that failed
// is sure to be there, and a path to a missing one fails the execution.
func (c *compiler) input(g *graph, i int) obj {
	if srcs := g.sources[i]; len(srcs) > 1 {
		return obj{"params.$": "$.params", "steps.$": "$.steps"}
	}
	refs := g.inputDeps(i)
	if srcs, ok := g.sources[i]; ok {
		refs = srcs
	}
	steps := obj{}
	for _, d := range refs {
		if ds := g.steps[d]; ds.Kind != KindWait { // a Wait state leaves no result
			steps[Key(ds.Name)+".$"] = slot(ds.Name)
		}
	}
	return obj{"params.$": "$.params", "steps": steps}
}
