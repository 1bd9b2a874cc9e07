package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gtypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
)

func motoGlue(t *testing.T) (*catalog.Glue, *testaws.Moto) {
	t.Helper()
	m := testaws.StartMoto(t)
	g, err := catalog.NewGlue(m.Config(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return g, m
}

// countingTransport counts Glue calls by X-Amz-Target.
type countingTransport struct {
	mu    sync.Mutex
	calls map[string]int
	next  http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSGlue.")
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.calls {
		n += k
	}
	return n
}

func countingGlue(t *testing.T, endpoint string, opts *catalog.GlueOptions) (*catalog.Glue, *countingTransport) {
	t.Helper()
	ct := &countingTransport{next: http.DefaultTransport}
	var o catalog.GlueOptions
	if opts != nil {
		o = *opts
	}
	o.ClientOptions = append(o.ClientOptions, func(o *glue.Options) { o.HTTPClient = &http.Client{Transport: ct} })
	g, err := catalog.NewGlue(testaws.Config(t, endpoint), &o)
	if err != nil {
		t.Fatal(err)
	}
	return g, ct
}

// Test10000PartitionsOnGlue registers 10,000 partitions on moto in at most
// 100 BatchCreatePartition calls (Glue's limit is 100 per call).
func Test10000PartitionsOnGlue(t *testing.T) {
	m := testaws.StartMoto(t)
	g, ct := countingGlue(t, m.Endpoint, &catalog.GlueOptions{Concurrency: 8})
	ctx := context.Background()
	if err := g.CreateDatabase(ctx, catalog.Database{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	tb := &catalog.Table{Database: "big", Name: "events", Location: "s3://bucket/curated/big/events/",
		Schema: catalog.Schema{
			Columns:       []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "payload", Type: "string"}},
			PartitionKeys: []catalog.Column{{Name: "dt", Type: "date"}, {Name: "hour", Type: "int"}},
		}}
	if err := g.CreateTable(ctx, tb); err != nil {
		t.Fatal(err)
	}
	var parts []catalog.Partition
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		parts = append(parts, catalog.Partition{Values: []string{day.AddDate(0, 0, i/24).Format(time.DateOnly), fmt.Sprint(i % 24)}})
	}
	// a zones commit reads the table first (schema check); the partition
	// calls then reuse it, so registering costs only the batch calls
	if _, err := g.GetTable(ctx, "big", "events"); err != nil {
		t.Fatal(err)
	}
	before := ct.total()
	start := time.Now()
	if err := g.AddPartitions(ctx, "big", "events", parts); err != nil {
		t.Fatal(err)
	}
	addTime := time.Since(start)
	calls := ct.count("BatchCreatePartition")
	if calls > 100 || calls < 100 {
		t.Errorf("10,000 partitions took %d BatchCreatePartition calls, want 100", calls)
	}
	if all := ct.total() - before; all > 100 {
		t.Errorf("registering 10,000 partitions took %d Glue calls in all, want <= 100", all)
	}
	start = time.Now()
	n := 0
	for p, err := range g.Partitions(ctx, "big", "events", "") {
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && (p.Values[0] != "2020-01-01" || p.Values[1] != "0" || p.Location != tb.Location+"dt=2020-01-01/hour=0/") {
			t.Errorf("first partition %+v", p)
		}
		n++
	}
	if n != 10000 {
		t.Errorf("Partitions yielded %d, want 10000", n)
	}
	listTime := time.Since(start)
	start = time.Now()
	n = 0
	for _, err := range g.Partitions(ctx, "big", "events", "dt = '2020-01-02' AND hour >= 20") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("filtered Partitions yielded %d, want 4", n)
	}
	t.Logf("add 10,000 partitions: %v in %d calls; list all: %v in %d GetPartitions calls; list filtered: %v",
		addTime, calls, listTime, ct.count("GetPartitions"), time.Since(start))
	// Adding them again is idempotent (AlreadyExists entries are fine).
	if err := g.AddPartitions(ctx, "big", "events", parts[:250]); err != nil {
		t.Fatal(err)
	}
	// Delete in chunks of 25.
	before = ct.count("BatchDeletePartition")
	var del [][]string
	for _, p := range parts[:60] {
		del = append(del, p.Values)
	}
	if err := g.DeletePartitions(ctx, "big", "events", del); err != nil {
		t.Fatal(err)
	}
	if got := ct.count("BatchDeletePartition") - before; got != 3 {
		t.Errorf("deleting 60 partitions took %d BatchDeletePartition calls, want 3", got)
	}
}

// glueJSONServer answers the Glue JSON protocol (X-Amz-Target:
// AWSGlue.<Op>) with handler's results: a status and a JSON body.
func glueJSONServer(t *testing.T, handler func(op string, body map[string]any) (int, string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSGlue.")
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		status, resp := handler(op, body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		io.WriteString(w, resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const fakeGlueTable = `{"Table": {"Name": "orders", "DatabaseName": "db", "VersionId": "7",
	"Parameters": {"classification": "parquet", "lakekit.schema_version": "1"},
	"PartitionKeys": [],
	"StorageDescriptor": {"Location": "s3://b/orders/", "Columns": [{"Name": "id", "Type": "bigint"}]}}}`

// TestGlueStaleVersionIDConflict proves the mapping moto cannot show (it
// ignores a stale VersionId): Glue answers UpdateTable with
// ConcurrentModificationException when another writer got in between, and
// UpdateTable returns an error matching ErrConflict that still reaches the
// AWS error.
func TestGlueStaleVersionIDConflict(t *testing.T) {
	var sentVersion atomic.Value
	var skipArchive atomic.Value
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		switch op {
		case "GetTable":
			return 200, fakeGlueTable
		case "UpdateTable":
			sentVersion.Store(fmt.Sprint(body["VersionId"]))
			skipArchive.Store(fmt.Sprint(body["SkipArchive"]))
			return 400, `{"__type": "ConcurrentModificationException", "Message": "Update table failed due to concurrent modifications."}`
		}
		return 400, `{"__type": "InvalidInputException", "Message": "unexpected ` + op + `"}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	ctx := context.Background()
	tb, err := g.GetTable(ctx, "db", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if tb.VersionID != "7" {
		t.Fatalf("VersionID %q", tb.VersionID)
	}
	tb.Description = "racing"
	err = g.UpdateTable(ctx, tb, nil)
	if !errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("UpdateTable: %v, want ErrConflict", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ConcurrentModificationException" {
		t.Errorf("the AWS error is not reachable: %v", err)
	}
	if v := sentVersion.Load(); v != "7" {
		t.Errorf("UpdateTable sent VersionId %v, want 7", v)
	}
	if v := skipArchive.Load(); v != "false" {
		t.Errorf("UpdateTable sent SkipArchive %v, want false", v)
	}
	// A VersionID older than the table's is refused before any update.
	tb.VersionID = "6"
	if err := g.UpdateTable(ctx, tb, nil); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("stale VersionID: %v", err)
	}
}

func TestGlueErrorMapping(t *testing.T) {
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		switch op {
		case "GetTable":
			if body["DatabaseName"] == "nodb" {
				return 400, `{"__type": "EntityNotFoundException", "Message": "Database nodb not found."}`
			}
			return 400, `{"__type": "EntityNotFoundException", "Message": "Table missing not found."}`
		case "CreateDatabase":
			return 400, `{"__type": "AlreadyExistsException", "Message": "Database already exists."}`
		case "CreatePartitionIndex":
			return 200, `{}`
		}
		return 500, `{}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	ctx := context.Background()
	_, err := g.GetTable(ctx, "db", "missing")
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Errorf("missing table: %v", err)
	}
	_, err = g.GetTable(ctx, "nodb", "t")
	if !errors.Is(err, catalog.ErrNoSuchDatabase) {
		t.Errorf("missing database: %v", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "EntityNotFoundException" {
		t.Errorf("AWS error not reachable: %v", err)
	}
	if err := g.CreateDatabase(ctx, catalog.Database{Name: "db"}); !errors.Is(err, catalog.ErrExists) {
		t.Errorf("existing database: %v", err)
	}
}

// TestGluePartitionIndex: moto answers CreatePartitionIndex with HTTP 500,
// so the request is checked on a server speaking the Glue JSON protocol.
func TestGluePartitionIndex(t *testing.T) {
	var got atomic.Value
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		switch op {
		case "GetTable":
			return 200, `{"Table": {"Name": "events", "DatabaseName": "db", "VersionId": "1",
				"PartitionKeys": [{"Name": "dt", "Type": "date"}, {"Name": "region", "Type": "string"}],
				"StorageDescriptor": {"Location": "s3://b/events/", "Columns": [{"Name": "id", "Type": "bigint"}]}}}`
		case "CreatePartitionIndex":
			b, _ := json.Marshal(body)
			got.Store(string(b))
			return 200, `{}`
		}
		return 400, `{"__type": "InvalidInputException", "Message": "unexpected"}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	ctx := context.Background()
	if err := g.CreatePartitionIndex(ctx, "db", "events", "by_dt", []string{"dt", "region"}); err != nil {
		t.Fatal(err)
	}
	want := `{"DatabaseName":"db","PartitionIndex":{"IndexName":"by_dt","Keys":["dt","region"]},"TableName":"events"}`
	if got.Load() != want {
		t.Errorf("CreatePartitionIndex sent %v, want %s", got.Load(), want)
	}
	if err := g.CreatePartitionIndex(ctx, "db", "events", "bad", []string{"id"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("index on a non-key column: %v", err)
	}
}

// TestGlueSearchFallback: moto answers SearchTables with HTTP 500; Search
// then falls back to GetTables, once for the catalog's lifetime.
func TestGlueSearchFallback(t *testing.T) {
	m := testaws.StartMoto(t)
	g, ct := countingGlue(t, m.Endpoint, nil)
	ctx := context.Background()
	if err := g.CreateDatabase(ctx, catalog.Database{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alpha", "beta"} {
		if err := g.CreateTable(ctx, &catalog.Table{Database: "s", Name: n, Location: "s3://b/" + n + "/",
			Schema: catalog.Schema{Columns: []catalog.Column{{Name: n + "_id", Type: "bigint"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		var names []string
		for tb, err := range g.Search(ctx, catalog.SearchQuery{Column: "beta"}) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, tb.Name)
		}
		if len(names) != 1 || names[0] != "beta" {
			t.Errorf("Search = %v", names)
		}
	}
	if n := ct.count("SearchTables"); n != 1 {
		t.Errorf("SearchTables called %d times; after the first 500 the catalog should fall back for good", n)
	}
	if ct.count("GetTables") < 3 {
		t.Errorf("the fallback did not use GetTables (%d calls)", ct.count("GetTables"))
	}
}

// TestGlueSearchTables: where the service has SearchTables it is used,
// with the database as a filter.
func TestGlueSearchTables(t *testing.T) {
	var filters atomic.Value
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		if op != "SearchTables" {
			return 400, `{"__type": "InvalidInputException", "Message": "unexpected"}`
		}
		b, _ := json.Marshal(body["Filters"])
		filters.Store(string(b))
		return 200, `{"TableList": [` + strings.TrimSuffix(strings.TrimPrefix(fakeGlueTable, `{"Table": `), `}`) + `]}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	var got []string
	for tb, err := range g.Search(context.Background(), catalog.SearchQuery{Database: "db", Column: "id"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tb.Database+"."+tb.Name)
	}
	if len(got) != 1 || got[0] != "db.orders" {
		t.Errorf("Search = %v", got)
	}
	if f := filters.Load(); f != `[{"Comparator":"EQUALS","Key":"DatabaseName","Value":"db"}]` {
		t.Errorf("SearchTables filters %v", f)
	}
}

func TestGlueAs(t *testing.T) {
	g, err := catalog.NewGlue(testaws.Config(t, "http://127.0.0.1:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var gc *glue.Client
	if !g.As(&gc) || gc == nil {
		t.Error("As(**glue.Client) failed")
	}
	var lf *lakeformation.Client
	if !g.As(&lf) || lf == nil {
		t.Error("As(**lakeformation.Client) failed")
	}
	var s string
	if g.As(&s) {
		t.Error("As(*string) succeeded")
	}
}

// TestLakeFormationPermissions grants, lists and revokes table- and
// column-level SELECT on moto.
func TestLakeFormationPermissions(t *testing.T) {
	g, _ := motoGlue(t)
	ctx := context.Background()
	if err := g.CreateDatabase(ctx, catalog.Database{Name: "gov"}); err != nil {
		t.Fatal(err)
	}
	if err := g.CreateTable(ctx, &catalog.Table{Database: "gov", Name: "people", Location: "s3://b/people/",
		Schema: catalog.Schema{Columns: []catalog.Column{
			{Name: "id", Type: "bigint"}, {Name: "name", Type: "string"}, {Name: "email", Type: "string", Classification: "PII"},
		}}}); err != nil {
		t.Fatal(err)
	}
	analyst := "arn:aws:iam::123456789012:role/analyst"
	auditor := "arn:aws:iam::123456789012:role/auditor"
	if err := g.GrantSelect(ctx, analyst, "gov", "people", []string{"id", "name"}); err != nil {
		t.Fatal(err)
	}
	if err := g.GrantSelect(ctx, auditor, "gov", "people", nil); err != nil {
		t.Fatal(err)
	}
	list := func() []catalog.Grant {
		gs, err := g.ListPermissions(ctx, "gov", "people")
		if err != nil {
			t.Fatal(err)
		}
		return gs
	}
	want := []catalog.Grant{
		{Principal: analyst, Database: "gov", Table: "people", Columns: []string{"id", "name"}, Permissions: []string{"SELECT"}},
		{Principal: auditor, Database: "gov", Table: "people", Permissions: []string{"SELECT"}},
	}
	if d := cmp.Diff(want, list()); d != "" {
		t.Errorf("ListPermissions (-want +got):\n%s", d)
	}
	if err := g.RevokeSelect(ctx, analyst, "gov", "people", []string{"id", "name"}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want[1:], list()); d != "" {
		t.Errorf("ListPermissions after revoke (-want +got):\n%s", d)
	}
	if err := g.GrantSelect(ctx, analyst, "gov", "people", []string{"salary"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("grant on a missing column: %v", err)
	}
	if err := g.GrantSelect(ctx, analyst, "gov", "nobody", nil); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Errorf("grant on a missing table: %v", err)
	}
	var p catalog.Permissions = g
	_ = p
}

// TestGlueCrawler runs a crawler on moto, where a started crawler stays
// RUNNING until stopped.
func TestGlueCrawler(t *testing.T) {
	g, _ := motoGlue(t)
	ctx := context.Background()
	var gc *glue.Client
	if !g.As(&gc) {
		t.Fatal("no glue client")
	}
	_, err := gc.CreateCrawler(ctx, &glue.CreateCrawlerInput{
		Name: aws.String("raw-orders"), Role: aws.String("arn:aws:iam::123456789012:role/crawler"), DatabaseName: aws.String("raw"),
		Targets: &gtypes.CrawlerTargets{S3Targets: []gtypes.S3Target{{Path: aws.String("s3://bucket/raw/orders/")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var c catalog.Crawlers = g
	if _, err := c.WaitCrawler(ctx, "raw-orders", &catalog.WaitOptions{MinDelay: 10 * time.Millisecond}); err == nil {
		t.Error("WaitCrawler of a crawler that never ran succeeded")
	}
	if started, err := c.StartCrawler(ctx, "raw-orders"); err != nil || !started {
		t.Fatalf("StartCrawler = %v, %v; want true, nil", started, err)
	}
	// Starting a running crawler is not an error, and says it started nothing.
	if started, err := c.StartCrawler(ctx, "raw-orders"); err != nil || started {
		t.Errorf("starting a running crawler: %v, %v; want false, nil", started, err)
	}
	start := time.Now()
	_, err = c.WaitCrawler(ctx, "raw-orders", &catalog.WaitOptions{MinDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxWait: 300 * time.Millisecond})
	if !errors.Is(err, catalog.ErrWaitTimeout) {
		t.Errorf("WaitCrawler on a crawler that keeps running: %v, want ErrWaitTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("MaxWait 300ms took %v", d)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c.WaitCrawler(cctx, "raw-orders", &catalog.WaitOptions{MinDelay: 20 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCrawler with an ending context: %v", err)
	}
}

// TestGlueCrawlerFinishes follows a crawl to its end on a server speaking
// the Glue JSON protocol (moto's crawlers never finish): RUNNING, STOPPING,
// then READY with the last crawl's status.
func TestGlueCrawlerFinishes(t *testing.T) {
	for _, tc := range []struct {
		status string
		msg    string
		ok     bool
	}{{"SUCCEEDED", "", true}, {"FAILED", "Access denied to s3://bucket", false}} {
		t.Run(tc.status, func(t *testing.T) {
			var polls atomic.Int64
			srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
				if op != "GetCrawler" || body["Name"] != "c1" {
					return 400, `{"__type": "EntityNotFoundException", "Message": "no"}`
				}
				switch polls.Add(1) {
				case 1, 2:
					return 200, `{"Crawler": {"Name": "c1", "State": "RUNNING"}}`
				case 3:
					return 200, `{"Crawler": {"Name": "c1", "State": "STOPPING"}}`
				}
				return 200, `{"Crawler": {"Name": "c1", "State": "READY", "LastCrawl": {"Status": "` + tc.status + `", "ErrorMessage": "` + tc.msg + `", "StartTime": 1700000000}}}`
			})
			g, _ := countingGlue(t, srv.URL, nil)
			start := time.Now()
			res, err := g.WaitCrawler(context.Background(), "c1", &catalog.WaitOptions{MinDelay: 20 * time.Millisecond, MaxDelay: 40 * time.Millisecond})
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && (!errors.Is(err, catalog.ErrCrawlFailed) || !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("got %v, want ErrCrawlFailed naming %q", err, tc.msg)
			}
			if res == nil || res.Status != tc.status || res.StartTime.Unix() != 1700000000 {
				t.Errorf("result %+v", res)
			}
			if polls.Load() != 4 {
				t.Errorf("%d polls, want 4", polls.Load())
			}
			// three waits of at least MinDelay/2 each
			if d := time.Since(start); d < 30*time.Millisecond {
				t.Errorf("finished in %v: the delays were not honoured", d)
			}
		})
	}
}

// TestGlueSegments reads partitions in parallel segments (moto ignores
// Segment, so a Glue JSON server answers each segment with its share).
func TestGlueSegments(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		switch op {
		case "GetTable":
			return 200, `{"Table": {"Name": "events", "DatabaseName": "db", "VersionId": "1",
				"PartitionKeys": [{"Name": "hour", "Type": "int"}],
				"StorageDescriptor": {"Location": "s3://b/events/", "Columns": [{"Name": "id", "Type": "bigint"}]}}}`
		case "GetPartitions":
			seg, _ := body["Segment"].(map[string]any)
			mu.Lock()
			seen[fmt.Sprint(seg["SegmentNumber"], "/", seg["TotalSegments"], " ", body["Expression"])] = true
			mu.Unlock()
			n := int(seg["SegmentNumber"].(float64))
			// segment n holds hours n, n+3, n+6, ...; the first page of
			// each segment points to a second one
			if body["NextToken"] == nil {
				return 200, fmt.Sprintf(`{"Partitions": [{"Values": ["%d"], "StorageDescriptor": {"Location": "s3://b/events/hour=%d/"}}], "NextToken": "more"}`, n, n)
			}
			return 200, fmt.Sprintf(`{"Partitions": [{"Values": ["%d"]}, {"Values": ["%d"]}]}`, n+3, n+6)
		}
		return 400, `{"__type": "InvalidInputException", "Message": "unexpected"}`
	})
	g, _ := countingGlue(t, srv.URL, &catalog.GlueOptions{Segments: 3})
	var got []string
	for p, err := range g.Partitions(context.Background(), "db", "events", "hour >= 0") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Values[0])
	}
	if d := cmp.Diff([]string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}, got); d != "" {
		t.Errorf("segmented Partitions (-want +got):\n%s", d)
	}
	want := map[string]bool{"0/3 hour >= 0": true, "1/3 hour >= 0": true, "2/3 hour >= 0": true}
	if d := cmp.Diff(want, seen); d != "" {
		t.Errorf("segments requested (-want +got):\n%s", d)
	}
}

// TestGlueExpressionFallback: when the service refuses an expression
// lakekit accepts, Partitions lists without it and filters locally.
func TestGlueExpressionFallback(t *testing.T) {
	var exprs []string
	var mu sync.Mutex
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		switch op {
		case "GetTable":
			return 200, `{"Table": {"Name": "events", "DatabaseName": "db", "VersionId": "1",
				"PartitionKeys": [{"Name": "region", "Type": "string"}],
				"StorageDescriptor": {"Location": "s3://b/events/", "Columns": [{"Name": "id", "Type": "bigint"}]}}}`
		case "GetPartitions":
			mu.Lock()
			exprs = append(exprs, fmt.Sprint(body["Expression"]))
			mu.Unlock()
			if body["Expression"] != nil {
				return 400, `{"__type": "InvalidInputException", "Message": "Unsupported expression"}`
			}
			return 200, `{"Partitions": [{"Values": ["eu"]}, {"Values": ["us"]}, {"Values": ["ap"]}]}`
		}
		return 400, `{"__type": "InvalidInputException", "Message": "unexpected"}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	var got []string
	for p, err := range g.Partitions(context.Background(), "db", "events", "NOT region = 'eu' AND region != 'ap'") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Values[0])
	}
	if d := cmp.Diff([]string{"us"}, got); d != "" {
		t.Errorf("Partitions (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"NOT region = 'eu' AND region <> 'ap'", "<nil>"}, exprs); d != "" {
		t.Errorf("expressions sent (-want +got):\n%s", d)
	}
}

// TestGlueTableInput checks what CreateTable sends: the Parquet storage
// descriptor Athena expects and the business metadata.
func TestGlueTableInput(t *testing.T) {
	var sent atomic.Value
	srv := glueJSONServer(t, func(op string, body map[string]any) (int, string) {
		switch op {
		case "CreateTable":
			sent.Store(body)
			return 200, `{}`
		case "GetTable":
			return 200, fakeGlueTable
		}
		return 400, `{"__type": "InvalidInputException", "Message": "unexpected"}`
	})
	g, _ := countingGlue(t, srv.URL, nil)
	tb := &catalog.Table{Database: "db", Name: "orders", Location: "s3://b/orders/",
		Schema: catalog.Schema{
			Columns: []catalog.Column{
				{Name: "id", Type: "BIGINT", Required: true, Comment: "key"},
				{Name: "email", Type: "string", Classification: "PII", Parameters: map[string]string{"src": "crm"}},
			},
			PartitionKeys: []catalog.Column{{Name: "dt", Type: "date", Required: true}},
		},
		Description: "orders", Owner: "team", Steward: "alice", Parameters: map[string]string{"domain": "sales"},
	}
	if err := g.CreateTable(context.Background(), tb); err != nil {
		t.Fatal(err)
	}
	body := sent.Load().(map[string]any)
	ti := body["TableInput"].(map[string]any)
	sd := ti["StorageDescriptor"].(map[string]any)
	serde := sd["SerdeInfo"].(map[string]any)
	params := ti["Parameters"].(map[string]any)
	checks := map[string]any{
		"DatabaseName":         body["DatabaseName"],
		"Name":                 ti["Name"],
		"TableType":            ti["TableType"],
		"Description":          ti["Description"],
		"Owner":                ti["Owner"],
		"InputFormat":          sd["InputFormat"],
		"OutputFormat":         sd["OutputFormat"],
		"SerializationLibrary": serde["SerializationLibrary"],
		"Location":             sd["Location"],
		"classification":       params["classification"],
		"EXTERNAL":             params["EXTERNAL"],
		"domain":               params["domain"],
		"steward":              params[catalog.ParamSteward],
		"schema version":       params[catalog.ParamSchemaVersion],
	}
	want := map[string]any{
		"DatabaseName":         "db",
		"Name":                 "orders",
		"TableType":            "EXTERNAL_TABLE",
		"Description":          "orders",
		"Owner":                "team",
		"InputFormat":          "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
		"OutputFormat":         "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
		"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
		"Location":             "s3://b/orders/",
		"classification":       "parquet",
		"EXTERNAL":             "TRUE",
		"domain":               "sales",
		"steward":              "alice",
		"schema version":       "1",
	}
	if d := cmp.Diff(want, checks); d != "" {
		t.Errorf("TableInput (-want +got):\n%s", d)
	}
	cols, _ := json.Marshal(sd["Columns"])
	wantCols := `[{"Comment":"key","Name":"id","Parameters":{"lakekit.required":"true"},"Type":"bigint"},` +
		`{"Name":"email","Parameters":{"lakekit.classification":"PII","src":"crm"},"Type":"string"}]`
	if string(cols) != wantCols {
		t.Errorf("columns sent %s\nwant %s", cols, wantCols)
	}
	keys, _ := json.Marshal(ti["PartitionKeys"])
	if string(keys) != `[{"Name":"dt","Parameters":{"lakekit.required":"true"},"Type":"date"}]` {
		t.Errorf("partition keys sent %s", keys)
	}
}
