package raw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/lakekit/lakekit/internal/metrictest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones/raw"
)

// A buffer whose store stalls, then fails once: the instruments count the
// back-pressure waits and time them (one Add gives up when its context
// ends, one waits until the store answers), the failed and the landed
// flushes, and what landed, as the buffer's own Stats do.
func TestMetricsOfBufferFlushesAndWaits(t *testing.T) {
	ctx := context.Background()
	rec := metrictest.New(t)
	fd := &rawFaultDriver{Driver: memstore.New()}
	lk, err := lake.New(lake.NewStore(fd), &lake.Options{MeterProvider: rec.Provider})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	stall := make(chan struct{})
	fd.setStall(stall)
	fd.setFail(1, false)
	b, err := raw.NewBuffer(lk, "web", "clicks", &raw.BufferOptions{
		FlushBytes: 1000, MaxBufferedBytes: 3000, MaxConcurrentFlushes: 1, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec100 := func(i int) []byte { return []byte(fmt.Sprintf(`{"x":"%05d%s"}`, i, strings.Repeat("a", 86))) }
	for i := 0; i < 30; i++ {
		if err := b.Add(ctx, rec100(i)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- b.Add(ctx, rec100(30)) }()
	for deadline := time.Now().Add(10 * time.Second); b.Stats().Waits < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Add on a full buffer never waited")
		}
	}
	// A second Add gives up after 50ms: it waited that long, for nothing.
	const patience = 50 * time.Millisecond
	short, cancel := context.WithTimeout(ctx, patience)
	shortStart := time.Now()
	err = b.Add(short, rec100(99))
	shortWait := time.Since(shortStart)
	cancel()
	if !errors.Is(err, raw.ErrBufferFull) {
		t.Fatalf("Add with a %v deadline on a full buffer: %v, want ErrBufferFull", patience, err)
	}
	close(stall)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	longWait := time.Since(start)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if st.RecordsFlushed != 31 || st.FlushErrors != 1 || st.Waits != 2 {
		t.Fatalf("stats %+v: want 31 records landed, 1 flush error, 2 waits", st)
	}

	m := rec.Collect(t)
	src := []attribute.KeyValue{attribute.String("lakekit.source", "web"), attribute.String("lakekit.dataset", "clicks")}
	failed := attribute.String("error.type", "flush_failed")
	for _, c := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{raw.MetricBufferWaits, src, st.Waits},
		{raw.MetricBufferFlushes, src, st.Flushes + st.FlushErrors},
		{raw.MetricBufferFlushes, []attribute.KeyValue{failed}, st.FlushErrors},
		{raw.MetricRecordsLanded, src, 31},
		{raw.MetricBytesLanded, src, st.BytesStored},
	} {
		if v := m.Int(c.name, c.attrs...); v != c.want {
			t.Errorf("%s %v = %d, want %d", c.name, c.attrs, v, c.want)
		}
	}
	var byReason int64
	for _, r := range []raw.BufferFlushReason{raw.BufferFlushSize, raw.BufferFlushCount, raw.BufferFlushAge, raw.BufferFlushFull, raw.BufferFlushCall, raw.BufferFlushClose} {
		byReason += m.Int(raw.MetricBufferFlushes, attribute.String("lakekit.flush.reason", string(r)))
	}
	if byReason != st.Flushes+st.FlushErrors {
		t.Errorf("flushes by reason sum to %d, want %d", byReason, st.Flushes+st.FlushErrors)
	}
	if n, _ := m.Count(raw.MetricBufferFlushDuration, src...); n != uint64(st.Flushes+st.FlushErrors) {
		t.Errorf("%s holds %d measurements, want %d", raw.MetricBufferFlushDuration, n, st.Flushes+st.FlushErrors)
	}
	// The Add that gave up waited at least its deadline and at most as long
	// as the call took; the one that got in waited through that, until the
	// store answered.
	gaveUp := attribute.String("error.type", "buffer_full")
	nGave, gave := m.Count(raw.MetricBufferWaitDuration, append(src, gaveUp)...)
	if nGave != 1 || gave < patience.Seconds() || gave > shortWait.Seconds() {
		t.Errorf("%s{error.type=buffer_full}: %d measurements summing %vs, want 1 in [%v, %v]", raw.MetricBufferWaitDuration, nGave, gave, patience.Seconds(), shortWait.Seconds())
	}
	n, sum := m.Count(raw.MetricBufferWaitDuration, src...)
	if added := sum - gave; n != 2 || added < patience.Seconds() || added > longWait.Seconds() {
		t.Errorf("%s: %d measurements, the added one %vs; want 2, the added one in [%v, %v]", raw.MetricBufferWaitDuration, n, added, patience.Seconds(), longWait.Seconds())
	}
	if u := m.Unit(raw.MetricBufferWaitDuration); u != "s" {
		t.Errorf("%s unit %q, want s", raw.MetricBufferWaitDuration, u)
	}
}
