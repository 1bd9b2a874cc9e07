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
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones/raw"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

type event struct {
	EventID string `json:"event_id"`
	TS      string `json:"ts"`
	Kind    string `json:"kind"`
	N       int    `json:"n"`
}

func ev(i int) event {
	return event{EventID: fmt.Sprintf("e%05d", i), TS: time.Date(2024, 5, 1, 0, 0, i%3600, 0, time.UTC).Format(time.RFC3339), Kind: "click", N: i}
}

// testTokens is the token set the tests run the service with.
const testTokens = `{"loadtest":"loadtest-token-0123456789","web-frontend":"web-frontend-token-0123"}`

// post sends body to url with a bearer token ("" for none).
func post(url, token, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

// tokenEnv is a getenv giving the test token set.
func tokenEnv(name string) string {
	if name == "INGEST_TOKENS" {
		return testTokens
	}
	return ""
}

// body renders events as a JSON array or as JSON lines.
func body(evs []event, array bool) []byte {
	if array {
		b, _ := json.Marshal(evs)
		return b
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range evs {
		enc.Encode(e)
	}
	return b.Bytes()
}

// TestIngestAndSIGTERM runs the service as a process, posts 10,000 events
// from 16 goroutines, stops it with SIGTERM and finds every event exactly
// once in the raw zone.
func TestIngestAndSIGTERM(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := extest.Command(ctx, nil, "LAKE_URL="+dir, "LISTEN_ADDR=127.0.0.1:0",
		"FLUSH_BYTES=65536", "FLUSH_INTERVAL=1h", "SOURCE=web", "DATASET=events", "INGEST_TOKENS="+testTokens)
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
	if !sc.Scan() {
		cmd.Wait()
		t.Fatalf("no start line; stderr: %s", stderr.String())
	}
	first := sc.Text()
	i := strings.Index(first, "http://")
	if i < 0 {
		t.Fatalf("start line %q has no address", first)
	}
	base := strings.Fields(first[i:])[0]
	base = strings.TrimSuffix(base, ",")

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	const total, per, workers = 10000, 20, 16
	jobs := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				evs := make([]event, per)
				for k := range evs {
					evs[k] = ev(j*per + k)
				}
				ct := "application/x-ndjson"
				if j%2 == 1 {
					ct = "application/json"
				}
				resp, err := post(base+"/events", "loadtest-token-0123456789", ct, bytes.NewReader(body(evs, j%2 == 1)))
				if err != nil {
					errs <- err
					return
				}
				var got map[string]int
				json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted || got["accepted"] != per {
					errs <- fmt.Errorf("request %d: %s %v", j, resp.Status, got)
					return
				}
			}
		}()
	}
	for j := 0; j < total/per; j++ {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// one invalid request: nothing of it may land
	resp, err = post(base+"/events", "loadtest-token-0123456789", "application/json", strings.NewReader(`[{"event_id":"bad-1","ts":"2024-05-01T00:00:00Z"},{"ts":"2024-05-01T00:00:00Z"}]`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid request: %s", resp.Status)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
	if len(rest) == 0 {
		t.Fatal("no summary after SIGTERM")
	}
	var summary map[string]int64
	if err := json.Unmarshal([]byte(rest[len(rest)-1]), &summary); err != nil {
		t.Fatalf("summary line %q: %v", rest[len(rest)-1], err)
	}
	if summary["records"] != total || summary["flushed"] != total || summary["rejected_requests"] != 1 {
		t.Fatalf("summary %v", summary)
	}

	// independent read: every raw object through the store
	lk, err := lake.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	seen := map[string]int{}
	objects := 0
	for l, err := range raw.List(context.Background(), lk, "web", "events", nil) {
		if err != nil {
			t.Fatal(err)
		}
		objects++
		b, err := lk.MustZone(lake.Raw).Store().ReadAll(context.Background(), l.Key)
		if err != nil {
			t.Fatal(err)
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(b), []byte("\n")) {
			var e event
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("%s: line %q: %v", l.Key, line, err)
			}
			seen[e.EventID]++
		}
	}
	if len(seen) != total {
		t.Fatalf("raw holds %d distinct events, want %d", len(seen), total)
	}
	for i := 0; i < total; i++ {
		if n := seen[ev(i).EventID]; n != 1 {
			t.Fatalf("event %s found %d times", ev(i).EventID, n)
		}
	}
	if int64(objects) != summary["objects"] || objects < 2 {
		t.Fatalf("%d raw objects, summary says %d", objects, summary["objects"])
	}
}

// TestValidation exercises the handler in-process on a memory lake.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cfg, _, err := loadConfig([]string{"-max-body", "2048"}, tokenEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(lk, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	cases := []struct {
		name, body string
		code       int
		reason     string
	}{
		{"lines", `{"event_id":"a","ts":"2024-05-01T00:00:00Z"}` + "\n\n" + `{"event_id":"b","ts":"2024-05-01T00:00:01.5+02:00","x":[1,2]}`, 202, ""},
		{"array", `[{"event_id":"c","ts":"2024-05-01T00:00:00Z"}]`, 202, ""},
		{"not json", `{"event_id":"d",`, 400, "not valid JSON"},
		{"not an object", `[1]`, 400, "not a JSON object"},
		{"missing field", `{"ts":"2024-05-01T00:00:00Z"}`, 400, "missing required field"},
		{"empty field", `{"event_id":"","ts":"2024-05-01T00:00:00Z"}`, 400, "missing required field"},
		{"bad time", `{"event_id":"e","ts":"yesterday"}`, 400, "RFC 3339"},
		{"broken array", `[{"event_id":"f"`, 400, "JSON array"},
		{"empty", "  \n", 400, "no events"},
		{"too large", `[` + strings.Repeat(`{"event_id":"g","ts":"2024-05-01T00:00:00Z"},`, 60) + `{}]`, 413, "larger than 2048"},
	}
	for _, c := range cases {
		resp, err := post(srv.URL+"/events", "web-frontend-token-0123", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.reason) {
			t.Errorf("%s: %s %s; want %d mentioning %q", c.name, resp.Status, b, c.code, c.reason)
		}
	}
	if resp, _ := http.Get(srv.URL + "/events"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /events: %s", resp.Status)
	}
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// only the three valid events landed, compacted to one line each
	var lines []string
	for l, err := range raw.List(ctx, lk, "web", "events", nil) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := lk.MustZone(lake.Raw).Store().ReadAll(ctx, l.Key)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	want := []string{`{"event_id":"a","ts":"2024-05-01T00:00:00Z"}`, `{"event_id":"b","ts":"2024-05-01T00:00:01.5+02:00","x":[1,2]}`, `{"event_id":"c","ts":"2024-05-01T00:00:00Z"}`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("raw holds\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	svc.draining.Store(true)
	if resp, _ := http.Get(srv.URL + "/healthz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz while draining: %s", resp.Status)
	}
}

// TestErrors: bad starts print one line and exit non-zero.
func TestErrors(t *testing.T) {
	ro := extest.ReadOnlyDir(t)
	closed := extest.ClosedPort(t)
	ok := "LISTEN_ADDR=127.0.0.1:0"
	tok := "INGEST_TOKENS=" + testTokens
	cases := []struct {
		name  string
		args  []string
		env   []string
		wants []string
	}{
		{"wrong flag", []string{"-port", "80"}, []string{ok}, []string{"-port"}},
		{"bad env", nil, []string{ok, "LAKE_URL=" + t.TempDir(), "FLUSH_BYTES=lots"}, []string{"FLUSH_BYTES", "lots"}},
		{"bad source", nil, []string{ok, "LAKE_URL=" + t.TempDir(), "SOURCE=Web Site"}, []string{"SOURCE"}},
		{"no token set", nil, []string{ok, "LAKE_URL=" + t.TempDir()}, []string{"AUTH=token", "INGEST_TOKENS", "AUTH=upstream"}},
		{"bad token set", nil, []string{ok, "LAKE_URL=" + t.TempDir(), `INGEST_TOKENS={"web":"short"}`}, []string{"token set", "shorter than 16"}},
		{"unreachable lake", nil, []string{ok, tok, "LAKE_URL=s3://nowhere/lake", "AWS_ENDPOINT_URL=" + closed,
			"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_MAX_ATTEMPTS=2"}, []string{"s3://nowhere/lake", "cannot be reached"}},
		{"read-only directory", nil, []string{ok, tok, "LAKE_URL=" + ro}, []string{ro, "not writable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := extest.Run(t, time.Minute, c.args, c.env...)
			extest.WantOneLineError(t, r, "ingest-http", c.wants...)
			t.Logf("%s", strings.TrimSpace(r.Stderr))
		})
	}
}

// TestNoCgo: the service must build with CGO_ENABLED=0 (the Dockerfile's
// distroless image), so it must not depend on DuckDB.
func TestNoCgo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	if strings.Contains(string(out), "duckdb") {
		t.Fatal("ingest-http depends on DuckDB; it must build with CGO_ENABLED=0")
	}
}

// TestBackPressure: when the lake refuses every write, the buffer fills and
// a request is answered 503 with Retry-After instead of hanging; nothing is
// reported as landed.
func TestBackPressure(t *testing.T) {
	d := faultstore.Wrap(memstore.New(), &faultstore.Options{Seed: 1, Rules: []faultstore.Rule{
		{Op: faultstore.OpAny, KeyContains: "web/events/", Probability: 1, Fault: faultstore.Fail},
	}})
	lk, err := lake.New(lake.NewStore(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := loadConfig([]string{"-flush-bytes", "1024"}, tokenEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(lk, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	evs := make([]event, 200)
	for i := range evs {
		evs[i] = ev(i)
	}
	t0 := time.Now()
	resp, err := post(srv.URL+"/events", "web-frontend-token-0123", "application/json", bytes.NewReader(body(evs, true)))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s %v, want 503 with Retry-After", resp.Status, got)
	}
	if n, _ := got["accepted"].(float64); n <= 0 || n >= 200 || time.Since(t0) < addWait {
		t.Fatalf("accepted %v of 200 after %v", got["accepted"], time.Since(t0))
	}
	if st := svc.stats(); st.RecordsFlushed != 0 || st.FlushErrors == 0 {
		t.Fatalf("stats %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := svc.Close(ctx); err == nil {
		t.Fatal("Close reported success although nothing could be landed")
	}
}
