package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/examples/internal/extest/duck"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/zones/raw"
)

// TestBackfillEmit compiles the -backfill pipeline: the work step is a
// Distributed Map over the plan's manifest (the shape the States Language
// docs give), between the plan and the commit task, and asl-validator
// accepts the definition.
func TestBackfillEmit(t *testing.T) {
	for _, target := range []string{"ecs", "lambda"} {
		t.Run(target, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "backfill.asl.json")
			out, err := runSFN(t, "-backfill", "-target", target, "-emit", f, "-lake", "s3://acme/lake", "-batch", "25", "-workers", "16")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			def, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var asl struct{ States map[string]map[string]any }
			if err := json.Unmarshal(def, &asl); err != nil {
				t.Fatal(err)
			}
			work := asl.States["work"]
			proc, _ := work["ItemProcessor"].(map[string]any)
			cfg, _ := proc["ProcessorConfig"].(map[string]any)
			reader, _ := work["ItemReader"].(map[string]any)
			rcfg, _ := reader["ReaderConfig"].(map[string]any)
			rparams, _ := reader["Parameters"].(map[string]any)
			batcher, _ := work["ItemBatcher"].(map[string]any)
			writer, _ := work["ResultWriter"].(map[string]any)
			wparams, _ := writer["Parameters"].(map[string]any)
			for what, got := range map[string][2]any{
				"Type":                              {work["Type"], "Map"},
				"ProcessorConfig.Mode":              {cfg["Mode"], "DISTRIBUTED"},
				"ProcessorConfig.ExecutionType":     {cfg["ExecutionType"], "STANDARD"},
				"ItemReader.Resource":               {reader["Resource"], orchestrate.ResourceS3GetObject},
				"ItemReader.ReaderConfig.InputType": {rcfg["InputType"], "JSONL"},
				"ItemReader.Parameters.Key.$":       {rparams["Key.$"], "$.steps.plan.output.manifest_key"},
				"ItemBatcher.MaxItemsPerBatch":      {batcher["MaxItemsPerBatch"], 25.0},
				"MaxConcurrency":                    {work["MaxConcurrency"], 16.0},
				"ToleratedFailurePercentage":        {work["ToleratedFailurePercentage"], 0.0},
				"ResultWriter.Resource":             {writer["Resource"], orchestrate.ResourceS3PutObject},
				"ResultWriter.Parameters.Bucket":    {wparams["Bucket"], "acme"},
				"ResultWriter.Parameters.Prefix":    {wparams["Prefix"], "lake/_lakekit/map-runs"},
			} {
				if got[0] != got[1] {
					t.Errorf("work: %s = %v, want %v", what, got[0], got[1])
				}
			}
			if _, ok := work["ItemsPath"]; ok {
				t.Error("the Distributed Map has an ItemsPath besides its ItemReader")
			}
			next, _ := work["Next"].(string)
			if n, _ := asl.States[next]["Next"].(string); next != "commit" && n == "commit" { // ECS: a Pass state builds the task's input first
				next = n
			}
			if asl.States["plan"]["Next"] != "work" || next != "commit" || asl.States["commit"]["Type"] != "Task" {
				t.Errorf("plan → %v, work → %v, commit %v: want plan → work → the commit task", asl.States["plan"]["Next"], work["Next"], asl.States["commit"]["Type"])
			}
			lintDistributed(t, def)
		})
	}
	// a definition needs the lake on S3: its manifests are read from there
	extestWantErr(t, []string{"-backfill", "-emit", filepath.Join(t.TempDir(), "x.json"), "-lake", "/tmp/lake"}, "-lake", "s3://")
}

// TestBackfillLocal runs -backfill here on a lake with cleaned clicks:
// plan, batches of 2 partitions on 3 workers, one commit — page_views gets
// one table version holding every cleaned row once (read by DuckDB); a
// second run plans nothing.
func TestBackfillLocal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env, good := cleanedLake(t, dir)
	days, err := env.Cleaned.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]bool{}
	for _, f := range days.Files {
		parts[f.Partition.String()] = true
	}
	out, err := runSFN(t, "-backfill", "-lake", dir, "-catalog", "local", "-batch", "2", "-workers", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	batches := (len(parts) + 1) / 2
	if !strings.Contains(out, "step       work     succeeded ("+itoa(batches)+" batches)") {
		t.Errorf("output does not show %d batches:\n%s", batches, out)
	}
	commit := lastJSON(t, out)
	if commit.Units != len(parts) || commit.Rows != good || len(commit.Versions) != 1 || commit.Versions[0] != 1 {
		t.Fatalf("commit %+v, want %d units, %d rows in version 1", commit, len(parts), good)
	}
	// the manifest lies under the prefix the emitted definition's policy
	// lets the ItemReader read (backfillOptions.distributedMap)
	if m, _ := filepath.Glob(filepath.Join(dir, "_lakekit", "transform", "curate_page_views", "fanout", "*", "manifest.jsonl")); len(m) != 1 {
		t.Errorf("manifests under _lakekit/transform/curate_page_views/fanout/: %v, want one", m)
	}
	db := duck.Open(t)
	var n, ids int64
	duck.Scan(t, db, "SELECT count(*), count(DISTINCT event_id) FROM "+duck.ParquetGlob(filepath.Join(dir, "curated", "web", "page_views")), &n, &ids)
	if n != good || ids != good {
		t.Fatalf("DuckDB: %d page views, %d distinct events; want %d each", n, ids, good)
	}
	hist, err := env.PageViews.History(ctx)
	if err != nil || len(hist) != 1 {
		t.Fatalf("page_views history: %d versions (%v), want 1", len(hist), err)
	}
	out, err = runSFN(t, "-backfill", "-lake", dir, "-catalog", "local")
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if again := lastJSON(t, out); again.Units != 0 {
		t.Fatalf("second run committed %+v, want 0 units", again)
	}
	if hist, err := env.PageViews.History(ctx); err != nil || len(hist) != 1 {
		t.Fatalf("page_views after the second run: %d versions (%v), want 1", len(hist), err)
	}
}

type commitOut struct {
	Units    int     `json:"units"`
	Rows     int64   `json:"rows"`
	Versions []int64 `json:"versions"`
}

func lastJSON(t *testing.T, out string) commitOut {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var c commitOut
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &c); err != nil {
		t.Fatalf("last line of %q: %v", out, err)
	}
	return c
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// cleanedLake lands the click events in a file lake in dir and runs the
// clean step; it returns the environment and the number of clean rows.
func cleanedLake(t *testing.T, dir string) (*Env, int64) {
	t.Helper()
	ctx := context.Background()
	lk, err := lake.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	buf, err := raw.NewBuffer(lk, Source, Dataset, &raw.BufferOptions{FlushRecords: 500})
	if err != nil {
		t.Fatal(err)
	}
	events, bad := clickEvents(2000)
	for _, e := range events {
		if err := buf.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := buf.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	env, err := NewEnv(lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Clean.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if good := int64(len(events)) - bad; res.RowsOut != good {
		t.Fatalf("clean: %d rows out, want %d", res.RowsOut, good)
	}
	return env, res.RowsOut
}

// extestWantErr runs the command with args and wants a failure whose
// message holds every one of wants.
func extestWantErr(t *testing.T, args []string, wants ...string) {
	t.Helper()
	out, err := runSFN(t, args...)
	if err == nil {
		t.Fatalf("%v succeeded:\n%s", args, out)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v: error %q does not say %q", args, err, w)
		}
	}
}

// lintDistributed checks a definition with a Distributed Map with
// asl-validator (4.0.0 knows Distributed Map). statelint 1.30.0 predates
// Distributed Map and rejects ItemReader, ItemBatcher, ResultWriter and
// ToleratedFailurePercentage, so it must still reject this definition:
// once it accepts it, lint with extest.LintASL instead.
func lintDistributed(t *testing.T, def []byte) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		testaws.SkipOrFail(t, "node is not installed: cannot run asl-validator")
	}
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(strings.TrimSpace(string(root))) == 0 {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(filepath.Dir(strings.TrimSpace(string(root))), "internal", "tools", "npm", "node_modules", ".bin")
	f := filepath.Join(t.TempDir(), "definition.asl.json")
	if err := os.WriteFile(f, def, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"asl-validator", "statelint"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			testaws.SkipOrFail(t, name+" is not installed (run: npm ci --prefix internal/tools/npm)")
		}
	}
	if out, err := exec.Command(filepath.Join(bin, "asl-validator"), "--json-path", f).CombinedOutput(); err != nil {
		t.Errorf("asl-validator rejects the definition: %v\n%s", err, out)
	}
	if err := exec.Command(filepath.Join(bin, "statelint"), f).Run(); err == nil {
		t.Error("statelint accepts a definition with a Distributed Map: it now knows them, so lint with extest.LintASL")
	}
}
