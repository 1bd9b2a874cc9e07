package query

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/lakekit/lakekit/lake"
)

// MetricScope is the OpenTelemetry instrumentation scope of this package's
// instruments.
const MetricScope = "github.com/lakekit/lakekit/query"

// Names of the Athena engine's instruments, recorded through the meter
// provider of AthenaOptions.Lake (lake.Options.MeterProvider) for every
// query execution that ended (succeeded, failed or cancelled: Athena bills
// the data each scanned). No OpenTelemetry semantic convention covers scan
// volume or cost, so they are lakekit.*; the attributes are
// lakekit.query.engine ("athena") and lakekit.query.state (Athena's final
// QueryExecutionState).
const (
	// MetricQueries counts ended query executions.
	MetricQueries = "lakekit.query.executions"
	// MetricBytesScanned is the data Athena reports scanned
	// (DataScannedInBytes).
	MetricBytesScanned = "lakekit.query.bytes.scanned"
	// MetricCost is the scan priced as Athena bills it (AthenaCost with
	// AthenaOptions.PricePerTB), in US dollars.
	MetricCost = "lakekit.query.cost"
)

type instruments struct {
	queries, scanned metric.Int64Counter
	cost             metric.Float64Counter
}

func instrumentsOf(lk *lake.Lake) *instruments {
	if lk == nil || !lk.MetricsEnabled() {
		return nil
	}
	s, _ := lk.Instruments(MetricScope, func(m metric.Meter) (any, error) {
		var in instruments
		var e [3]error
		in.queries, e[0] = m.Int64Counter(MetricQueries, metric.WithUnit("{execution}"), metric.WithDescription("Query executions that ended."))
		in.scanned, e[1] = m.Int64Counter(MetricBytesScanned, metric.WithUnit("By"), metric.WithDescription("Bytes the query engine scanned."))
		in.cost, e[2] = m.Float64Counter(MetricCost, metric.WithUnit("{USD}"), metric.WithDescription("Price of the scanned bytes in US dollars."))
		return &in, errors.Join(e[:]...)
	})
	in, _ := s.(*instruments)
	return in
}

// recordExecution records one ended Athena query execution.
func (a *Athena) recordExecution(ctx context.Context, st Stats, state string) {
	in := instrumentsOf(a.opts.Lake)
	if in == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String("lakekit.query.engine", "athena"), attribute.String("lakekit.query.state", state))
	in.queries.Add(ctx, 1, attrs)
	if st.BytesScanned >= 0 {
		in.scanned.Add(ctx, st.BytesScanned, attrs)
		in.cost.Add(ctx, st.Cost, attrs)
	}
}
