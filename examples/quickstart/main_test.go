package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/examples/internal/extest/duck"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/orchestrate"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

// runQuickstart runs the main path in-process and returns its output and
// the JSON summary on its last line.
func runQuickstart(t *testing.T, args ...string) (string, Summary) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("quickstart %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var s Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("last line is not a JSON object: %q", lines[len(lines)-1])
	}
	return out.String(), s
}

// expected counts the generator's records independently of the pipeline.
func expected(rows int, seed int64) (good, bad int64) {
	g := NewGenerator(seed)
	for range rows {
		g.Next()
	}
	return g.Good, g.Bad
}

// TestQuickstart runs the main path on a temporary directory and checks the
// summary against the files: raw through the lake store, Parquet with DuckDB.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	const rows = 20000
	out, s := runQuickstart(t, "-lake", dir, "-rows", fmt.Sprint(rows), "-seed", "3")
	good, bad := expected(rows, 3)
	checkSummary(t, dir, s, rows, good, bad)
	for _, stage := range []string{"ingest ", "clean ", "page_views ", "daily_pages ", "pipeline ", "top_pages ", "query "} {
		if !strings.Contains(out, "\n"+stage) && !strings.HasPrefix(out, stage) {
			t.Errorf("no progress line for %q in:\n%s", stage, out)
		}
	}
	if !strings.Contains(out, "/s)") {
		t.Errorf("no rates in the progress lines:\n%s", out)
	}

	// the local catalog has every table, the curated one with its partitions
	lk, err := lake.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, table := range []string{"clicks", "clicks_quarantine", "page_views", "daily_pages"} {
		if _, err := cat.GetTable(ctx, "web", table); err != nil {
			t.Errorf("catalog: web.%s: %v", table, err)
		}
	}
	n := 0
	for p, err := range cat.Partitions(ctx, "web", "page_views", "") {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(strings.TrimSuffix(p.Location, "/"), "dt="+p.Values[0]) {
			t.Errorf("partition %v at %s", p.Values, p.Location)
		}
		n++
	}
	if n != s.CuratedPartitions {
		t.Errorf("catalog lists %d partitions of web.page_views, summary says %d", n, s.CuratedPartitions)
	}

	// the run history is in the lake and the pictures show the run
	for _, pic := range s.Pictures {
		b, err := os.ReadFile(pic)
		if err != nil {
			t.Fatal(err)
		}
		kind := []byte("flowchart")
		if strings.HasSuffix(pic, ".svg") {
			kind = []byte("<svg ")
			if err := xml.Unmarshal(b, new(struct{})); err != nil {
				t.Errorf("%s does not parse as XML: %v", pic, err)
			}
		}
		if !bytes.Contains(b, kind) || !bytes.Contains(b, []byte("top_pages")) {
			t.Errorf("%s is not a picture of the pipeline:\n%s", pic, b)
		}
	}
	if b, _ := os.ReadFile(s.Pictures[1]); !bytes.Contains(b, []byte("succeeded")) {
		t.Errorf("the run picture does not show step states:\n%s", b)
	}
	if len(s.Pictures) != 3 || !strings.HasSuffix(s.Pictures[2], "pipeline.svg") {
		t.Errorf("pictures %v: want the SVG picture of the run last", s.Pictures)
	} else if b, _ := os.ReadFile(s.Pictures[2]); !bytes.Contains(b, []byte(`fill="#b7e4c7"`)) {
		t.Errorf("pipeline.svg does not colour succeeded steps:\n%s", b)
	}
	runner, err := orchestrate.NewRunner(lk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run, err := runner.LoadRun(ctx, PipelineName, s.RunID); err != nil || run.State != orchestrate.StateSucceeded {
		t.Errorf("run history of %s: %+v, %v", s.RunID, run, err)
	}
}

// TestQuickstartDefaultSize runs the README's command at its default size.
func TestQuickstartDefaultSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the default size takes a few seconds")
	}
	dir := t.TempDir()
	_, s := runQuickstart(t, "-lake", dir)
	good, bad := expected(200000, 1)
	checkSummary(t, dir, s, 200000, good, bad)
}

// checkSummary checks the summary against the files in a file lake.
func checkSummary(t *testing.T, dir string, s Summary, rows int, good, bad int64) {
	t.Helper()
	if s.Lake != dir {
		t.Errorf("summary lake %q, want %q", s.Lake, dir)
	}
	// raw: every line of every object, read through the store
	lk, err := lake.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	raw := lk.MustZone(lake.Raw).Store()
	var lines, objects int64
	for e, err := range raw.List(context.Background(), "web/clicks/", nil) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := raw.ReadAll(context.Background(), e.Key)
		if err != nil {
			t.Fatal(err)
		}
		objects++
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines++
		}
	}
	if lines != int64(rows) || s.RawRecords != lines || s.RawObjects != objects {
		t.Errorf("raw zone holds %d records in %d objects; summary says %d in %d; generated %d", lines, objects, s.RawRecords, s.RawObjects, rows)
	}
	if s.RawRecords != s.CleanedRows+s.QuarantinedRows {
		t.Errorf("raw_records %d != cleaned_rows %d + quarantined_rows %d", s.RawRecords, s.CleanedRows, s.QuarantinedRows)
	}
	if s.CleanedRows != good || s.QuarantinedRows != bad {
		t.Errorf("cleaned %d, quarantined %d; the generator made %d good and %d malformed records", s.CleanedRows, s.QuarantinedRows, good, bad)
	}
	if bad < int64(rows)/200 || bad > int64(rows)/50 {
		t.Errorf("%d malformed records of %d is not about 1%%", bad, rows)
	}

	// Parquet: DuckDB reads the files itself
	db := duck.Open(t)
	var n, parts, daily int64
	duck.Scan(t, db, "SELECT count(*), count(DISTINCT dt) FROM "+duck.ParquetGlob(filepath.Join(dir, "curated", "web", "page_views")), &n, &parts)
	if n != s.CuratedRows || n != s.CuratedTableRows || parts != int64(s.CuratedPartitions) {
		t.Errorf("DuckDB counts %d curated rows in %d partitions; summary says %d in %d", n, parts, s.CuratedRows, s.CuratedPartitions)
	}
	duck.Scan(t, db, "SELECT count(*) FROM "+duck.ParquetGlob(filepath.Join(dir, "cleaned", "web", "clicks")), &n)
	if n != s.CleanedRows {
		t.Errorf("DuckDB counts %d cleaned rows; summary says %d", n, s.CleanedRows)
	}
	duck.Scan(t, db, "SELECT count(*) FROM "+duck.ParquetGlob(filepath.Join(dir, "cleaned", "web", "clicks_quarantine")), &n)
	if n != s.QuarantinedRows {
		t.Errorf("DuckDB counts %d quarantined rows; summary says %d", n, s.QuarantinedRows)
	}
	duck.Scan(t, db, "SELECT count(*), sum(views) FROM "+duck.ParquetGlob(filepath.Join(dir, "curated", "web", "daily_pages")), &n, &daily)
	if n != s.DailyRows || daily != s.CuratedRows {
		t.Errorf("DuckDB: daily_pages has %d rows summing %d views; summary says %d rows, %d curated", n, daily, s.DailyRows, s.CuratedRows)
	}
	if s.QueryRows != s.CuratedPartitions || s.CuratedPartitions != Days {
		t.Errorf("query_rows %d, curated_partitions %d, want %d days", s.QueryRows, s.CuratedPartitions, Days)
	}
}

// TestQuickstartMoto runs the same program on S3 and Glue (moto_server via
// AWS_ENDPOINT_URL) and reads what it registered with GetTable and
// GetPartitions.
func TestQuickstartMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	cfg := m.Config(t)
	ctx := context.Background()
	const bucket = "quickstart-lake"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.DisableLogOutputChecksumValidationSkipped = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", m.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", testaws.Region)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // DuckDB's copies of S3 files

	const rows = 5000
	lakeURL := "s3://" + bucket + "/lake"
	_, s := runQuickstart(t, "-lake", lakeURL, "-catalog", "glue", "-rows", fmt.Sprint(rows))
	good, bad := expected(rows, 1)
	if s.RawRecords != rows || s.CleanedRows != good || s.QuarantinedRows != bad || s.RawRecords != s.CleanedRows+s.QuarantinedRows {
		t.Fatalf("summary %+v; want %d raw = %d good + %d bad", s, rows, good, bad)
	}

	// Glue: the tables and partitions, read with the SDK
	gc := glue.NewFromConfig(cfg)
	for _, table := range []string{"clicks", "clicks_quarantine", "page_views", "daily_pages"} {
		out, err := gc.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("web"), Name: aws.String(table)})
		if err != nil {
			t.Fatalf("GetTable web.%s: %v", table, err)
		}
		loc := aws.ToString(out.Table.StorageDescriptor.Location)
		if !strings.HasPrefix(loc, "s3://"+bucket+"/lake/") {
			t.Errorf("web.%s location %q", table, loc)
		}
	}
	parts, err := gc.GetPartitions(ctx, &glue.GetPartitionsInput{DatabaseName: aws.String("web"), TableName: aws.String("page_views")})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts.Partitions) != s.CuratedPartitions || s.CuratedPartitions != Days {
		t.Fatalf("GetPartitions: %d partitions, summary says %d", len(parts.Partitions), s.CuratedPartitions)
	}
	for _, p := range parts.Partitions {
		if loc := aws.ToString(p.StorageDescriptor.Location); !strings.Contains(loc, "/curated/web/page_views/dt="+p.Values[0]) {
			t.Errorf("partition %v at %q", p.Values, loc)
		}
	}

	// S3: download the curated files and count them with DuckDB; count raw lines
	local := t.TempDir()
	var rawLines int64
	pager := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("lake/")})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			isRaw := strings.HasPrefix(key, "lake/raw/web/clicks/")
			if !isRaw && !(strings.HasPrefix(key, "lake/curated/web/page_views/") && strings.HasSuffix(key, ".parquet")) {
				continue
			}
			obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(obj.Body)
			obj.Body.Close()
			if isRaw {
				rawLines += int64(bytes.Count(b.Bytes(), []byte("\n")))
				continue
			}
			f := filepath.Join(local, filepath.FromSlash(strings.TrimPrefix(key, "lake/curated/web/page_views/")))
			os.MkdirAll(filepath.Dir(f), 0o755)
			if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rawLines != rows {
		t.Errorf("S3 raw objects hold %d lines, want %d", rawLines, rows)
	}
	var n, dts int64
	duck.Scan(t, duck.Open(t), "SELECT count(*), count(DISTINCT dt) FROM "+duck.ParquetGlob(local), &n, &dts)
	if n != s.CuratedRows || dts != int64(s.CuratedPartitions) {
		t.Errorf("DuckDB counts %d rows in %d partitions in S3's curated files; summary says %d in %d", n, dts, s.CuratedRows, s.CuratedPartitions)
	}
}

// TestErrors runs the program as a process: each bad start prints one line
// and exits non-zero.
func TestErrors(t *testing.T) {
	ro := extest.ReadOnlyDir(t)
	closed := extest.ClosedPort(t)
	cases := []struct {
		name  string
		args  []string
		env   []string
		wants []string
	}{
		{"wrong flag", []string{"-nope"}, nil, []string{"-nope", "-h"}},
		{"bad rows", []string{"-rows", "-5"}, nil, []string{"-rows"}},
		{"bad catalog", []string{"-catalog", "hive", "-lake", t.TempDir()}, nil, []string{"-catalog"}},
		{"unknown scheme", []string{"-lake", "gopher://x/y"}, nil, []string{"gopher"}},
		{"unreachable lake", []string{"-lake", "s3://nowhere/lake"},
			[]string{"AWS_ENDPOINT_URL=" + closed, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_MAX_ATTEMPTS=2"},
			[]string{"s3://nowhere/lake"}},
		{"read-only directory", []string{"-lake", ro}, nil, []string{ro, "not writable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := extest.Run(t, time.Minute, c.args, c.env...)
			extest.WantOneLineError(t, r, "quickstart", c.wants...)
			t.Logf("%s", strings.TrimSpace(r.Stderr))
		})
	}
}

// TestDefaultLake runs the program as the README does, without -lake: it
// makes a new directory under the current one and says where.
func TestDefaultLake(t *testing.T) {
	wd := t.TempDir()
	cmd := extest.Command(context.Background(), []string{"-rows", "2000"})
	cmd.Dir = wd
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(wd, "quickstart-lake-*"))
	if len(dirs) != 1 {
		t.Fatalf("lake directories under the working directory: %v", dirs)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var s Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.Lake != dirs[0] || !strings.Contains(lines[0], dirs[0]) {
		t.Fatalf("first line %q, summary lake %q (%v); made %s", lines[0], s.Lake, err, dirs[0])
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "curated", "web", "page_views")); err != nil {
		t.Fatal(err)
	}
}

// TestQuickstartIceberg runs the quickstart with -format iceberg: the
// summary holds the same counts as without it, and the Iceberg copy of the
// curated page views has every curated row (one snapshot), its metadata
// file is in the lake's iceberg/ folder, and the report query gives the
// same rows on it (a DuckDB view over the snapshot's files) as on
// web.page_views.
func TestQuickstartIceberg(t *testing.T) {
	dir := t.TempDir()
	const rows = 5000
	out, s := runQuickstart(t, "-lake", dir, "-rows", fmt.Sprint(rows), "-seed", "5", "-format", "iceberg")
	good, bad := expected(rows, 5)
	checkSummary(t, dir, s, rows, good, bad)
	ice := s.Iceberg
	if ice == nil {
		t.Fatalf("no iceberg part in the summary; output:\n%s", out)
	}
	if ice.Rows != s.CuratedTableRows || ice.Rows != good || ice.Snapshot == 0 || ice.Files == 0 {
		t.Errorf("iceberg: %+v; want %d rows (the curated table's %d) in a snapshot with files", ice, good, s.CuratedTableRows)
	}
	if !ice.SameReport {
		t.Errorf("the report on %s differs from the one on web.page_views:\n%s", ice.Table, out)
	}
	meta := strings.TrimPrefix(ice.Metadata, "file://")
	if !strings.HasPrefix(meta, filepath.Join(dir, "iceberg", "web", IcebergTable, "metadata")+"/") {
		t.Errorf("metadata %q is not in the lake's iceberg folder", ice.Metadata)
	}
	if _, err := os.Stat(meta); err != nil {
		t.Errorf("metadata file: %v", err)
	}
	if !strings.Contains(out, "\niceberg ") {
		t.Errorf("no iceberg progress line in:\n%s", out)
	}
	// a bad -format is a usage error
	var o, e bytes.Buffer
	if err := run(context.Background(), []string{"-lake", t.TempDir(), "-format", "delta"}, &o, &e); err == nil || !strings.Contains(err.Error(), "-format") {
		t.Errorf("-format delta: %v, want a usage error naming -format", err)
	}
}
