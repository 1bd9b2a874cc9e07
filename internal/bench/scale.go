package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// parseScale reads -scale: row counts, comma-separated, each at least the
// partitions and in increasing order ("1000000,10000000,30000000").
func parseScale(spec string, partitions int) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-scale %q: %q is not a positive row count", spec, f)
		}
		if n < partitions {
			return nil, fmt.Errorf("-scale %q: %d rows is fewer than the %d partitions", spec, n, partitions)
		}
		if len(sizes) > 0 && n <= sizes[len(sizes)-1] {
			return nil, fmt.Errorf("-scale %q: row counts must increase", spec)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// scaleRow is one size of the scale table.
type scaleRow struct {
	rows              int
	seconds           float64
	rssMiB, startMiB  float64
	bytes             int64
	files             int
	limitMiB          float64
	secondsPerMillion float64
}

// runScale writes each size in a memory child (the program memory_10m
// runs: zones' writer on a file lake, pages spilled past the memory
// budget) and prints the scale table as Markdown: how time, peak RSS and
// bytes grow with the rows. With -out it also writes scale.md.
func runScale(ctx context.Context, c *config, sizes []int, stdout, stderr io.Writer) int {
	var rows []scaleRow
	for _, n := range sizes {
		fmt.Fprintf(stderr, "bench: scale %d rows ...\n", n)
		s, maxrss, err := childRun(ctx, c, n, c.partitions)
		if err != nil {
			fmt.Fprintf(stderr, "bench: scale %d rows: %v\n", n, err)
			return 1
		}
		rss, _ := peakRSS(s, maxrss)
		rows = append(rows, scaleRow{rows: n, seconds: s.Seconds, rssMiB: mib(rss), startMiB: mib(s.StartRSS),
			bytes: s.Bytes, files: s.Files, limitMiB: mib(s.MemoryLimit), secondsPerMillion: s.Seconds / float64(n) * 1e6})
	}
	var b strings.Builder
	writeScale(&b, c.partitions, rows)
	fmt.Fprint(stdout, b.String())
	if c.out != "" {
		if err := os.MkdirAll(c.out, 0o755); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(c.out, "scale.md"), []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	return 0
}

func mib(b int64) float64 { return round(float64(b)/(1<<20), 1) }

// writeScale renders the table; each size's growth is against the first.
func writeScale(w io.Writer, partitions int, rows []scaleRow) {
	fmt.Fprintf(w, "| rows | seconds | s per 1M rows | peak RSS (MiB) | RSS before the first row | bytes | bytes per row | files |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.1f | %.2f | %.0f | %.0f | %s | %.1f | %d |\n", human(float64(r.rows)), r.seconds, r.secondsPerMillion,
			r.rssMiB, r.startMiB, human(float64(r.bytes)), float64(r.bytes)/float64(r.rows), r.files)
	}
	if len(rows) > 1 {
		first, last := rows[0], rows[len(rows)-1]
		fmt.Fprintf(w, "\n%s → %s rows into %d partitions: %.2fx the time per row, %.2fx the peak RSS, %.2fx the bytes per row (soft memory limit %.0f MiB, see zones.DefaultMemoryBudget).\n",
			human(float64(first.rows)), human(float64(last.rows)), partitions,
			last.secondsPerMillion/first.secondsPerMillion, last.rssMiB/first.rssMiB,
			(float64(last.bytes)/float64(last.rows))/(float64(first.bytes)/float64(first.rows)), last.limitMiB)
	}
}
