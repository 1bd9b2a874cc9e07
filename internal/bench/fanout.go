package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "fanout_local",
		what: "the local fan-out runner (plan → N workers → one commit): rows/s with 4 workers against 1 over the same plan, and the commit step's time at 1,000 and 10,000 units",
		run:  fanOutLocal})
}

// fanOutWorkers are the worker counts of the local runner measured.
var fanOutWorkers = []int{1, 2, 4}

// fanOutCommitUnits are the plan sizes whose commit step is timed (the
// last one carries the target), and their -short sizes.
var (
	fanOutCommitUnits      = []int{1_000, 10_000}
	fanOutCommitUnitsShort = []int{50, 500}
)

// fanOutCommitLimit is the target on the commit of the largest plan.
const fanOutCommitLimit = 2.0 // seconds

// fanRow is a row of the commit measurement's tables: tiny, so that the
// time is the commit's, not the data's.
type fanRow struct {
	ID   int64  `parquet:"id"`
	V    int64  `parquet:"v"`
	Part string `parquet:"part" lakekit:"partition"`
}

// fanRowsPerUnit is how many rows each unit of the commit measurement has.
const fanRowsPerUnit = 2

func fanOutLocal(ctx context.Context, c *config) (*Result, error) {
	dir, err := c.scratch("fanout")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rows := c.data()
	lk, err := openFileLake(ctx, filepath.Join(dir, "workers"))
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	in, err := zones.NewDataset[eventgen.Event](lk, lake.Cleaned, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return nil, err
	}
	if _, err := writeEvents(ctx, in, rows); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	rates := map[int][]float64{}
	first := -1 // one warm-up round of every worker count
	if c.short {
		first = 0
	}
	for rep := first; rep < c.reps; rep++ {
		ws := append([]int(nil), fanOutWorkers...)
		if rep%2 != 0 {
			for i, j := 0, len(ws)-1; i < j; i, j = i+1, j-1 {
				ws[i], ws[j] = ws[j], ws[i]
			}
		}
		for _, w := range ws {
			v, err := runSide(c, fmt.Sprintf("workers%d", w), func(rep int) (float64, error) {
				return fanOutRun(ctx, c, lk, in, w, rep, len(rows))
			}, rep)
			if err != nil {
				return nil, fmt.Errorf("%d workers: %w", w, err)
			}
			if rep >= 0 {
				rates[w] = append(rates[w], v)
			}
		}
	}
	sizes := fanOutCommitUnits
	if c.short {
		sizes = fanOutCommitUnitsShort
	}
	commits := map[int][]float64{}
	setup := map[int]float64{}
	for _, n := range sizes {
		s, err := fanOutCommitSamples(ctx, c, filepath.Join(dir, fmt.Sprintf("commit%d", n)), n)
		if err != nil {
			return nil, fmt.Errorf("commit of %d units: %w", n, err)
		}
		commits[n], setup[n] = s.commit, s.setup
	}
	return fanOutResult(c, len(rows), rates, sizes, commits, setup), nil
}

// fanOutResult turns the samples into the scenario's result: lakekit is
// the 4-worker rate, the peer the 1-worker rate of the same plan; the
// target is on the commit of the largest plan.
func fanOutResult(c *config, rows int, rates map[int][]float64, sizes []int, commits map[int][]float64, setup map[int]float64) *Result {
	perWorkers := map[string]any{}
	for _, w := range fanOutWorkers {
		perWorkers[fmt.Sprint(w)] = round(median(rates[w]), 0)
	}
	perUnits := map[string]any{}
	for _, n := range sizes {
		perUnits[fmt.Sprint(n)] = map[string]any{"commit_seconds": round(median(commits[n]), 3),
			"samples": roundAll(commits[n], 3), "setup_seconds": round(setup[n], 1)}
	}
	small, large := sizes[0], sizes[len(sizes)-1]
	cl := median(commits[large])
	hi, lo := fanOutWorkers[len(fanOutWorkers)-1], fanOutWorkers[0]
	r := &Result{
		Unit:           fmt.Sprintf("rows/s of the local fan-out runner with %d workers (higher is better; ratio = %d workers / %d); value = seconds of the commit step of %d units", hi, hi, lo, large),
		Lakekit:        round(median(rates[hi]), 0),
		Peer:           fmt.Sprintf("the same plan on %d worker", lo),
		PeerValue:      round(median(rates[lo]), 0),
		Reps:           c.reps,
		Rows:           rows,
		Partitions:     c.partitions,
		LakekitSamples: roundAll(rates[hi], 0),
		PeerSamples:    roundAll(rates[lo], 0),
		Extra: map[string]any{
			"rows_per_second_by_workers": perWorkers,
			"commit_by_units":            perUnits,
			"commit_ratio_large_small":   round(cl/max(median(commits[small]), 1e-9), 3),
			"commit_units_small":         small,
			"commit_units_large":         large,
			"notes":                      fmt.Sprintf("workers: transform.FanOut.RunLocal (plan, batches of 1 unit = 1 partition on N goroutines, one commit) of an identity transform over the generated table, a fresh transform and output table per run, on the default file lake (fsync on); rows/s = rows / the whole run. commit: a transform over n partitions of %d rows each, planned and worked untimed (fsync off), then FanOut.Commit timed on the default file lake: gathering the results, adopting every worker's file into the table and the one commit with every ledger entry; the workers wrote each new partition's files into the plan's generation folder (<table>/_fanout-<plan>/<partition>/), and zones.AddFiles checks each footer (16 at once), lists the generation folder once and commits the files where they lie, pointing each new partition's location at its folder: no file is moved or copied, so what grows with the units is reading the results, the footers and the log entry. commit_ratio_large_small = commit seconds at the large / at the small plan", fanRowsPerUnit),
		},
	}
	r.finish(cl, target{op: "<=", value: fanOutCommitLimit, text: fmt.Sprintf("commit of %d units <= %g s", large, fanOutCommitLimit)}, 0)
	return r
}

// fanOutRun runs a fresh transform's fan-out over in with w workers and
// returns its rows per second.
func fanOutRun(ctx context.Context, c *config, lk *lake.Lake, in *zones.Dataset[eventgen.Event], w, rep, rows int) (float64, error) {
	name := fmt.Sprintf("fan_w%d_r%d", w, rep+1)
	out, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, name, datasetOptions(c.tmp))
	if err != nil {
		return 0, err
	}
	tr, err := transform.New(name, transform.FromDataset(in), transform.Identity[eventgen.Event](), out, nil)
	if err != nil {
		return 0, err
	}
	fo, err := transform.NewFanOut(tr)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	res, err := fo.RunLocal(ctx, &transform.FanOutOptions{Workers: w, BatchSize: 1})
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if res.RowsOut != int64(rows) || len(res.Versions) != 1 || res.Units != c.partitions {
		return 0, fmt.Errorf("fan-out of %d rows in %d partitions gave %d rows, %d units, versions %v (want one)", rows, c.partitions, res.RowsOut, res.Units, res.Versions)
	}
	return float64(rows) / d.Seconds(), nil
}

type commitSamples struct {
	commit []float64
	setup  float64
}

// fanOutCommitSamples builds an input of n partitions in dir and times
// the commit step of c.reps fresh transforms over it (at least 1).
func fanOutCommitSamples(ctx context.Context, c *config, dir string, n int) (*commitSamples, error) {
	t0 := time.Now()
	fd, err := filestore.New(dir, &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		return nil, err
	}
	blk, err := lake.New(lake.NewStore(fd), nil)
	if err != nil {
		return nil, err
	}
	defer blk.Close()
	in, err := zones.NewDataset[fanRow](blk, lake.Cleaned, benchDB, "fan_in", nil)
	if err != nil {
		return nil, err
	}
	if err := writeFanInput(ctx, in, n); err != nil {
		return nil, err
	}
	lk, err := openFileLake(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	s := &commitSamples{}
	for rep := 0; rep < c.reps; rep++ {
		name := fmt.Sprintf("fan_c%d_r%d", n, rep+1)
		plan, err := fanOutStage(ctx, blk, name, n)
		if err != nil {
			return nil, err
		}
		fo, err := fanOutOf(lk, name)
		if err != nil {
			return nil, err
		}
		var res *transform.Result
		v, err := runSide(c, fmt.Sprintf("commit%d", n), func(int) (float64, error) {
			t0 := time.Now()
			res, err = fo.Commit(ctx, plan, nil)
			return time.Since(t0).Seconds(), err
		}, rep)
		if err != nil {
			return nil, err
		}
		if res.Units != n || len(res.Versions) != 1 || res.RowsOut != int64(n*fanRowsPerUnit) {
			return nil, fmt.Errorf("commit of %d units: %d units, %d rows, versions %v", n, res.Units, res.RowsOut, res.Versions)
		}
		s.commit = append(s.commit, v)
	}
	s.setup = time.Since(t0).Seconds() - sum(s.commit)
	return s, nil
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// writeFanInput writes n partitions of fanRowsPerUnit rows into in, a
// bounded number of partitions per commit.
func writeFanInput(ctx context.Context, in *zones.Dataset[fanRow], n int) error {
	const perCommit = 500
	for lo := 0; lo < n; lo += perCommit {
		w, err := in.NewWriter(ctx, nil)
		if err != nil {
			return err
		}
		var rows []fanRow
		for p := lo; p < min(lo+perCommit, n); p++ {
			for j := 0; j < fanRowsPerUnit; j++ {
				id := int64(p*fanRowsPerUnit + j)
				rows = append(rows, fanRow{ID: id, V: id * 3, Part: fmt.Sprintf("p%05d", p)})
			}
		}
		if err := w.Write(ctx, rows); err != nil {
			w.Abort(ctx)
			return err
		}
		if _, err := w.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fanOutOf is the fan-out of transform name on lk: fan_in into
// curated/bench/<name>, doubling v.
func fanOutOf(lk *lake.Lake, name string) (*transform.FanOut[fanRow, fanRow], error) {
	in, err := zones.NewDataset[fanRow](lk, lake.Cleaned, benchDB, "fan_in", nil)
	if err != nil {
		return nil, err
	}
	out, err := zones.NewDataset[fanRow](lk, lake.Curated, benchDB, name, nil)
	if err != nil {
		return nil, err
	}
	tr, err := transform.New(name, transform.FromDataset(in), transform.Map(func(_ context.Context, r fanRow) (fanRow, error) {
		return fanRow{ID: r.ID, V: 2 * r.V, Part: r.Part}, nil
	}), out, nil)
	if err != nil {
		return nil, err
	}
	return transform.NewFanOut(tr)
}

// fanOutStage plans transform name's n units on lk and works them all (2
// workers, batches of 50), leaving the plan ready to commit; it returns
// the plan id.
func fanOutStage(ctx context.Context, lk *lake.Lake, name string, n int) (string, error) {
	fo, err := fanOutOf(lk, name)
	if err != nil {
		return "", err
	}
	p, err := fo.Plan(ctx)
	if err != nil {
		return "", err
	}
	if p.Units != n {
		return "", fmt.Errorf("plan of %s has %d units, want %d", name, p.Units, n)
	}
	units, err := fo.Units(ctx, p.ID)
	if err != nil {
		return "", err
	}
	const batch, workers = 50, 2
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k * batch; i < len(units) && errs[k] == nil; i += workers * batch {
				_, errs[k] = fo.Work(ctx, units[i:min(i+batch, len(units))])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return "", err
		}
	}
	return p.ID, nil
}
