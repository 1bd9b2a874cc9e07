package raw

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/lakekit/lakekit/lake"
)

// MetricScope is the OpenTelemetry instrumentation scope of this package's
// instruments.
const MetricScope = "github.com/lakekit/lakekit/zones/raw"

// Names of the Buffer's instruments (lake.Options.MeterProvider). No
// OpenTelemetry semantic convention covers them, so they are lakekit.*;
// attributes are lakekit.source, lakekit.dataset, and on flushes
// lakekit.flush.reason (a BufferFlushReason) and, for failed attempts,
// error.type.
const (
	// MetricBufferFlushes counts flush attempts, landed or failed.
	MetricBufferFlushes = "lakekit.raw.buffer.flushes"
	// MetricBufferFlushDuration is the duration of flush attempts.
	MetricBufferFlushDuration = "lakekit.raw.buffer.flush.duration"
	// MetricRecordsLanded and MetricBytesLanded count what landed flushes
	// wrote (bytes as stored, after compression).
	MetricRecordsLanded = "lakekit.raw.records.landed"
	MetricBytesLanded   = "lakekit.raw.bytes.landed"
	// MetricBufferWaits counts Adds that had to wait for space
	// (back-pressure: the buffer held BufferOptions.MaxBufferedBytes),
	// when the wait begins.
	MetricBufferWaits = "lakekit.raw.buffer.waits"
	// MetricBufferWaitDuration is how long those Adds waited, recorded
	// when the wait ends: with error.type "buffer_full" when the Add's
	// context ended first (the record was not added) or "closed" when the
	// buffer was closed meanwhile.
	MetricBufferWaitDuration = "lakekit.raw.buffer.wait.duration"
)

type instruments struct {
	flushes, records, bytes, waits metric.Int64Counter
	duration, waited               metric.Float64Histogram
}

func instrumentsOf(lk *lake.Lake) *instruments {
	if !lk.MetricsEnabled() {
		return nil
	}
	s, _ := lk.Instruments(MetricScope, func(m metric.Meter) (any, error) {
		var in instruments
		var e [6]error
		in.flushes, e[0] = m.Int64Counter(MetricBufferFlushes, metric.WithUnit("{flush}"), metric.WithDescription("Raw buffer flush attempts."))
		in.duration, e[1] = m.Float64Histogram(MetricBufferFlushDuration, metric.WithUnit("s"), metric.WithDescription("Duration of raw buffer flush attempts."))
		in.records, e[2] = m.Int64Counter(MetricRecordsLanded, metric.WithUnit("{record}"), metric.WithDescription("Records landed in the raw zone by buffers."))
		in.bytes, e[3] = m.Int64Counter(MetricBytesLanded, metric.WithUnit("By"), metric.WithDescription("Bytes stored in the raw zone by buffers."))
		in.waits, e[4] = m.Int64Counter(MetricBufferWaits, metric.WithUnit("{wait}"), metric.WithDescription("Buffer adds that waited for space (back-pressure)."))
		in.waited, e[5] = m.Float64Histogram(MetricBufferWaitDuration, metric.WithUnit("s"), metric.WithDescription("Time buffer adds waited for space (back-pressure)."))
		return &in, errors.Join(e[:]...)
	})
	in, _ := s.(*instruments)
	return in
}

func (b *Buffer) metricAttrs(extra ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributes(append([]attribute.KeyValue{
		attribute.String("lakekit.source", b.source),
		attribute.String("lakekit.dataset", b.dataset),
	}, extra...)...)
}

// recordFlush records one flush attempt.
func (b *Buffer) recordFlush(f BufferFlush) {
	in := instrumentsOf(b.lk)
	if in == nil {
		return
	}
	ctx := context.Background()
	reason := attribute.String("lakekit.flush.reason", string(f.Reason))
	if f.Err != nil {
		in.flushes.Add(ctx, 1, b.metricAttrs(reason, attribute.String("error.type", "flush_failed")))
		in.duration.Record(ctx, f.Duration.Seconds(), b.metricAttrs(reason, attribute.String("error.type", "flush_failed")))
		return
	}
	attrs := b.metricAttrs(reason)
	in.flushes.Add(ctx, 1, attrs)
	in.duration.Record(ctx, f.Duration.Seconds(), attrs)
	in.records.Add(ctx, f.Records, b.metricAttrs())
	in.bytes.Add(ctx, f.StoredBytes, b.metricAttrs())
}

// recordWait records an Add that begins to wait for space and returns
// when (the zero time when the lake records no metrics).
func (b *Buffer) recordWait() time.Time {
	in := instrumentsOf(b.lk)
	if in == nil {
		return time.Time{}
	}
	in.waits.Add(context.Background(), 1, b.metricAttrs())
	return time.Now()
}

// recordWaited records the end of a wait recordWait began at start (none
// when start is zero); errType is "" when the record was added.
func (b *Buffer) recordWaited(start time.Time, errType string) {
	in := instrumentsOf(b.lk)
	if in == nil || start.IsZero() {
		return
	}
	attrs := b.metricAttrs()
	if errType != "" {
		attrs = b.metricAttrs(attribute.String("error.type", errType))
	}
	in.waited.Record(context.Background(), time.Since(start).Seconds(), attrs)
}
