package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "read_vs_parquetgo", what: "typed read of the whole table vs parquet-go GenericReader", run: readVsParquetGo})
	register(scenario{name: "read_pruned_bytes", what: "bytes read for a one-partition filter / the partition's bytes", run: readPrunedBytes})
}

// readParallelism is what both read sides use: lakekit's default.
func readParallelism() int { return min(runtime.GOMAXPROCS(0), 8) }

// lakekitRead reads the whole table through a fresh lake and dataset (so
// the commit log is read too, as a new reader would) and returns the rows
// read and the sum of their amounts.
func lakekitRead(ctx context.Context, c *config, dir string, opts *zones.ReadOptions) (int64, float64, error) {
	lk, err := openFileLake(ctx, dir)
	if err != nil {
		return 0, 0, err
	}
	defer lk.Close()
	return readDataset(ctx, c, lk, opts)
}

func readDataset(ctx context.Context, c *config, lk *lake.Lake, opts *zones.ReadOptions) (int64, float64, error) {
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return 0, 0, err
	}
	return readDatasetWith(ctx, ds, opts)
}

func readDatasetWith(ctx context.Context, ds *zones.Dataset[eventgen.Event], opts *zones.ReadOptions) (int64, float64, error) {
	var n int64
	var sum float64
	err := ds.ReadBatches(ctx, opts, func(rows []eventgen.Event) error {
		n += int64(len(rows))
		for i := range rows {
			sum += rows[i].Amount
		}
		return nil
	})
	return n, sum, err
}

// parquetGoRead is the peer: every .parquet file under dir read with
// parquet.NewGenericReader, readParallelism files at a time, in batches of
// the same size lakekit uses.
func parquetGoRead(ctx context.Context, files []string) (int64, float64, error) {
	var n atomic.Int64
	sums := make([]float64, len(files))
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(readParallelism())
	for i, path := range files {
		g.Go(func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			r := parquet.NewGenericReader[eventgen.Event](f)
			defer r.Close()
			buf := make([]eventgen.Event, 4096)
			var sum float64
			for {
				k, err := r.Read(buf)
				for j := range buf[:k] {
					sum += buf[j].Amount
				}
				n.Add(int64(k))
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			sums[i] = sum
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	var sum float64
	for _, s := range sums {
		sum += s
	}
	return n.Load(), sum, nil
}

func parquetFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(path, ".parquet") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func readVsParquetGo(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	dir, err := c.scratch("read")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res, err := writeLakekitTable(ctx, c, dir, rows)
	if err != nil {
		return nil, err
	}
	files, err := parquetFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) != len(res.Files) {
		return nil, fmt.Errorf("found %d parquet files, the commit lists %d", len(files), len(res.Files))
	}
	var wantSum float64
	for i := range rows {
		wantSum += rows[i].Amount
	}
	check := func(side string, n int64, sum float64) error {
		if n != int64(len(rows)) {
			return fmt.Errorf("%s read %d rows, want %d", side, n, len(rows))
		}
		if d := sum - wantSum; d > 1e-6*wantSum || d < -1e-6*wantSum {
			return fmt.Errorf("%s: sum of amounts %f, want %f", side, sum, wantSum)
		}
		return nil
	}
	lk, pv, lks, pvs, err := measureTimed(c,
		func(int) (float64, error) {
			t0 := time.Now()
			n, sum, err := lakekitRead(ctx, c, dir, nil)
			d := time.Since(t0)
			if err != nil {
				return 0, fmt.Errorf("lakekit read: %w", err)
			}
			return float64(n) / d.Seconds(), check("lakekit", n, sum)
		},
		func(int) (float64, error) {
			t0 := time.Now()
			n, sum, err := parquetGoRead(ctx, files)
			d := time.Since(t0)
			if err != nil {
				return 0, fmt.Errorf("parquet-go read: %w", err)
			}
			return float64(n) / d.Seconds(), check("parquet-go", n, sum)
		})
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "rows/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(lk, 0),
		Peer:           fmt.Sprintf("parquet-go NewGenericReader over the same %d files, %d at a time", len(files), readParallelism()),
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"files": len(files), "bytes": res.Bytes,
			"notes": "lakekit: zones Dataset.ReadBatches on a fresh lake (commit log read included), default options; both sides sum a column so rows are used",
		},
	}
	r.finish(lk/pv, target{op: ">=", value: 1.0}, 1.0)
	return r, nil
}

func readPrunedBytes(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	dir, err := c.scratch("pruned")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res, err := writeLakekitTable(ctx, c, dir, rows)
	if err != nil {
		return nil, err
	}
	day := eventgen.Day(rows[0])
	var partBytes, partRows int64
	var partFiles int
	for _, f := range res.Files {
		if v, _ := f.Partition.Get("dt"); v == day {
			partBytes += f.Size
			partRows += f.Rows
			partFiles++
		}
	}
	if partFiles == 0 {
		return nil, fmt.Errorf("no file in partition dt=%s", day)
	}
	var snap, warm countingSnapshot
	lk, _, lks, _, err := measure(c,
		func(int) (float64, error) {
			fd, err := filestore.New(dir, nil)
			if err != nil {
				return 0, err
			}
			cd := newCountingDriver(fd)
			l, err := lake.New(lake.NewStore(cd), nil)
			if err != nil {
				return 0, err
			}
			defer l.Close()
			ds, err := zones.NewDataset[eventgen.Event](l, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
			if err != nil {
				return 0, err
			}
			n, _, err := readDatasetWith(ctx, ds, &zones.ReadOptions{Partitions: zones.PartitionIn("dt", day)})
			if err != nil {
				return 0, fmt.Errorf("lakekit read: %w", err)
			}
			if n != partRows {
				return 0, fmt.Errorf("pruned read returned %d rows, the partition holds %d", n, partRows)
			}
			snap = cd.snapshot()
			// the same read again on the same lake: a long-lived reader
			// has the commit log already
			cd.reset()
			if _, _, err := readDatasetWith(ctx, ds, &zones.ReadOptions{Partitions: zones.PartitionIn("dt", day)}); err != nil {
				return 0, fmt.Errorf("lakekit warm read: %w", err)
			}
			warm = cd.snapshot()
			return float64(snap.DataBytes + snap.OtherBytes), nil
		},
		func(int) (float64, error) { return float64(partBytes), nil })
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "bytes read through the driver (lower is better; ratio = partition bytes / bytes read)",
		Lakekit:        lk,
		Peer:           fmt.Sprintf("the partition's own data bytes (dt=%s, %d file(s))", day, partFiles),
		PeerValue:      float64(partBytes),
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: lks,
		Extra: map[string]any{
			"data_bytes":       snap.DataBytes,
			"log_bytes":        snap.OtherBytes,
			"data_gets":        snap.DataGets,
			"log_gets":         snap.OtherGets,
			"stats":            snap.Stats,
			"lists":            snap.Lists,
			"data_files_read":  snap.DataKeys,
			"data_only_ratio":  round(float64(snap.DataBytes)/float64(partBytes), 4),
			"warm_ratio":       round(float64(warm.DataBytes+warm.OtherBytes)/float64(partBytes), 4),
			"warm_log_bytes":   warm.OtherBytes,
			"table_data_bytes": res.Bytes,
			"partition_rows":   partRows,
			"notes":            "a fresh lake and dataset per rep over a counting driver without ReaderAtOpener, so the commit log is read too and every byte goes through Get",
		},
	}
	r.finish(lk/float64(partBytes), target{op: "<=", value: 1.1}, 1/1.1)
	return r, nil
}
