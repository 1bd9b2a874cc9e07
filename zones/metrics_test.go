package zones_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/lakekit/lakekit/internal/metrictest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones"
)

type metricSale struct {
	ID     int64   `parquet:"id"`
	Amount float64 `parquet:"amount"`
	Region string  `parquet:"region" lakekit:"partition"`
}

func TestMetricsOfCommitsAndReads(t *testing.T) {
	ctx := context.Background()
	rec := metrictest.New(t)
	// The first log write is throttled once: the commit retries.
	fs := faultstore.Wrap(memstore.New(), &faultstore.Options{Rules: []faultstore.Rule{{Op: faultstore.OpCreate, KeyContains: "/_lakekit/log/", Nth: 1, Times: 1, Fault: faultstore.Throttle}}})
	lk, err := lake.New(lake.NewStore(fs), &lake.Options{MeterProvider: rec.Provider})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	ds, err := zones.NewDataset[metricSale](lk, lake.Curated, "shop", "sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(wo *zones.WriterOptions, rows ...metricSale) *zones.Writer[metricSale] {
		t.Helper()
		w, err := ds.NewWriter(ctx, wo)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		return w
	}
	sales := []metricSale{{1, 10, "eu"}, {2, 25.5, "us"}, {3, 7, "eu"}}
	first, err := write(&zones.WriterOptions{IdempotencyKey: "day-1"}, sales...).Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Attempts != 2 {
		t.Fatalf("first commit took %d attempts, want 2 (one throttled log write)", first.Attempts)
	}
	// The same batch again is a duplicate: nothing written.
	if dup, err := write(&zones.WriterOptions{IdempotencyKey: "day-1"}, sales...).Commit(ctx); err != nil || !dup.Duplicate {
		t.Fatalf("second commit of day-1: %+v, %v", dup, err)
	}
	// Two overwrites of eu: the second conflicts.
	wa := write(&zones.WriterOptions{Mode: zones.OverwritePartitions}, metricSale{4, 99, "eu"})
	wb := write(&zones.WriterOptions{Mode: zones.OverwritePartitions}, metricSale{5, 1, "eu"})
	over, err := wa.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wb.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("second overwrite: %v, want ErrConflict", err)
	}
	got, err := ds.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var liveBytes int64
	for _, f := range snap.Files {
		liveBytes += f.Size
	}

	m := rec.Collect(t)
	table := attribute.String("lakekit.table", "shop.sales")
	zone := attribute.String("lakekit.zone", "curated")
	outcome := func(o string) attribute.KeyValue { return attribute.String("lakekit.commit.outcome", o) }
	for _, c := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{zones.MetricCommits, []attribute.KeyValue{table, zone, outcome("committed")}, 2},
		{zones.MetricCommits, []attribute.KeyValue{outcome("duplicate")}, 1},
		{zones.MetricCommits, []attribute.KeyValue{outcome("failed"), attribute.String("error.type", "conflict")}, 1},
		{zones.MetricCommits, nil, 4},
		{zones.MetricCommitRetries, []attribute.KeyValue{table}, 1},
		{zones.MetricCommitConflicts, []attribute.KeyValue{table, zone}, 1},
		{zones.MetricRowsWritten, []attribute.KeyValue{table, zone}, first.Rows + over.Rows},
		{zones.MetricBytesWritten, []attribute.KeyValue{table}, first.Bytes + over.Bytes},
		{zones.MetricFilesWritten, []attribute.KeyValue{table}, int64(len(first.Files) + len(over.Files))},
		{zones.MetricRowsRead, []attribute.KeyValue{table, zone}, int64(len(got))},
		{zones.MetricFilesRead, []attribute.KeyValue{table, zone}, int64(len(snap.Files))},
	} {
		if v := m.Int(c.name, c.attrs...); v != c.want {
			t.Errorf("%s %v = %d, want %d", c.name, c.attrs, v, c.want)
		}
	}
	if first.Rows != 3 || over.Rows != 1 || len(got) != 2 || len(first.Files) != 2 {
		t.Errorf("run: first %d rows in %d files, overwrite %d rows, read %d rows; want 3 in 2, 1, 2", first.Rows, len(first.Files), over.Rows, len(got))
	}
	// The bytes read are the column chunks of the live files: more than
	// nothing, less than the files (footers are not counted).
	if b := m.Int(zones.MetricBytesRead, table); b <= 0 || b >= liveBytes {
		t.Errorf("%s = %d, want in (0, %d)", zones.MetricBytesRead, b, liveBytes)
	}
	for name, unit := range map[string]string{zones.MetricBytesWritten: "By", zones.MetricBytesRead: "By", zones.MetricRowsWritten: "{row}", zones.MetricCommits: "{commit}", zones.MetricFilesRead: "{file}"} {
		if u := m.Unit(name); u != unit {
			t.Errorf("%s unit %q, want %q", name, u, unit)
		}
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	if lk.MetricsEnabled() {
		t.Fatal("a lake without Options.MeterProvider records metrics")
	}
	ds := newEvents(t, lk, nil)
	writeCommit(t, ds, makeEvents(0, 10, 2), nil)
	if _, err := ds.ReadAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := lk.MeterProvider().(noop.MeterProvider); !ok {
		t.Errorf("MeterProvider() = %T, want the no-op provider", lk.MeterProvider())
	}
}
