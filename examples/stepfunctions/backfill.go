// The -backfill variant: the quickstart's page_views transform as a
// fan-out — a plan step writes a manifest of the cleaned partitions not
// yet curated, a Distributed Map runs batches of them on workers (ECS
// tasks or Lambda running this binary) without committing, and one commit
// step lands them all as one table version, or nothing.
//
//	go run ./examples/stepfunctions -backfill -emit backfill.asl.json -lake s3://my-bucket/lake
//	go run ./examples/stepfunctions -backfill -lake /tmp/lake -catalog local   (runs it here)

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/transform"
)

// BackfillName names the backfill pipeline (and its state machine).
const BackfillName = "quickstart-backfill"

// backfillOptions are the -backfill flags.
type backfillOptions struct {
	lake     string // the lake: s3://... for a definition, any lake to run here
	results  string // where the Distributed Map writes its Map Run results
	batch    int    // units per child execution
	parallel int    // child executions at once
}

// distributedMap is the work step's Distributed Map for a lake on S3: the
// transform's manifests under <lake>/_lakekit/transform/<name>/fanout/,
// results under -results (default <lake>/_lakekit/map-runs/).
func (o backfillOptions) distributedMap() (orchestrate.DistributedMap, error) {
	root := strings.TrimSuffix(o.lake, "/")
	if !strings.HasPrefix(root, "s3://") {
		return orchestrate.DistributedMap{}, usagef("-backfill: -lake %q: the Distributed Map reads its manifest from S3: want -lake s3://bucket/prefix", o.lake)
	}
	d := orchestrate.DistributedMap{ManifestLocation: root + "/_lakekit/transform/curate_page_views/fanout/",
		ResultLocation: o.results, MaxItemsPerBatch: o.batch}
	if d.ResultLocation == "" {
		d.ResultLocation = root + "/_lakekit/map-runs/"
	}
	return d, nil
}

// backfillPipeline is the page_views transform as plan → Distributed Map
// of workers → one commit. Each step opens the lake its run's parameters
// name (on AWS every step may run in its own process); the local runner
// reads the manifest through the plan step's fan-out (on AWS the
// ItemReader does).
func backfillPipeline(open Opener, d orchestrate.DistributedMap, parallel int) *orchestrate.Pipeline {
	var mu sync.Mutex
	var planned *transform.FanOut[Click, PageView]
	fanOut := func(ctx context.Context, in orchestrate.Input) (*transform.FanOut[Click, PageView], error) {
		var p Params
		if len(in.Params) > 0 {
			if err := json.Unmarshal(in.Params, &p); err != nil {
				return nil, fmt.Errorf("backfill: parameters: %w", err)
			}
		}
		env, err := open(ctx, p)
		if err != nil {
			return nil, err
		}
		return transform.NewFanOut(env.ToPageViews)
	}
	d.Items = func(ctx context.Context, from json.RawMessage) ([]json.RawMessage, error) {
		mu.Lock()
		fo := planned
		mu.Unlock()
		if fo == nil {
			return nil, errors.New("backfill: the plan step has not run in this process")
		}
		return fo.ManifestItems(ctx, from)
	}
	retry := orchestrate.RetryPolicy{ErrorEquals: []string{orchestrate.ErrorTaskFailed}, MaxAttempts: 2, Interval: time.Second}
	plan := orchestrate.GoStep("plan", func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
		fo, err := fanOut(ctx, in)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		planned = fo
		mu.Unlock()
		return fo.PlanRun(ctx)
	}).Retry(retry)
	work := orchestrate.DistributedMapStep("work", "plan", d, func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
		fo, err := fanOut(ctx, in)
		if err != nil {
			return nil, err
		}
		return fo.WorkRun(ctx, in.Item)
	}).Retry(retry).MaxConcurrency(parallel)
	commit := orchestrate.GoStep("commit", func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
		fo, err := fanOut(ctx, in)
		if err != nil {
			return nil, err
		}
		return fo.CommitRun(ctx, in.Deps["plan"])
	}).After("plan", "work").Retry(retry)
	return orchestrate.New(BackfillName, plan, work, commit)
}

// backfill builds the backfill pipeline; to run it here (local) the
// Distributed Map's S3 locations are placeholders no local step reads.
func backfill(o backfillOptions, local bool) (*orchestrate.Pipeline, error) {
	if local {
		o.lake, o.results = "s3://local-run/lake", "s3://local-run/map-runs/"
	}
	d, err := o.distributedMap()
	if err != nil {
		return nil, err
	}
	return backfillPipeline(opener(), d, o.parallel), nil
}

// runBackfill runs the backfill pipeline on this machine against the lake
// dir (its catalog kind cat) and prints each step and the commit.
func runBackfill(ctx context.Context, o backfillOptions, cat string, stdout io.Writer) error {
	if o.lake == "" {
		return usagef("-backfill without -emit runs the backfill here: it needs -lake (the lake whose cleaned clicks to curate)")
	}
	p, err := backfill(o, true)
	if err != nil {
		return err
	}
	lk, err := lake.Open(ctx, o.lake, nil)
	if err != nil {
		return err
	}
	defer lk.Close()
	r, err := orchestrate.NewRunner(lk, &orchestrate.RunnerOptions{Parallelism: max(1, o.parallel)})
	if err != nil {
		return err
	}
	run, err := r.Run(ctx, p, Params{Lake: o.lake, Catalog: cat})
	if err != nil {
		return err
	}
	for _, s := range p.Steps() {
		st := run.Steps[s.Name]
		line := fmt.Sprintf("step       %-8s %s", s.Name, st.State)
		if s.Name == "work" {
			line += fmt.Sprintf(" (%d batches)", st.Items)
		}
		fmt.Fprintln(stdout, line)
	}
	if run.State != orchestrate.StateSucceeded {
		return fmt.Errorf("backfill %s: %s", run.State, run.Error)
	}
	fmt.Fprintln(stdout, string(run.Steps["commit"].Output))
	return nil
}
