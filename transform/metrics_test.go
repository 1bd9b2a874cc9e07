package transform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/lakekit/lakekit/internal/metrictest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// A quickstart-sized run (land raw JSON lines, clean, curate) on a lake
// with a meter provider: quarantined records by rule, and the zones'
// commit and row counters, match the run's results.
func TestMetricsOfAQuickstartRun(t *testing.T) {
	ctx := context.Background()
	rec := metrictest.New(t)
	lk, err := lake.New(lake.NewStore(memstore.New()), &lake.Options{MeterProvider: rec.Provider})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	p := newPipeline(t, lk, 1)
	_, evs := genBatch(0, 200)
	var b bytes.Buffer
	for i, e := range evs {
		line, _ := json.Marshal(e)
		switch i % 50 {
		case 3: // malformed
			line = line[:len(line)/2]
		case 9: // enum violation
			e.Kind = "bogus"
			line, _ = json.Marshal(e)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if _, err := raw.Land(ctx, lk, "web", "events", "batch-1.jsonl", bytes.NewReader(b.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	clean, err := p.toClean.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	curate, err := p.toCurate.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing new: a second run adds nothing to any counter.
	if res, err := p.toClean.Run(ctx); err != nil || res.Units != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	if clean.Rejected != 8 || clean.RowsOut != 192 {
		t.Fatalf("clean: %+v, want 8 rejected and 192 out", clean)
	}

	m := rec.Collect(t)
	name := attribute.String("lakekit.transform", "clean_events")
	for _, c := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{transform.MetricQuarantined, []attribute.KeyValue{name}, clean.Rejected},
		{transform.MetricQuarantined, []attribute.KeyValue{name, attribute.String("lakekit.quarantine.rule", "decode")}, 4},
		{transform.MetricQuarantined, []attribute.KeyValue{name, attribute.String("lakekit.quarantine.rule", "enum")}, 4},
		{zones.MetricRowsWritten, []attribute.KeyValue{attribute.String("lakekit.table", "shop.events"), attribute.String("lakekit.zone", "cleaned")}, clean.RowsOut},
		{zones.MetricRowsWritten, []attribute.KeyValue{attribute.String("lakekit.table", "shop.sales"), attribute.String("lakekit.zone", "curated")}, curate.RowsOut},
		{zones.MetricRowsWritten, []attribute.KeyValue{attribute.String("lakekit.table", "shop.events_quarantine")}, clean.Rejected},
		{zones.MetricCommits, []attribute.KeyValue{attribute.String("lakekit.table", "shop.events"), attribute.String("lakekit.commit.outcome", "committed")}, int64(clean.Units)},
		{zones.MetricRowsRead, []attribute.KeyValue{attribute.String("lakekit.table", "shop.events")}, curate.RowsIn},
	} {
		if v := m.Int(c.metric, c.attrs...); v != c.want {
			t.Errorf("%s %v = %d, want %d", c.metric, c.attrs, v, c.want)
		}
	}
}
