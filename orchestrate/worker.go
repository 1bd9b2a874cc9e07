package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// TaskTokenSender reports a step's result to Step Functions for a task
// started with .waitForTaskToken. *SFN implements it.
type TaskTokenSender interface {
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
	SendTaskFailure(ctx context.Context, token, errorName, cause string) error
}

// Worker runs single steps of registered pipelines inside a compiled state
// machine: as the command of an ECS task (Run) or as a Lambda handler
// (HandleLambda). One binary registers its pipelines and serves them all.
type Worker struct {
	// Stdout receives the step's output as one JSON line (default os.Stdout).
	Stdout io.Writer
	// Tokens sends results of .waitForTaskToken tasks back to Step
	// Functions; required when LAKEKIT_TASK_TOKEN is set.
	Tokens TaskTokenSender

	mu        sync.RWMutex
	pipelines map[string]*Pipeline
}

// NewWorker returns a worker serving pipelines. It panics if one is
// invalid or two share a name, like http.Handle on duplicates: both are
// programming errors found at start-up.
func NewWorker(pipelines ...*Pipeline) *Worker {
	w := &Worker{}
	for _, p := range pipelines {
		if err := w.Register(p); err != nil {
			panic(err)
		}
	}
	return w
}

// Register adds a pipeline.
func (w *Worker) Register(p *Pipeline) error {
	if err := p.Validate(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pipelines == nil {
		w.pipelines = map[string]*Pipeline{}
	}
	if _, dup := w.pipelines[p.Name()]; dup {
		return fmt.Errorf("%w: pipeline %q registered twice", ErrInvalidPipeline, p.Name())
	}
	w.pipelines[p.Name()] = p
	return nil
}

// IsInvocation reports whether a program was started to run a step:
// the -lakekit-step flag is among args or LAKEKIT_STEP is set in env. A
// main function uses it to choose between its own work and Worker.Run.
func IsInvocation(args, env []string) bool {
	for _, a := range args {
		if a == "-lakekit-step" || a == "--lakekit-step" || strings.HasPrefix(a, "-lakekit-step=") || strings.HasPrefix(a, "--lakekit-step=") {
			return true
		}
	}
	return lookupEnv(env, EnvStep) != ""
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Run runs one step as an ECS task does: the pipeline and step come from
// the flags -lakekit-pipeline and -lakekit-step (or LAKEKIT_PIPELINE and
// LAKEKIT_STEP in env), the state machine's state from -lakekit-state or
// LAKEKIT_STATE. The output is written to Stdout as one JSON line and, when
// LAKEKIT_TASK_TOKEN is set, sent to Step Functions (a failure is sent
// too). Pass os.Args[1:] and os.Environ().
func (w *Worker) Run(ctx context.Context, args []string, env []string) error {
	fs := flag.NewFlagSet("lakekit-worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pipeline := fs.String("lakekit-pipeline", lookupEnv(env, EnvPipeline), "pipeline name")
	step := fs.String("lakekit-step", lookupEnv(env, EnvStep), "step name")
	state := fs.String("lakekit-state", lookupEnv(env, EnvState), "state machine state (JSON)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: worker arguments: %v", ErrBadInput, err)
	}
	token := lookupEnv(env, EnvTaskToken)
	out, err := w.Invoke(ctx, *pipeline, *step, json.RawMessage(*state))
	if token != "" {
		if w.Tokens == nil {
			return errors.Join(err, fmt.Errorf("%w: %s is set but Worker.Tokens is nil", ErrNotConfigured, EnvTaskToken))
		}
		var serr error
		if err != nil {
			serr = w.Tokens.SendTaskFailure(ctx, token, reportedName(err), err.Error())
		} else {
			serr = w.Tokens.SendTaskSuccess(ctx, token, out)
		}
		if serr != nil {
			return errors.Join(err, serr)
		}
	}
	if err != nil {
		return err
	}
	stdout := w.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		return err
	}
	return nil
}

// LambdaEvent is the payload a compiled lambda:invoke task sends.
type LambdaEvent struct {
	Pipeline string          `json:"pipeline"`
	Step     string          `json:"step"`
	State    json.RawMessage `json:"state"`
}

// HandleLambda runs the step a Lambda event names and returns its output.
// Give it to lambda.Start from github.com/aws/aws-lambda-go.
func (w *Worker) HandleLambda(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	var ev LambdaEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("%w: lambda event: %v", ErrBadInput, err)
	}
	return w.Invoke(ctx, ev.Pipeline, ev.Step, ev.State)
}

// workerState is the state machine's state as a compiled task passes it.
type workerState struct {
	Params json.RawMessage            `json:"params"`
	Steps  map[string]json.RawMessage `json:"steps"`
	Item   json.RawMessage            `json:"item"`
	Index  int                        `json:"index"`
}

// Invoke runs one Go or Map step of a registered pipeline on a state of
// its compiled state machine and returns the step's output ("null" when
// the step returns none).
func (w *Worker) Invoke(ctx context.Context, pipeline, step string, state json.RawMessage) (Output, error) {
	w.mu.RLock()
	p := w.pipelines[pipeline]
	w.mu.RUnlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %q (step %q)", ErrNoSuchPipeline, pipeline, step)
	}
	s, level := p.find(step)
	if s == nil {
		return nil, fmt.Errorf("%w: pipeline %q has no step %q", ErrNoSuchStep, pipeline, step)
	}
	if s.Kind != KindGo && s.Kind != KindMap {
		return nil, fmt.Errorf("%w: step %q of pipeline %q is a %v step; a worker runs Go and Map steps", ErrBadInput, step, pipeline, s.Kind)
	}
	var st workerState
	if len(state) == 0 {
		state = json.RawMessage("{}")
	}
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, fmt.Errorf("%w: step %q of pipeline %q: state is not a JSON object: %v", ErrBadInput, step, pipeline, err)
	}
	in := Input{Pipeline: pipeline, Step: step, Params: st.Params, Item: st.Item, Index: st.Index}
	g, err := newGraph(level)
	if err != nil {
		return nil, err
	}
	i := g.idx[step]
	if deps := g.inputDeps(i); len(deps) > 0 {
		in.Deps = map[string]json.RawMessage{}
		for _, d := range deps {
			ds := g.steps[d]
			v := st.Steps[Key(ds.Name)]
			if ds.Kind == KindGo && v != nil {
				var wrapped struct {
					Output json.RawMessage `json:"output"`
				}
				if json.Unmarshal(v, &wrapped) == nil {
					v = wrapped.Output
				}
			}
			in.Deps[ds.Name] = v
		}
	}
	for _, src := range g.sources[i] {
		var e struct{ Error, Cause string }
		if v := st.Steps[Key(g.steps[src].Name)]; v != nil && json.Unmarshal(v, &e) == nil && e.Error != "" {
			in.Error = &StepError{Step: g.steps[src].Name, Name: e.Error, Cause: e.Cause}
			break
		}
	}
	fn := s.Func
	if s.Kind == KindMap {
		if in.Item == nil {
			return nil, fmt.Errorf("%w: step %q of pipeline %q is a Map step and the state has no item", ErrBadInput, step, pipeline)
		}
		fn = s.Map.Func
	}
	out, err := fn(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("step %q of pipeline %q: %w", step, pipeline, err)
	}
	if out == nil {
		out = Output("null")
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("%w: step %q of pipeline %q returned output that is not JSON", ErrBadInput, step, pipeline)
	}
	return out, nil
}
