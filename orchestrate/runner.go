package orchestrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"time"

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

// Run is the recorded history of one run of a pipeline, kept in the lake
// under _lakekit/runs/<pipeline>/<run id>/ (see runstore.go).
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
	runs runStore
	opts RunnerOptions
	log  *slog.Logger
	lk   *lake.Lake // for its meter provider (metrics.go)
}

// NewRunner returns a runner recording runs in lk's system store "runs".
func NewRunner(lk *lake.Lake, opts *RunnerOptions) (*Runner, error) {
	st, err := lk.System("runs")
	if err != nil {
		return nil, fmt.Errorf("orchestrate: run history store: %w", err)
	}
	r := &Runner{runs: runStore{store: st}, lk: lk}
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
	return r.execute(ctx, p, run, 0)
}

// Resume runs again the steps of a recorded run that did not succeed,
// giving the succeeded ones' recorded outputs to their dependents.
func (r *Runner) Resume(ctx context.Context, p *Pipeline, runID string) (*Run, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	run, version, err := r.runs.load(ctx, p.Name(), runID)
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
	return r.execute(ctx, p, run, version)
}
