// The service's metrics (copy it along with main.go): the lake's
// OpenTelemetry instruments, served in the Prometheus text format.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// metricsServer serves, at http://<METRICS_ADDR>/metrics, every instrument
// lakekit records through the lake's meter provider (the raw buffer's
// flushes, landed records and bytes, back-pressure waits and their
// duration; see the README's Metrics section for the list) together with
// the Go runtime's and the process's metrics. It listens apart from the
// service's port, so the load balancer never routes producers to it: let
// Prometheus, or the ADOT collector's prometheus receiver (which sends
// the numbers on to CloudWatch), scrape it from inside the VPC.
type metricsServer struct {
	provider *sdkmetric.MeterProvider
	srv      *http.Server
	ln       net.Listener
}

// newMetricsHandler returns a meter provider whose instruments the handler
// serves in the Prometheus text format, through the OpenTelemetry
// Prometheus exporter (lakekit.raw.records.landed with unit {record}
// becomes lakekit_raw_records_landed_total; attributes become labels,
// lakekit.source becomes lakekit_source).
func newMetricsHandler() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: the Prometheus exporter: %w", err)
	}
	p := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	return p, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// startMetrics listens on addr and serves /metrics; nil (and no error)
// when addr is empty: the lake then records nothing.
func startMetrics(addr string, log *slog.Logger) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	p, h, err := newMetricsHandler()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.Shutdown(context.Background())
		return nil, fmt.Errorf("metrics: listen on %s (METRICS_ADDR): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	m := &metricsServer{provider: p, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := m.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return m, nil
}

// Provider is the meter provider to give lake.Options.MeterProvider: nil
// (lakekit's no-op default) when metrics are off.
func (m *metricsServer) Provider() metric.MeterProvider {
	if m == nil {
		return nil
	}
	return m.provider
}

// URL is where the metrics are served.
func (m *metricsServer) URL() string { return "http://" + m.ln.Addr().String() + "/metrics" }

// Close stops serving and shuts the provider down.
func (m *metricsServer) Close(ctx context.Context) error {
	if m == nil {
		return nil
	}
	return errors.Join(m.srv.Shutdown(ctx), m.provider.Shutdown(ctx))
}
