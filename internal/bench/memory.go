package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "memory_10m", what: "peak RSS of a child writing 10M rows, and its growth over 1M", run: memory10M})
}

// childEnv marks a re-executed harness (the test binary's TestMain looks
// for it; the harness binary itself only needs the flags).
const childEnv = "LAKEKIT_BENCH_CHILD"

// childFlags are the hidden flags of the memory child: write rows rows into
// partitions partitions of a file lake in dir, then print a JSON summary.
type childFlags struct {
	rows       int
	partitions int
	dir        string
}

const childPrefix = "memchild-"

func (f *childFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.rows, childPrefix+"rows", 0, "internal: memory child's rows")
	fs.IntVar(&f.partitions, childPrefix+"partitions", 0, "internal: memory child's partitions")
	fs.StringVar(&f.dir, childPrefix+"dir", "", "internal: memory child's lake directory")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of bench:\n")
		var vis flag.FlagSet
		fs.VisitAll(func(fl *flag.Flag) {
			if !strings.HasPrefix(fl.Name, childPrefix) {
				vis.Var(fl.Value, fl.Name, fl.Usage)
			}
		})
		vis.SetOutput(fs.Output())
		vis.PrintDefaults()
	}
}

func (f *childFlags) active() bool { return f.rows > 0 }

// childSummary is what the child prints.
type childSummary struct {
	Rows    int64   `json:"rows"`
	Files   int     `json:"files"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// VmHWM is the child's own peak RSS in bytes from /proc/self/status
	// (0 where that file does not exist).
	VmHWM int64 `json:"vm_hwm"`
}

// vmHWM reads the process's peak resident set size from /proc/self/status.
// Unlike getrusage's ru_maxrss it starts afresh at exec: Linux carries the
// parent's high-water mark into a child's ru_maxrss across fork and exec
// (exec records the old address space's peak, and Go's os/exec child
// shares the parent's address space until it execs).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

// run is the child: it generates rows in batches (never holding more than
// one batch) and streams them through one zone writer.
func (f *childFlags) run(stdout, stderr io.Writer) int {
	if f.partitions <= 0 || f.dir == "" {
		fmt.Fprintln(stderr, "bench child: -memchild-partitions and -memchild-dir are required")
		return 2
	}
	ctx := context.Background()
	t0 := time.Now()
	lk, err := openFileLake(ctx, f.dir)
	if err != nil {
		fmt.Fprintln(stderr, "bench child:", err)
		return 1
	}
	defer lk.Close()
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, datasetOptions(f.dir))
	if err != nil {
		fmt.Fprintln(stderr, "bench child:", err)
		return 1
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "bench child:", err)
		return 1
	}
	// A batch size that is a multiple of the partitions keeps every
	// partition's share equal (row i of a batch falls on day i % days).
	batch := f.partitions * max(1, writeBatch/f.partitions)
	for off, b := 0, int64(0); off < f.rows; off, b = off+batch, b+1 {
		n := min(batch, f.rows-off)
		rows := eventgen.Generate(n, f.partitions, 1+b)
		for i := range rows {
			rows[i].ID = int64(off + i)
		}
		if err := w.Write(ctx, rows); err != nil {
			fmt.Fprintln(stderr, "bench child:", err)
			return 1
		}
	}
	res, err := w.Commit(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "bench child:", err)
		return 1
	}
	s := childSummary{Rows: res.Rows, Files: len(res.Files), Bytes: res.Bytes, Seconds: time.Since(t0).Seconds(), VmHWM: vmHWM()}
	if err := json.NewEncoder(stdout).Encode(s); err != nil {
		fmt.Fprintln(stderr, "bench child:", err)
		return 1
	}
	return 0
}

// childRun re-executes the harness binary as a memory child and returns its
// summary and peak RSS in bytes.
func childRun(ctx context.Context, c *config, rows, partitions int) (*childSummary, int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	dir, err := c.scratch("memchild")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, exe,
		"-"+childPrefix+"rows", strconv.Itoa(rows),
		"-"+childPrefix+"partitions", strconv.Itoa(partitions),
		"-"+childPrefix+"dir", dir)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("memory child (%d rows): %w: %s", rows, err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return nil, 0, errors.New("memory child: no rusage on this platform")
	}
	var s childSummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return nil, 0, fmt.Errorf("memory child output %q: %w", stdout.String(), err)
	}
	if s.Rows != int64(rows) {
		return nil, 0, fmt.Errorf("memory child committed %d rows, want %d", s.Rows, rows)
	}
	return &s, ru.Maxrss * 1024, nil // Maxrss is in KiB on Linux
}

// peakRSS is what the scenario reports: the child's own high-water mark
// (VmHWM) where Linux gives it, else getrusage's ru_maxrss, which may
// include the parent's peak (see vmHWM).
func peakRSS(s *childSummary, maxrss int64) (int64, string) {
	if s.VmHWM > 0 {
		return s.VmHWM, "VmHWM"
	}
	return maxrss, "ru_maxrss"
}

func memory10M(ctx context.Context, c *config) (*Result, error) {
	big, small := 10_000_000, 1_000_000
	if c.short {
		big, small = 100_000, 10_000
	}
	partitions := c.partitions
	// One 10M-row child takes most of a minute on 2 cores and its peak
	// memory barely varies, so one rep unless -reps asks for more.
	if !c.repsSet {
		cc := *c
		cc.reps = 1
		c = &cc
	}
	var bigSum, smallSum *childSummary
	var bigMaxrss, smallMaxrss []float64
	var source string
	lk, pv, lks, pvs, err := measure(c,
		func(int) (float64, error) {
			s, maxrss, err := childRun(ctx, c, big, partitions)
			if err != nil {
				return 0, err
			}
			bigSum = s
			bigMaxrss = append(bigMaxrss, float64(maxrss)/(1<<20))
			rss, src := peakRSS(s, maxrss)
			source = src
			return float64(rss) / (1 << 20), nil
		},
		func(int) (float64, error) {
			s, maxrss, err := childRun(ctx, c, small, partitions)
			if err != nil {
				return 0, err
			}
			smallSum = s
			smallMaxrss = append(smallMaxrss, float64(maxrss)/(1<<20))
			rss, _ := peakRSS(s, maxrss)
			return float64(rss) / (1 << 20), nil
		})
	if err != nil {
		return nil, err
	}
	growth := lk / pv
	r := &Result{
		Unit:           "MiB peak RSS of a child process (lower is better; ratio = peer/lakekit = 1/growth)",
		Lakekit:        round(lk, 1),
		Peer:           fmt.Sprintf("the same child writing %d rows", small),
		PeerValue:      round(pv, 1),
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           big,
		Partitions:     partitions,
		LakekitSamples: roundAll(lks, 1),
		PeerSamples:    roundAll(pvs, 1),
		Extra: map[string]any{
			"growth":              round(growth, 3),
			"rss_mib":             round(lk, 1),
			"rss_source":          source,
			"big_rows":            big,
			"small_rows":          small,
			"big_ru_maxrss_mib":   roundAll(bigMaxrss, 1),
			"small_ru_maxrss_mib": roundAll(smallMaxrss, 1),
			"big_write_seconds":   round(bigSum.Seconds, 1),
			"small_write_seconds": round(smallSum.Seconds, 1),
			"big_files":           bigSum.Files,
			"big_bytes":           bigSum.Bytes,
			"notes":               "rows generated in the child in batches; zones writer defaults (pages spilled to temp files); RSS is the child's VmHWM: getrusage's ru_maxrss of a child started by os/exec starts at the parent's peak (Linux keeps the high-water mark across exec), so it is kept only for comparison",
		},
	}
	ok := lk <= 128 && growth <= 1.2
	r.finish(growth, target{text: "<= 128 MiB and growth (10M/1M) <= 1.2"}, 1/1.2)
	r.Met = &ok
	return r, nil
}
