package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// execution is the shared state of one run.
type execution struct {
	r   *Runner
	p   *Pipeline
	mu  sync.Mutex // guards run
	run *Run
	rec *recorder
}

// execute runs p as run, whose record's newest stored version is version
// (0 for a new run), saving the record after every step.
func (r *Runner) execute(ctx context.Context, p *Pipeline, run *Run, version int64) (*Run, error) {
	e := &execution{r: r, p: p, run: run, rec: newRecorder(r.runs, version)}
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
	} else if err == nil {
		e.rec.compact(context.WithoutCancel(ctx), run)
	}
	if runErr != nil {
		return run, fmt.Errorf("%w: pipeline %q run %s: %w", ErrRunFailed, p.Name(), run.ID, runErr)
	}
	return run, nil
}

// save stores a snapshot of the run record as its next version.
func (e *execution) save(ctx context.Context) error {
	return e.rec.save(ctx, e.run, &e.mu)
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
	defer e.recordStep(s, sr, res.err)
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
