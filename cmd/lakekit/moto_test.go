package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
)

// motoLake makes the test lake on S3 with the Glue catalog (moto_server),
// and points this process and the command's at moto through the
// environment, as a user's shell would (AWS_ENDPOINT_URL, credentials).
func motoLake(t *testing.T) (*testLake, aws.Config) {
	t.Helper()
	m := testaws.StartMoto(t)
	cfg := m.Config(t)
	ctx := context.Background()
	const bucket = "lakekit-cmd"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", m.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", testaws.Region)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // DuckDB's copies of S3 files
	url := "s3://" + bucket + "/lake"
	lk, err := lake.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	cat, err := catalog.NewGlue(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return makeLake(t, url, lk, cat), cfg
}

// TestMotoGlue runs the command on S3 and Glue: the same table layouts as
// on a local lake, a clean check, drift after an orphan is planted and
// after a Glue partition is repointed by hand (with the Glue API), and
// -repair.
func TestMotoGlue(t *testing.T) {
	l, cfg := motoLake(t)
	ctx := context.Background()
	rep := l.replacer()
	g := []string{"-lake", l.url, "-catalog", "glue"}
	golden(t, "tables.txt", normalize(ok(t, nil, append([]string{"tables"}, g...)...).stdout, rep...))
	golden(t, "history.txt", normalize(ok(t, nil, append([]string{"history", "web.page_views"}, g...)...).stdout, rep...))
	golden(t, "diff.txt", normalize(ok(t, nil, append([]string{"diff", "web.page_views", "1", "3"}, g...)...).stdout, rep...))
	r := ok(t, nil, append([]string{"check", "-json"}, g...)...)
	for _, c := range parseChecks(t, r.stdout) {
		if len(c.Drift) != 0 || c.VisibleObjects != c.Files {
			t.Errorf("clean lake on moto: %+v", c)
		}
	}
	d := ok(t, nil, append([]string{"describe", "web.page_views"}, g...)...)
	if !strings.Contains(d.stdout, "catalog (glue)") || !strings.Contains(d.stdout, "location                   s3://lakekit-cmd/lake/curated/web/page_views/") {
		t.Errorf("describe on Glue:\n%s", d.stdout)
	}
	q := ok(t, nil, append([]string{"query", "-format", "csv", "SELECT count(*) AS n FROM web.page_views"}, g...)...)
	if q.stdout != "n\n67\n" {
		t.Errorf("query on S3 and Glue: %q", q.stdout)
	}

	// a Glue partition repointed by hand at the folder version 3 replaced
	st := l.lk.MustZone(lake.Curated).Store()
	old := st.Location("web/page_views/dt=2024-05-01/")
	gc := glue.NewFromConfig(cfg)
	part, err := gc.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String("web"), TableName: aws.String("page_views"), PartitionValues: []string{"2024-05-01"}})
	if err != nil {
		t.Fatal(err)
	}
	sd := *part.Partition.StorageDescriptor
	sd.Location = aws.String(old)
	if _, err := gc.UpdatePartition(ctx, &glue.UpdatePartitionInput{DatabaseName: aws.String("web"), TableName: aws.String("page_views"),
		PartitionValueList: []string{"2024-05-01"}, PartitionInput: &gluetypes.PartitionInput{Values: []string{"2024-05-01"}, StorageDescriptor: &sd}}); err != nil {
		t.Fatal(err)
	}
	r = lakekit(t, nil, append([]string{"check", "web.page_views", "-json"}, g...)...)
	if r.code != 1 {
		t.Fatalf("check after UpdatePartition: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := driftKinds(findCheck(t, parseChecks(t, r.stdout), "web.page_views")); !cmp.Equal(got, []string{"repointed dt=2024-05-01", "orphan web/page_views/dt=2024-05-01/" + "*"}, cmp.Comparer(globEqual)) {
		t.Errorf("drift after repointing by hand: %q", got)
	}
	r = ok(t, nil, append([]string{"check", "-repair", "-json"}, g...)...)
	if pv := findCheck(t, parseChecks(t, r.stdout), "web.page_views"); !pv.Repaired || len(pv.Drift) != 0 {
		t.Errorf("after -repair: %+v", pv)
	}

	// vacuum on S3 with the Glue catalog: a dry run, then the delete
	v1, err := l.views.Snapshot(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var dry vacuumReport
	r = ok(t, nil, append([]string{"vacuum", "web.page_views", "-retention", "0s", "-json"}, g...)...)
	if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil || !dry.DryRun || len(dry.Deleted) != 1 || dry.Deleted[0] != v1.Files[0].Key || dry.Bytes != v1.Files[0].Size {
		t.Errorf("vacuum dry run on S3: %+v (%v); want %s", dry, err, v1.Files[0].Key)
	}
	r = ok(t, nil, append([]string{"vacuum", "web.page_views", "-retention", "0s", "-yes"}, g...)...)
	if _, err := l.lk.MustZone(lake.Curated).Store().ReadAll(ctx, v1.Files[0].Key); !errors.Is(err, lake.ErrNotFound) || !strings.Contains(r.stdout, "deleted 1 files") {
		t.Errorf("vacuum -yes on S3: %v\n%s", err, r.stdout)
	}

	// an orphan planted in a live partition folder on S3
	body, err := st.ReadAll(ctx, firstKey(t, l, "dt=2024-05-03"))
	if err != nil {
		t.Fatal(err)
	}
	orphan := "web/page_views/dt=2024-05-03/part-planted-00001.parquet"
	if err := st.PutBytes(ctx, orphan, body, nil); err != nil {
		t.Fatal(err)
	}
	r = lakekit(t, nil, append([]string{"check"}, g...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "foreign           "+orphan) {
		t.Errorf("check after planting an orphan on S3: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// driftKinds lists a table's drift as "kind partition-or-key".
func driftKinds(c tableCheck) []string {
	var out []string
	for _, d := range c.Drift {
		what := d.Partition
		if d.Key != "" {
			what = d.Key
		}
		out = append(out, d.Kind+" "+what)
	}
	return out
}

// globEqual compares slices of strings where a trailing "*" in either
// matches any rest.
func globEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if p, ok := strings.CutSuffix(y, "*"); ok {
			if !strings.HasPrefix(x, p) {
				return false
			}
		} else if p, ok := strings.CutSuffix(x, "*"); ok {
			if !strings.HasPrefix(y, p) {
				return false
			}
		} else if x != y {
			return false
		}
	}
	return true
}

// firstKey returns the key of the newest snapshot's first file in a
// partition.
func firstKey(t *testing.T, l *testLake, part string) string {
	t.Helper()
	snap, err := l.views.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files {
		if f.Partition.HivePath() == part {
			return f.Key
		}
	}
	t.Fatalf("no file in %s", part)
	return ""
}
