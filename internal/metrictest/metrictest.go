// Package metrictest reads what lakekit's instruments recorded, through the
// OpenTelemetry SDK's in-memory ManualReader, for tests.
package metrictest

import (
	"context"
	"sort"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Recorder is a meter provider whose measurements a test can read.
type Recorder struct {
	// Provider is the provider to hand to lake.Options.MeterProvider.
	Provider *sdkmetric.MeterProvider
	reader   *sdkmetric.ManualReader

	mu      sync.Mutex
	created map[string]Instrument
}

// Instrument is an instrument a meter of the provider made.
type Instrument struct {
	Scope, Name, Unit string
	Kind              sdkmetric.InstrumentKind
}

// New returns a Recorder, shut down when the test ends.
func New(t testing.TB) *Recorder {
	rec := &Recorder{reader: sdkmetric.NewManualReader(), created: map[string]Instrument{}}
	// The SDK asks the views about each instrument when a meter makes it:
	// this one notes the instrument and leaves its stream as it is.
	note := func(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		rec.mu.Lock()
		rec.created[i.Name] = Instrument{Scope: i.Scope.Name, Name: i.Name, Unit: i.Unit, Kind: i.Kind}
		rec.mu.Unlock()
		return sdkmetric.Stream{}, false
	}
	rec.Provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(rec.reader), sdkmetric.WithView(note))
	t.Cleanup(func() { rec.Provider.Shutdown(context.Background()) })
	return rec
}

// Instruments returns every instrument the provider's meters made, whether
// or not it recorded anything, by name.
func (r *Recorder) Instruments() []Instrument {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Instrument, 0, len(r.created))
	for _, i := range r.created {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Snapshot is the metrics collected at one moment, by instrument name.
type Snapshot struct {
	Metrics map[string]metricdata.Metrics
}

// Collect reads every instrument's current value.
func (r *Recorder) Collect(t testing.TB) Snapshot {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	s := Snapshot{Metrics: map[string]metricdata.Metrics{}}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s.Metrics[m.Name] = m
		}
	}
	return s
}

// Has reports whether the instrument recorded anything.
func (s Snapshot) Has(name string) bool {
	_, ok := s.Metrics[name]
	return ok
}

// matches reports whether set holds every attribute of want.
func matches(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// Int sums the points of an int64 counter (or up-down counter) whose
// attributes include all of attrs.
func (s Snapshot) Int(name string, attrs ...attribute.KeyValue) int64 {
	var n int64
	if sum, ok := s.Metrics[name].Data.(metricdata.Sum[int64]); ok {
		for _, p := range sum.DataPoints {
			if matches(p.Attributes, attrs) {
				n += p.Value
			}
		}
	}
	return n
}

// Float sums the points of a float64 counter whose attributes include all
// of attrs.
func (s Snapshot) Float(name string, attrs ...attribute.KeyValue) float64 {
	var n float64
	if sum, ok := s.Metrics[name].Data.(metricdata.Sum[float64]); ok {
		for _, p := range sum.DataPoints {
			if matches(p.Attributes, attrs) {
				n += p.Value
			}
		}
	}
	return n
}

// Count returns how many measurements a float64 histogram holds over the
// points whose attributes include all of attrs, and their sum.
func (s Snapshot) Count(name string, attrs ...attribute.KeyValue) (count uint64, sum float64) {
	if h, ok := s.Metrics[name].Data.(metricdata.Histogram[float64]); ok {
		for _, p := range h.DataPoints {
			if matches(p.Attributes, attrs) {
				count += p.Count
				sum += p.Sum
			}
		}
	}
	return count, sum
}

// Kind says how to read an instrument: "int" (Int), "float" (Float),
// "histogram" (Count), or "" when it recorded nothing or is of another
// kind.
func (s Snapshot) Kind(name string) string {
	switch s.Metrics[name].Data.(type) {
	case metricdata.Sum[int64]:
		return "int"
	case metricdata.Sum[float64]:
		return "float"
	case metricdata.Histogram[float64]:
		return "histogram"
	}
	return ""
}

// Unit returns the unit an instrument was made with.
func (s Snapshot) Unit(name string) string { return s.Metrics[name].Unit }
