package transform_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// moto 5.2.1 parses a Distributed Map's ItemReader, but its Step Functions
// cannot run the Go worker a compiled task invokes (lambda:invoke of a Go
// function), so these tests play Step Functions themselves: sfnPlayer runs
// the compiled definition's states on the JSON the states pass, reads the
// manifest from moto's S3 as the ItemReader does, batches the items as the
// ItemBatcher does, runs the child workflow of each batch on MaxConcurrency
// goroutines, and hands each Lambda task's payload to the pipeline's
// Worker as the Lambda handler would get it.

// bfMotoLake is a lake on a bucket of moto's S3, and an S3 client of that
// moto for what Step Functions and other engines do outside lakekit.
func bfMotoLake(t *testing.T) (*lake.Lake, *s3.Client, string, *reqCounter) {
	t.Helper()
	m := testaws.StartMoto(t)
	cfg := m.Config(t)
	rc := &reqCounter{HTTPClient: cfg.HTTPClient}
	cfg.HTTPClient = rc
	ctx := context.Background()
	const bucket = "fanout-moto"
	cl := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true
	})
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	st, err := s3store.OpenStore(ctx, cfg, bucket, "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lk, cl, bucket, rc
}

// reqCounter counts the HTTP requests sent to moto.
type reqCounter struct {
	aws.HTTPClient
	n atomic.Int64
}

func (c *reqCounter) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.HTTPClient.Do(r)
}

// bfOpenLake is bfOpen's transform on a lake already open.
func bfOpenLake(t *testing.T, lk *lake.Lake) *bfEnv {
	t.Helper()
	e := &bfEnv{lk: lk}
	var err error
	if e.in, err = zones.NewDataset[BfIn](lk, lake.Cleaned, "bf", "input", nil); err != nil {
		t.Fatal(err)
	}
	if e.out, err = zones.NewDataset[BfOut](lk, lake.Curated, "bf", "output", nil); err != nil {
		t.Fatal(err)
	}
	e.tr, err = transform.New("backfill", transform.FromDataset(e.in),
		transform.Map(func(_ context.Context, r BfIn) (BfOut, error) {
			return BfOut{ID: r.ID, Double: 2 * r.V, Part: r.Part}, nil
		}), e.out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.fo, err = transform.NewFanOut(e.tr); err != nil {
		t.Fatal(err)
	}
	return e
}

// sfnPlayer runs a compiled definition's states: Pass and lambda:invoke
// Task states, and Distributed Map states over an S3 item file. Any other
// state or field it does not play fails the test rather than being
// ignored.
type sfnPlayer struct {
	s3     *s3.Client
	worker *orchestrate.Worker
	// mapRuns counts the Map Runs, items and batches played.
	mu                   sync.Mutex
	mapRuns, items, bats int
	maxParallel, running int
	// reqs counts the requests to moto; phases notes each top-level
	// Task and Map state's time and requests.
	reqs   *reqCounter
	phases []string
}

type aslStates = map[string]map[string]any

// execute runs the state machine from startAt on input and returns the
// final state.
func (p *sfnPlayer) execute(ctx context.Context, startAt string, states aslStates, input any, top bool) (any, error) {
	cur, name := input, startAt
	for {
		t0, r0 := time.Now(), p.reqs.n.Load()
		st, ok := states[name]
		if !ok {
			return nil, fmt.Errorf("state %q is not in the definition", name)
		}
		var err error
		switch st["Type"] {
		case "Pass":
			cur, err = p.pass(st, cur)
		case "Task":
			cur, err = p.task(ctx, st, cur)
		case "Map":
			cur, err = p.distributedMap(ctx, name, st, cur)
		default:
			err = fmt.Errorf("the player does not play %v states: %w", st["Type"], errUnplayed)
		}
		if err != nil {
			return nil, fmt.Errorf("state %q: %w", name, err)
		}
		if top && st["Type"] != "Pass" {
			p.phases = append(p.phases, fmt.Sprintf("%s %v (%d requests)", name, time.Since(t0).Round(time.Millisecond), p.reqs.n.Load()-r0))
		}
		if st["End"] == true {
			return cur, nil
		}
		name, _ = st["Next"].(string)
	}
}

func known(st map[string]any, fields ...string) error {
	for k := range st {
		if !strings.Contains(" Type Next End Comment "+strings.Join(fields, " ")+" ", " "+k+" ") {
			return fmt.Errorf("the player does not play the field %s: %w", k, errUnplayed)
		}
	}
	return nil
}

// errUnplayed marks a definition the player cannot play as Step Functions
// would: the test fails instead of playing it wrong.
var errUnplayed = errors.New("not played")

func (p *sfnPlayer) pass(st map[string]any, in any) (any, error) {
	if err := known(st, "Parameters"); err != nil {
		return nil, err
	}
	return aslParams(st["Parameters"], in)
}

// task plays a lambda:invoke Task: the Payload goes to the worker as the
// Lambda event, the result is {"Payload": output}, then ResultSelector,
// ResultPath and OutputPath as the States Language defines them. Retry is
// not played: a failed invocation fails the execution.
func (p *sfnPlayer) task(ctx context.Context, st map[string]any, in any) (any, error) {
	if err := known(st, "Resource", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "Retry", "TimeoutSeconds"); err != nil {
		return nil, err
	}
	if st["Resource"] != orchestrate.ResourceLambda {
		return nil, fmt.Errorf("the player plays lambda:invoke tasks, not %v: %w", st["Resource"], errUnplayed)
	}
	params, err := aslParams(st["Parameters"], in)
	if err != nil {
		return nil, err
	}
	ev, err := json.Marshal(params.(map[string]any)["Payload"])
	if err != nil {
		return nil, err
	}
	out, err := p.worker.HandleLambda(ctx, ev)
	if err != nil {
		return nil, err
	}
	var payload any
	if err := json.Unmarshal(out, &payload); err != nil {
		return nil, err
	}
	var res any = map[string]any{"Payload": payload, "StatusCode": 200.0}
	if sel, ok := st["ResultSelector"]; ok {
		if res, err = aslParams(sel, res); err != nil {
			return nil, err
		}
	}
	return aslResultAndOutput(st, in, res)
}

// aslResultAndOutput applies ResultPath (default "$": the result is the
// state) and OutputPath.
func aslResultAndOutput(st map[string]any, in, res any) (any, error) {
	out := res
	if rp, ok := st["ResultPath"].(string); ok && rp != "$" {
		var err error
		if out, err = aslSet(in, rp, res); err != nil {
			return nil, err
		}
	}
	if op, ok := st["OutputPath"].(string); ok {
		return aslGet(out, op)
	}
	return out, nil
}

// distributedMap plays a Distributed Map: ItemReader (s3:getObject of a
// JSONL item file), ItemBatcher, the child workflow per batch on at most
// MaxConcurrency goroutines, ToleratedFailurePercentage 0 (any failed
// batch fails the Map Run), ResultWriter (the children's outputs as a
// JSON object under the prefix; the state's result names it).
func (p *sfnPlayer) distributedMap(ctx context.Context, name string, st map[string]any, in any) (any, error) {
	if err := known(st, "ItemReader", "ItemBatcher", "ItemProcessor", "MaxConcurrency", "ToleratedFailurePercentage", "ResultWriter", "ResultPath"); err != nil {
		return nil, err
	}
	proc := st["ItemProcessor"].(map[string]any)
	if cfg := proc["ProcessorConfig"].(map[string]any); cfg["Mode"] != "DISTRIBUTED" {
		return nil, fmt.Errorf("the player plays Distributed Maps, not %v: %w", cfg["Mode"], errUnplayed)
	}
	if tol, _ := st["ToleratedFailurePercentage"].(float64); tol != 0 {
		return nil, fmt.Errorf("ToleratedFailurePercentage %v (the player tolerates none): %w", tol, errUnplayed)
	}
	items, err := p.readItems(ctx, st["ItemReader"].(map[string]any), in)
	if err != nil {
		return nil, fmt.Errorf("ItemReader: %w", err)
	}
	batches, err := aslBatches(st["ItemBatcher"].(map[string]any), in, items)
	if err != nil {
		return nil, fmt.Errorf("ItemBatcher: %w", err)
	}
	conc, _ := st["MaxConcurrency"].(float64)
	if conc <= 0 {
		return nil, fmt.Errorf("no MaxConcurrency: %w", errUnplayed)
	}
	childStates := aslStates{}
	for k, v := range proc["States"].(map[string]any) {
		childStates[k] = v.(map[string]any)
	}
	outs := make([]any, len(batches))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(conc))
	for i, b := range batches {
		g.Go(func() (err error) {
			p.enter(1)
			defer p.enter(-1)
			outs[i], err = p.execute(gctx, proc["StartAt"].(string), childStates, b, false)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("a child execution failed, the Map Run fails: %w", err)
	}
	p.mu.Lock()
	p.mapRuns, p.items, p.bats = p.mapRuns+1, p.items+len(items), p.bats+len(batches)
	p.mu.Unlock()
	res, err := p.writeResults(ctx, st["ResultWriter"].(map[string]any), outs)
	if err != nil {
		return nil, fmt.Errorf("ResultWriter: %w", err)
	}
	return aslResultAndOutput(st, in, res)
}

func (p *sfnPlayer) enter(d int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running += d
	p.maxParallel = max(p.maxParallel, p.running)
}

// readItems reads the item file as the ItemReader does: GetObject of the
// Bucket and Key its Parameters select, one JSON value per line.
func (p *sfnPlayer) readItems(ctx context.Context, r map[string]any, in any) ([]any, error) {
	if r["Resource"] != orchestrate.ResourceS3GetObject {
		return nil, fmt.Errorf("resource %v (the player reads s3:getObject)", r["Resource"])
	}
	if rc := r["ReaderConfig"].(map[string]any); rc["InputType"] != "JSONL" {
		return nil, fmt.Errorf("input type %v (the player reads JSONL)", rc["InputType"])
	}
	loc, err := aslParams(r["Parameters"], in)
	if err != nil {
		return nil, err
	}
	bucket, _ := loc.(map[string]any)["Bucket"].(string)
	key, _ := loc.(map[string]any)["Key"].(string)
	obj, err := p.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	var items []any
	sc := bufio.NewScanner(obj.Body)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var it any
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, fmt.Errorf("s3://%s/%s line %d is not JSON: %v", bucket, key, n, err)
		}
		items = append(items, it)
	}
	return items, sc.Err()
}

// aslBatches groups the items as the ItemBatcher does: each child gets
// {"Items": [...], "BatchInput": <BatchInput on the state>}, batches
// bounded by MaxItemsPerBatch and MaxInputBytesPerBatch.
func aslBatches(b map[string]any, in any, items []any) ([]any, error) {
	bi, err := aslParams(b["BatchInput"], in)
	if err != nil {
		return nil, err
	}
	maxItems, _ := b["MaxItemsPerBatch"].(float64)
	maxBytes, _ := b["MaxInputBytesPerBatch"].(float64)
	if maxItems <= 0 && maxBytes <= 0 {
		return nil, errors.New("neither MaxItemsPerBatch nor MaxInputBytesPerBatch")
	}
	var out []any
	var cur []any
	size := 0
	for _, it := range items {
		ib, _ := json.Marshal(it)
		if len(cur) > 0 && ((maxItems > 0 && len(cur) == int(maxItems)) || (maxBytes > 0 && size+len(ib) > int(maxBytes))) {
			out, cur, size = append(out, map[string]any{"Items": cur, "BatchInput": bi}), nil, 0
		}
		cur, size = append(cur, it), size+len(ib)
	}
	if len(cur) > 0 {
		out = append(out, map[string]any{"Items": cur, "BatchInput": bi})
	}
	return out, nil
}

// writeResults writes the children's outputs under the ResultWriter's
// prefix and returns what the Map state's result is then: where they are.
func (p *sfnPlayer) writeResults(ctx context.Context, w map[string]any, outs []any) (any, error) {
	if w["Resource"] != orchestrate.ResourceS3PutObject {
		return nil, fmt.Errorf("resource %v (the player writes with s3:putObject)", w["Resource"])
	}
	prm := w["Parameters"].(map[string]any)
	bucket, _ := prm["Bucket"].(string)
	prefix, _ := prm["Prefix"].(string)
	p.mu.Lock()
	run := fmt.Sprintf("run-%d", p.mapRuns)
	p.mu.Unlock()
	b, err := json.Marshal(outs)
	if err != nil {
		return nil, err
	}
	key := prefix + "/" + run + "/SUCCEEDED_0.json"
	if _, err := p.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
		return nil, err
	}
	return map[string]any{"MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:bf-backfill/" + run,
		"ResultWriterDetails": map[string]any{"Bucket": bucket, "Key": key}}, nil
}

// aslParams evaluates a Parameters (or ResultSelector, BatchInput)
// template on in: "k.$" fields take the value at their path.
func aslParams(tmpl, in any) (any, error) {
	switch v := tmpl.(type) {
	case nil:
		return in, nil
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if f, ok := strings.CutSuffix(k, ".$"); ok {
				path, _ := x.(string)
				got, err := aslGet(in, path)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				out[f] = got
				continue
			}
			got, err := aslParams(x, in)
			if err != nil {
				return nil, err
			}
			out[k] = got
		}
		return out, nil
	default:
		return v, nil
	}
}

// aslGet reads a reference path ("$" or "$.a.b") of v.
func aslGet(v any, path string) (any, error) {
	if path == "$" {
		return v, nil
	}
	rest, ok := strings.CutPrefix(path, "$.")
	if !ok || strings.ContainsAny(rest, "[]*@()") {
		return nil, fmt.Errorf("path %q: the player reads $.a.b paths", path)
	}
	for _, f := range strings.Split(rest, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("path %q: %q is not in an object", path, f)
		}
		if v, ok = m[f]; !ok {
			return nil, fmt.Errorf("path %q: no field %q", path, f)
		}
	}
	return v, nil
}

// aslSet returns a copy of in with res at the reference path rp.
func aslSet(in any, rp string, res any) (any, error) {
	rest, ok := strings.CutPrefix(rp, "$.")
	if !ok {
		return nil, fmt.Errorf("ResultPath %q: the player writes $.a.b paths", rp)
	}
	fields := strings.Split(rest, ".")
	var set func(v any, i int) (any, error)
	set = func(v any, i int) (any, error) {
		m, ok := v.(map[string]any)
		if v != nil && !ok {
			return nil, fmt.Errorf("ResultPath %q: %q is not in an object", rp, fields[i])
		}
		cp := map[string]any{}
		for k, x := range m {
			cp[k] = x
		}
		if i == len(fields)-1 {
			cp[fields[i]] = res
			return cp, nil
		}
		sub, err := set(m[fields[i]], i+1)
		cp[fields[i]] = sub
		return cp, err
	}
	return set(in, 0)
}

// bfPipeline is the fan-out of e as a pipeline, its compiled definition
// and a player of it whose Lambda worker runs e's steps.
func bfPipeline(t *testing.T, e *bfEnv, cl *s3.Client, bucket string, reqs *reqCounter) (aslStates, string, *sfnPlayer, orchestrate.DistributedMap) {
	t.Helper()
	d := orchestrate.DistributedMap{ManifestLocation: "s3://" + bucket + "/lake/_lakekit/", ResultLocation: "s3://" + bucket + "/map-runs/", MaxItemsPerBatch: 25}
	steps := orchestrate.FanOutSteps("backfill", e.fo, d)
	steps[1].MaxConcurrency(8)
	p := orchestrate.New("bf-backfill", steps...)
	def, err := orchestrate.Compile(p, &orchestrate.CompileOptions{Lambda: &orchestrate.LambdaOptions{FunctionName: "lakekit-worker"}})
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		StartAt string
		States  aslStates
	}
	if err := json.Unmarshal(def, &sm); err != nil {
		t.Fatal(err)
	}
	return sm.States, sm.StartAt, &sfnPlayer{s3: cl, worker: orchestrate.NewWorker(p), reqs: reqs}, d
}

// stepOutput is a Go step's output in the final state of an execution.
func stepOutput[T any](t *testing.T, final any, step string) T {
	t.Helper()
	v, err := aslGet(final, "$.steps."+orchestrate.Key(step)+".output")
	if err != nil {
		t.Fatalf("final state: %v", err)
	}
	b, _ := json.Marshal(v)
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("output of %s: %s: %v", step, b, err)
	}
	return out
}

type bfCommitOut struct {
	Plan      string  `json:"plan"`
	Units     int     `json:"units"`
	Rows      int64   `json:"rows"`
	Versions  []int64 `json:"versions"`
	Duplicate bool    `json:"duplicate"`
}

// 2,000 partitions on a lake on moto's S3, as one execution of the
// compiled state machine would run them: the plan step's Lambda writes the
// manifest, the Distributed Map reads it from S3 and runs batches of 25
// on 8 concurrent children, the commit step lands one table version with
// every row once and the ledger marking all 2,000; a second execution
// plans nothing and commits nothing.
func TestFanOutBackfill2000PartitionsMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 partitions on moto")
	}
	ctx := context.Background()
	lk, cl, bucket, reqs := bfMotoLake(t)
	e := bfOpenLake(t, lk)
	const parts = 2000
	start := time.Now()
	e.bfSeed(t, parts)
	seeded, seedReqs := time.Since(start), reqs.n.Swap(0)
	states, startAt, player, d := bfPipeline(t, e, cl, bucket, reqs)

	start = time.Now()
	final, err := player.execute(ctx, startAt, states, map[string]any{}, true)
	if err != nil {
		t.Fatalf("execution: %v", err)
	}
	ran, runReqs := time.Since(start), reqs.n.Swap(0)
	plan := stepOutput[transform.FanOutPlan](t, final, "backfill-plan")
	if plan.Units != parts || plan.ManifestBucket != bucket || !strings.HasPrefix(plan.ManifestURL, d.ManifestLocation) {
		t.Fatalf("plan %+v: want %d units, its manifest in s3://%s under %s", plan, parts, bucket, d.ManifestLocation)
	}
	if player.mapRuns != 1 || player.items != parts || player.bats != parts/25 || player.maxParallel > 8 || player.maxParallel < 2 {
		t.Fatalf("map run: %d runs, %d items in %d batches, at most %d children at once; want 1 run, %d items, %d batches, 2 to 8 at once",
			player.mapRuns, player.items, player.bats, player.maxParallel, parts, parts/25)
	}
	c := stepOutput[bfCommitOut](t, final, "backfill-commit")
	if c.Plan != plan.ID || c.Units != parts || c.Rows != parts*bfRowsPerPart || len(c.Versions) != 1 || c.Versions[0] != 1 || c.Duplicate {
		t.Fatalf("commit step output %+v: want plan %s, %d units, %d rows in version 1", c, plan.ID, parts, parts*bfRowsPerPart)
	}
	if v := e.version(t); v != 1 {
		t.Fatalf("output at version %d after the execution, want 1 (one commit)", v)
	}
	start = time.Now()
	e.checkOutput(t, parts) // read back by zones; the ledger
	bfCheckObjects(t, e, cl, bucket, plan.ID, parts)
	checked, checkReqs := time.Since(start), reqs.n.Swap(0)

	// a second execution: nothing is pending
	player.mapRuns, player.items, player.bats = 0, 0, 0
	final, err = player.execute(ctx, startAt, states, map[string]any{}, true)
	if err != nil {
		t.Fatalf("second execution: %v", err)
	}
	again := stepOutput[transform.FanOutPlan](t, final, "backfill-plan")
	c = stepOutput[bfCommitOut](t, final, "backfill-commit")
	if again.Units != 0 || player.items != 0 || player.bats != 0 || c.Units != 0 || len(c.Versions) != 0 || e.version(t) != 1 {
		t.Fatalf("second execution: plan of %d units, %d items read in %d batches, commit %+v, version %d; want nothing planned, version 1",
			again.Units, player.items, player.bats, c, e.version(t))
	}
	t.Logf("moto: seeding %v (%d requests), execution (plan, %d batches, commit) %v (%d requests), checks %v (%d requests)",
		seeded, seedReqs, parts/25, ran, runReqs, checked, checkReqs)
	t.Logf("moto: states of the two executions: %s", strings.Join(player.phases, "; "))
}

// bfCheckObjects checks the output table on S3 as an engine listing the
// bucket sees it: the data files under the table's folder are exactly the
// snapshot's, each read with parquet-go holds its rows, every row is in
// exactly one of them, and the plan's staging folder holds nothing.
func bfCheckObjects(t *testing.T, e *bfEnv, cl *s3.Client, bucket, planID string, parts int) {
	t.Helper()
	ctx := context.Background()
	snap, err := e.out.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]zones.DataFile{}
	for _, f := range snap.Files {
		if _, dup := named[f.Location]; dup {
			t.Fatalf("the snapshot names %s twice", f.Location)
		}
		if strings.Contains(f.Key, zones.StagingDir) {
			t.Fatalf("the snapshot names %s, in the staging folder", f.Key)
		}
		named[f.Location] = f
	}
	tb := e.out.Table()
	folder := strings.TrimPrefix(tb.Zone().Store().Location(tb.Prefix()), "s3://"+bucket+"/") + "/"
	var data, staged []string
	pg := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(folder)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			switch {
			case !strings.HasSuffix(k, ".parquet"):
			case strings.Contains(k, "/"+zones.StagingDir):
				staged = append(staged, k)
			case !strings.Contains(k, "/_lakekit/"):
				data = append(data, k)
			}
		}
	}
	if len(staged) != 0 {
		t.Fatalf("%d Parquet objects left in the table's staging folder after the commit (first %s)", len(staged), staged[0])
	}
	if keys, err := e.fo.StagingKeys(ctx, planID); err != nil || len(keys) != 0 {
		t.Fatalf("plan staging keys after the commit: %v, %v", keys, err)
	}
	if len(data) != len(named) || len(named) != parts {
		t.Fatalf("%d data objects under s3://%s/%s, the snapshot names %d; want %d (one per partition)", len(data), bucket, folder, len(named), parts)
	}
	seen := make([]int, parts*bfRowsPerPart)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range data {
		f, ok := named["s3://"+bucket+"/"+k]
		if !ok {
			t.Fatalf("s3://%s/%s is in the table's folder but not in the snapshot", bucket, k)
		}
		g.Go(func() error {
			rows, err := bfReadObject(gctx, cl, bucket, k)
			if err != nil {
				return err
			}
			if int64(len(rows)) != f.Rows {
				return fmt.Errorf("%s holds %d rows, the snapshot says %d", k, len(rows), f.Rows)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rows {
				if r.ID < 0 || r.ID >= int64(len(seen)) || r.Double != 2*(r.ID+1) {
					return fmt.Errorf("%s holds row %+v, not one of the transformed input", k, r)
				}
				seen[r.ID]++
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %d is in %d objects, want exactly 1", id, n)
		}
	}
}

// bfReadObject reads an output object from S3 with parquet-go.
func bfReadObject(ctx context.Context, cl *s3.Client, bucket, key string) ([]BfOut, error) {
	obj, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		return nil, err
	}
	rows, err := parquet.Read[BfOut](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return rows, nil
}

// The player's ItemBatcher and paths do what the States Language says:
// batches bounded by items and by bytes, each with the BatchInput; a
// ResultPath that sets a field leaves the rest of the state as it was.
func TestFanOutPlayerBatchesAndPaths(t *testing.T) {
	var items []any
	for i := range 60 {
		items = append(items, map[string]any{"unit": fmt.Sprintf("u%02d", i)}) // 14 bytes each
	}
	in := map[string]any{"params": map[string]any{"day": "d"}}
	for _, c := range []struct {
		batcher map[string]any
		sizes   []int
	}{
		{map[string]any{"MaxItemsPerBatch": 25.0, "BatchInput": map[string]any{"params.$": "$.params"}}, []int{25, 25, 10}},
		{map[string]any{"MaxInputBytesPerBatch": 14.0 * 7, "BatchInput": map[string]any{"params.$": "$.params"}}, []int{7, 7, 7, 7, 7, 7, 7, 7, 4}},
		{map[string]any{"MaxItemsPerBatch": 5.0, "MaxInputBytesPerBatch": 14.0 * 7, "BatchInput": map[string]any{"params.$": "$.params"}}, []int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}},
	} {
		bs, err := aslBatches(c.batcher, in, items)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, b := range bs {
			m := b.(map[string]any)
			sizes = append(sizes, len(m["Items"].([]any)))
			if m["BatchInput"].(map[string]any)["params"].(map[string]any)["day"] != "d" {
				t.Fatalf("batch input %v, want the params", m["BatchInput"])
			}
		}
		if fmt.Sprint(sizes) != fmt.Sprint(c.sizes) {
			t.Fatalf("batcher %v: batch sizes %v, want %v", c.batcher, sizes, c.sizes)
		}
	}
	if _, err := aslBatches(map[string]any{}, in, items); err == nil {
		t.Fatal("a batcher without bounds was played")
	}
	out, err := aslSet(in, "$.steps.plan", map[string]any{"output": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := aslGet(out, "$.steps.plan.output"); err != nil || got != 1.0 {
		t.Fatalf("$.steps.plan.output = %v, %v", got, err)
	}
	if got, err := aslGet(out, "$.params.day"); err != nil || got != "d" {
		t.Fatalf("$.params.day after the ResultPath = %v, %v", got, err)
	}
	if _, err := aslGet(out, "$.steps.nope"); err == nil {
		t.Fatal("a missing field was read")
	}
}
