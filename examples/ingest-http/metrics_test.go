package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

// scrape reads url the way Prometheus does and parses the text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: not the Prometheus text format: %v", url, err)
	}
	return fams
}

// sum adds up a family's samples (a histogram's: their counts) whose labels
// include labels; -1 when the family is absent.
func sum(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	var n float64
next:
	for _, m := range f.GetMetric() {
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			n += m.GetCounter().GetValue()
		case m.Histogram != nil:
			n += float64(m.GetHistogram().GetSampleCount())
		case m.Gauge != nil:
			n += m.GetGauge().GetValue()
		}
	}
	return n
}

// rawContents counts the raw objects of web/events, their lines and bytes,
// reading them back through the store.
func rawContents(t *testing.T, lk *lake.Lake) (objects, lines, size int64) {
	t.Helper()
	ctx := context.Background()
	for l, err := range raw.List(ctx, lk, "web", "events", nil) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := lk.MustZone(lake.Raw).Store().ReadAll(ctx, l.Key)
		if err != nil {
			t.Fatal(err)
		}
		objects, size = objects+1, size+int64(len(b))
		lines += int64(bytes.Count(b, []byte("\n")))
	}
	return objects, lines, size
}

// TestMetricsAfterALoad runs the service in-process with -metrics-addr on
// loopback, posts 2,400 events from two producers in 120 requests, drains
// it, then scrapes /metrics over HTTP: the landed records, flushes and
// bytes equal what the raw zone holds, and the back-pressure waits what
// the buffers counted.
func TestMetricsAfterALoad(t *testing.T) {
	dir := t.TempDir()
	cfg, _, err := loadConfig([]string{"-flush-bytes", "4096", "-metrics-addr", "127.0.0.1:0", "-lake", dir}, tokenEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mx, err := startMetrics(cfg.MetricsAddr, log)
	if err != nil {
		t.Fatal(err)
	}
	defer mx.Close(context.Background())
	lk, err := lake.Open(context.Background(), cfg.Lake, &lake.Options{MeterProvider: mx.Provider()})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	svc, err := NewService(lk, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()

	const requests, per, workers = 120, 20, 8
	tokens := []string{"loadtest-token-0123456789", "web-frontend-token-0123"}
	jobs := make(chan int)
	errs := make(chan error, requests)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for j := range jobs {
				evs := make([]event, per)
				for k := range evs {
					evs[k] = ev(j*per + k)
				}
				resp, err := post(srv.URL+"/events", tokens[j%2], "application/json", bytes.NewReader(body(evs, true)))
				if err != nil {
					errs <- err
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errs <- fmt.Errorf("request %d: %s", j, resp.Status)
				}
			}
		})
	}
	for j := 0; j < requests; j++ {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}

	fams := scrape(t, mx.URL())
	objects, lines, size := rawContents(t, lk)
	st := svc.stats()
	if lines != requests*per || st.FlushErrors != 0 || objects < 10 {
		t.Fatalf("raw zone holds %d lines in %d objects (flush errors %d); want %d lines in at least 10", lines, objects, st.FlushErrors, requests*per)
	}
	src := map[string]string{"lakekit_source": "web", "lakekit_dataset": "events"}
	for _, c := range []struct {
		family string
		want   int64
	}{
		{"lakekit_raw_records_landed_total", lines},
		{"lakekit_raw_buffer_flushes_total", objects},
		{"lakekit_raw_buffer_flush_duration_seconds", objects},
		{"lakekit_raw_bytes_landed_total", size},
		// back-pressure: Adds that found the buffer full, as the buffers count them
		{"lakekit_raw_buffer_waits_total", st.Waits},
		{"lakekit_raw_buffer_wait_duration_seconds", st.Waits},
	} {
		got := sum(fams, c.family, src)
		if got == -1 { // a family appears with its first measurement
			got = 0
		}
		if got != float64(c.want) {
			t.Errorf("%s = %v, want %d", c.family, got, c.want)
		}
	}
	// Each flush says why it happened; the reasons add up to the flushes.
	var byReason float64
	for _, r := range []raw.BufferFlushReason{raw.BufferFlushSize, raw.BufferFlushCount, raw.BufferFlushAge, raw.BufferFlushFull, raw.BufferFlushCall, raw.BufferFlushClose} {
		if n := sum(fams, "lakekit_raw_buffer_flushes_total", map[string]string{"lakekit_flush_reason": string(r)}); n > 0 {
			byReason += n
		}
	}
	if byReason != float64(objects) {
		t.Errorf("flushes by lakekit_flush_reason add up to %v, want %d", byReason, objects)
	}
	// Ingestion lands raw objects as they are: it commits no table.
	if n := sum(fams, "lakekit_commits_total", nil); n != -1 {
		t.Errorf("lakekit_commits_total = %v; ingestion commits no table", n)
	}
	if sum(fams, "go_goroutines", nil) <= 0 {
		t.Error("no go_goroutines: the Go runtime's metrics are missing")
	}
	if t.Failed() {
		var names []string
		for n := range fams {
			names = append(names, n)
		}
		t.Logf("families: %v", names)
	}
}

// TestMetricsOfTheBinary runs the command with METRICS_ADDR on loopback:
// it says where the metrics are, and after a load they count what the
// service reports it flushed when it drains.
func TestMetricsOfTheBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := extest.Command(ctx, nil, "LAKE_URL="+t.TempDir(), "LISTEN_ADDR=127.0.0.1:0", "METRICS_ADDR=127.0.0.1:0",
		"FLUSH_BYTES=2048", "FLUSH_INTERVAL=1h", "INGEST_TOKENS="+testTokens)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	url := func(prefix string) string {
		if !sc.Scan() {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no %q line; stderr: %s", prefix, stderr.String())
		}
		line := sc.Text()
		i := strings.Index(line, "http://")
		if !strings.HasPrefix(line, prefix) || i < 0 {
			t.Fatalf("line %q: want %q and an address", line, prefix)
		}
		return strings.TrimSuffix(strings.Fields(line[i:])[0], ",")
	}
	base, metricsURL := url("ingest-http listening on"), url("metrics on")
	const total = 400
	evs := make([]event, total)
	for i := range evs {
		evs[i] = ev(i)
	}
	resp, err := post(base+"/events", "loadtest-token-0123456789", "application/json", bytes.NewReader(body(evs, true)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s", resp.Status)
	}
	// 400 events are over 20 flushes' worth: some land while the service
	// runs, and the scrape sees them.
	src := map[string]string{"lakekit_source": "web"}
	var landed float64
	for deadline := time.Now().Add(20 * time.Second); landed <= 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no records landed after 20s; stderr: %s", stderr.String())
		}
		landed = sum(scrape(t, metricsURL), "lakekit_raw_records_landed_total", src)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var last string
	for sc.Scan() {
		last = sc.Text()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
	var summary map[string]int64
	if err := json.Unmarshal([]byte(last), &summary); err != nil {
		t.Fatalf("summary line %q: %v", last, err)
	}
	if summary["flushed"] != total || landed > total || landed != float64(int64(landed)) {
		t.Fatalf("summary %v; the scrape while running saw %v records landed, want at most %d", summary, landed, total)
	}
}
