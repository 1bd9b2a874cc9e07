package transform

import (
	"context"
	"encoding/json"
	"fmt"
)

// ReplayRange picks the input partitions a replay reprocesses: those whose
// value of partition key Key lies between From and To, both included,
// compared as text (so dates as YYYY-MM-DD, or zero-padded numbers, compare
// in order). An empty From or To leaves that end open.
type ReplayRange struct {
	Key  string `json:"key"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

func (r ReplayRange) check(name string) error {
	if r.Key == "" {
		return invalidf("transform %s: replay: the range names no partition key", name)
	}
	if r.From != "" && r.To != "" && r.From > r.To {
		return invalidf("transform %s: replay: the range %s from %q to %q is empty (from is after to)", name, r.Key, r.From, r.To)
	}
	return nil
}

// replayUnits are the input partitions in r, whole and whatever the ledger
// says.
func (f *FanOut[In, Out]) replayUnits(ctx context.Context, r *ReplayRange) ([]*unit, error) {
	if err := r.check(f.t.name); err != nil {
		return nil, err
	}
	all, err := f.t.src.plan(ctx, newLedger(f.t.name), planOptions{wholePartitions: true})
	if err != nil {
		return nil, err
	}
	var units []*unit
	keyed := false
	for _, u := range all {
		v, ok := u.partition.Get(r.Key)
		if !ok {
			continue
		}
		keyed = true
		if (r.From == "" || v >= r.From) && (r.To == "" || v <= r.To) {
			units = append(units, u)
		}
	}
	if len(all) > 0 && !keyed {
		return nil, invalidf("replay: no input partition has the key %q (partitions look like %q)", r.Key, all[0].partPath)
	}
	return units, nil
}

// Replay reprocesses the input partitions in r — a backfill after the
// transform's code changed, a reprocessing of a date range — as one fan-out:
// a plan of every input partition in the range (done or not), batches on
// N local workers, and ONE commit that overwrites the output partitions
// the units write (OverwritePartitions) together with their ledger
// entries, or nothing. Partitions outside the range are untouched, so the
// replay assumes the range's input partitions are the only input of the
// output partitions they write (dt → dt, say); an output partition in the
// range that the new code writes no row to keeps its old rows.
//
// On AWS the same replay is one state machine execution: ReplayJob with
// orchestrate.FanOutSteps. Transform.Replay is the other replay: rewind
// everything, then run (two commits at least).
func (f *FanOut[In, Out]) Replay(ctx context.Context, r ReplayRange, opts *FanOutOptions) (*Result, error) {
	if err := r.check(f.t.name); err != nil {
		return nil, err
	}
	return f.runLocal(ctx, &r, opts)
}

// PlanReplay is Plan for a replay of r (see Replay): the plan the workers
// and Commit then take as any other.
func (f *FanOut[In, Out]) PlanReplay(ctx context.Context, r ReplayRange) (*FanOutPlan, error) {
	if err := r.check(f.t.name); err != nil {
		return nil, err
	}
	return f.plan(ctx, &r)
}

// ReplayJob is a replay's fan-out as a job for orchestrate.FanOutSteps:
// its plan step plans the replay of r — or, when the run's parameters
// hold {"replay": {"key": ..., "from": ..., "to": ...}}, of that range —
// and the work and commit steps are the fan-out's.
func (f *FanOut[In, Out]) ReplayJob(r ReplayRange) (*FanOutReplay[In, Out], error) {
	if err := r.check(f.t.name); err != nil {
		return nil, err
	}
	return &FanOutReplay[In, Out]{f: f, r: r}, nil
}

// FanOutReplay is the job ReplayJob returns (an orchestrate.FanOutJob
// with parameters).
type FanOutReplay[In, Out any] struct {
	f *FanOut[In, Out]
	r ReplayRange
}

// Name is the transform's name.
func (j *FanOutReplay[In, Out]) Name() string { return j.f.Name() }

// Range is the replay's default range.
func (j *FanOutReplay[In, Out]) Range() ReplayRange { return j.r }

// PlanRun plans the replay of the default range; the plan as JSON.
func (j *FanOutReplay[In, Out]) PlanRun(ctx context.Context) (json.RawMessage, error) {
	return j.PlanRunParams(ctx, nil)
}

// PlanRunParams plans the replay of the range the run's parameters give
// under "replay" (fields missing there keep the default range's), else
// of the default range.
func (j *FanOutReplay[In, Out]) PlanRunParams(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
	r := j.r
	if len(params) > 0 {
		var in struct {
			Replay *ReplayRange `json:"replay"`
		}
		if err := json.Unmarshal(params, &in); err != nil {
			return nil, invalidf("transform %s: replay: the run parameters are not a JSON object: %v", j.f.t.name, err)
		}
		if in.Replay != nil {
			if in.Replay.Key != "" {
				r.Key = in.Replay.Key
			}
			if in.Replay.From != "" {
				r.From = in.Replay.From
			}
			if in.Replay.To != "" {
				r.To = in.Replay.To
			}
		}
	}
	p, err := j.f.PlanReplay(ctx, r)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("transform %s: replay plan: %w", j.f.t.name, err)
	}
	return b, nil
}

// ManifestItems is FanOut.ManifestItems.
func (j *FanOutReplay[In, Out]) ManifestItems(ctx context.Context, plan json.RawMessage) ([]json.RawMessage, error) {
	return j.f.ManifestItems(ctx, plan)
}

// WorkRun is FanOut.WorkRun.
func (j *FanOutReplay[In, Out]) WorkRun(ctx context.Context, batch json.RawMessage) (json.RawMessage, error) {
	return j.f.WorkRun(ctx, batch)
}

// CommitRun is FanOut.CommitRun: the replay's one commit.
func (j *FanOutReplay[In, Out]) CommitRun(ctx context.Context, plan json.RawMessage) (json.RawMessage, error) {
	return j.f.CommitRun(ctx, plan)
}
