package query_test

import (
	"context"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/lakekit/lakekit/internal/metrictest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
)

// Two Athena queries scanning 3 TiB each at $5/TB: the lake's meter
// provider sees two executions, 6 TiB scanned and $30.
func TestMetricsOfAthenaScans(t *testing.T) {
	rec := metrictest.New(t)
	lk, err := lake.New(lake.NewStore(memstore.New()), &lake.Options{MeterProvider: rec.Provider})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	p := enginetest.StartAthena(t)
	p.Scanned = 3 << 40
	p.Seed(t, []enginetest.Column{{Name: "n", Type: "bigint"}}, [][]*string{{str("0")}})
	a := newAthena(t, p, &query.AthenaOptions{WorkGroup: "primary", OutputLocation: "s3://athena-results/q/", PricePerTB: 5, Lake: lk})
	for i := 0; i < 2; i++ {
		res, err := a.Query(context.Background(), `SELECT count(*) AS n FROM orders`)
		if err != nil {
			t.Fatal(err)
		}
		res.Close()
	}
	m := rec.Collect(t)
	athena := attribute.String("lakekit.query.engine", "athena")
	if n := m.Int(query.MetricQueries, athena, attribute.String("lakekit.query.state", "SUCCEEDED")); n != 2 {
		t.Errorf("%s = %d, want 2", query.MetricQueries, n)
	}
	if b := m.Int(query.MetricBytesScanned, athena); b != 6<<40 {
		t.Errorf("%s = %d, want %d", query.MetricBytesScanned, b, int64(6<<40))
	}
	if c := m.Float(query.MetricCost, athena); math.Abs(c-30) > 1e-9 {
		t.Errorf("%s = %v, want 30", query.MetricCost, c)
	}
}
