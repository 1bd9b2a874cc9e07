package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	dms "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice"
	dtypes "github.com/aws/aws-sdk-go-v2/service/databasemigrationservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/examples/internal/extest/duck"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

func runIngest(t *testing.T, args ...string) Summary {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var s Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	t.Logf("%s", out.String())
	return s
}

// expectedClicks replays the generator: the event ids of the well-formed
// records, and how many were malformed.
func expectedClicks(seed int64, n int) (map[string]bool, int) {
	g := newClickGen(seed)
	good := map[string]bool{}
	bad := 0
	for range n {
		rec, malformed := g.next()
		if malformed {
			bad++
			continue
		}
		var r RawClick
		json.Unmarshal(rec, &r)
		good[r.EventID] = true
	}
	return good, bad
}

// expectedCustomers replays the DMS generator's source table: the live
// rows after every change file, by id.
func expectedCustomers(seed int64, customers, batches int) map[int64]customerRow {
	g := newDMSGen(seed, customers)
	g.fullLoad(150)
	for range batches {
		g.changes()
	}
	return g.live
}

// snapshotFiles lists the local paths of a table's newest snapshot.
func snapshotFiles(t *testing.T, lk *lake.Lake, dir string, zone lake.ZoneName, db, table string) []string {
	t.Helper()
	tb, err := zones.OpenTable(lk, zone, db, table)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tb.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range snap.Files {
		files = append(files, filepath.Join(dir, string(zone), filepath.FromSlash(f.Key)))
	}
	return files
}

// TestFirehoseAndDMSLocally runs the example on a local lake with input
// in Firehose's and DMS's layouts, and checks with DuckDB, reading the
// tables' Parquet files: each well-formed Firehose record in cleaned
// exactly once, the malformed ones and Firehose's error output in
// quarantine, daily_pages adding up; crm.customers equal to the source
// table's final state. A second run lands the same objects again and
// reads no data file.
func TestFirehoseAndDMSLocally(t *testing.T) {
	dir := t.TempDir()
	const seed, n, customers, batches = 3, 10000, 1000, 3
	args := []string{"-lake", dir, "-records", fmt.Sprint(n), "-customers", fmt.Sprint(customers), "-batches", fmt.Sprint(batches), "-seed", fmt.Sprint(seed)}
	s := runIngest(t, args...)
	good, bad := expectedClicks(seed, n)
	if s.FirehoseRecords != n || s.FirehoseMalformed != bad || s.FirehoseErrors != 3 || s.FirehoseObjects != n/500 {
		t.Fatalf("summary %+v: want %d records, %d malformed, 3 in the error output, %d objects", s, n, bad, n/500)
	}
	if s.CleanedRows != int64(len(good)) || s.QuarantinedRows != int64(bad+3) {
		t.Fatalf("cleaned %d, quarantined %d; want %d and %d (malformed + error output)", s.CleanedRows, s.QuarantinedRows, len(good), bad+3)
	}

	lk, err := lake.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	db := duck.Open(t)
	cleaned := duck.ParquetFiles(snapshotFiles(t, lk, dir, lake.Cleaned, WebDatabase, CleanedTable))
	rows, err := db.Query("SELECT event_id, count(*) FROM " + cleaned + " GROUP BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var id string
		var c int64
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		if c != 1 || !good[id] {
			t.Errorf("event %s is in cleaned %d times (well-formed: %v)", id, c, good[id])
		}
		seen++
	}
	rows.Close()
	if seen != len(good) {
		t.Errorf("cleaned holds %d events, want %d", seen, len(good))
	}
	var views int64
	duck.Scan(t, db, "SELECT sum(views) FROM "+duck.ParquetFiles(snapshotFiles(t, lk, dir, lake.Curated, WebDatabase, DailyTable)), &views)
	if views != int64(len(good)) {
		t.Errorf("daily_pages counts %d views, cleaned holds %d events", views, len(good))
	}
	var reasons int64
	duck.Scan(t, db, "SELECT count(*) FROM "+duck.ParquetFiles(snapshotFiles(t, lk, dir, lake.Cleaned, WebDatabase, QuarantineTable))+
		" WHERE reason LIKE '%Lambda.FunctionError%'", &reasons)
	if reasons != 3 {
		t.Errorf("%d quarantined records carry Firehose's error code, want 3", reasons)
	}

	// DMS: the curated table is the source table's final state
	live := expectedCustomers(seed, customers, batches)
	crows, err := db.Query("SELECT id, email, country, balance FROM " + duck.ParquetFiles(snapshotFiles(t, lk, dir, lake.Curated, CRMDatabase, CustomersTable)))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for crows.Next() {
		var id int64
		var email, country string
		var balance float64
		if err := crows.Scan(&id, &email, &country, &balance); err != nil {
			t.Fatal(err)
		}
		got++
		m, ok := live[id]
		if !ok {
			t.Errorf("customer %d is in the table but deleted or never inserted", id)
			continue
		}
		if m.email != email || m.country != country || fmt.Sprintf("%.2f", m.balance) != fmt.Sprintf("%.2f", balance) {
			t.Errorf("customer %d: %s %s %.2f, want %s %s %.2f", id, email, country, balance, m.email, m.country, m.balance)
		}
	}
	crows.Close()
	if got != len(live) || s.Customers != int64(len(live)) || s.QuarantinedChange != batches {
		t.Fatalf("DuckDB reads %d customers, the source has %d; summary %+v", got, len(live), s)
	}

	// a rerun lands the same objects and reads no data file
	s2 := runIngest(t, args...)
	if s2.CleanFiles != 0 || s2.MergedFiles != 0 || s2.CleanedRows != 0 || s2.Customers != s.Customers {
		t.Fatalf("rerun read input again: %+v", s2)
	}
}

// TestFirehoseAndDMSOnMoto runs the example against moto_server: the
// Firehose stream and the DMS endpoint are created from the set-up the
// example renders, the 10,000 events go through PutRecordBatch, moto
// delivers them into the raw zone in Firehose's layout, and the pipelines
// turn them into cleaned and curated tables: each well-formed event once,
// the malformed ones quarantined; a rerun of the clean transform reads no
// data file. The DMS endpoint moto holds has the rendered settings.
func TestFirehoseAndDMSOnMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	ctx := context.Background()
	cfg := m.Config(t)
	const bucket = "ingest-services"
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": m.Endpoint, "AWS_REGION": testaws.Region, "AWS_ACCESS_KEY_ID": "testing",
		"AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	lakeURL := "s3://" + bucket + "/lake?endpoint=" + url.QueryEscape(m.Endpoint) + "&region=" + testaws.Region
	setup := t.TempDir()
	const rawKey = "arn:aws:kms:us-east-1:123456789012:key/8f4f1c1e-4b8e-4f0e-9a53-2d1c7e3b6a10"
	const seed, n = 9, 10000
	s := runIngest(t, "-lake", lakeURL, "-records", fmt.Sprint(n), "-customers", "300", "-batches", "2", "-seed", fmt.Sprint(seed),
		"-firehose-role", "arn:aws:iam::123456789012:role/firehose-raw", "-dms-role", "arn:aws:iam::123456789012:role/dms-raw",
		"-firehose-stream", "clicks", "-create", "-render", setup, "-raw-kms-key", rawKey,
		"-state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:ingest", "-events-role", "arn:aws:iam::123456789012:role/events")
	good, bad := expectedClicks(seed, n)
	if s.FirehoseRecords != n || s.FirehoseMalformed != bad {
		t.Fatalf("summary %+v: want %d records sent, %d malformed", s, n, bad)
	}
	if s.CleanedRows != int64(len(good)) || s.QuarantinedRows != int64(bad) {
		t.Fatalf("cleaned %d, quarantined %d; want %d and %d", s.CleanedRows, s.QuarantinedRows, len(good), bad)
	}
	wantFiles := []string{"dms-role-policy.json", "dms-rule.json", "dms-s3-settings.json", "firehose-destination.json", "firehose-role-policy.json", "firehose-rule.json"}
	sort.Strings(s.Rendered)
	if strings.Join(s.Rendered, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("rendered %v, want %v", s.Rendered, wantFiles)
	}

	// the set-up carries the raw zone's key: Firehose's encryption, DMS's
	// SSE-KMS, the KMS grants of both roles
	for _, f := range []string{"firehose-destination.json", "dms-s3-settings.json", "firehose-role-policy.json", "dms-role-policy.json"} {
		b, err := os.ReadFile(filepath.Join(setup, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(rawKey)) {
			t.Errorf("%s does not name the raw zone's key:\n%s", f, b)
		}
	}

	// every well-formed event is in cleaned once, read back through lakekit
	lk, err := lake.Open(ctx, lakeURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClicks(lk, cat, clickSource(lk))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for row, err := range c.cleaned.Read(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		count[row.EventID]++
	}
	for id := range good {
		if count[id] != 1 {
			t.Errorf("event %s is in cleaned %d times", id, count[id])
		}
	}
	if len(count) != len(good) {
		t.Errorf("cleaned holds %d events, want %d", len(count), len(good))
	}
	// a rerun reads no data file
	r, err := c.clean.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 0 || r.RowsIn != 0 {
		t.Errorf("rerun of clean_clicks read %d files, %d records", r.Files, r.RowsIn)
	}

	// the DMS endpoint holds the rendered settings
	want, err := os.ReadFile(filepath.Join(setup, "dms-s3-settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := dms.NewFromConfig(cfg).DescribeEndpoints(ctx, &dms.DescribeEndpointsInput{
		Filters: []dtypes.Filter{{Name: aws.String("endpoint-id"), Values: []string{"lakekit-crm-customers"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Endpoints) != 1 || out.Endpoints[0].S3Settings == nil {
		t.Fatalf("DescribeEndpoints: %+v", out.Endpoints)
	}
	var gotSettings, wantSettings map[string]any
	b, _ := json.Marshal(out.Endpoints[0].S3Settings)
	json.Unmarshal(b, &gotSettings)
	json.Unmarshal(want, &wantSettings)
	for k, v := range wantSettings {
		if fmt.Sprint(gotSettings[k]) != fmt.Sprint(v) {
			t.Errorf("endpoint's %s is %v, rendered %v", k, gotSettings[k], v)
		}
	}
	if s.Customers == 0 {
		t.Errorf("no customers merged: %+v", s)
	}
}

func TestErrors(t *testing.T) {
	ro := extest.ReadOnlyDir(t)
	for _, c := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"wrong flag", []string{"-rows", "5"}, []string{"-rows"}},
		{"bad size", []string{"-records", "0"}, []string{"-records"}},
		{"render a local lake", []string{"-render", "x"}, []string{"s3://"}},
		{"stream without role", []string{"-lake", "s3://b/l", "-firehose-stream", "clicks"}, []string{"-firehose-role"}},
		{"half a target", []string{"-state-machine", "arn:x"}, []string{"-events-role"}},
		{"render nothing", []string{"-lake", "s3://b/l", "-render", "x"}, []string{"-firehose-role or -dms-role"}},
		{"create without a stream", []string{"-lake", "s3://b/l", "-create", "-firehose-role", "arn:aws:iam::123456789012:role/f", "-dms-role", "arn:aws:iam::123456789012:role/d"}, []string{"-firehose-stream"}},
		{"read-only lake", []string{"-lake", ro}, []string{"not writable"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			extest.WantOneLineError(t, extest.Run(t, time.Minute, c.args), "ingest-services", c.wants...)
		})
	}
}
