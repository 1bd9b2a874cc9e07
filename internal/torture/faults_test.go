package torture

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func faultEnv(t *testing.T, rules ...faultstore.Rule) *env {
	t.Helper()
	e, err := newEnv(memstore.New(), rules, 1)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func history(t *testing.T, ds *zones.Dataset[Row]) []zones.Commit {
	t.Helper()
	log, err := ds.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// FailAfter on the commit object: the commit landed, the writer got an
// error. Commit reads its version back and reports the commit (issue 23
// defect 2: a landed commit is never reported as failed); the retry with
// the same key returns it as a Duplicate; one version, rows once.
func TestFaultAmbiguousCommit(t *testing.T) {
	ctx := context.Background()
	e := faultEnv(t, faultstore.Rule{Op: faultstore.OpCreate, KeyContains: mainLog, Nth: 1, Fault: faultstore.FailAfter})
	key := opKey("a", 0, zones.Append, 15)
	if o, res, _, err := write(ctx, e.main, key, zones.Append, 1); o != committed || res.Duplicate || res.Version != 1 {
		t.Fatalf("first attempt: %v %+v %v, want version 1 committed (the put landed; Commit reads it back)", o, res, err)
	}
	if n := len(e.fd.Events()); n != 1 {
		t.Fatalf("%d faults injected, want the one on the log put", n)
	}
	o, res, _, err := write(ctx, e.main, key, zones.Append, 1)
	if o != committed || !res.Duplicate || res.Version != 1 {
		t.Fatalf("retry: %v %+v %v, want the landed version 1 back as Duplicate", o, res, err)
	}
	log := history(t, e.main)
	if len(log) != 1 {
		t.Fatalf("%d versions, want 1", len(log))
	}
	if err := checkVersion(ctx, e.main, log, 1); err != nil {
		t.Fatal(err)
	}
	if err := catalogMatches(ctx, e.cat, e.main); err != nil {
		t.Fatalf("catalog not registered by the Duplicate retry: %v", err)
	}
}

// SlowDown on the commit object: Commit retries by itself with backoff.
func TestFaultThrottledCommit(t *testing.T) {
	ctx := context.Background()
	e := faultEnv(t, faultstore.Rule{Op: faultstore.OpCreate, KeyContains: mainLog, Probability: 1, Times: 3, Fault: faultstore.Throttle})
	o, res, _, err := write(ctx, e.main, opKey("a", 0, zones.Append, 3), zones.Append, 1)
	if o != committed || res.Attempts != 4 {
		t.Fatalf("throttled commit: %v %v attempts %d, want committed on the 4th attempt", o, err, res.Attempts)
	}
	if n := len(e.fd.Events()); n != 3 {
		t.Fatalf("%d faults injected, want 3", n)
	}
	if err := checkVersion(ctx, e.main, history(t, e.main), 1); err != nil {
		t.Fatal(err)
	}
}

// A truncated read of a data file is an error, never fewer rows.
func TestFaultTruncatedRead(t *testing.T) {
	ctx := context.Background()
	e := faultEnv(t)
	for i := 0; i < 3; i++ {
		if err := mustWrite(ctx, e.main, opKey("a", i, zones.Append, 15), zones.Append); err != nil {
			t.Fatal(err)
		}
	}
	log := history(t, e.main)
	truncations, failed := 0, 0
	for n := 1; n <= 12; n++ {
		e.fd.SetRules(faultstore.Rule{Op: faultstore.OpGet, KeyContains: ".parquet", Nth: n, Fault: faultstore.Truncate})
		e.fd.ResetCounts()
		rows, err := readAll(ctx, e.main, 0)
		if len(e.fd.Events()) == 0 {
			if err != nil {
				t.Fatalf("read %d without a fault: %v", n, err)
			}
			continue
		}
		truncations++
		if err == nil {
			// the truncated range was not needed; the rows must still be exact
			if cerr := checkRows(rows, mustReplay(t, log)); cerr != nil {
				t.Fatalf("read with the %dth data get truncated returned no error and wrong rows: %v", n, cerr)
			}
			continue
		}
		failed++
	}
	if failed == 0 {
		t.Fatalf("none of %d truncated reads failed", truncations)
	}
	if truncations == 0 {
		t.Fatal("no read was truncated")
	}
	e.fd.SetRules()
	if err := checkVersion(ctx, e.main, log, len(log)); err != nil {
		t.Fatal(err)
	}
}

func mustReplay(t *testing.T, log []zones.Commit) map[string]Row {
	t.Helper()
	m, err := replay(log)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A failing catalog: the commit is made and reported with ErrCatalog;
// SyncCatalog repairs it once the catalog works.
func TestFaultCatalog(t *testing.T) {
	ctx := context.Background()
	e := faultEnv(t)
	if err := mustWrite(ctx, e.main, opKey("a", 0, zones.Append, 3), zones.Append); err != nil {
		t.Fatal(err)
	}
	e.fd.SetRules(faultstore.Rule{Op: faultstore.OpCreate, KeyContains: "_lakekit/catalog/", Probability: 1, Fault: faultstore.Fail})
	w, err := e.main.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions, IdempotencyKey: opKey("b", 0, zones.OverwritePartitions, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rowsFor(opKey("b", 0, zones.OverwritePartitions, 1))); err != nil {
		t.Fatal(err)
	}
	res, err := w.Commit(ctx)
	if !errors.Is(err, zones.ErrCatalog) || res == nil || res.Version != 2 {
		t.Fatalf("commit with a failing catalog: %+v %v, want version 2 and ErrCatalog", res, err)
	}
	if err := catalogMatches(ctx, e.cat, e.main); err == nil {
		t.Fatal("the catalog matched though every catalog write failed")
	}
	e.fd.SetRules()
	if err := e.main.SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := catalogMatches(ctx, e.cat, e.main); err != nil {
		t.Fatal(err)
	}
}

// The transform ledger under ambiguous output commits and failing reads:
// reruns copy every input row exactly once.
func TestFaultTransformLedger(t *testing.T) {
	ctx := context.Background()
	e := faultEnv(t)
	for i := 0; i < 8; i++ {
		if err := mustWrite(ctx, e.src, opKey("s", i, zones.Append, 1+i%15), zones.Append); err != nil {
			t.Fatal(err)
		}
	}
	e.fd.SetRules(
		faultstore.Rule{Op: faultstore.OpCreate, KeyContains: copyLog, Nth: 2, Fault: faultstore.FailAfter},
		faultstore.Rule{Op: faultstore.OpGet, KeyContains: "cleaned/torture/src/", Nth: 7, Fault: faultstore.Fail},
		faultstore.Rule{Op: faultstore.OpPut, KeyContains: "_lakekit/transform/", Nth: 1, Fault: faultstore.Truncate},
	)
	failures := 0
	for run := 0; run < 6; run++ {
		if _, err := e.tr.Run(ctx); err != nil {
			failures++
		}
	}
	if failures == 0 || len(e.fd.Events()) < 2 {
		t.Fatalf("%d failed runs, %d faults: the faults did not bite", failures, len(e.fd.Events()))
	}
	e.fd.SetRules()
	if _, err := e.tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.dst.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRows(got, mustReplay(t, history(t, e.src))); err != nil {
		t.Fatalf("after %d failed runs: %v", failures, err)
	}
}

// The ingestion buffer over failing, ambiguous and throttled puts lands
// every record exactly once.
func TestFaultBuffer(t *testing.T) {
	ctx := context.Background()
	e := faultEnv(t,
		faultstore.Rule{Op: faultstore.OpAny, KeyContains: "raw/", Probability: 0.15, Fault: faultstore.FailAfter},
		faultstore.Rule{Op: faultstore.OpAny, KeyContains: "raw/", Probability: 0.15, Fault: faultstore.Throttle},
		faultstore.Rule{Op: faultstore.OpPut, KeyContains: "raw/", Probability: 0.1, Fault: faultstore.Truncate},
	)
	b, err := raw.NewBuffer(e.lk, "web", "events", &raw.BufferOptions{FlushRecords: 50, FlushInterval: -1,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := 0; i < n; i++ {
		if err := b.Add(ctx, []byte(fmt.Sprintf(`{"id":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.fd.Events()) == 0 {
		t.Fatal("no fault injected")
	}
	e.fd.SetRules()
	seen := make([]int, n)
	raw := e.lk.MustZone(lake.Raw).Store()
	for en, err := range raw.List(ctx, "web/events/", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(en.Key, ".jsonl") {
			continue
		}
		body, err := raw.ReadAll(ctx, en.Key)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var id int
			if _, err := fmt.Sscanf(sc.Text(), `{"id":%d}`, &id); err != nil || id < 0 || id >= n {
				t.Fatalf("%s: bad record %q", en.Key, sc.Text())
			}
			seen[id]++
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("record %d landed %d times (%d faults injected)", id, c, len(e.fd.Events()))
		}
	}
	t.Logf("%d records landed exactly once through %d injected faults", n, len(e.fd.Events()))
}

// awsConfig is how users load their configuration: the SDK's defaults
// (standard retryer), static credentials, an endpoint on loopback.
func awsConfig(t *testing.T, endpoint string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		config.WithBaseEndpoint(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// S3 503 SlowDown is retried by the SDK's retryer inside lakekit's S3
// store; when it persists the error matches lake.ErrThrottled.
func TestS3ThrottlingRetried(t *testing.T) {
	var calls, fail atomic.Int64
	fail.Store(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Length", "5")
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()
	ctx := context.Background()
	s, err := s3store.OpenStore(ctx, awsConfig(t, srv.URL), "bucket", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.ReadAll(ctx, "k")
	if err != nil || string(b) != "hello" {
		t.Fatalf("read after two SlowDowns: %q %v", b, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3 (two throttled, retried by the SDK)", calls.Load())
	}
	fail.Store(1 << 30)
	_, err = s.ReadAll(ctx, "k")
	if !errors.Is(err, lake.ErrThrottled) {
		t.Fatalf("persistent SlowDown: %v, want lake.ErrThrottled", err)
	}
}

// Glue ThrottlingException is retried by the SDK's retryer inside the
// Glue catalog.
func TestGlueThrottlingRetried(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if calls.Add(1) <= 2 {
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		fmt.Fprint(w, `{"Database":{"Name":"sales","Description":"d"}}`)
	}))
	defer srv.Close()
	g, err := catalog.NewGlue(awsConfig(t, srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := g.GetDatabase(context.Background(), "sales")
	if err != nil || db.Name != "sales" {
		t.Fatalf("GetDatabase after two throttles: %+v %v", db, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3", calls.Load())
	}
}
