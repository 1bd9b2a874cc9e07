package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

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
	var items []json.RawMessage
	var err error
	if s.Map.Distributed != nil {
		if items, err = distributedBatches(ctx, s, src); err != nil {
			return nil, err
		}
	} else if items, err = itemsAt(src, s.Map.ItemsPath); err != nil {
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
