package transform

import (
	"context"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// MetricScope is the OpenTelemetry instrumentation scope of this package's
// instruments.
const MetricScope = "github.com/lakekit/lakekit/transform"

// MetricQuarantined counts records a transform sent to quarantine
// (lake.Options.MeterProvider), by lakekit.transform (the transform's name)
// and lakekit.quarantine.rule (Quarantine.Rule). A record rejected again by
// a retried unit is counted once: only new quarantine commits count. No
// OpenTelemetry semantic convention covers it.
const MetricQuarantined = "lakekit.transform.quarantined"

func quarantineCounter(lk *lake.Lake) metric.Int64Counter {
	if !lk.MetricsEnabled() {
		return nil
	}
	s, _ := lk.Instruments(MetricScope, func(m metric.Meter) (any, error) {
		return m.Int64Counter(MetricQuarantined, metric.WithUnit("{record}"), metric.WithDescription("Records sent to quarantine by transforms."))
	})
	c, _ := s.(metric.Int64Counter)
	return c
}

// recordQuarantined counts the records of one quarantine commit, by rule.
func recordQuarantined(ctx context.Context, table *zones.Table, name string, c *committed, recs []Quarantine) {
	counter := quarantineCounter(table.Zone().Lake())
	if counter == nil || c == nil || c.duplicate {
		return
	}
	byRule := map[string]int64{}
	for _, r := range recs {
		byRule[r.Rule]++
	}
	rules := make([]string, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		counter.Add(ctx, byRule[r], metric.WithAttributes(attribute.String("lakekit.transform", name), attribute.String("lakekit.quarantine.rule", r)))
	}
}
