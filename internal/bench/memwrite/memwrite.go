// Package memwrite is the memory_10m scenario's child: it writes generated
// event rows through one zones writer and prints a JSON Summary with its
// own peak RSS. internal/bench/memchild runs it as a small program of its
// own (importing only zones, lake and eventgen), so the peak measured is
// the writer's and not the harness binary's, whose other imports (DuckDB,
// iceberg-go, the AWS SDKs) hold tens of MiB of their own at start.
package memwrite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Summary is what the child prints.
type Summary struct {
	Rows    int64   `json:"rows"`
	Files   int     `json:"files"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// VmHWM is the child's own peak RSS in bytes from /proc/self/status
	// (0 where that file does not exist); StartRSS its resident set
	// before the first row (the program's floor).
	VmHWM    int64 `json:"vm_hwm"`
	StartRSS int64 `json:"start_rss"`
	// MemoryLimit is the Go runtime's soft memory limit the child ran
	// with (see setMemoryLimit).
	MemoryLimit int64 `json:"memory_limit"`
}

// MemoryLimitBudgets is the child's soft memory limit (GOMEMLIMIT) in
// writer memory budgets, as zones.DefaultMemoryBudget documents it for a
// process that writes: the budget's page buffers, parquet-go's column
// buffers and page indexes (together about 2x the budget at 100
// partitions of 6 columns) and room for the GC to work in. Without a
// limit the GC lets the heap grow to twice its live size: this child
// peaked at 152-156 MiB at 1M rows without one, and at 104 (1M) and
// 108 MiB (10M rows) with GOMEMLIMIT=100MiB (zones.DefaultMemoryBudget's
// notes).
const MemoryLimitBudgets = 3

// setMemoryLimit sets the soft memory limit to MemoryLimitBudgets times
// zones.DefaultMemoryBudget unless GOMEMLIMIT is set, and returns the limit
// in force.
func setMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimitBudgets * zones.DefaultMemoryBudget)
	}
	return debug.SetMemoryLimit(-1)
}

// BatchRows is the most rows per Write (the harness's writeBatch).
const BatchRows = 10_000

// ProcStatus reads a "<field>: N kB" line of /proc/self/status in bytes
// (0 where it does not exist). VmHWM, unlike getrusage's ru_maxrss, starts
// afresh at exec: Linux carries the parent's high-water mark into a
// child's ru_maxrss across fork and exec.
func ProcStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

// Run writes rows generated rows into partitions daily partitions of a new
// file lake in dir (curated/bench/events, the harness's table, default
// options with temporary files under dir) and prints a Summary to stdout.
// It generates rows in batches, never holding more than one.
func Run(rows, partitions int, dir string, stdout, stderr io.Writer) int {
	if rows <= 0 || partitions <= 0 || dir == "" {
		fmt.Fprintln(stderr, "memory child: rows, partitions and dir are required")
		return 2
	}
	limit := setMemoryLimit()
	start := ProcStatus("VmRSS")
	ctx := context.Background()
	t0 := time.Now()
	res, err := write(ctx, rows, partitions, dir)
	if err != nil {
		fmt.Fprintln(stderr, "memory child:", err)
		return 1
	}
	s := Summary{Rows: res.Rows, Files: len(res.Files), Bytes: res.Bytes, Seconds: time.Since(t0).Seconds(),
		VmHWM: ProcStatus("VmHWM"), StartRSS: start, MemoryLimit: limit}
	if err := json.NewEncoder(stdout).Encode(s); err != nil {
		fmt.Fprintln(stderr, "memory child:", err)
		return 1
	}
	return 0
}

func write(ctx context.Context, rows, partitions int, dir string) (*zones.CommitResult, error) {
	lk, err := lake.Open(ctx, "file://"+dir, nil) // fsync on, as users get it
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	// the harness's datasetOptions: dt from the timestamp, the rest default
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, "bench", "events", &zones.Options[eventgen.Event]{
		PartitionBy: eventgen.PartitionByDay, PartitionKeys: []string{"dt"}, TempDir: dir})
	if err != nil {
		return nil, err
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		return nil, err
	}
	// A batch size that is a multiple of the partitions keeps every
	// partition's share equal (row i of a batch falls on day i % days).
	batch := partitions * max(1, BatchRows/partitions)
	for off, b := 0, int64(0); off < rows; off, b = off+batch, b+1 {
		n := min(batch, rows-off)
		rs := eventgen.Generate(n, partitions, 1+b)
		for i := range rs {
			rs[i].ID = int64(off + i)
		}
		if err := w.Write(ctx, rs); err != nil {
			w.Abort(ctx)
			return nil, err
		}
	}
	return w.Commit(ctx)
}
