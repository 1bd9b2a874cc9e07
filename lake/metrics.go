package lake

import (
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// metrics holds a lake's meter provider and the instruments each package
// made from it (once per lake and package).
type metrics struct {
	provider metric.MeterProvider
	enabled  bool
	mu       sync.Mutex
	sets     map[string]any
}

func newMetrics(p metric.MeterProvider) *metrics {
	m := &metrics{provider: p, enabled: p != nil, sets: map[string]any{}}
	if p == nil {
		m.provider = noop.NewMeterProvider()
	}
	return m
}

// MeterProvider returns the provider of Options.MeterProvider, or a no-op
// one when none was set (never nil).
func (l *Lake) MeterProvider() metric.MeterProvider { return l.metricState().provider }

// MetricsEnabled reports whether Options.MeterProvider was set. Packages
// skip building attributes when it is not, so a lake without metrics pays
// nothing for them.
func (l *Lake) MetricsEnabled() bool { return l.metricState().enabled }

// Instruments returns the instrument set of a package (scope is its import
// path, the OpenTelemetry instrumentation scope), made by build from the
// lake's meter for that scope the first time and reused after. build's
// error is returned each time; OpenTelemetry SDKs return usable
// instruments together with such errors (a name or unit they find
// invalid), so callers may record on the set anyway.
func (l *Lake) Instruments(scope string, build func(metric.Meter) (any, error)) (any, error) {
	m := l.metricState()
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sets[scope]; ok {
		return s, nil
	}
	s, err := build(m.provider.Meter(scope))
	m.sets[scope] = s
	return s, err
}

var noMetrics = newMetrics(nil)

// metricState is the lake's metrics, or the no-op ones for a Lake not made
// by New.
func (l *Lake) metricState() *metrics {
	if l == nil || l.metrics == nil {
		return noMetrics
	}
	return l.metrics
}
