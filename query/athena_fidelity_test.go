package query_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
)

// TestAthenaFidelityExecutionParameters: Athena takes execution parameters
// of 1 to 1,024 characters; a longer one is refused before the query
// starts.
func TestAthenaFidelityExecutionParameters(t *testing.T) {
	p := enginetest.StartAthena(t)
	a := newAthena(t, p, nil)
	long := strings.Repeat("é", query.MaxExecutionParameterLength) // 1,026 characters quoted
	if _, err := a.Exec(context.Background(), `SELECT count(*) FROM t WHERE name = ?`, long); !errors.Is(err, query.ErrInvalidParam) {
		t.Fatalf("a %d-character literal: err = %v, want ErrInvalidParam", len([]rune(long))+2, err)
	}
	if n := len(p.Requests("StartQueryExecution")); n != 0 {
		t.Fatalf("%d StartQueryExecution calls for a refused parameter", n)
	}
	ps, err := query.ExecutionParameters([]any{strings.Repeat("a", query.MaxExecutionParameterLength-2), ""})
	if err != nil || len(ps[0]) != query.MaxExecutionParameterLength || ps[1] != "''" {
		t.Fatalf("longest and empty parameters: %q, %v", ps, err)
	}
}

// TestAthenaFidelityResultReuse: reuse is at most 7 days, applies to
// SELECT and EXECUTE only, and is off when the request carries its own
// result configuration, so the engine asks for it only where Athena can
// use it.
func TestAthenaFidelityResultReuse(t *testing.T) {
	p := enginetest.StartAthena(t)
	if _, err := query.NewAthena(p.Config(t), &query.AthenaOptions{ResultReuseMaxAge: 8 * 24 * time.Hour}); !errors.Is(err, query.ErrInvalid) {
		t.Fatalf("8 days of reuse: err = %v, want ErrInvalid", err)
	}
	for _, c := range []struct {
		name  string
		opts  query.AthenaOptions
		sql   string
		reuse bool
	}{
		{"select", query.AthenaOptions{ResultReuseMaxAge: 7 * 24 * time.Hour}, `SELECT 1`, true},
		{"with", query.AthenaOptions{ResultReuseMaxAge: time.Hour}, "-- daily\n/* report */ (WITH x AS (SELECT 1) SELECT * FROM x)", true},
		{"execute", query.AthenaOptions{ResultReuseMaxAge: time.Hour}, `EXECUTE stmt`, true},
		{"ctas", query.AthenaOptions{ResultReuseMaxAge: time.Hour}, `CREATE TABLE t2 AS SELECT 1`, false},
		{"insert", query.AthenaOptions{ResultReuseMaxAge: time.Hour}, `INSERT INTO t SELECT 1`, false},
		{"output location", query.AthenaOptions{ResultReuseMaxAge: time.Hour, OutputLocation: "s3://results/"}, `SELECT 1`, false},
		{"encryption", query.AthenaOptions{ResultReuseMaxAge: time.Hour, Encryption: "SSE_S3"}, `SELECT 1`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(p.Requests("StartQueryExecution"))
			if _, err := newAthena(t, p, &c.opts).Exec(context.Background(), c.sql); err != nil {
				t.Fatal(err)
			}
			reqs := p.Requests("StartQueryExecution")
			if len(reqs) != before+1 {
				t.Fatalf("%d starts", len(reqs)-before)
			}
			got, sent := reqs[len(reqs)-1].Body["ResultReuseConfiguration"]
			if sent != c.reuse {
				t.Fatalf("ResultReuseConfiguration sent = %v (%v), want %v", sent, got, c.reuse)
			}
		})
	}
}

// TestAthenaFidelityFailedUnloadCleansUp: when the UNLOAD fails, the files
// Athena had already written under its prefix are removed.
func TestAthenaFidelityFailedUnloadCleansUp(t *testing.T) {
	ctx := context.Background()
	p := enginetest.StartAthena(t)
	cfg := p.MotoConfig(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("unload-bucket")}); err != nil {
		t.Fatal(err)
	}
	store, err := s3store.OpenStore(ctx, cfg, "unload-bucket", "results", nil)
	if err != nil {
		t.Fatal(err)
	}
	var prefix string
	p.OnStart = func(q string) {
		i := strings.Index(q, "TO 's3://unload-bucket/results/")
		if i < 0 {
			return
		}
		prefix = strings.TrimPrefix(q[i+len("TO '"):], "s3://unload-bucket/results/")
		prefix = prefix[:strings.IndexByte(prefix, '\'')]
		for n := 0; n < 2; n++ {
			if err := store.PutBytes(ctx, fmt.Sprintf("%spartial_%d", prefix, n), []byte("PAR1"), nil); err != nil {
				t.Error(err)
			}
		}
	}
	p.Fail["UNLOAD ("] = "HIVE_BAD_DATA: error reading the table"
	a := newAthena(t, p, &query.AthenaOptions{OutputLocation: "s3://athena-results/", UnloadStore: store})
	if _, err := a.QueryUnload(ctx, `SELECT id FROM t`); !errors.Is(err, query.ErrQueryFailed) {
		t.Fatalf("err = %v, want ErrQueryFailed", err)
	}
	if prefix == "" {
		t.Fatal("the UNLOAD never started")
	}
	left, err := store.ListAll(ctx, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d objects left under %s after the UNLOAD failed", len(left), prefix)
	}
}
