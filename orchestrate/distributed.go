package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lakekit/lakekit/lake/iam"
)

// DistributedMap makes a Map step a Step Functions Distributed Map: its
// items are read from a file in S3 (ItemReader) instead of being carried
// in the state, batches of them run as child executions (up to 10,000 at
// once instead of an inline Map's 40), and the results go to S3
// (ResultWriter) instead of the 256 KiB state. Use it when the work is
// thousands of units — a backfill, a reprocessing — planned into a
// manifest (transform.FanOut writes one); keep the inline Map for a few
// dozen items an earlier step returns.
//
// The item file is named by the output of the step the Map's ItemsFrom
// names: the fields BucketField and KeyField of it (transform.FanOutPlan's
// "manifest_bucket" and "manifest_key" by default). Each child execution
// gets a batch: the step's Func receives Input.Item as the JSON array of
// the batch's items, with Params and Deps as for any Map iteration.
type DistributedMap struct {
	// ManifestLocation is the s3:// prefix the item files lie under; the
	// state machine's policy may read objects there (s3:GetObject).
	ManifestLocation string
	// ResultLocation is the s3:// prefix the ResultWriter writes the Map
	// Run's results under (required): the step's output is then the Map
	// Run's ARN and where its results are, not the results themselves.
	ResultLocation string
	// BucketField and KeyField are dot-separated fields of the ItemsFrom
	// step's output naming the item file's bucket and key (defaults
	// "manifest_bucket" and "manifest_key").
	BucketField, KeyField string
	// InputType is the item file's format: "JSONL" (default: one JSON
	// value per line) or "CSV" (a header row, then one item per row).
	InputType string
	// MaxItemsPerBatch and MaxInputBytesPerBatch bound a batch (the
	// ItemBatcher); with neither set a batch holds 50 items.
	// MaxInputBytesPerBatch is at most 262,144 (256 KiB).
	MaxItemsPerBatch, MaxInputBytesPerBatch int
	// ToleratedFailurePercentage is the share of failed items (0 to 100)
	// the Map Run tolerates; the default 0 fails the run on any failed
	// batch, so a following commit step never runs on partial work. The
	// local runner fails on any failed batch whatever it says.
	ToleratedFailurePercentage float64
	// Items reads the item file for the local runner (the ItemReader's
	// part on AWS), given the ItemsFrom step's output; transform.FanOut's
	// ManifestItems does. Required to run the step locally.
	Items func(ctx context.Context, from json.RawMessage) ([]json.RawMessage, error)
}

// DistributedMapStep is a Map step compiled to a Distributed Map: fn runs
// once per batch of the items in the file the output of step itemsFrom
// names (see DistributedMap).
func DistributedMapStep(name, itemsFrom string, d DistributedMap, fn Func) *Step {
	s := MapStep(name, itemsFrom, "", fn)
	s.Map.Distributed = &d
	return s
}

// ResourceS3GetObject and ResourceS3PutObject are the integrations of a
// Distributed Map's ItemReader and ResultWriter.
const (
	ResourceS3GetObject = "arn:aws:states:::s3:getObject"
	ResourceS3PutObject = "arn:aws:states:::s3:putObject"
)

const (
	defaultBatchItems = 50
	maxBatchBytes     = 256 << 10
)

func (d *DistributedMap) norm() DistributedMap {
	o := *d
	if o.BucketField == "" {
		o.BucketField = "manifest_bucket"
	}
	if o.KeyField == "" {
		o.KeyField = "manifest_key"
	}
	if o.InputType == "" {
		o.InputType = "JSONL"
	}
	if o.MaxItemsPerBatch == 0 && o.MaxInputBytesPerBatch == 0 {
		o.MaxItemsPerBatch = defaultBatchItems
	}
	return o
}

// validateDistributed checks a Distributed Map step's settings.
func (s *Step) validateDistributed() error {
	if s.Kind != KindMap || s.Map.Distributed == nil {
		return nil
	}
	d := s.Map.Distributed.norm()
	for what, loc := range map[string]string{"ManifestLocation": d.ManifestLocation, "ResultLocation": d.ResultLocation} {
		b, _, _ := strings.Cut(strings.TrimPrefix(loc, "s3://"), "/")
		if !strings.HasPrefix(loc, "s3://") || b == "" {
			return stepErr(s.Name, "distributed map: %s %q is not an s3://bucket/prefix/ location", what, loc)
		}
	}
	if !validField(d.BucketField) || !validField(d.KeyField) {
		return stepErr(s.Name, "distributed map: BucketField %q and KeyField %q must be dot-separated names", d.BucketField, d.KeyField)
	}
	if d.InputType != "JSONL" && d.InputType != "CSV" {
		return stepErr(s.Name, "distributed map: InputType %q (want JSONL or CSV)", d.InputType)
	}
	if d.MaxItemsPerBatch < 0 || d.MaxInputBytesPerBatch < 0 || d.MaxInputBytesPerBatch > maxBatchBytes {
		return stepErr(s.Name, "distributed map: batch bounds %d items / %d bytes (want ≥ 0, and at most %d bytes)", d.MaxItemsPerBatch, d.MaxInputBytesPerBatch, maxBatchBytes)
	}
	if d.ToleratedFailurePercentage < 0 || d.ToleratedFailurePercentage > 100 {
		return stepErr(s.Name, "distributed map: ToleratedFailurePercentage %v is not in [0, 100]", d.ToleratedFailurePercentage)
	}
	if s.Map.ItemsPath != "" {
		return stepErr(s.Name, "distributed map: ItemsPath is not used (the items are in the file the ItemsFrom output names)")
	}
	return nil
}

// distributedMapState is a Distributed Map step's Map state: ItemReader
// over the item file, ItemBatcher whose BatchInput carries the params and
// dependency results, a child workflow of a Pass state "batch:<name>"
// (the worker's state: {"params","steps","item": the batch}) and the Go
// task "item:<name>", ResultWriter to S3.
func (c *compiler) distributedMapState(g *graph, s *Step, next string) (obj, error) {
	d := s.Map.Distributed.norm()
	src, _ := g.p.find(s.Map.ItemsFrom)
	from := c.outputPath(src)
	inner, batch := genName("item:", s.Name), genName("batch:", s.Name)
	c.owner[inner], c.owner[batch] = s.Name, s.Name
	t, err := c.goTask(s, "$")
	if err != nil {
		return nil, err
	}
	if sel := t["ResultSelector"].(obj); sel["output.$"] != nil {
		t["OutputPath"] = "$.output"
	}
	t["End"] = true
	if r := c.retries(s); len(r) > 0 {
		t["Retry"] = r
	}
	if s.Timeout > 0 {
		t["TimeoutSeconds"] = seconds(s.Timeout)
	}
	prep := obj{"Type": "Pass", "Next": inner,
		"Parameters": obj{"params.$": "$.BatchInput.params", "steps.$": "$.BatchInput.steps", "item.$": "$.Items"}}
	batcher := obj{"BatchInput": c.input(g, g.idx[s.Name])}
	if d.MaxItemsPerBatch > 0 {
		batcher["MaxItemsPerBatch"] = d.MaxItemsPerBatch
	}
	if d.MaxInputBytesPerBatch > 0 {
		batcher["MaxInputBytesPerBatch"] = d.MaxInputBytesPerBatch
	}
	reader := obj{"InputType": d.InputType}
	if d.InputType == "CSV" {
		reader["CSVHeaderLocation"] = "FIRST_ROW"
	}
	rb, rp, _ := strings.Cut(strings.TrimPrefix(d.ResultLocation, "s3://"), "/")
	st := obj{"Type": "Map",
		"ItemReader": obj{"Resource": ResourceS3GetObject, "ReaderConfig": reader,
			"Parameters": obj{"Bucket.$": from + "." + d.BucketField, "Key.$": from + "." + d.KeyField}},
		"ItemBatcher": batcher,
		"ItemProcessor": obj{"ProcessorConfig": obj{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
			"StartAt": batch, "States": obj{batch: prep, inner: t}},
		"ToleratedFailurePercentage": d.ToleratedFailurePercentage,
		"ResultWriter":               obj{"Resource": ResourceS3PutObject, "Parameters": obj{"Bucket": rb, "Prefix": strings.TrimSuffix(rp, "/")}},
		"ResultPath":                 slot(s.Name)}
	if s.Map.MaxConcurrency > 0 {
		st["MaxConcurrency"] = s.Map.MaxConcurrency
	}
	if len(s.Catches) > 0 {
		c.decorate(&Step{Name: s.Name, Catches: s.Catches}, st, next, false)
	}
	return st, nil
}

// grantDistributed adds what the pipeline's Distributed Map states need
// (iam.Policy.DistributedMap): the state machine is named like the
// pipeline (SFN.Deploy).
func grantDistributed(pol *iam.Policy, p *Pipeline) {
	eachStep(p, func(s *Step) {
		if s.Kind == KindMap && s.Map.Distributed != nil {
			pol.DistributedMap(p.Name(), s.Map.Distributed.ManifestLocation, s.Map.Distributed.ResultLocation)
		}
	})
}

// distributedBatches are the local runner's items of a Distributed Map
// step: the item file's items (DistributedMap.Items), in batches as the
// ItemBatcher makes them, each batch a JSON array.
func distributedBatches(ctx context.Context, s *Step, from json.RawMessage) ([]json.RawMessage, error) {
	d := s.Map.Distributed.norm()
	if d.Items == nil {
		return nil, fmt.Errorf("%w: step %q: a distributed map needs DistributedMap.Items to run locally", ErrInvalidPipeline, s.Name)
	}
	items, err := d.Items(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("step %q: reading the items: %w", s.Name, err)
	}
	var batches []json.RawMessage
	var cur []json.RawMessage
	size := 0
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		b, err := json.Marshal(cur)
		batches, cur, size = append(batches, b), nil, 0
		return err
	}
	for _, it := range items {
		if (d.MaxItemsPerBatch > 0 && len(cur) == d.MaxItemsPerBatch) ||
			(d.MaxInputBytesPerBatch > 0 && len(cur) > 0 && size+len(it) > d.MaxInputBytesPerBatch) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		cur = append(cur, it)
		size += len(it)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return batches, nil
}

// FanOutJob is the plan → work → commit of a transform fan-out
// (transform.FanOut implements it), so orchestrate can wire its steps
// without importing the transform package.
type FanOutJob interface {
	// Name names the job (the transform).
	Name() string
	// PlanRun writes the plan and its manifest and returns the plan as
	// JSON, with the manifest's "manifest_bucket" and "manifest_key".
	PlanRun(ctx context.Context) (json.RawMessage, error)
	// ManifestItems reads the plan's manifest: the items, one per unit.
	ManifestItems(ctx context.Context, plan json.RawMessage) ([]json.RawMessage, error)
	// WorkRun processes a batch (a JSON array of items) without
	// committing and returns its small result.
	WorkRun(ctx context.Context, batch json.RawMessage) (json.RawMessage, error)
	// CommitRun makes the plan's one commit, or none.
	CommitRun(ctx context.Context, plan json.RawMessage) (json.RawMessage, error)
}

// FanOutParamsJob is a FanOutJob whose plan depends on the run's
// parameters (the execution input on Step Functions), such as the range
// of a replay (transform.FanOut.ReplayJob): FanOutSteps' plan step calls
// PlanRunParams with them instead of PlanRun.
type FanOutParamsJob interface {
	FanOutJob
	PlanRunParams(ctx context.Context, params json.RawMessage) (json.RawMessage, error)
}

// FanOutSteps returns the three steps of a fan-out: "<prefix>-plan" (a Go
// step: the plan and its manifest), "<prefix>-work" (a Distributed Map
// over the manifest, batches on ECS or Lambda as the compile options
// say; d.Items is set from the job) and "<prefix>-commit" (a Go step
// after it: one atomic commit of every unit and its ledger entry). Add
// them to a pipeline; retries and catches can be added to each.
func FanOutSteps(prefix string, job FanOutJob, d DistributedMap) []*Step {
	plan, work, commit := prefix+"-plan", prefix+"-work", prefix+"-commit"
	d.Items = job.ManifestItems
	return []*Step{
		GoStep(plan, func(ctx context.Context, in Input) (Output, error) {
			if pj, ok := job.(FanOutParamsJob); ok {
				return pj.PlanRunParams(ctx, in.Params)
			}
			return job.PlanRun(ctx)
		}),
		DistributedMapStep(work, plan, d, func(ctx context.Context, in Input) (Output, error) {
			return job.WorkRun(ctx, in.Item)
		}),
		GoStep(commit, func(ctx context.Context, in Input) (Output, error) {
			return job.CommitRun(ctx, in.Deps[plan])
		}).After(plan, work),
	}
}
