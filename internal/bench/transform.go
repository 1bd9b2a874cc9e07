package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "transform_rerun_reads", what: "data-file reads of an incremental transform rerun with no new input", run: transformRerunReads})
}

// transformRows bounds the rows of the transform scenario: what it counts
// (file reads) depends on the files, i.e. the partitions, not on the rows.
const transformRows = 200_000

// newBenchTransform opens, on lk, the cleaned input dataset, the curated
// output dataset and the Identity transform between them, as a new process
// would.
func newBenchTransform(c *config, lk *lake.Lake) (*transform.Transform[eventgen.Event, eventgen.Event], error) {
	in, err := zones.NewDataset[eventgen.Event](lk, lake.Cleaned, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return nil, err
	}
	out, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return nil, err
	}
	return transform.New("bench_identity", transform.FromDataset(in), transform.Identity[eventgen.Event](), out, nil)
}

// countingLake opens the file lake in dir over a counting driver (no
// ReaderAt fast path, so every read is a counted Get).
func countingLake(dir string) (*lake.Lake, *countingDriver, error) {
	fd, err := filestore.New(dir, nil)
	if err != nil {
		return nil, nil, err
	}
	cd := newCountingDriver(fd)
	lk, err := lake.New(lake.NewStore(cd), nil)
	if err != nil {
		cd.Close()
		return nil, nil, err
	}
	return lk, cd, nil
}

func transformRerunReads(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	if len(rows) > transformRows {
		rows = rows[:transformRows]
	}
	dir, err := c.scratch("transform")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	lk, err := openFileLake(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	in, err := zones.NewDataset[eventgen.Event](lk, lake.Cleaned, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return nil, err
	}
	inRes, err := writeEvents(ctx, in, rows)
	if err != nil {
		return nil, fmt.Errorf("write input: %w", err)
	}
	tr, err := newBenchTransform(c, lk)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	first, err := tr.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("first run: %w", err)
	}
	firstSeconds := time.Since(t0).Seconds()
	if first.RowsOut != int64(len(rows)) {
		return nil, fmt.Errorf("first run wrote %d rows, want %d", first.RowsOut, len(rows))
	}

	var rerun, full countingSnapshot
	var rerunRes, fullRes *transform.Result
	lkv, pv, lks, pvs, err := measure(c,
		func(int) (float64, error) {
			clk, cd, err := countingLake(dir)
			if err != nil {
				return 0, err
			}
			defer clk.Close()
			tr, err := newBenchTransform(c, clk)
			if err != nil {
				return 0, err
			}
			res, err := tr.Run(ctx)
			if err != nil {
				return 0, fmt.Errorf("rerun: %w", err)
			}
			if res.RowsIn != 0 || res.Units != 0 {
				return 0, fmt.Errorf("rerun with no new input processed %d rows in %d units", res.RowsIn, res.Units)
			}
			rerun, rerunRes = cd.snapshot(), res
			return float64(rerun.DataGets), nil
		},
		func(int) (float64, error) {
			// the peer: recomputing from scratch, which reads every input file
			clk, cd, err := countingLake(dir)
			if err != nil {
				return 0, err
			}
			defer clk.Close()
			tr, err := newBenchTransform(c, clk)
			if err != nil {
				return 0, err
			}
			res, err := tr.Replay(ctx)
			if err != nil {
				return 0, fmt.Errorf("replay: %w", err)
			}
			if res.RowsOut != int64(len(rows)) {
				return 0, fmt.Errorf("replay wrote %d rows, want %d", res.RowsOut, len(rows))
			}
			full, fullRes = cd.snapshot(), res
			return float64(full.DataGets), nil
		})
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "GETs of data files (.parquet) during a rerun with no new input (lower is better; ratio = peer / max(lakekit, 1))",
		Lakekit:        lkv,
		Peer:           "the same transform recomputing from scratch (Replay), which reads every input file",
		PeerValue:      pv,
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: lks,
		PeerSamples:    pvs,
		Extra: map[string]any{
			"input_files":            len(inRes.Files),
			"first_run_units":        first.Units,
			"first_run_seconds":      round(firstSeconds, 2),
			"rerun_data_files_read":  rerun.DataKeys,
			"rerun_other_gets":       rerun.OtherGets,
			"rerun_other_bytes":      rerun.OtherBytes,
			"rerun_lists":            rerun.Lists,
			"rerun_stats":            rerun.Stats,
			"rerun_units":            rerunRes.Units,
			"replay_data_files_read": full.DataKeys,
			"replay_units":           fullRes.Units,
			"transform":              "Identity, FromDataset(cleaned bench.events) -> curated bench.events, default options",
			"notes":                  "each side opens a fresh lake over a counting driver without ReaderAtOpener (a new process's rerun); the commit log and ledger reads are counted apart (rerun_other_*)",
		},
	}
	r.finish(lkv, target{op: "<=", value: 0}, pv)
	return r, nil
}
