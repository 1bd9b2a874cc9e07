package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
)

var fastPoll = query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxWait: 20 * time.Second}

func newAthena(t *testing.T, p *enginetest.AthenaPeer, opts *query.AthenaOptions) *query.Athena {
	t.Helper()
	o := query.AthenaOptions{WorkGroup: "primary", OutputLocation: "s3://athena-results/lakekit/", Poll: fastPoll}
	if opts != nil {
		o = *opts
		if o.Poll == (query.Poll{}) {
			o.Poll = fastPoll
		}
	}
	a, err := query.NewAthena(p.Config(t), &o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAthenaConformance(t *testing.T) {
	p := enginetest.StartAthena(t)
	p.Statements = enginetest.OpenOrdersDB(t)
	enginetest.Run(t, newAthena(t, p, nil))
}

func str(s string) *string { return &s }

func TestAthenaPaging(t *testing.T) {
	p := enginetest.StartAthena(t)
	const n = 2500
	var rows [][]*string
	for i := 0; i < n; i++ {
		rows = append(rows, []*string{str(fmt.Sprint(i)), str(fmt.Sprintf("name-%d", i))})
	}
	p.Seed(t, []enginetest.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "varchar"}}, rows)
	a := newAthena(t, p, nil)
	type row struct {
		ID   int64
		Name string
	}
	got, err := query.All[row](context.Background(), a, `SELECT id, name FROM big`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i, r := range got {
		if r.ID != int64(i) || r.Name != fmt.Sprintf("name-%d", i) {
			t.Fatalf("row %d = %+v", i, r)
		}
	}
	pages := p.Requests("GetQueryResults")
	if len(pages) < 3 {
		t.Fatalf("%d GetQueryResults calls, want >= 3 pages", len(pages))
	}
	for i, pg := range pages[1:] {
		if pg.Body["NextToken"] == nil {
			t.Fatalf("page %d sent no NextToken", i+2)
		}
	}
	t.Logf("%d rows in %d pages", n, len(pages))
}

// TestAthenaTypes decodes every Athena type from its text form.
func TestAthenaTypes(t *testing.T) {
	cases := []struct {
		typ  string
		prec int
		text string
		want any
	}{
		{"varchar", 0, "héllo, world", "héllo, world"},
		{"char", 0, "ab", "ab"},
		{"bigint", 0, "-9223372036854775808", int64(math.MinInt64)},
		{"integer", 0, "2147483647", int32(2147483647)},
		{"smallint", 0, "-32768", int16(-32768)},
		{"tinyint", 0, "127", int8(127)},
		{"double", 0, "1.5E10", 1.5e10},
		{"double", 0, "NaN", math.NaN()},
		{"float", 0, "2.5", float32(2.5)},
		{"real", 0, "-Infinity", float32(math.Inf(-1))},
		{"boolean", 0, "true", true},
		{"date", 0, "2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"timestamp", 3, "2024-02-29 13:14:15.123", time.Date(2024, 2, 29, 13, 14, 15, 123e6, time.UTC)},
		{"timestamp with time zone", 3, "2024-02-29 13:14:15.123 UTC", time.Date(2024, 2, 29, 13, 14, 15, 123e6, time.UTC)},
		{"decimal", 10, "-1234.50", query.MustDecimal("-1234.5")},
		{"array", 0, "[1, 2, null, 4]", []any{int64(1), int64(2), nil, int64(4)}},
		{"array", 0, "[[a, b], []]", []any{[]any{"a", "b"}, []any{}}},
		{"map", 0, "{a=1, b=2.5}", map[any]any{"a": int64(1), "b": 2.5}},
		{"row", 0, "{x=1, y=abc, z={p=true}}", map[string]any{"x": int64(1), "y": "abc", "z": map[string]any{"p": true}}},
		{"varbinary", 0, "68 65 6c 6c 6f", []byte("hello")},
		{"json", 0, `{"k":[1,2]}`, json.RawMessage(`{"k":[1,2]}`)},
		{"time", 0, "13:14:15.123", "13:14:15.123"},
	}
	p := enginetest.StartAthena(t)
	var cols []enginetest.Column
	var row, nulls []*string
	for i, c := range cases {
		cols = append(cols, enginetest.Column{Name: fmt.Sprintf("c%d", i), Type: c.typ, Precision: c.prec, Scale: 2})
		row = append(row, str(c.text))
		nulls = append(nulls, nil)
	}
	p.Seed(t, cols, [][]*string{row, nulls})
	res, err := newAthena(t, p, nil).Query(context.Background(), `SELECT every type`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := res.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows", len(got))
	}
	for i, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			if d := cmp.Diff(c.want, got[0][i], cmp.Comparer(func(a, b float64) bool {
				return a == b || math.IsNaN(a) && math.IsNaN(b)
			}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
				t.Errorf("%s %q (-want +got):\n%s", c.typ, c.text, d)
			}
			if got[1][i] != nil {
				t.Errorf("NULL %s decoded as %v", c.typ, got[1][i])
			}
		})
	}
	if res.Columns[14].DatabaseType != "decimal(10,2)" {
		t.Errorf("decimal column type %q", res.Columns[14].DatabaseType)
	}
}

func TestAthenaCancelStopsQuery(t *testing.T) {
	p := enginetest.StartAthena(t)
	p.HoldRunning(t)
	defer p.Release(t)
	a := newAthena(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// cancel once the query is being polled
		for len(p.Requests("GetQueryExecution")) < 3 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := a.Query(ctx, `SELECT slow FROM big`)
	if !errors.Is(err, query.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrCancelled and context.Canceled", err)
	}
	stops := p.Requests("StopQueryExecution")
	if len(stops) != 1 {
		t.Fatalf("%d StopQueryExecution calls, want 1", len(stops))
	}
	id := stops[0].Body["QueryExecutionId"].(string)
	var c *athena.Client
	a.As(&c)
	out, err := c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if out.QueryExecution.Status.State != types.QueryExecutionStateCancelled {
		t.Fatalf("query state %s after cancel, want CANCELLED", out.QueryExecution.Status.State)
	}
}

func TestAthenaFailedQueryCarriesReason(t *testing.T) {
	p := enginetest.StartAthena(t)
	reason := "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"
	p.Fail["nope"] = reason
	_, err := newAthena(t, p, nil).Query(context.Background(), `SELECT nope FROM shop.orders`)
	if !errors.Is(err, query.ErrQueryFailed) {
		t.Fatalf("err = %v, want ErrQueryFailed", err)
	}
	var ae *query.AthenaError
	if !errors.As(err, &ae) || ae.Reason != reason || !strings.Contains(err.Error(), reason) {
		t.Fatalf("err = %v, want Athena's reason %q", err, reason)
	}
}

// TestAthenaRequest: parameters go in ExecutionParameters as typed
// literals (the hostile value never reaches the SQL text); workgroup,
// output, encryption and idempotency token are sent (result reuse is not:
// the output and encryption override the result configuration); cost
// follows DataScannedInBytes.
func TestAthenaRequest(t *testing.T) {
	p := enginetest.StartAthena(t)
	p.Scanned = 3 << 40
	p.Seed(t, []enginetest.Column{{Name: "n", Type: "bigint"}}, [][]*string{{str("0")}})
	a := newAthena(t, p, &query.AthenaOptions{
		WorkGroup: "primary", OutputLocation: "s3://athena-results/q/", Database: "shop",
		Encryption: types.EncryptionOptionSseKms, KMSKey: "arn:aws:kms:us-east-1:123456789012:key/k",
		ResultReuseMaxAge: time.Hour, PricePerTB: 5,
	})
	sqlText := `SELECT count(*) AS n FROM orders WHERE customer = ? AND day = ? AND at < ? AND amount > ? AND paid = ?`
	res, err := a.Query(context.Background(), sqlText, enginetest.Hostile, query.Date{Year: 2024, Month: 5, Day: 1},
		time.Date(2024, 5, 2, 3, 4, 5, 6000, time.UTC), 1.5, true)
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	starts := p.Requests("StartQueryExecution")
	if len(starts) != 1 {
		t.Fatalf("%d starts", len(starts))
	}
	b := starts[0].Body
	if b["QueryString"] != sqlText || strings.Contains(b["QueryString"].(string), "DROP") {
		t.Fatalf("QueryString %q: the SQL text must stay as written", b["QueryString"])
	}
	wantParams := []any{`'x''; DROP TABLE shop.orders; --'`, `DATE '2024-05-01'`, `TIMESTAMP '2024-05-02 03:04:05.000006'`, `DOUBLE '1.5'`, `TRUE`}
	if d := cmp.Diff(wantParams, b["ExecutionParameters"]); d != "" {
		t.Fatalf("ExecutionParameters (-want +got):\n%s", d)
	}
	if tok, _ := b["ClientRequestToken"].(string); len(tok) < 32 {
		t.Fatalf("ClientRequestToken %q", tok)
	}
	rc := b["ResultConfiguration"].(map[string]any)
	if rc["OutputLocation"] != "s3://athena-results/q/" || rc["EncryptionConfiguration"].(map[string]any)["EncryptionOption"] != "SSE_KMS" {
		t.Fatalf("ResultConfiguration %v", rc)
	}
	if b["WorkGroup"] != "primary" || b["QueryExecutionContext"].(map[string]any)["Database"] != "shop" {
		t.Fatalf("workgroup/context %v %v", b["WorkGroup"], b["QueryExecutionContext"])
	}
	if reuse, ok := b["ResultReuseConfiguration"]; ok {
		// Athena disables reuse for a query that overrides the result
		// configuration (TestAthenaFidelityResultReuse)
		t.Fatalf("result reuse %v sent with a ResultConfiguration", reuse)
	}
	st := res.Stats()
	if st.BytesScanned != 3<<40 || st.Cost != 15 || st.ExecutionTime != 1234*time.Millisecond || st.QueryID == "" {
		t.Fatalf("stats %+v, want 3 TiB scanned costing $15", st)
	}
}

func TestAthenaCost(t *testing.T) {
	for _, c := range []struct {
		bytes int64
		want  float64
	}{
		{0, 0},
		{1, 5 * float64(10<<20) / (1 << 40)}, // minimum 10 MB
		{(10 << 20) + 1, 5 * float64(11<<20) / (1 << 40)}, // rounded up to the MB
		{1 << 40, 5},
	} {
		if got := query.AthenaCost(c.bytes, 5); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("AthenaCost(%d) = %v, want %v", c.bytes, got, c.want)
		}
	}
}

type unloaded struct {
	ID    int64     `parquet:"id"`
	Name  string    `parquet:"name"`
	Score float64   `parquet:"score"`
	At    time.Time `parquet:"at,timestamp(millisecond)"`
}

// TestAthenaUnload: QueryUnload sends UNLOAD ... WITH (format = 'PARQUET')
// and reads back the Parquet files found at its location (written here by
// the peer, playing Athena's part, into moto's S3).
func TestAthenaUnload(t *testing.T) {
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
	var want []unloaded
	for i := 0; i < 3000; i++ {
		want = append(want, unloaded{int64(i), fmt.Sprintf("n%d", i), float64(i) / 3, time.UnixMilli(1.7e12 + int64(i)).UTC()})
	}
	var sawUnload string
	p.OnStart = func(q string) {
		i := strings.Index(q, "TO 's3://unload-bucket/results/")
		if !strings.HasPrefix(q, "UNLOAD (") || i < 0 {
			return
		}
		sawUnload = q
		prefix := strings.TrimPrefix(q[i+len("TO '"):], "s3://unload-bucket/results/")
		prefix = prefix[:strings.IndexByte(prefix, '\'')]
		for part, rows := range [][]unloaded{want[:1000], want[1000:]} {
			var buf strings.Builder
			w := parquet.NewGenericWriter[unloaded](&buf)
			w.Write(rows)
			w.Close()
			if err := store.PutBytes(ctx, fmt.Sprintf("%s2024_q_%05d_%d", prefix, part, part), []byte(buf.String()), nil); err != nil {
				t.Error(err)
			}
		}
	}
	a := newAthena(t, p, &query.AthenaOptions{OutputLocation: "s3://athena-results/", UnloadStore: store})
	res, err := a.QueryUnload(ctx, `SELECT id, name, score, at FROM t WHERE name <> ?`, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(sawUnload, "/' WITH (format = 'PARQUET')") || !strings.Contains(sawUnload, "(SELECT id, name, score, at FROM t WHERE name <> ?)") {
		t.Fatalf("statement %q", sawUnload)
	}
	var got []unloaded
	for v, err := range query.ScanRows[unloaded](res) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("unloaded rows (-want +got):\n%s", d)
	}
	if n := len(p.Requests("GetQueryResults")); n != 0 {
		t.Fatalf("%d GetQueryResults calls; the UNLOAD path reads S3", n)
	}
	left, _ := store.ListAll(ctx, "unload/", nil)
	if len(left) != 0 {
		t.Fatalf("%d unloaded files left after reading", len(left))
	}
}

// TestAthenaMaxWait: a query still running after Poll.MaxWait is stopped
// and reported as ErrTimeout.
func TestAthenaMaxWait(t *testing.T) {
	p := enginetest.StartAthena(t)
	p.HoldRunning(t)
	defer p.Release(t)
	a := newAthena(t, p, &query.AthenaOptions{Poll: query.Poll{MinDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxWait: 300 * time.Millisecond}})
	start := time.Now()
	_, err := a.Exec(context.Background(), `SELECT slow FROM big`)
	if !errors.Is(err, query.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %v", d)
	}
	if n := len(p.Requests("StopQueryExecution")); n != 1 {
		t.Fatalf("%d StopQueryExecution calls, want 1", n)
	}
	if n := len(p.Requests("GetQueryExecution")); n < 3 {
		t.Fatalf("only %d polls before giving up", n)
	}
}
