package orchestrate

import (
	"fmt"
	"slices"
)

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
		if err := s.validateDistributed(); err != nil {
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
