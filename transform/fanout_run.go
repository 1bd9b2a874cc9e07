package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/zones"
)

// FanOutOptions configure RunLocal. A nil *FanOutOptions means defaults.
type FanOutOptions struct {
	// Workers is how many batches run at once (default 4).
	Workers int
	// BatchSize is how many units one worker call processes (default 1).
	BatchSize int
	// Work runs one batch; nil means Work in this process. A caller can
	// hand batches to child processes (or any other executor) that run
	// Work there and return its result.
	Work func(ctx context.Context, batch []FanOutUnit) (*FanOutResult, error)
}

// RunLocal is the fan-out on one machine: Plan, the manifest's units in
// batches on N concurrent workers, then the one Commit — the same steps,
// objects and commit a Distributed Map makes. A failed batch fails the run
// and nothing is committed (the result is nil); its staging files and those
// of the batches that succeeded wait for Vacuum, and rerunning plans the
// same units again (the same plan id and staging names).
func (f *FanOut[In, Out]) RunLocal(ctx context.Context, opts *FanOutOptions) (*Result, error) {
	return f.runLocal(ctx, nil, opts)
}

// runLocal plans (the pending units, or r's replay), works and commits.
func (f *FanOut[In, Out]) runLocal(ctx context.Context, r *ReplayRange, opts *FanOutOptions) (*Result, error) {
	var o FanOutOptions
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1
	}
	if o.Work == nil {
		o.Work = f.Work
	}
	p, err := f.plan(ctx, r)
	if err != nil {
		return nil, err
	}
	units, err := f.Units(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var results []*FanOutResult
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for i := 0; i < len(units); i += o.BatchSize {
		batch := units[i:min(i+o.BatchSize, len(units))]
		g.Go(func() error {
			r, err := o.Work(gctx, batch)
			if err != nil {
				return err
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan %s: a batch failed, nothing committed: %w", f.t.name, p.ID, err)
	}
	if results == nil {
		results = []*FanOutResult{}
	}
	return f.Commit(ctx, p.ID, results)
}

// StagingKeys lists what the plan's workers left in the output table
// (keys in its zone, in its staging folder and the plan's generation
// folder) that no version of the table names: nothing after a Commit,
// the orphans Vacuum deletes after a failed run.
func (f *FanOut[In, Out]) StagingKeys(ctx context.Context, id string) ([]string, error) {
	if err := checkPlanID(id); err != nil {
		return nil, err
	}
	tb := f.t.out.Table()
	named := map[string]bool{}
	snap, err := tb.Snapshot(ctx, 0)
	switch {
	case errors.Is(err, zones.ErrNoSuchTable):
	case err != nil:
		return nil, err
	default:
		for _, df := range snap.Files {
			named[df.Key] = true
		}
	}
	var keys []string
	for _, prefix := range f.outputPrefixes(id) {
		es, err := tb.Zone().Store().ListAll(ctx, prefix, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if !e.IsDir && path.Ext(e.Key) == ".parquet" && !named[e.Key] {
				keys = append(keys, e.Key)
			}
		}
	}
	return keys, nil
}

// PlanRun is Plan with the plan as JSON (a pipeline step's output; it
// names the manifest for a Distributed Map's ItemReader):
// orchestrate.FanOutJob.
func (f *FanOut[In, Out]) PlanRun(ctx context.Context) (json.RawMessage, error) {
	p, err := f.Plan(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// planID reads the plan id from PlanRun's JSON.
func (f *FanOut[In, Out]) planID(plan json.RawMessage) (string, error) {
	var p FanOutPlan
	if err := json.Unmarshal(plan, &p); err != nil {
		return "", invalidf("transform %s: fan-out plan JSON: %v", f.t.name, err)
	}
	if p.Transform != f.t.name {
		return "", invalidf("transform %s: the plan is of transform %q", f.t.name, p.Transform)
	}
	return p.ID, checkPlanID(p.ID)
}

// ManifestItems reads the manifest of PlanRun's plan, one JSON item per
// unit: orchestrate.FanOutJob.
func (f *FanOut[In, Out]) ManifestItems(ctx context.Context, plan json.RawMessage) ([]json.RawMessage, error) {
	id, err := f.planID(plan)
	if err != nil {
		return nil, err
	}
	units, err := f.Units(ctx, id)
	if err != nil {
		return nil, err
	}
	items := make([]json.RawMessage, len(units))
	for i := range units {
		if items[i], err = json.Marshal(units[i]); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// WorkRun is Work on a batch given as a JSON array of manifest items, with
// a small JSON result (units and rows, not the files):
// orchestrate.FanOutJob.
func (f *FanOut[In, Out]) WorkRun(ctx context.Context, batch json.RawMessage) (json.RawMessage, error) {
	var units []FanOutUnit
	if err := json.Unmarshal(batch, &units); err != nil {
		return nil, invalidf("transform %s: fan-out batch is not a JSON array of manifest items: %v", f.t.name, err)
	}
	r, err := f.Work(ctx, units)
	if err != nil {
		return nil, err
	}
	var rows int64
	for _, u := range r.Units {
		rows += u.Entry.RowsOut
	}
	return json.Marshal(map[string]any{"plan": r.Plan, "units": len(r.Units), "rows": rows})
}

// CommitRun is Commit of PlanRun's plan from the results the workers
// stored, with the outcome as JSON: orchestrate.FanOutJob.
func (f *FanOut[In, Out]) CommitRun(ctx context.Context, plan json.RawMessage) (json.RawMessage, error) {
	id, err := f.planID(plan)
	if err != nil {
		return nil, err
	}
	res, err := f.Commit(ctx, id, nil)
	if res == nil {
		return nil, err
	}
	out, merr := json.Marshal(map[string]any{"plan": id, "units": res.Units, "rows": res.RowsOut, "versions": res.Versions, "duplicate": res.DuplicateCommits > 0})
	if err == nil {
		err = merr
	}
	return out, err
}
