package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/iam"
	"github.com/lakekit/lakekit/lake/iam/iamtest"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// fanIn and fanOut are the rows of the fan-out pipeline tests.
type fanIn struct {
	ID   int64  `parquet:"id"`
	Part string `parquet:"part" lakekit:"partition"`
}

type fanOutRow struct {
	ID     int64  `parquet:"id"`
	Square int64  `parquet:"square"`
	Part   string `parquet:"part" lakekit:"partition"`
}

// fanOutJob builds a lake with parts input partitions of 2 rows and the
// fan-out of a transform over it.
func fanOutJob(t *testing.T, parts int) (*lake.Lake, *zones.Dataset[fanOutRow], *transform.FanOut[fanIn, fanOutRow]) {
	t.Helper()
	ctx := context.Background()
	d, err := filestore.New(t.TempDir(), &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(lake.NewStore(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := zones.NewDataset[fanIn](lk, lake.Cleaned, "fan", "input", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := zones.NewDataset[fanOutRow](lk, lake.Curated, "fan", "output", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := in.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []fanIn
	for i := 0; i < parts*2; i++ {
		rows = append(rows, fanIn{ID: int64(i), Part: fmt.Sprintf("p%03d", i/2)})
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New("squares", transform.FromDataset(in),
		transform.Map(func(_ context.Context, r fanIn) (fanOutRow, error) {
			return fanOutRow{ID: r.ID, Square: r.ID * r.ID, Part: r.Part}, nil
		}), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	fo, err := transform.NewFanOut(tr)
	if err != nil {
		t.Fatal(err)
	}
	return lk, out, fo
}

var testDistributed = DistributedMap{ManifestLocation: "s3://acme-lake/_lakekit/system/transform/",
	ResultLocation: "s3://acme-results/map-runs/", MaxItemsPerBatch: 20}

func fanOutPipeline(job FanOutJob) *Pipeline {
	steps := FanOutSteps("backfill", job, testDistributed)
	steps[1].MaxConcurrency(8)
	return New("squares-backfill", steps...)
}

// The local runner runs the fan-out pipeline as AWS would: plan, batches
// of the manifest on 8 concurrent workers, one commit.
func TestFanOutDistributedLocalRunner(t *testing.T) {
	ctx := context.Background()
	const parts = 300
	lk, out, fo := fanOutJob(t, parts)
	r, err := NewRunner(lk, &RunnerOptions{Parallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(ctx, fanOutPipeline(fo), nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != StateSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	if n := run.Steps["backfill-work"].Items; n != parts/20 {
		t.Fatalf("the work step ran %d batches, want %d", n, parts/20)
	}
	var commit struct {
		Units    int
		Rows     int64
		Versions []int64
	}
	if err := json.Unmarshal(run.Steps["backfill-commit"].Output, &commit); err != nil {
		t.Fatal(err)
	}
	if commit.Units != parts || commit.Rows != 2*parts || !slices.Equal(commit.Versions, []int64{1}) {
		t.Fatalf("commit: %+v, want %d units and %d rows in version 1", commit, parts, 2*parts)
	}
	rows, err := out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, row := range rows {
		if seen[row.ID] || row.Square != row.ID*row.ID {
			t.Fatalf("row %+v duplicated or wrong", row)
		}
		seen[row.ID] = true
	}
	if len(seen) != 2*parts {
		t.Fatalf("%d rows, want %d", len(seen), 2*parts)
	}
	// a second run plans nothing and commits nothing
	run, err = r.Run(ctx, fanOutPipeline(fo), nil)
	if err != nil || run.State != StateSucceeded {
		t.Fatalf("rerun: %v, %+v", err, run)
	}
	if n := run.Steps["backfill-work"].Items; n != 0 {
		t.Fatalf("rerun ran %d batches, want 0", n)
	}
	if s, err := out.Snapshot(ctx, 0); err != nil || s.Version != 1 {
		t.Fatalf("output after the rerun: %v, %v; want version 1", s, err)
	}
}

// fakeJob is a FanOutJob for compiling only.
type fakeJob struct{}

func (fakeJob) Name() string { return "fake" }
func (fakeJob) PlanRun(context.Context) (json.RawMessage, error) {
	return json.RawMessage(`{"manifest_bucket":"b","manifest_key":"k"}`), nil
}
func (fakeJob) ManifestItems(context.Context, json.RawMessage) ([]json.RawMessage, error) {
	return nil, nil
}
func (fakeJob) WorkRun(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil }
func (fakeJob) CommitRun(context.Context, json.RawMessage) (json.RawMessage, error) {
	return nil, nil
}

// The work step compiles to a Distributed Map with the shape the States
// Language docs give (ItemReader, ItemBatcher, ProcessorConfig,
// ToleratedFailurePercentage, ResultWriter), which asl-validator accepts.
func TestDistributedMapCompiles(t *testing.T) {
	for name, opts := range map[string]*CompileOptions{
		"lambda": {Lambda: &LambdaOptions{FunctionName: "worker"}},
		"ecs":    {ECS: &ECSOptions{Cluster: "c", TaskDefinition: "td", ContainerName: "w", WaitForTaskToken: true}},
	} {
		def, err := Compile(fanOutPipeline(fakeJob{}), opts)
		if err != nil {
			t.Fatal(err)
		}
		var top struct{ States map[string]map[string]any }
		if err := json.Unmarshal(def, &top); err != nil {
			t.Fatal(err)
		}
		m := top.States["backfill-work"]
		want := map[string]string{
			"Type":                               "Map",
			"ItemProcessor.ProcessorConfig.Mode": "DISTRIBUTED",
			"ItemProcessor.ProcessorConfig.ExecutionType": "STANDARD",
			"ItemReader.Resource":                         "arn:aws:states:::s3:getObject",
			"ItemReader.ReaderConfig.InputType":           "JSONL",
			"ItemReader.Parameters.Bucket.$":              "$.steps.backfill_plan.output.manifest_bucket",
			"ItemReader.Parameters.Key.$":                 "$.steps.backfill_plan.output.manifest_key",
			"ItemBatcher.MaxItemsPerBatch":                "20",
			"ItemBatcher.BatchInput.params.$":             "$.params",
			"MaxConcurrency":                              "8",
			"ToleratedFailurePercentage":                  "0",
			"ResultWriter.Resource":                       "arn:aws:states:::s3:putObject",
			"ResultWriter.Parameters.Bucket":              "acme-results",
			"ResultWriter.Parameters.Prefix":              "map-runs",
			"ResultPath":                                  "$.steps.backfill_work",
		}
		for path, v := range want {
			if got := fieldOf(m, path); got != v {
				t.Errorf("%s: %s = %q, want %q", name, path, got, v)
			}
		}
		if _, ok := m["ItemsPath"]; ok {
			t.Errorf("%s: a Distributed Map with an ItemReader has an ItemsPath", name)
		}
		if got := fieldOf(m, "ItemProcessor.StartAt"); got != "batch:backfill-work" {
			t.Errorf("%s: child workflow starts at %q", name, got)
		}
		if got := fieldOf(m, "ItemProcessor.States.batch:backfill-work.Parameters.item.$"); got != "$.Items" {
			t.Errorf("%s: the batch reaches the worker as %q, want $.Items", name, got)
		}
		lintDistributedASL(t, "distributed-"+name, def)
	}
}

// fieldOf reads a dot path of nested objects (a key may hold dots only in
// its last part, like "Bucket.$") as text.
func fieldOf(m map[string]any, path string) string {
	var cur any = m
	parts := strings.Split(path, ".")
	for i := 0; i < len(parts); i++ {
		o, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		if v, ok := o[strings.Join(parts[i:], ".")]; ok {
			cur = v
			break
		}
		cur = o[parts[i]]
	}
	switch v := cur.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// The state machine policy grants what the Distributed Map needs, on the
// right resources, and passes the SAR checks.
func TestDistributedMapPolicy(t *testing.T) {
	acct := iam.Account{Region: "eu-west-1", ID: "111122223333"}
	pol, err := StateMachinePolicy(fanOutPipeline(fakeJob{}), &CompileOptions{Lambda: &LambdaOptions{FunctionName: "worker"}}, acct, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pol.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range iamtest.SAR().Check(raw) {
		t.Errorf("SAR: %v", err)
	}
	granted, err := iamtest.SAR().Granted(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"states:StartExecution":       "arn:aws:states:eu-west-1:111122223333:stateMachine:squares-backfill",
		"states:DescribeExecution":    "arn:aws:states:eu-west-1:111122223333:execution:squares-backfill*:*",
		"states:StopExecution":        "arn:aws:states:eu-west-1:111122223333:execution:squares-backfill*:*",
		"s3:GetObject":                "arn:aws:s3:::acme-lake/_lakekit/system/transform/*",
		"s3:PutObject":                "arn:aws:s3:::acme-results/map-runs/*",
		"s3:AbortMultipartUpload":     "arn:aws:s3:::acme-results/map-runs/*",
		"s3:ListMultipartUploadParts": "arn:aws:s3:::acme-results/map-runs/*",
		"lambda:InvokeFunction":       "arn:aws:lambda:eu-west-1:111122223333:function:worker",
	}
	for action, res := range want {
		if !slices.Contains(granted[action], res) {
			t.Errorf("%s not granted on %s (granted on %v)", action, res, granted[action])
		}
	}
	if t.Failed() {
		t.Logf("policy:\n%s", raw)
	}
}

// Bad Distributed Map settings are refused, naming the step.
func TestDistributedMapValidate(t *testing.T) {
	for name, d := range map[string]DistributedMap{
		"no results":   {ManifestLocation: "s3://b/m/"},
		"not s3":       {ManifestLocation: "/tmp/m", ResultLocation: "s3://b/r/"},
		"input type":   {ManifestLocation: "s3://b/m/", ResultLocation: "s3://b/r/", InputType: "XML"},
		"batch bytes":  {ManifestLocation: "s3://b/m/", ResultLocation: "s3://b/r/", MaxInputBytesPerBatch: 300 << 10},
		"failure rate": {ManifestLocation: "s3://b/m/", ResultLocation: "s3://b/r/", ToleratedFailurePercentage: 120},
	} {
		p := New("p", FanOutSteps("x", fakeJob{}, d)...)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "x-work") {
			t.Errorf("%s: %v, want an error naming step x-work", name, err)
		}
	}
}

// recordingJob is a FanOutJob that records the batches it is given.
type recordingJob struct {
	fakeJob
	batches []json.RawMessage
}

func (j *recordingJob) WorkRun(_ context.Context, batch json.RawMessage) (json.RawMessage, error) {
	j.batches = append(j.batches, batch)
	return json.RawMessage(`{"units":2}`), nil
}

// A child execution's state, built as the compiled child workflow's first
// Pass state builds it from what the ItemBatcher hands it ({"Items",
// "BatchInput"}), reaches the worker's Map function as the batch.
func TestDistributedMapWorkerGetsTheBatch(t *testing.T) {
	job := &recordingJob{}
	p := fanOutPipeline(job)
	def, err := Compile(p, &CompileOptions{Lambda: &LambdaOptions{FunctionName: "worker"}})
	if err != nil {
		t.Fatal(err)
	}
	var top struct{ States map[string]map[string]any }
	if err := json.Unmarshal(def, &top); err != nil {
		t.Fatal(err)
	}
	// the Pass state's Parameters, applied to a child execution's input
	prm := top.States["backfill-work"]["ItemProcessor"].(map[string]any)["States"].(map[string]any)["batch:backfill-work"].(map[string]any)["Parameters"].(map[string]any)
	childInput := map[string]any{
		"Items":      []any{map[string]any{"unit": "partition:part=a"}, map[string]any{"unit": "partition:part=b"}},
		"BatchInput": map[string]any{"params": map[string]any{"day": "2024-05-01"}, "steps": map[string]any{}},
	}
	state := map[string]any{}
	for k, v := range prm {
		path := strings.TrimPrefix(v.(string), "$.")
		cur := any(childInput)
		for _, f := range strings.Split(path, ".") {
			cur = cur.(map[string]any)[f]
		}
		state[strings.TrimSuffix(k, ".$")] = cur
	}
	raw, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	out, err := NewWorker(p).Invoke(context.Background(), "squares-backfill", "backfill-work", raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"units":2}` || len(job.batches) != 1 {
		t.Fatalf("worker output %s, batches %d", out, len(job.batches))
	}
	var got []map[string]string
	if err := json.Unmarshal(job.batches[0], &got); err != nil || len(got) != 2 || got[1]["unit"] != "partition:part=b" {
		t.Fatalf("the worker got %s (%v), want the two items", job.batches[0], err)
	}
}

// A replay of a range of partitions (transform.FanOut.ReplayJob) is one
// pipeline run: its plan step reads the range from the run's parameters,
// the work step compiles to a Distributed Map over the replay's manifest,
// and the run lands as one new table version with every row once.
func TestDistributedReplayOneExecution(t *testing.T) {
	ctx := context.Background()
	const parts = 60
	lk, out, fo := fanOutJob(t, parts)
	if _, err := fo.RunLocal(ctx, nil); err != nil {
		t.Fatal(err)
	}
	job, err := fo.ReplayJob(transform.ReplayRange{Key: "part"})
	if err != nil {
		t.Fatal(err)
	}
	steps := FanOutSteps("replay", job, testDistributed)
	steps[1].MaxConcurrency(4)
	p := New("squares-replay", steps...)
	def, err := Compile(p, &CompileOptions{Lambda: &LambdaOptions{FunctionName: "worker"}})
	if err != nil {
		t.Fatal(err)
	}
	var top struct{ States map[string]map[string]any }
	if err := json.Unmarshal(def, &top); err != nil {
		t.Fatal(err)
	}
	m := top.States["replay-work"]
	for path, v := range map[string]string{"ItemProcessor.ProcessorConfig.Mode": "DISTRIBUTED",
		"ItemReader.Resource":         ResourceS3GetObject,
		"ItemReader.Parameters.Key.$": "$.steps.replay_plan.output.manifest_key",
		"ResultWriter.Resource":       ResourceS3PutObject} {
		if got := fieldOf(m, path); got != v {
			t.Errorf("replay-work: %s = %q, want %q", path, got, v)
		}
	}
	lintDistributedASL(t, "replay", def)

	before, err := out.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(lk, &RunnerOptions{Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(ctx, p, map[string]any{"replay": map[string]string{"from": "p010", "to": "p029"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.State != StateSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	if n := run.Steps["replay-work"].Items; n != 1 { // 20 units, batches of 20
		t.Fatalf("the work step ran %d batches, want 1", n)
	}
	after, err := out.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version+1 {
		t.Fatalf("output at version %d after the replay run, was %d: want one new version", after.Version, before.Version)
	}
	hist, err := out.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-1]; last.Mode != zones.OverwritePartitions || len(last.Removed) != 20 {
		t.Fatalf("the replay commit: mode %s, %d files replaced; want OverwritePartitions of the 20 partitions' files", last.Mode, len(last.Removed))
	}
	rows, err := out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, row := range rows {
		if seen[row.ID] || row.Square != row.ID*row.ID {
			t.Fatalf("row %+v duplicated or wrong", row)
		}
		seen[row.ID] = true
	}
	if len(seen) != 2*parts {
		t.Fatalf("%d rows, want %d", len(seen), 2*parts)
	}
}
