package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "commit_depth", what: "latency of one small append, and of opening the table, after 1, 100, 1,000 and 10,000 commits", run: commitDepth})
}

// depthAppendRows is the size of the small append each depth is measured
// with; depthLoops is how many appends (and opens) one sample times.
const (
	depthAppendRows = 100
	depthLoops      = 5
)

// depths are the commit counts measured, up to c.depthMax.
func (c *config) depths() []int {
	var out []int
	for _, d := range []int{1, 100, 1_000, 10_000} {
		if d <= c.depthMax {
			out = append(out, d)
		}
	}
	if len(out) == 0 || out[len(out)-1] != c.depthMax {
		out = append(out, c.depthMax)
	}
	return out
}

// depthRef is the depth the target compares with the first commit.
func (c *config) depthRef() int { return min(1_000, c.depthMax) }

// buildDepth makes table depth<n> in lk with n small commits.
func buildDepth(ctx context.Context, c *config, lk *lake.Lake, n int, rows []eventgen.Event) error {
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, fmt.Sprintf("depth%d", n), datasetOptions(c.tmp))
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if _, err := writeEvents(ctx, ds, rows[:1]); err != nil {
			return fmt.Errorf("commit %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

// depthSample times depthLoops rounds of (open the table at its newest
// version from a fresh Table; append depthAppendRows rows through a fresh
// Dataset) and returns the mean seconds of each.
func depthSample(ctx context.Context, c *config, lk *lake.Lake, n int, rows []eventgen.Event) (open, appendS float64, err error) {
	name := fmt.Sprintf("depth%d", n)
	var to, ta time.Duration
	for i := 0; i < depthLoops; i++ {
		t0 := time.Now()
		t, err := zones.OpenTable(lk, lake.Curated, benchDB, name)
		if err != nil {
			return 0, 0, err
		}
		snap, err := t.Snapshot(ctx, 0)
		if err != nil {
			return 0, 0, fmt.Errorf("open %s: %w", name, err)
		}
		to += time.Since(t0)
		if snap.Version < int64(n) {
			return 0, 0, fmt.Errorf("%s is at version %d, built with %d commits", name, snap.Version, n)
		}
		t0 = time.Now()
		ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, name, datasetOptions(c.tmp))
		if err != nil {
			return 0, 0, err
		}
		res, err := writeEvents(ctx, ds, rows)
		if err != nil {
			return 0, 0, fmt.Errorf("append to %s: %w", name, err)
		}
		ta += time.Since(t0)
		if res.Version != snap.Version+1 {
			return 0, 0, fmt.Errorf("append to %s made version %d after %d", name, res.Version, snap.Version)
		}
	}
	return to.Seconds() / depthLoops, ta.Seconds() / depthLoops, nil
}

func commitDepth(ctx context.Context, c *config) (*Result, error) {
	dir, err := c.scratch("depth")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rows := eventgen.Generate(depthAppendRows, 1, 3)
	depths := c.depths()
	// Build with fsync off (the history is setup, not measured), then
	// measure on the default file lake over the same directory.
	t0 := time.Now()
	fd, err := filestore.New(filepath.Join(dir, "lake"), &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		return nil, err
	}
	blk, err := lake.New(lake.NewStore(fd), nil)
	if err != nil {
		return nil, err
	}
	for _, n := range depths {
		if err := buildDepth(ctx, c, blk, n, rows); err != nil {
			blk.Close()
			return nil, fmt.Errorf("build: %w", err)
		}
	}
	blk.Close()
	build := time.Since(t0)
	lk, err := openFileLake(ctx, filepath.Join(dir, "lake"))
	if err != nil {
		return nil, err
	}
	defer lk.Close()

	// One rep measures every depth in turn, the order reversed on odd
	// reps, so a depth never runs in a quieter moment than the others.
	opens := map[int][]float64{}
	appends := map[int][]float64{}
	for rep := -1; rep < c.reps; rep++ {
		ds := append([]int(nil), depths...)
		if rep%2 != 0 {
			for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
				ds[i], ds[j] = ds[j], ds[i]
			}
		}
		for _, n := range ds {
			var o, a float64
			o, a, err = sideDepth(c, n, rep, func() (float64, float64, error) { return depthSample(ctx, c, lk, n, rows) })
			if err != nil {
				return nil, err
			}
			if rep >= 0 { // rep -1 warms up
				opens[n] = append(opens[n], o)
				appends[n] = append(appends[n], a)
			}
		}
	}
	ref := c.depthRef()
	first, deep := median(appends[1])*1e3, median(appends[ref])*1e3
	openFirst, openDeep := median(opens[1])*1e3, median(opens[ref])*1e3
	perDepth := map[string]any{}
	for _, n := range depths {
		perDepth[fmt.Sprint(n)] = map[string]any{
			"append_ms": round(median(appends[n])*1e3, 3),
			"open_ms":   round(median(opens[n])*1e3, 3),
		}
	}
	appendRatio, openRatio := deep/first, openDeep/openFirst
	r := &Result{
		Unit:           "milliseconds per small append (lower is better; ratio = peer/lakekit)",
		Lakekit:        round(deep, 3),
		Peer:           fmt.Sprintf("the same append of %d rows to a table with 1 commit", depthAppendRows),
		PeerValue:      round(first, 3),
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           depthAppendRows,
		Partitions:     1,
		LakekitSamples: roundAll(scale(appends[ref], 1e3), 3),
		PeerSamples:    roundAll(scale(appends[1], 1e3), 3),
		Extra: map[string]any{
			"depth":               ref,
			"depths":              perDepth,
			"append_ratio":        round(appendRatio, 3),
			"open_ratio":          round(openRatio, 3),
			"checkpoint_interval": zones.CheckpointInterval,
			"build_seconds":       round(build.Seconds(), 1),
			"loops_per_sample":    depthLoops,
			"max_depth":           c.depthMax,
			"open_ms_first":       round(openFirst, 3),
			"open_ms_at_depth":    round(openDeep, 3),
			"notes":               "each depth is its own table in one file lake, built with small commits (fsync off), then measured with fsync on: open = OpenTable + Snapshot(newest) on a fresh Table; append = a fresh Dataset writing and committing the rows; each sample is the mean of loops_per_sample rounds; the depths are measured in turn within every rep (order reversed on odd reps). value = the worse of (append, open) at depth / at 1 commit; -depth scales the deepest table (default 10,000)",
		},
	}
	worst := max(appendRatio, openRatio)
	r.finish(worst, target{op: "<=", value: 1.5, text: fmt.Sprintf("append and open at %d commits <= 1.5x at 1", ref)}, 1/1.5)
	return r, nil
}

// sideDepth runs one depth's sample after a GC, with profile labels whose
// side is the depth ("depth1000").
func sideDepth(c *config, n, rep int, f func() (float64, float64, error)) (open, app float64, err error) {
	_, err = runSide(c, fmt.Sprintf("depth%d", n), func(int) (float64, error) {
		open, app, err = f()
		return 0, err
	}, rep)
	return open, app, err
}

func scale(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}
