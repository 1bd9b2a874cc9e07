package orchestrate

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/lakekit/lakekit/lake"
)

// MetricScope is the OpenTelemetry instrumentation scope of this package's
// instruments.
const MetricScope = "github.com/lakekit/lakekit/orchestrate"

// Names of the local Runner's instruments, recorded through the meter
// provider of the lake given to NewRunner (lake.Options.MeterProvider).
// No OpenTelemetry semantic convention covers pipeline steps, so they are
// lakekit.*; attributes are lakekit.pipeline, lakekit.step,
// lakekit.step.state ("succeeded" or "failed") and, for failures, the
// semantic-convention error.type (the step error's name, ErrorName) and
// lakekit.step.caught (whether a Catch handled it).
const (
	// MetricStepDuration is each ended step's duration, retries included.
	MetricStepDuration = "lakekit.pipeline.step.duration"
	// MetricStepFailures counts steps that ended failed.
	MetricStepFailures = "lakekit.pipeline.step.failures"
	// MetricStepRetries counts a step's attempts after its first.
	MetricStepRetries = "lakekit.pipeline.step.retries"
)

type instruments struct {
	duration          metric.Float64Histogram
	failures, retries metric.Int64Counter
}

func instrumentsOf(lk *lake.Lake) *instruments {
	if lk == nil || !lk.MetricsEnabled() {
		return nil
	}
	s, _ := lk.Instruments(MetricScope, func(m metric.Meter) (any, error) {
		var in instruments
		var e [3]error
		in.duration, e[0] = m.Float64Histogram(MetricStepDuration, metric.WithUnit("s"), metric.WithDescription("Duration of pipeline steps, retries included."))
		in.failures, e[1] = m.Int64Counter(MetricStepFailures, metric.WithUnit("{step}"), metric.WithDescription("Pipeline steps that failed."))
		in.retries, e[2] = m.Int64Counter(MetricStepRetries, metric.WithUnit("{attempt}"), metric.WithDescription("Pipeline step attempts after the first."))
		return &in, errors.Join(e[:]...)
	})
	in, _ := s.(*instruments)
	return in
}

// recordStep records a step that ended as sr, with err (nil on success).
// finish calls it with e.mu held.
func (e *execution) recordStep(s *Step, sr *StepRun, err error) {
	in := instrumentsOf(e.r.lk)
	if in == nil {
		return
	}
	ctx := context.Background()
	attrs := []attribute.KeyValue{attribute.String("lakekit.pipeline", e.p.Name()), attribute.String("lakekit.step", s.Name)}
	if err == nil {
		attrs = append(attrs, attribute.String("lakekit.step.state", "succeeded"))
	} else {
		attrs = append(attrs, attribute.String("lakekit.step.state", "failed"), attribute.String("error.type", ErrorName(err)),
			attribute.String("lakekit.step.caught", strconv.FormatBool(sr.CaughtBy != "")))
		in.failures.Add(ctx, 1, metric.WithAttributes(attrs...))
	}
	if !sr.Started.IsZero() {
		in.duration.Record(ctx, sr.Ended.Sub(sr.Started).Seconds(), metric.WithAttributes(attrs...))
	}
	if n := len(sr.Attempts); n > 1 {
		in.retries.Add(ctx, int64(n-1), metric.WithAttributes(attrs[:2]...))
	}
}
