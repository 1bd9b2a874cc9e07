package orchestrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake"
)

// State is the state of a step or of a run.
type State string

// Step and run states.
const (
	StatePending   State = "pending"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateSkipped   State = "skipped"
)

// Run is the recorded history of one run of a pipeline, stored as JSON in
// the lake under _lakekit/runs/<pipeline>/<run id>.json.
type Run struct {
	ID       string              `json:"id"`
	Pipeline string              `json:"pipeline"`
	State    State               `json:"state"`
	Params   json.RawMessage     `json:"params,omitempty"`
	Started  time.Time           `json:"started,omitzero"`
	Ended    time.Time           `json:"ended,omitzero"`
	Resumes  int                 `json:"resumes,omitempty"`
	Error    string              `json:"error,omitempty"`
	Steps    map[string]*StepRun `json:"steps"`
}

// StepRun is the history of one step within a run.
type StepRun struct {
	State    State           `json:"state"`
	Started  time.Time       `json:"started,omitzero"`
	Ended    time.Time       `json:"ended,omitzero"`
	Attempts []Attempt       `json:"attempts,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
	Error    *StepError      `json:"error,omitempty"`
	// CaughtBy names the catch handler that took this step's error.
	CaughtBy string `json:"caughtBy,omitempty"`
	// Items counts the iterations of a Map step.
	Items int `json:"items,omitempty"`
}

// Attempt is one try of a step.
type Attempt struct {
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	Error   string    `json:"error,omitempty"`
}

// StepStates returns each step's state.
func (r *Run) StepStates() map[string]State {
	out := make(map[string]State, len(r.Steps))
	for n, s := range r.Steps {
		out[n] = s.State
	}
	return out
}

// RunnerOptions configure a Runner. A nil *RunnerOptions means defaults.
type RunnerOptions struct {
	// Parallelism bounds how many steps run at once (default GOMAXPROCS,
	// at least 2). Map steps bound their iterations by MaxConcurrency, or
	// by Parallelism when that is 0.
	Parallelism int
	// SQL runs SQL steps.
	SQL SQLRunner
	// Glue runs Glue job and crawler steps.
	Glue *Glue
	// Logger gets a line per step transition (default: the lake's logger).
	Logger *slog.Logger
}

// Runner runs pipelines in-process and records their history in a lake.
type Runner struct {
	store *lake.Store
	opts  RunnerOptions
	log   *slog.Logger
}

// NewRunner returns a runner recording runs in lk's system store "runs".
func NewRunner(lk *lake.Lake, opts *RunnerOptions) (*Runner, error) {
	st, err := lk.System("runs")
	if err != nil {
		return nil, fmt.Errorf("orchestrate: run history store: %w", err)
	}
	r := &Runner{store: st}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Parallelism <= 0 {
		r.opts.Parallelism = max(2, runtime.GOMAXPROCS(0))
	}
	r.log = r.opts.Logger
	if r.log == nil {
		r.log = lk.Logger()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

func newRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

func runKey(pipeline, id string) string { return pipeline + "/" + id + ".json" }

// Run runs p with params (any JSON-able value, or json.RawMessage) and
// returns its history. When a step fails and no catch handler takes the
// error, the returned error wraps ErrRunFailed and the step's error; the
// Run is returned too, and Resume can finish it.
func (r *Runner) Run(ctx context.Context, p *Pipeline, params any) (*Run, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	raw, err := toRaw(params)
	if err != nil {
		return nil, fmt.Errorf("%w: pipeline %q params: %v", ErrBadInput, p.Name(), err)
	}
	run := &Run{ID: newRunID(), Pipeline: p.Name(), State: StateRunning, Params: raw, Started: time.Now().UTC(),
		Steps: map[string]*StepRun{}}
	return r.execute(ctx, p, run)
}

// Resume runs again the steps of a recorded run that did not succeed,
// giving the succeeded ones' recorded outputs to their dependents.
func (r *Runner) Resume(ctx context.Context, p *Pipeline, runID string) (*Run, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	run, err := r.LoadRun(ctx, p.Name(), runID)
	if err != nil {
		return nil, err
	}
	for name, s := range run.Steps {
		if s.State != StateSucceeded {
			attempts := s.Attempts
			run.Steps[name] = &StepRun{State: StatePending, Attempts: attempts}
		}
	}
	run.Resumes++
	run.State, run.Error, run.Ended = StateRunning, "", time.Time{}
	return r.execute(ctx, p, run)
}

// LoadRun reads a recorded run.
func (r *Runner) LoadRun(ctx context.Context, pipeline, runID string) (*Run, error) {
	b, err := r.store.ReadAll(ctx, runKey(pipeline, runID))
	if errors.Is(err, lake.ErrNotFound) {
		return nil, fmt.Errorf("%w: pipeline %q run %q", ErrNoSuchRun, pipeline, runID)
	}
	if err != nil {
		return nil, fmt.Errorf("orchestrate: loading run %q: %w", runID, err)
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("orchestrate: decoding run %q: %w", runID, err)
	}
	if run.Steps == nil {
		run.Steps = map[string]*StepRun{}
	}
	return &run, nil
}

// Runs lists the ids of the recorded runs of a pipeline, oldest first.
func (r *Runner) Runs(ctx context.Context, pipeline string) ([]string, error) {
	var ids []string
	for e, err := range r.store.List(ctx, pipeline+"/", nil) {
		if err != nil {
			return nil, err
		}
		id := strings.TrimSuffix(strings.TrimPrefix(e.Key, pipeline+"/"), ".json")
		if !strings.Contains(id, "/") {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// execution is the shared state of one run.
type execution struct {
	r   *Runner
	p   *Pipeline
	mu  sync.Mutex
	run *Run
	// saveMu orders saves: a save holds it from marshalling to writing, so
	// the last write is always the newest snapshot. Without it two
	// Parallel branches can write in the opposite order to the one they
	// marshalled in, and the record loses the newer branch's step.
	saveMu sync.Mutex
}

func (r *Runner) execute(ctx context.Context, p *Pipeline, run *Run) (*Run, error) {
	e := &execution{r: r, p: p, run: run}
	var walk func(*Pipeline)
	walk = func(q *Pipeline) {
		for _, s := range q.steps {
			e.step(s.Name)
			for _, b := range s.Branches {
				walk(b)
			}
		}
	}
	walk(p)
	if err := e.save(ctx); err != nil {
		return nil, err
	}
	g, _ := newGraph(p)
	runErr := e.runGraph(ctx, g)
	e.mu.Lock()
	run.Ended = time.Now().UTC()
	if runErr != nil {
		run.State, run.Error = StateFailed, runErr.Error()
	} else {
		run.State = StateSucceeded
		for _, sr := range run.Steps {
			if sr.State == StatePending { // inside a skipped Parallel step
				sr.State = StateSkipped
			}
		}
	}
	e.mu.Unlock()
	// Save even when ctx was cancelled: the history must say what happened.
	if err := e.save(context.WithoutCancel(ctx)); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return run, fmt.Errorf("%w: pipeline %q run %s: %w", ErrRunFailed, p.Name(), run.ID, runErr)
	}
	return run, nil
}

func (e *execution) save(ctx context.Context) error {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	b, err := json.MarshalIndent(e.run, "", "  ")
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.r.store.PutBytes(ctx, runKey(e.run.Pipeline, e.run.ID), b, &lake.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("orchestrate: saving run %s: %w", e.run.ID, err)
	}
	return nil
}

func (e *execution) step(name string) *StepRun {
	sr := e.run.Steps[name]
	if sr == nil {
		sr = &StepRun{State: StatePending}
		e.run.Steps[name] = sr
	}
	return sr
}

type stepResult struct {
	i   int
	out Output
	err error
}

// runGraph runs one level of a pipeline (the top or a Parallel branch). It
// returns the error of a step that failed without a catch handler; after
// such a failure no new step starts, the running ones finish.
func (e *execution) runGraph(ctx context.Context, g *graph) error {
	n := len(g.steps)
	e.mu.Lock()
	for _, s := range g.steps {
		e.step(s.Name)
	}
	e.mu.Unlock()
	done := make(chan stepResult, n)
	var eg errgroup.Group
	eg.SetLimit(e.r.opts.Parallelism)
	launched := make([]bool, n)
	inflight := 0
	var failure error
	for {
		for progress := true; progress; {
			progress = false
			for _, i := range g.order {
				if launched[i] {
					continue
				}
				e.mu.Lock()
				st := e.run.Steps[g.steps[i].Name].State
				e.mu.Unlock()
				if st != StatePending {
					launched[i] = true // succeeded in an earlier run (resume)
					progress = true
					continue
				}
				decision, in := e.decide(g, i)
				switch decision {
				case decideSkip:
					e.mu.Lock()
					e.run.Steps[g.steps[i].Name].State = StateSkipped
					e.mu.Unlock()
					launched[i] = true
					progress = true
				case decideRun:
					if failure != nil || ctx.Err() != nil {
						continue
					}
					launched[i] = true
					inflight++
					progress = true
					s := g.steps[i]
					e.mu.Lock()
					sr := e.run.Steps[s.Name]
					sr.State, sr.Started = StateRunning, time.Now().UTC()
					e.mu.Unlock()
					e.r.log.Debug("orchestrate: step started", "pipeline", e.p.Name(), "run", e.run.ID, "step", s.Name)
					eg.Go(func() error {
						out, err := e.runStep(ctx, s, in)
						done <- stepResult{i: i, out: out, err: err}
						return nil
					})
				}
			}
		}
		if inflight == 0 {
			break
		}
		res := <-done
		inflight--
		if err := e.finish(g, res); err != nil && failure == nil {
			failure = err
		}
		if err := e.save(context.WithoutCancel(ctx)); err != nil && failure == nil {
			failure = err
		}
	}
	eg.Wait()
	if failure == nil && ctx.Err() != nil {
		failure = ctx.Err()
	}
	return failure
}

func (e *execution) finish(g *graph, res stepResult) error {
	s := g.steps[res.i]
	e.mu.Lock()
	defer e.mu.Unlock()
	sr := e.run.Steps[s.Name]
	sr.Ended = time.Now().UTC()
	if res.err == nil {
		sr.State, sr.Output = StateSucceeded, res.out
		e.r.log.Debug("orchestrate: step succeeded", "pipeline", e.p.Name(), "run", e.run.ID, "step", s.Name)
		return nil
	}
	sr.State = StateFailed
	name := ErrorName(res.err)
	sr.Error = &StepError{Step: s.Name, Name: name, Cause: res.err.Error()}
	if sr.Output == nil && res.out != nil {
		sr.Output = res.out
	}
	for _, c := range s.Catches {
		if matchError(c.ErrorEquals, name) {
			sr.CaughtBy = c.Next
			e.r.log.Info("orchestrate: step failed, caught", "pipeline", e.p.Name(), "run", e.run.ID, "step", s.Name, "handler", c.Next, "err", res.err)
			return nil
		}
	}
	e.r.log.Info("orchestrate: step failed", "pipeline", e.p.Name(), "run", e.run.ID, "step", s.Name, "err", res.err)
	return fmt.Errorf("%w: step %q: %w", ErrStepFailed, s.Name, res.err)
}

type decision int

const (
	decideWait decision = iota
	decideRun
	decideSkip
)

func terminal(s State) bool { return s == StateSucceeded || s == StateFailed || s == StateSkipped }

// decide says whether step i can run now, must be skipped, or waits, and
// builds its input.
func (e *execution) decide(g *graph, i int) (decision, Input) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := g.steps[i]
	in := Input{Pipeline: e.p.Name(), Step: s.Name, RunID: e.run.ID, Params: e.run.Params}
	if srcs, ok := g.sources[i]; ok {
		all := true
		for _, src := range srcs {
			sr := e.run.Steps[g.steps[src].Name]
			if sr.State == StateFailed && sr.CaughtBy == s.Name {
				in.Error = sr.Error
				return decideRun, in
			}
			if !terminal(sr.State) {
				all = false
			}
		}
		if all {
			return decideSkip, in
		}
		return decideWait, in
	}
	ok := true
	for _, d := range g.deps[i] {
		sr := e.run.Steps[g.steps[d].Name]
		if !terminal(sr.State) || sr.State == StateFailed && sr.CaughtBy == "" {
			// An uncaught failure stops the run: what follows stays pending.
			return decideWait, in
		}
		if sr.State != StateSucceeded {
			ok = false
		}
	}
	if z, gated := g.choiceOf[i]; gated {
		zr := e.run.Steps[g.steps[z].Name]
		if !terminal(zr.State) || zr.State == StateFailed {
			return decideWait, in
		}
		if zr.State != StateSucceeded || chosen(zr.Output) != s.Name {
			ok = false
		}
	}
	if !ok {
		return decideSkip, in
	}
	if len(g.deps[i]) > 0 {
		in.Deps = map[string]json.RawMessage{}
		for _, d := range g.deps[i] {
			in.Deps[g.steps[d].Name] = e.run.Steps[g.steps[d].Name].Output
		}
	}
	return decideRun, in
}

func chosen(out json.RawMessage) string {
	var c struct {
		Next string `json:"next"`
	}
	json.Unmarshal(out, &c)
	return c.Next
}

// runStep runs one step with its retry policies and timeout.
func (e *execution) runStep(ctx context.Context, s *Step, in Input) (Output, error) {
	switch s.Kind {
	case KindMap:
		return e.runMap(ctx, s, in)
	case KindParallel:
		return e.runParallel(ctx, s, in)
	case KindChoice:
		return evalChoice(s, in)
	}
	return e.withRetry(ctx, s, true, func(ctx context.Context) (Output, error) { return e.attempt(ctx, s, in) })
}

// withRetry runs fn under the step's timeout and retry policies, like a
// Task state's Retry: the first policy matching the error's name decides,
// each policy counts its own retries.
func (e *execution) withRetry(ctx context.Context, s *Step, record bool, fn func(context.Context) (Output, error)) (Output, error) {
	used := make([]int, len(s.Retries))
	for {
		start := time.Now().UTC()
		out, err := e.once(ctx, s, fn)
		if record {
			a := Attempt{Started: start, Ended: time.Now().UTC()}
			if err != nil {
				a.Error = err.Error()
			}
			e.mu.Lock()
			sr := e.run.Steps[s.Name]
			sr.Attempts = append(sr.Attempts, a)
			e.mu.Unlock()
		}
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		name := ErrorName(err)
		pi := -1
		for k, rp := range s.Retries {
			if matchError(rp.ErrorEquals, name) {
				pi = k
				break
			}
		}
		if pi < 0 {
			return out, err
		}
		rp := s.Retries[pi].norm()
		if used[pi] >= rp.MaxAttempts {
			return out, err
		}
		delay := retryDelay(rp, used[pi])
		used[pi]++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func retryDelay(rp RetryPolicy, retry int) time.Duration {
	d := float64(rp.Interval) * math.Pow(rp.BackoffRate, float64(retry))
	if rp.MaxDelay > 0 && d > float64(rp.MaxDelay) {
		d = float64(rp.MaxDelay)
	}
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	if rp.Jitter {
		d = mrand.Float64() * d
	}
	return time.Duration(d)
}

// once runs one attempt under the step's timeout.
func (e *execution) once(ctx context.Context, s *Step, fn func(context.Context) (Output, error)) (out Output, err error) {
	actx := ctx
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, s.Timeout, errStepTimeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("step %q panicked: %v", s.Name, p)
		}
	}()
	out, err = fn(actx)
	if s.Timeout > 0 && ctx.Err() == nil && errors.Is(context.Cause(actx), errStepTimeout) {
		// The attempt ran out of time: whatever it returned, it is a timeout.
		if err == nil {
			err = context.DeadlineExceeded
		}
		return nil, fmt.Errorf("%w after %v: %w", errStepTimeout, s.Timeout, err)
	}
	return out, err
}

// attempt runs a step of a kind other than Map, Parallel and Choice.
func (e *execution) attempt(ctx context.Context, s *Step, in Input) (Output, error) {
	switch s.Kind {
	case KindGo:
		return s.Func(ctx, in)
	case KindSQL:
		if e.r.opts.SQL == nil {
			return nil, fmt.Errorf("%w: step %q is a SQL step and RunnerOptions.SQL is nil", ErrNotConfigured, s.Name)
		}
		args := make([]any, len(s.SQL.Params))
		for i, p := range s.SQL.Params {
			args[i] = p
		}
		return e.r.opts.SQL.ExecSQL(ctx, s.SQL.Query, args...)
	case KindGlueJob:
		if e.r.opts.Glue == nil {
			return nil, fmt.Errorf("%w: step %q runs a Glue job and RunnerOptions.Glue is nil", ErrNotConfigured, s.Name)
		}
		jr, err := e.r.opts.Glue.RunJob(ctx, s.Glue.JobName, s.Glue.Arguments, nil)
		if jr == nil {
			return nil, err
		}
		out, _ := json.Marshal(map[string]string{"JobRunId": jr.ID, "JobRunState": jr.State})
		return out, err
	case KindCrawler:
		if e.r.opts.Glue == nil {
			return nil, fmt.Errorf("%w: step %q runs a crawler and RunnerOptions.Glue is nil", ErrNotConfigured, s.Name)
		}
		cs, err := e.r.opts.Glue.RunCrawler(ctx, s.Crawler, nil)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"Crawler": s.Crawler, "LastCrawlStatus": cs})
	case KindPass:
		return s.Result, nil
	case KindWait:
		t := time.NewTimer(s.Wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return nil, nil
		}
	}
	return nil, fmt.Errorf("orchestrate: step %q: kind %v cannot run as a task", s.Name, s.Kind)
}

func (e *execution) runMap(ctx context.Context, s *Step, in Input) (Output, error) {
	src := in.Deps[s.Map.ItemsFrom]
	items, err := itemsAt(src, s.Map.ItemsPath)
	if err != nil {
		return nil, fmt.Errorf("%w: step %q: items at %q in the output of %q: %v", ErrBadInput, s.Name, s.Map.ItemsPath, s.Map.ItemsFrom, err)
	}
	limit := s.Map.MaxConcurrency
	if limit <= 0 {
		limit = e.r.opts.Parallelism
	}
	e.mu.Lock()
	e.run.Steps[s.Name].Items = len(items)
	e.mu.Unlock()
	// Iterations get their item, not the whole list (as on AWS: see
	// graph.inputDeps).
	if !slices.Contains(s.DependsOn, s.Map.ItemsFrom) {
		deps := maps.Clone(in.Deps)
		delete(deps, s.Map.ItemsFrom)
		if len(deps) == 0 {
			deps = nil
		}
		in.Deps = deps
	}
	outs := make([]json.RawMessage, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for k, item := range items {
		g.Go(func() error {
			it := in
			it.Item, it.Index = item, k
			out, err := e.withRetry(gctx, s, false, func(ctx context.Context) (Output, error) { return s.Map.Func(ctx, it) })
			if err != nil {
				return fmt.Errorf("item %d: %w", k, err)
			}
			if out == nil {
				out = json.RawMessage("null")
			}
			outs[k] = out
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return json.Marshal(outs)
}

// itemsAt finds the JSON array at a dot-separated path.
func itemsAt(raw json.RawMessage, path string) ([]json.RawMessage, error) {
	v, err := fieldAt(raw, path)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fmt.Errorf("not a JSON array: %s", truncate(string(v), 80))
	}
	return items, nil
}

func fieldAt(raw json.RawMessage, path string) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, errors.New("no output")
	}
	if path == "" {
		return raw, nil
	}
	cur := raw
	for _, f := range strings.Split(path, ".") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return nil, fmt.Errorf("%q is not in an object", f)
		}
		next, ok := obj[f]
		if !ok {
			return nil, fmt.Errorf("no field %q", f)
		}
		cur = next
	}
	return cur, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (e *execution) runParallel(ctx context.Context, s *Step, in Input) (Output, error) {
	outs := make([]map[string]json.RawMessage, len(s.Branches))
	var eg errgroup.Group
	for k, b := range s.Branches {
		eg.Go(func() error {
			g, err := newGraph(b)
			if err != nil {
				return err
			}
			if err := e.runGraph(ctx, g); err != nil {
				return fmt.Errorf("branch %d (%s): %w", k, b.Name(), err)
			}
			m := map[string]json.RawMessage{}
			e.mu.Lock()
			for _, bs := range b.steps {
				if sr := e.run.Steps[bs.Name]; sr.State == StateSucceeded {
					out := sr.Output
					if out == nil {
						out = json.RawMessage("null")
					}
					m[Key(bs.Name)] = out
				}
			}
			e.mu.Unlock()
			outs[k] = m
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return json.Marshal(outs)
}

// evalChoice evaluates a choice's rules in order; the output records the
// chosen step as {"next": name}.
func evalChoice(s *Step, in Input) (Output, error) {
	for _, r := range s.Rules {
		ok, err := evalRule(r, in.Deps[r.Step])
		if err != nil {
			return nil, fmt.Errorf("%w: step %q: %w", ErrBadInput, s.Name, err)
		}
		if ok {
			return json.Marshal(map[string]string{"next": r.Next})
		}
	}
	if s.Default != "" {
		return json.Marshal(map[string]string{"next": s.Default})
	}
	return nil, NewError(ErrorNoChoiceMatched, fmt.Errorf("step %q: no rule matched", s.Name))
}

func evalRule(r Rule, out json.RawMessage) (bool, error) {
	v, err := fieldAt(out, r.Field)
	if r.Op == IsPresent {
		return (err == nil) == r.Value.(bool), nil
	}
	if err != nil {
		// As in Step Functions, a rule over a missing field is a runtime error.
		return false, NewError(ErrorRuntime, fmt.Errorf("rule over %s.%s: %v", r.Step, r.Field, err))
	}
	var x any
	d := json.NewDecoder(strings.NewReader(string(v)))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return false, err
	}
	switch r.Op {
	case StringEquals:
		s, ok := x.(string)
		return ok && s == r.Value.(string), nil
	case BooleanEquals:
		b, ok := x.(bool)
		return ok && b == r.Value.(bool), nil
	}
	n, ok := x.(json.Number)
	if !ok {
		return false, nil
	}
	a, err := n.Float64()
	if err != nil {
		return false, nil
	}
	b, _ := toFloat(r.Value)
	switch r.Op {
	case NumericEquals:
		return a == b, nil
	case NumericLessThan:
		return a < b, nil
	case NumericGreaterThan:
		return a > b, nil
	case NumericLessThanEquals:
		return a <= b, nil
	case NumericGreaterThanEquals:
		return a >= b, nil
	}
	return false, fmt.Errorf("unknown operator %q", r.Op)
}

func toRaw(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, errors.New("not valid JSON")
		}
		return x, nil
	}
	return json.Marshal(v)
}
