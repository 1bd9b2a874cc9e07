package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

// seed queues one Athena result in moto: the next query gets it.
func seed(t *testing.T, m *testaws.Moto, cols [][2]string, rows [][]string) {
	t.Helper()
	var info, header []map[string]any
	for _, c := range cols {
		info = append(info, map[string]any{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c[0], "Label": c[0],
			"Type": c[1], "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": c[1] == "varchar"})
		header = append(header, map[string]any{"VarCharValue": c[0]})
	}
	data := []map[string]any{{"Data": header}}
	for _, r := range rows {
		var d []map[string]any
		for _, v := range r {
			d = append(d, map[string]any{"VarCharValue": v})
		}
		data = append(data, map[string]any{"Data": d})
	}
	body, _ := json.Marshal(map[string]any{"results": []any{map[string]any{"rows": data, "column_info": info}}})
	m.Post(t, "/moto-api/static/athena/query-results", string(body))
}

// pageView is a row of the quickstart's curated web.page_views, with the
// columns the example's queries read.
type pageView struct {
	EventID    string `parquet:"event_id"`
	UserID     string `parquet:"user_id"`
	Page       string `parquet:"page"`
	Channel    string `parquet:"channel"`
	DurationMS int64  `parquet:"duration_ms"`
	DT         string `parquet:"dt" lakekit:"partition"`
}

// TestAthenaMoto builds a curated table on S3 + Glue (moto), then runs
// the example: the estimate must match the objects S3 lists for the
// partition, and the typed rows must be Athena's (seeded) answers.
func TestAthenaMoto(t *testing.T) {
	m := testaws.StartMoto(t)
	cfg := m.Config(t)
	ctx := context.Background()
	const bucket = "athena-lake"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": m.Endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": testaws.Region, "AWS_PROFILE": ""} {
		t.Setenv(k, v)
	}
	lakeURL := "s3://" + bucket + "/lake"
	lk, err := lake.Open(ctx, lakeURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	// the quickstart's curated web.page_views (the columns the queries
	// read), registered in Glue, written in two commits
	glueCat, err := catalog.NewGlue(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := zones.NewDataset[pageView](lk, lake.Curated, "web", "page_views",
		&zones.Options[pageView]{Catalog: glueCat})
	if err != nil {
		t.Fatal(err)
	}
	for commit := range 2 {
		w, err := pv.NewWriter(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rows []pageView
		for i := range 300 {
			rows = append(rows, pageView{EventID: fmt.Sprintf("e%d-%d", commit, i), UserID: fmt.Sprintf("u%d", i%40),
				Page: []string{"/", "/search", "/cart"}[i%3], Channel: []string{"direct", "search", "email"}[i%3],
				DurationMS: int64(1000 + i), DT: fmt.Sprintf("2024-05-%02d", 1+i%7)})
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// what S3 holds for the partition the estimate covers
	var files int
	var size int64
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("lake/curated/web/page_views/dt=2024-05-03/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		if strings.HasSuffix(aws.ToString(o.Key), ".parquet") {
			files++
			size += aws.ToInt64(o.Size)
		}
	}

	seed(t, m, [][2]string{{"page", "varchar"}, {"views", "bigint"}, {"user_days", "bigint"}},
		[][]string{{"/", "1077", "1000"}, {"/search", "702", "690"}})
	seed(t, m, [][2]string{{"channel", "varchar"}, {"views", "bigint"}, {"avg_seconds", "double"}},
		[][]string{{"direct", "140", "4.25"}, {"search", "139", "4.5"}, {"email", "70", "3.75"}})
	var out bytes.Buffer
	if err := run(ctx, []string{"-lake", lakeURL, "-output", "s3://" + bucket + "/athena-results/", "-day", "2024-05-03"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var s Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
	if s.Queries != 2 || s.Rows != 5 || s.EstimatedFiles != files || s.EstimatedBytes != size || files == 0 {
		t.Fatalf("summary %+v; S3 holds %d files, %d bytes for dt=2024-05-03\n%s", s, files, size, out.String())
	}
	t.Logf("output:\n%s", out.String())
	for _, want := range []string{"/search", "1,077", "user days", "email", "3.75", "cost $"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestErrors(t *testing.T) {
	closed := extest.ClosedPort(t)
	for _, c := range []struct {
		name  string
		args  []string
		env   []string
		wants []string
	}{
		{"wrong flag", []string{"-table", "x"}, nil, []string{"-table"}},
		{"bad day", []string{"-day", "May 3"}, nil, []string{"May 3", "YYYY-MM-DD"}},
		{"unreachable Athena", nil, []string{"AWS_ENDPOINT_URL=" + closed, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x",
			"AWS_SECRET_ACCESS_KEY=y", "AWS_MAX_ATTEMPTS=1"}, []string{"top pages", "connection refused"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			extest.WantOneLineError(t, extest.Run(t, time.Minute, c.args, c.env...), "athena", c.wants...)
		})
	}
}
