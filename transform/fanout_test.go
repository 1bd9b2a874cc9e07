package transform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// BfIn is the input of the fan-out tests: one table partitioned by part.
type BfIn struct {
	ID   int64  `parquet:"id"`
	V    int64  `parquet:"v"`
	Part string `parquet:"part" lakekit:"partition"`
}

// BfOut is its output, partitioned the same way.
type BfOut struct {
	ID     int64  `parquet:"id"`
	Double int64  `parquet:"double"`
	Part   string `parquet:"part" lakekit:"partition"`
}

const bfRowsPerPart = 3

type bfEnv struct {
	lk  *lake.Lake
	in  *zones.Dataset[BfIn]
	out *zones.Dataset[BfOut]
	tr  *transform.Transform[BfIn, BfOut]
	fo  *transform.FanOut[BfIn, BfOut]
}

// bfOpen opens the fan-out test lake in dir: the same definitions in the
// test and in its worker processes. A row of partition fail stops the
// transform (transform.Fatal); hang, when set, is called before a row of
// partition hangPart is transformed.
func bfOpen(t testing.TB, dir, fail, hangPart string, hang func()) *bfEnv {
	t.Helper()
	lk, _ := fileLake(t, dir)
	e := &bfEnv{lk: lk}
	var err error
	if e.in, err = zones.NewDataset[BfIn](lk, lake.Cleaned, "bf", "input", nil); err != nil {
		t.Fatal(err)
	}
	if e.out, err = zones.NewDataset[BfOut](lk, lake.Curated, "bf", "output", nil); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	e.tr, err = transform.New("backfill", transform.FromDataset(e.in),
		transform.Map(func(_ context.Context, r BfIn) (BfOut, error) {
			if r.Part == fail {
				return BfOut{}, transform.Fatal(fmt.Errorf("partition %s cannot be transformed", r.Part))
			}
			if hang != nil && r.Part == hangPart {
				once.Do(hang)
			}
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

func bfPart(i int) string { return fmt.Sprintf("p%04d", i) }

// bfSeed writes parts partitions of bfRowsPerPart rows each into the input.
func (e *bfEnv) bfSeed(t testing.TB, parts int) {
	t.Helper()
	ctx := context.Background()
	const perCommit = 250
	for lo := 0; lo < parts; lo += perCommit {
		w, err := e.in.NewWriter(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rows []BfIn
		for p := lo; p < min(lo+perCommit, parts); p++ {
			for j := 0; j < bfRowsPerPart; j++ {
				id := int64(p*bfRowsPerPart + j)
				rows = append(rows, BfIn{ID: id, V: id + 1, Part: bfPart(p)})
			}
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// checkOutput checks that the output holds every input row exactly once,
// transformed, and that the ledger marks every partition.
func (e *bfEnv) checkOutput(t *testing.T, parts int) {
	t.Helper()
	ctx := context.Background()
	rows, err := e.out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != parts*bfRowsPerPart {
		t.Fatalf("output has %d rows, want %d", len(rows), parts*bfRowsPerPart)
	}
	seen := map[int64]bool{}
	for _, r := range rows {
		if seen[r.ID] {
			t.Fatalf("row %d is in the output twice", r.ID)
		}
		seen[r.ID] = true
		if r.Double != 2*(r.ID+1) || r.Part != bfPart(int(r.ID)/bfRowsPerPart) {
			t.Fatalf("row %+v was not transformed as the input said", r)
		}
	}
	l, err := e.tr.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != parts {
		t.Fatalf("ledger has %d entries, want %d", len(l.Entries), parts)
	}
	marked := map[string]bool{}
	for _, en := range l.Entries {
		marked[en.Partition] = true
		if en.RowsOut != bfRowsPerPart {
			t.Fatalf("ledger entry %s: %d rows out, want %d", en.Unit, en.RowsOut, bfRowsPerPart)
		}
	}
	for p := 0; p < parts; p++ {
		if !marked["part="+bfPart(p)] {
			t.Fatalf("ledger does not mark partition %s", bfPart(p))
		}
	}
}

func (e *bfEnv) version(t *testing.T) int64 {
	t.Helper()
	s, err := e.out.Snapshot(context.Background(), 0)
	if errors.Is(err, zones.ErrNoSuchTable) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return s.Version
}

// 2,000 partitions on 8 workers land as one table version; a rerun plans
// nothing.
func TestFanOutBackfill2000Partitions(t *testing.T) {
	ctx := context.Background()
	e := bfOpen(t, t.TempDir(), "", "", nil)
	const parts = 2000
	e.bfSeed(t, parts)
	res, err := e.fo.RunLocal(ctx, &transform.FanOutOptions{Workers: 8, BatchSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	if res.Units != parts || len(res.Versions) != 1 || res.Versions[0] != 1 || res.RowsOut != parts*bfRowsPerPart {
		t.Fatalf("result: %d units, versions %v, %d rows out; want %d units in version 1, %d rows", res.Units, res.Versions, res.RowsOut, parts, parts*bfRowsPerPart)
	}
	if v := e.version(t); v != 1 {
		t.Fatalf("output at version %d after the fan-out, want 1 (one commit)", v)
	}
	e.checkOutput(t, parts)

	p, err := e.fo.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Units != 0 {
		t.Fatalf("rerun planned %d units, want 0", p.Units)
	}
	res, err = e.fo.RunLocal(ctx, &transform.FanOutOptions{Workers: 8})
	if err != nil || res.Units != 0 || e.version(t) != 1 {
		t.Fatalf("rerun: %+v, %v; version %d", res, err, e.version(t))
	}
}

// The worker protocol across processes: each batch runs in a child process
// of the test binary (TestFanOutWorkerProcess); one child is killed with
// SIGKILL in the middle of its batch (after its first unit's files are
// staged) and the batch is retried in a new process. The run still lands
// as one version with every row once.
func TestFanOutDistributedWorkersKilledAndRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	e := bfOpen(t, dir, "", "", nil)
	const parts = 200
	e.bfSeed(t, parts)
	var killed sync.Once
	didKill := false
	work := func(ctx context.Context, batch []transform.FanOutUnit) (*transform.FanOutResult, error) {
		hangPart := ""
		if batch[0].Partition == "part="+bfPart(0) {
			hangPart = bfPart(1) // the batch's second unit
		}
		if hangPart != "" {
			killed.Do(func() {
				marker := filepath.Join(t.TempDir(), "hanging")
				cmd := workerCmd(t, dir, batch, hangPart, marker)
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				for i := 0; i < 6000; i++ {
					if _, err := os.Stat(marker); err == nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				if _, err := os.Stat(marker); err != nil {
					cmd.Process.Kill()
					cmd.Wait()
					t.Error("the worker process never reached its second unit")
					return
				}
				cmd.Process.Kill() // SIGKILL
				err := cmd.Wait()
				didKill = err != nil && strings.Contains(err.Error(), "killed")
			})
		}
		cmd := workerCmd(t, dir, batch, "", "")
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("worker process: %v: %s", err, cmd.Stderr)
		}
		var r transform.FanOutResult
		if err := json.Unmarshal(lastLine(out), &r); err != nil {
			return nil, fmt.Errorf("worker process output %q: %v", out, err)
		}
		return &r, nil
	}
	p, err := e.fo.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	staged := func() []string {
		keys, err := e.fo.StagingKeys(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	res, err := e.fo.RunLocal(ctx, &transform.FanOutOptions{Workers: 8, BatchSize: 25, Work: work})
	if err != nil {
		t.Fatal(err)
	}
	if !didKill {
		t.Fatal("no worker process was killed")
	}
	if len(res.Versions) != 1 || e.version(t) != 1 || res.Units != parts {
		t.Fatalf("result %+v, output version %d: want %d units in one version", res, e.version(t), parts)
	}
	e.checkOutput(t, parts)
	if k := staged(); len(k) != 0 {
		t.Fatalf("staging files left after the commit: %v", k[:min(3, len(k))])
	}
	// the commit step run again (a retried state) finds its commit
	again, err := e.fo.Commit(ctx, p.ID, nil)
	if err != nil || again.DuplicateCommits != 1 || !slices.Equal(again.Versions, []int64{1}) || e.version(t) != 1 {
		t.Fatalf("second commit of the plan: %+v, %v; want the duplicate of version 1", again, err)
	}
}

// workerCmd runs one batch in a child process.
func workerCmd(t *testing.T, dir string, batch []transform.FanOutUnit, hangPart, marker string) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	bf := filepath.Join(t.TempDir(), "batch.json")
	if err := os.WriteFile(bf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanOutWorkerProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "LAKEKIT_FANOUT_WORKER=1", "LAKEKIT_FANOUT_DIR="+dir, "LAKEKIT_FANOUT_BATCH="+bf,
		"LAKEKIT_FANOUT_HANG="+hangPart, "LAKEKIT_FANOUT_MARKER="+marker)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	return cmd
}

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "{") {
			return []byte(lines[i])
		}
	}
	return nil
}

// TestFanOutWorkerProcess is the worker side of
// TestFanOutDistributedWorkersKilledAndRetried: it runs only in a child
// process started by that test, runs the batch it is given with
// FanOut.Work and prints the result as one JSON line.
func TestFanOutWorkerProcess(t *testing.T) {
	if os.Getenv("LAKEKIT_FANOUT_WORKER") != "1" {
		return // the parent test starts this one with the batch to run
	}
	var hang func()
	if marker := os.Getenv("LAKEKIT_FANOUT_MARKER"); marker != "" {
		hang = func() {
			os.WriteFile(marker, []byte("x"), 0o644)
			time.Sleep(time.Hour) // killed here
		}
	}
	e := bfOpen(t, os.Getenv("LAKEKIT_FANOUT_DIR"), "", os.Getenv("LAKEKIT_FANOUT_HANG"), hang)
	b, err := os.ReadFile(os.Getenv("LAKEKIT_FANOUT_BATCH"))
	if err != nil {
		t.Fatal(err)
	}
	var batch []transform.FanOutUnit
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatal(err)
	}
	r, err := e.fo.Work(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s\n", out)
}

// A batch that fails for good commits nothing: the table stays at its
// version, the ledger is empty, and the staged files of the batches that
// ran are orphans Vacuum deletes once past the retention.
func TestFanOutBackfillFailedBatchCommitsNothing(t *testing.T) {
	ctx := context.Background()
	const parts = 200
	e := bfOpen(t, t.TempDir(), bfPart(2), "", nil)
	e.bfSeed(t, parts)
	w, err := e.out.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []BfOut{{ID: -1, Part: "seed"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.fo.RunLocal(ctx, &transform.FanOutOptions{Workers: 8, BatchSize: 25})
	if err == nil || !errors.Is(err, transform.ErrFatal) || res != nil {
		t.Fatalf("run with a failing batch: %+v, %v; want ErrFatal and no result", res, err)
	}
	if v := e.version(t); v != 1 {
		t.Fatalf("output at version %d, want 1 (nothing committed)", v)
	}
	rows, err := e.out.ReadAll(ctx, nil)
	if err != nil || len(rows) != 1 || rows[0].ID != -1 {
		t.Fatalf("output changed: %v, %v", rows, err)
	}
	l, err := e.tr.Ledger(ctx)
	if err != nil || len(l.Entries) != 0 {
		t.Fatalf("ledger: %v, %v; want no entries", l, err)
	}
	p, err := e.fo.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Units != parts {
		t.Fatalf("plan after the failure: %d units, want all %d again", p.Units, parts)
	}
	// the commit step refuses without every unit's result
	if _, err := e.fo.Commit(ctx, p.ID, nil); !errors.Is(err, transform.ErrFanOutIncomplete) {
		t.Fatalf("commit of an incomplete plan: %v, want ErrFanOutIncomplete", err)
	}
	orphans, err := e.fo.StagingKeys(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) < 2 { // the failing batch staged its first two units
		t.Fatalf("%d staged orphans, want at least 2", len(orphans))
	}
	vr, err := e.out.Vacuum(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(vr.Deleted) != 0 || vr.Kept < len(orphans) {
		t.Fatalf("vacuum within the retention: deleted %d, kept %d; want 0 deleted, %d kept", len(vr.Deleted), vr.Kept, len(orphans))
	}
	vr, err = e.out.Vacuum(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range orphans {
		if !slices.Contains(vr.Deleted, k) {
			t.Fatalf("vacuum past the retention did not delete orphan %s (deleted %v)", k, vr.Deleted)
		}
	}
	if left, err := e.fo.StagingKeys(ctx, p.ID); err != nil || len(left) != 0 {
		t.Fatalf("staging after vacuum: %v, %v", left, err)
	}
	if v := e.version(t); v != 1 {
		t.Fatalf("vacuum changed the version to %d", v)
	}
}
