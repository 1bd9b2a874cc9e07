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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lakekit/lakekit/internal/bench/memwrite"
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

// run is the child when the harness binary itself is re-executed (where
// memchild could not be built; see childRun).
func (f *childFlags) run(stdout, stderr io.Writer) int {
	return memwrite.Run(f.rows, f.partitions, f.dir, stdout, stderr)
}

// childBinary is the memory child program, built once per run
// (internal/bench/memchild); "" with the reason when it cannot be built
// (no go command, or not run from within the module), and then the
// harness binary re-executes itself as the child.
func childBinary(ctx context.Context, c *config) (string, string) {
	memchildMu.Lock()
	defer memchildMu.Unlock()
	if b, ok := memchildBuilt[c.tmp]; ok {
		return b[0], b[1]
	}
	exe := filepath.Join(c.tmp, "memchild")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "github.com/lakekit/lakekit/internal/bench/memchild").CombinedOutput()
	b := [2]string{exe, ""}
	if err != nil {
		b = [2]string{"", fmt.Sprintf("go build memchild: %v: %s", err, strings.TrimSpace(string(out)))}
	}
	memchildBuilt[c.tmp] = b
	return b[0], b[1]
}

// memchildBuilt holds childBinary's answer per run (by scratch directory).
var (
	memchildMu    sync.Mutex
	memchildBuilt = map[string][2]string{}
)

// childRun re-executes the harness binary as a memory child and returns its
// summary and peak RSS in bytes.
func childRun(ctx context.Context, c *config, rows, partitions int) (*memwrite.Summary, int64, error) {
	dir, err := c.scratch("memchild")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	var cmd *exec.Cmd
	if exe, _ := childBinary(ctx, c); exe != "" {
		cmd = exec.CommandContext(ctx, exe, "-rows", strconv.Itoa(rows), "-partitions", strconv.Itoa(partitions), "-dir", dir)
	} else {
		self, err := os.Executable()
		if err != nil {
			return nil, 0, err
		}
		cmd = exec.CommandContext(ctx, self,
			"-"+childPrefix+"rows", strconv.Itoa(rows),
			"-"+childPrefix+"partitions", strconv.Itoa(partitions),
			"-"+childPrefix+"dir", dir)
	}
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
	var s memwrite.Summary
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
func peakRSS(s *memwrite.Summary, maxrss int64) (int64, string) {
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
	var bigSum, smallSum *memwrite.Summary
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
	child := "internal/bench/memchild"
	if _, why := childBinary(ctx, c); why != "" {
		child = "the harness binary (" + why + ")"
	}
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
			"big_start_rss_mib":   round(float64(bigSum.StartRSS)/(1<<20), 1),
			"child":               child,
			"memory_limit_mib":    round(float64(bigSum.MemoryLimit)/(1<<20), 1),
			"notes":               "rows generated in the child in batches; zones writer defaults (pages spilled to temp files); the child is internal/bench/memchild, a program importing only zones, lake and eventgen (the harness binary re-executed itself before, and its other imports held ~110 MiB RSS before the first row, 32 MiB of it heap from iceberg-go's init); the child runs with a soft memory limit (GOMEMLIMIT, memory_limit_mib) of 3 writer memory budgets, as zones.DefaultMemoryBudget documents for a process that must stay within a bound (without it the GC lets the heap grow to twice its live size: 152-156 MiB at 1M rows); big_start_rss_mib is the child's RSS before the first row; RSS is the child's VmHWM: getrusage's ru_maxrss of a child started by os/exec starts at the parent's peak (Linux keeps the high-water mark across exec), so it is kept only for comparison",
		},
	}
	ok := lk <= 128 && growth <= 1.2
	r.finish(growth, target{text: "<= 128 MiB and growth (10M/1M) <= 1.2"}, 1/1.2)
	r.Met = &ok
	return r, nil
}
