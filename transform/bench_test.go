package transform_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// BenchmarkTransform measures a dataset → dataset transform (Identity, 200k
// event rows over 10 daily partitions, file lake) against reading and
// writing the same rows with zones alone (ReadBatches into one Writer, one
// commit). Both rebuild the whole output each iteration: the transform by
// Replay (rewind + run: ledger, units per partition, parallel commits), the
// baseline by an Overwrite. Reported: rows/s of each, their ratio
// (transform/baseline throughput), and the ratio of CPU time per row
// (baseline/transform), which a loaded machine disturbs less.
func BenchmarkTransform(b *testing.B) {
	ctx := context.Background()
	const rows, days = 200_000, 10
	lk, _ := fileLake(b, b.TempDir())
	opts := &zones.Options[eventgen.Event]{PartitionBy: eventgen.PartitionByDay, PartitionKeys: []string{"dt"}}
	in, err := zones.NewDataset(lk, lake.Cleaned, "bench", "events", opts)
	if err != nil {
		b.Fatal(err)
	}
	w, err := in.NewWriter(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(ctx, eventgen.Generate(rows, days, 1)); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	outT, _ := zones.NewDataset(lk, lake.Curated, "bench", "by_transform", opts)
	outB, _ := zones.NewDataset(lk, lake.Curated, "bench", "by_baseline", opts)
	tr, err := transform.New("bench", transform.FromDataset(in), transform.Identity[eventgen.Event](), outT, &transform.Options[eventgen.Event]{Parallelism: benchPar})
	if err != nil {
		b.Fatal(err)
	}
	var tT, tB, cT, cB time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start, cpu := time.Now(), cpuTime()
		res, err := tr.Replay(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.RowsOut != rows {
			b.Fatalf("transform wrote %d rows", res.RowsOut)
		}
		tT += time.Since(start)
		cT += cpuTime() - cpu

		start, cpu = time.Now(), cpuTime()
		bw, err := outB.NewWriter(ctx, &zones.WriterOptions{Mode: zones.Overwrite})
		if err != nil {
			b.Fatal(err)
		}
		err = in.ReadBatches(ctx, nil, func(batch []eventgen.Event) error { return bw.Write(ctx, batch) })
		if err != nil {
			b.Fatal(err)
		}
		cr, err := bw.Commit(ctx)
		if err != nil || cr.Rows != rows {
			b.Fatalf("baseline: %v rows, %v", cr, err)
		}
		tB += time.Since(start)
		cB += cpuTime() - cpu
	}
	b.StopTimer()
	perT := float64(rows*b.N) / tT.Seconds()
	perB := float64(rows*b.N) / tB.Seconds()
	b.ReportMetric(perT, "transform-rows/s")
	b.ReportMetric(perB, "baseline-rows/s")
	b.ReportMetric(perT/perB, "ratio")
	// CPU time per row is steadier than wall time on a shared machine
	b.ReportMetric(float64(cB)/float64(cT), "cpu-ratio")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchPar = 4
