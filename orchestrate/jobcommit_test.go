package orchestrate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// JobSale is the table the Glue job writes into.
type JobSale struct {
	ID     int64   `parquet:"id"`
	Amount float64 `parquet:"amount"`
	Day    string  `parquet:"day" lakekit:"partition"`
}

// jobSaleFile is a row as the job's Spark writer stores it: the partition
// column is in the folder name, not in the file.
type jobSaleFile struct {
	ID     int64   `parquet:"id"`
	Amount float64 `parquet:"amount"`
}

// gluePeer is moto_server's Glue behind a proxy that plays the job: on
// StartJobRun it writes what the run's script would into
// <--lakekit_staging><JobRunId>/ (Spark's part-….snappy.parquet files
// under day=… folders), and it reports the runs listed in fail as FAILED
// (after writing part of their output, as a job that dies half-way does).
type gluePeer struct {
	moto  *testaws.Moto
	url   string
	store *lake.Store // where the staging URLs lie

	mu    sync.Mutex
	runs  []string
	fail  map[string]bool
	nfail int // the next nfail runs fail
	rows  int // rows a successful run writes
}

func startGluePeer(t *testing.T, store *lake.Store, rows int) *gluePeer {
	g := &gluePeer{moto: testaws.StartMoto(t), store: store, fail: map[string]bool{}, rows: rows}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *gluePeer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	target = target[strings.LastIndexByte(target, '.')+1:]
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, g.moto.Endpoint+r.URL.RequestURI(), bytes.NewReader(raw))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		switch target {
		case "StartJobRun":
			var in struct{ Arguments map[string]string }
			var started struct{ JobRunId string }
			json.Unmarshal(raw, &in)
			json.Unmarshal(out, &started)
			if err := g.runJob(r.Context(), started.JobRunId, in.Arguments); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		case "GetJobRun":
			var res map[string]any
			json.Unmarshal(out, &res)
			if jr, ok := res["JobRun"].(map[string]any); ok {
				g.mu.Lock()
				if g.fail[fmt.Sprint(jr["Id"])] {
					jr["JobRunState"] = "FAILED"
					jr["ErrorMessage"] = "An error occurred while calling o110.pyWriteDynamicFrame: Container killed by YARN"
				}
				g.mu.Unlock()
				out, _ = json.Marshal(res)
			}
		}
	}
	for k, vs := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// runJob writes the run's output as the job's script would.
func (g *gluePeer) runJob(ctx context.Context, id string, args map[string]string) error {
	g.mu.Lock()
	g.runs = append(g.runs, id)
	failing := g.nfail > 0
	if failing {
		g.nfail--
		g.fail[id] = true
	}
	g.mu.Unlock()
	staging := args[orchestrate.ArgStaging]
	folder, ok := strings.CutPrefix(staging+id+"/", g.store.Location(""))
	if staging == "" || !ok {
		return fmt.Errorf("no %s under %s in %v", orchestrate.ArgStaging, g.store.Location(""), args)
	}
	n := g.rows
	if failing {
		n = 3 // died half-way
	}
	for d := range 2 {
		var rows []jobSaleFile
		for i := range n {
			if i%2 == d {
				rows = append(rows, jobSaleFile{ID: int64(i), Amount: float64(i) / 4})
			}
		}
		var b bytes.Buffer
		w := parquet.NewGenericWriter[jobSaleFile](&b, parquet.Compression(&parquet.Snappy))
		if _, err := w.Write(rows); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		key := fmt.Sprintf("%sday=2024-05-0%d/part-%05d-3f1c2a7e-9b1d-4c1e-8e2f-%012d.c000.snappy.parquet", folder, d+1, d, d)
		if err := g.store.PutBytes(ctx, key, b.Bytes(), nil); err != nil {
			return err
		}
	}
	return g.store.PutBytes(ctx, folder+"_SUCCESS", nil, nil)
}

// TestGlueJobAdoptStagedOutput: a pipeline with a Glue job step writing
// into a lakekit table gets --lakekit_staging, and the commit step right
// after the job adopts what the successful run wrote in one commit with
// the ledger entry. The job's first run fails half-way and the step's
// Retry starts a second: only the second run's rows are committed, the
// first run's files stay invisible and Vacuum deletes them. Committing the
// run again (the worker running the compiled commit Task) adds nothing
// twice; a job that fails for good commits nothing. The compiled state
// machine has the commit as a Task right after the job's .sync Task.
func TestGlueJobAdoptStagedOutput(t *testing.T) {
	ctx := context.Background()
	fs, err := filestore.New(t.TempDir(), &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(lake.NewStore(fs), nil)
	if err != nil {
		t.Fatal(err)
	}
	sales, err := zones.NewDataset[JobSale](lk, lake.Curated, "shop", "sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := transform.NewStaged("load_sales", sales, nil)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 10
	peer := startGluePeer(t, sales.Table().Zone().Store(), rows)
	cfg := testaws.Config(t, peer.url)
	if _, err := glue.NewFromConfig(cfg).CreateJob(ctx, &glue.CreateJobInput{Name: aws.String("load-sales"), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		Command: &gluetypes.JobCommand{Name: aws.String("glueetl"), ScriptLocation: aws.String("s3://scripts/load_sales.py")}}); err != nil {
		t.Fatal(err)
	}
	job, commit, err := orchestrate.GlueJobInto("load", "load-sales", map[string]string{"--day": "2024-05-01"}, staged)
	if err != nil {
		t.Fatal(err)
	}
	job.Retry(orchestrate.RetryPolicy{ErrorEquals: []string{orchestrate.ErrorAll}, Interval: 10 * time.Millisecond, MaxAttempts: 1})
	p := orchestrate.New("sales", job, commit)
	g, err := orchestrate.NewGlue(cfg, &orchestrate.GlueOptions{Wait: orchestrate.WaitOptions{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxWait: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := orchestrate.NewRunner(lk, &orchestrate.RunnerOptions{Glue: g})
	if err != nil {
		t.Fatal(err)
	}

	// the first run dies half-way, the retry succeeds
	peer.nfail = 1
	run, err := r.Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(peer.runs) != 2 {
		t.Fatalf("%d job runs, want the failed one and its retry", len(peer.runs))
	}
	failed, good := peer.runs[0], peer.runs[1]
	got, err := sales.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != rows {
		t.Fatalf("table holds %d rows, the successful run wrote %d (the failed run's 3 must not be there)", len(got), rows)
	}
	hist, err := sales.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 {
		t.Fatalf("%d commits, want 1", len(hist))
	}
	l, err := staged.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 1 || l.Entries[0].Unit != "run:"+good || l.Entries[0].RowsOut != rows {
		t.Fatalf("ledger %+v, want one entry for run %s", l.Entries, good)
	}
	var out struct {
		Run  string
		Rows int64
	}
	if err := json.Unmarshal(run.Steps["load-commit"].Output, &out); err != nil || out.Run != good || out.Rows != rows {
		t.Fatalf("commit step output %s", run.Steps["load-commit"].Output)
	}

	// the failed run's files: invisible, then deleted by Vacuum
	st := sales.Table().Zone().Store()
	failedPrefix := strings.TrimPrefix(staged.StagingURL(), st.Location("")) + failed + "/"
	left, err := st.ListAll(ctx, failedPrefix, nil)
	if err != nil || len(left) == 0 {
		t.Fatalf("the failed run's staging: %v %v", left, err)
	}
	vr, err := sales.Table().Vacuum(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if !slices.Contains(vr.Deleted, e.Key) {
			t.Fatalf("Vacuum kept %s of the failed run (deleted %v, foreign %v)", e.Key, vr.Deleted, vr.Foreign)
		}
	}
	if got, err := sales.ReadAll(ctx, nil); err != nil || len(got) != rows {
		t.Fatalf("after Vacuum: %d rows, %v", len(got), err)
	}

	// compiled: the commit is the Task right after the job's .sync Task
	def, err := orchestrate.Compile(p, &orchestrate.CompileOptions{Lambda: &orchestrate.LambdaOptions{FunctionName: "sales-worker"}})
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		States map[string]struct {
			Type, Resource, Next string
			Parameters           map[string]any
		}
	}
	if err := json.Unmarshal(def, &sm); err != nil {
		t.Fatal(err)
	}
	js, cs := sm.States["load"], sm.States["load-commit"]
	args, _ := js.Parameters["Arguments"].(map[string]any)
	if js.Resource != orchestrate.ResourceGlueJobSync || js.Next != "load-commit" || args[orchestrate.ArgStaging] != staged.StagingURL() || args["--day"] != "2024-05-01" {
		t.Fatalf("job state %+v", js)
	}
	if cs.Type != "Task" || cs.Resource != orchestrate.ResourceLambda {
		t.Fatalf("commit state %+v", cs)
	}
	// the worker running the commit Task for the same run adds nothing
	w := orchestrate.NewWorker(p)
	state := fmt.Sprintf(`{"params": {}, "steps": {"load": {"JobRunId": %q, "JobRunState": "SUCCEEDED"}}}`, good)
	again, err := w.Invoke(ctx, "sales", "load-commit", json.RawMessage(state))
	if err != nil || !strings.Contains(string(again), `"duplicate":true`) {
		t.Fatalf("commit again: %s %v", again, err)
	}
	if hist, _ := sales.History(ctx); len(hist) != 1 {
		t.Fatalf("%d commits after committing the run again", len(hist))
	}

	// a job that fails for good: the commit step does not run
	peer.nfail = 2
	run, err = r.Run(ctx, p, nil)
	if err == nil || run.State == orchestrate.StateSucceeded {
		t.Fatalf("failed job: run %s, err %v", run.State, err)
	}
	if s := run.Steps["load-commit"]; s != nil && (s.State == orchestrate.StateSucceeded || len(s.Output) > 0) {
		t.Fatalf("the commit step ran after a failed job: %+v", s)
	}
	if hist, _ := sales.History(ctx); len(hist) != 1 {
		t.Fatalf("%d commits after a failed job", len(hist))
	}
	if _, _, err := orchestrate.GlueJobInto("x", "j", map[string]string{orchestrate.ArgStaging: "s3://b/"}, staged); !errors.Is(err, orchestrate.ErrInvalidPipeline) {
		t.Fatalf("an argument overriding the staging folder: %v", err)
	}
}
