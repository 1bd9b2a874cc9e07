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

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
)

func newRedshift(t *testing.T, f *enginetest.RedshiftFake, opts *query.RedshiftOptions) *query.Redshift {
	t.Helper()
	o := query.RedshiftOptions{ClusterIdentifier: "lake-cluster", Database: "dev", DbUser: "loader", Poll: fastPoll}
	if opts != nil {
		o = *opts
		o.Poll = fastPoll
	}
	r, err := query.NewRedshift(f.Config(t), &o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedshiftConformance(t *testing.T) {
	f := enginetest.StartRedshift(t)
	f.Answer = enginetest.RedshiftAnswer(t)
	enginetest.Run(t, newRedshift(t, f, nil))
}

func TestRedshiftPaging(t *testing.T) {
	f := enginetest.StartRedshift(t)
	f.PageSize = 3
	f.Answer = func(sql string, _ map[string]string) (*enginetest.RedshiftResult, error) {
		res := &enginetest.RedshiftResult{Columns: []enginetest.RedshiftColumn{{Name: "id", TypeName: "int8"}}}
		for i := 0; i < 10; i++ {
			res.Records = append(res.Records, []map[string]any{{"longValue": i}})
		}
		return res, nil
	}
	ids, err := query.All[int64](context.Background(), newRedshift(t, f, &query.RedshiftOptions{WorkgroupName: "serverless", Database: "dev"}), `SELECT id FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 10 || ids[9] != 9 {
		t.Fatalf("ids %v", ids)
	}
	if n := len(f.Requests("GetStatementResult")); n != 4 {
		t.Fatalf("%d GetStatementResult pages, want 4", n)
	}
	ex := f.Requests("ExecuteStatement")[0].Body
	if ex["WorkgroupName"] != "serverless" || ex["ClusterIdentifier"] != nil || ex["DbUser"] != nil {
		t.Fatalf("serverless target: %v", ex)
	}
}

func TestRedshiftTypes(t *testing.T) {
	cases := []struct {
		typ   string
		field map[string]any
		want  any
	}{
		{"int2", map[string]any{"longValue": -7}, int16(-7)},
		{"int4", map[string]any{"longValue": 123456}, int32(123456)},
		{"int8", map[string]any{"longValue": int64(math.MaxInt64)}, int64(math.MaxInt64)},
		{"float4", map[string]any{"doubleValue": 1.5}, float32(1.5)},
		{"float8", map[string]any{"doubleValue": 2.25}, 2.25},
		{"numeric", map[string]any{"stringValue": "-12.340"}, query.MustDecimal("-12.34")},
		{"bool", map[string]any{"booleanValue": true}, true},
		{"varchar", map[string]any{"stringValue": "héllo"}, "héllo"},
		{"bpchar", map[string]any{"stringValue": "ab "}, "ab "},
		{"date", map[string]any{"stringValue": "2024-02-29"}, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"timestamp", map[string]any{"stringValue": "2024-02-29 13:14:15.5"}, time.Date(2024, 2, 29, 13, 14, 15, 5e8, time.UTC)},
		{"timestamptz", map[string]any{"stringValue": "2024-02-29 13:14:15+00"}, time.Date(2024, 2, 29, 13, 14, 15, 0, time.UTC)},
		{"super", map[string]any{"stringValue": `{"a":[1,2]}`}, json.RawMessage(`{"a":[1,2]}`)},
		{"varbyte", map[string]any{"blobValue": "aGVsbG8="}, []byte("hello")},
	}
	f := enginetest.StartRedshift(t)
	f.Answer = func(string, map[string]string) (*enginetest.RedshiftResult, error) {
		res := &enginetest.RedshiftResult{}
		var row, nulls []map[string]any
		for i, c := range cases {
			res.Columns = append(res.Columns, enginetest.RedshiftColumn{Name: fmt.Sprintf("c%d", i), TypeName: c.typ, Nullable: true})
			row = append(row, c.field)
			nulls = append(nulls, map[string]any{"isNull": true})
		}
		res.Records = [][]map[string]any{row, nulls}
		return res, nil
	}
	res, err := newRedshift(t, f, nil).Query(context.Background(), `SELECT every type`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := res.All()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if d := cmp.Diff(c.want, rows[0][i], cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.typ, d)
		}
		if rows[1][i] != nil {
			t.Errorf("NULL %s decoded as %v", c.typ, rows[1][i])
		}
	}
}

func TestRedshiftFailedStatement(t *testing.T) {
	f := enginetest.StartRedshift(t)
	msg := `ERROR: column "nope" does not exist in orders`
	f.Answer = func(string, map[string]string) (*enginetest.RedshiftResult, error) { return nil, errors.New(msg) }
	_, err := newRedshift(t, f, nil).Query(context.Background(), `SELECT nope FROM orders`)
	var re *query.RedshiftError
	if !errors.Is(err, query.ErrQueryFailed) || !errors.As(err, &re) || re.Message != msg {
		t.Fatalf("err = %v, want a RedshiftError with %q", err, msg)
	}
	// a batch names the failing sub-statement
	_, err = newRedshift(t, f, nil).ExecBatch(context.Background(), `CREATE TABLE a (x int)`, `INSERT INTO a SELECT nope`)
	if !errors.Is(err, query.ErrQueryFailed) || !strings.Contains(err.Error(), "sub-statement") || !strings.Contains(err.Error(), msg) {
		t.Fatalf("batch err = %v", err)
	}
	if sqls := f.Requests("BatchExecuteStatement")[0].Body["Sqls"].([]any); len(sqls) != 2 {
		t.Fatalf("batch sent %v", sqls)
	}
}

func TestRedshiftCancel(t *testing.T) {
	f := enginetest.StartRedshift(t)
	f.Hold = "pg_sleep"
	r := newRedshift(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(f.Requests("DescribeStatement")) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := r.Exec(ctx, `SELECT pg_sleep(100)`)
	if !errors.Is(err, query.ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.Requests("CancelStatement")); n != 1 {
		t.Fatalf("%d CancelStatement calls", n)
	}
}

// TestRedshiftMaxWait: a statement still running after Poll.MaxWait is
// cancelled and reported as ErrTimeout naming the statement, like Athena's.
func TestRedshiftMaxWait(t *testing.T) {
	f := enginetest.StartRedshift(t)
	f.Hold = "pg_sleep"
	r, err := query.NewRedshift(f.Config(t), &query.RedshiftOptions{ClusterIdentifier: "lake-cluster", Database: "dev", DbUser: "loader",
		Poll: query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxWait: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = r.Exec(context.Background(), `SELECT pg_sleep(100)`)
	if !errors.Is(err, query.ErrTimeout) || errors.Is(err, query.ErrCancelled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout only", err)
	}
	if !strings.Contains(err.Error(), "redshift statement") || !strings.Contains(err.Error(), "200ms") {
		t.Errorf("error %q does not say what was waited for and how long", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, MaxWait 200ms", d)
	}
	if n := len(f.Requests("CancelStatement")); n != 1 {
		t.Fatalf("%d CancelStatement calls, want 1", n)
	}
	if n := len(f.Requests("DescribeStatement")); n < 3 {
		t.Fatalf("only %d polls before giving up", n)
	}
}

// TestRedshiftParametersBound: positional ? become :p1.. with the values
// in Parameters; the hostile value never reaches the SQL text.
func TestRedshiftParametersBound(t *testing.T) {
	f := enginetest.StartRedshift(t)
	f.Answer = func(string, map[string]string) (*enginetest.RedshiftResult, error) { return nil, nil }
	r := newRedshift(t, f, &query.RedshiftOptions{ClusterIdentifier: "c", Database: "dev", SecretArn: "arn:aws:secretsmanager:us-east-1:1:secret:s"})
	_, err := r.Exec(context.Background(), `DELETE FROM t WHERE name = ? AND note = '?' AND at < ? -- ?`, enginetest.Hostile, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b := f.Requests("ExecuteStatement")[0]
	if got := b.Body["Sql"]; got != `DELETE FROM t WHERE name = :p1 AND note = '?' AND at < :p2 -- ?` {
		t.Fatalf("Sql %q", got)
	}
	if strings.Contains(b.Body["Sql"].(string), "DROP") {
		t.Fatal("the hostile value reached the SQL text")
	}
	want := []any{map[string]any{"name": "p1", "value": enginetest.Hostile}, map[string]any{"name": "p2", "value": "2024-01-02 03:04:05"}}
	if d := cmp.Diff(want, b.Body["Parameters"]); d != "" {
		t.Fatalf("Parameters (-want +got):\n%s", d)
	}
	if b.Body["SecretArn"] == nil || b.Body["DbUser"] != nil {
		t.Fatalf("auth: %v", b.Body)
	}
	if _, err := r.Exec(context.Background(), `SELECT ?`); !errors.Is(err, query.ErrInvalidParam) {
		t.Fatalf("missing parameter: %v", err)
	}
	if _, err := r.Exec(context.Background(), `SELECT ?`, nil); !errors.Is(err, query.ErrInvalidParam) {
		t.Fatalf("NULL parameter: %v", err)
	}
}

func TestRedshiftOptionsValidated(t *testing.T) {
	f := enginetest.StartRedshift(t)
	for _, o := range []*query.RedshiftOptions{
		nil,
		{ClusterIdentifier: "c", DbUser: "u"},
		{Database: "d"},
		{Database: "d", ClusterIdentifier: "c"},
		{Database: "d", ClusterIdentifier: "c", WorkgroupName: "w", DbUser: "u"},
		{Database: "d", ClusterIdentifier: "c", DbUser: "u", SecretArn: "s"},
	} {
		if _, err := query.NewRedshift(f.Config(t), o); !errors.Is(err, query.ErrInvalid) {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
}

func TestWarehouseSQLGolden(t *testing.T) {
	role := "arn:aws:iam::123456789012:role/lake-loader"
	for _, c := range []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"copy", func() (string, error) {
			return query.CopySQL("sales.orders", "s3://lake/curated/sales/orders/", role, nil)
		}, `COPY "sales"."orders" FROM 's3://lake/curated/sales/orders/' IAM_ROLE 'arn:aws:iam::123456789012:role/lake-loader' FORMAT AS PARQUET`},
		{"copy_columns", func() (string, error) {
			return query.CopySQL(`we"ird.t`, "s3://lake/x/", role, &query.CopyOptions{Columns: []string{"id", "name"}, SerializeToJSON: true})
		}, `COPY "we""ird"."t" ("id", "name") FROM 's3://lake/x/' IAM_ROLE 'arn:aws:iam::123456789012:role/lake-loader' FORMAT AS PARQUET SERIALIZETOJSON`},
		{"unload", func() (string, error) {
			return query.UnloadSQL(`SELECT * FROM sales.orders WHERE region = 'eu' AND note LIKE 'a\b'`, "s3://lake/curated/sales/orders_eu/", role, nil)
		}, `UNLOAD ('SELECT * FROM sales.orders WHERE region = ''eu'' AND note LIKE ''a\\b''') TO 's3://lake/curated/sales/orders_eu/' IAM_ROLE 'arn:aws:iam::123456789012:role/lake-loader' FORMAT AS PARQUET`},
		{"unload_options", func() (string, error) {
			return query.UnloadSQL(`SELECT 1`, "s3://lake/o/", "default", &query.UnloadOptions{PartitionBy: []string{"dt"}, KMSKeyID: "k1", MaxFileSizeMB: 256, AllowOverwrite: true})
		}, `UNLOAD ('SELECT 1') TO 's3://lake/o/' IAM_ROLE default FORMAT AS PARQUET PARTITION BY ("dt") KMS_KEY_ID 'k1' ENCRYPTED MAXFILESIZE 256 MB ALLOWOVERWRITE`},
		{"spectrum", func() (string, error) {
			return query.ExternalSchemaSQL("lake_curated", "curated_sales", role, true)
		}, `CREATE EXTERNAL SCHEMA IF NOT EXISTS "lake_curated" FROM DATA CATALOG DATABASE 'curated_sales' IAM_ROLE 'arn:aws:iam::123456789012:role/lake-loader' CREATE EXTERNAL DATABASE IF NOT EXISTS`},
	} {
		got, err := c.got()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	for _, bad := range []func() (string, error){
		func() (string, error) { return query.CopySQL("t", "/local/path", role, nil) },
		func() (string, error) { return query.CopySQL("t", "s3://b/", "not-an-arn", nil) },
		func() (string, error) { return query.UnloadSQL("SELECT ?", "s3://b/", role, nil) },
		func() (string, error) { return query.ExternalSchemaSQL("", "db", role, false) },
	} {
		if s, err := bad(); err == nil {
			t.Errorf("accepted: %s", s)
		}
	}
}

// TestRedshiftUnloadRegisters: Unload learns the columns, runs UNLOAD and
// registers the output as a Parquet table in the catalog.
func TestRedshiftUnloadRegisters(t *testing.T) {
	ctx := context.Background()
	f := enginetest.StartRedshift(t)
	f.Answer = func(sql string, _ map[string]string) (*enginetest.RedshiftResult, error) {
		if strings.HasPrefix(sql, "SELECT * FROM (") {
			return &enginetest.RedshiftResult{Columns: []enginetest.RedshiftColumn{
				{Name: "id", TypeName: "int8"}, {Name: "total", TypeName: "numeric"}, {Name: "dt", TypeName: "date"},
			}}, nil
		}
		if strings.HasPrefix(sql, "UNLOAD (") {
			return nil, nil
		}
		if strings.HasPrefix(sql, "SELECT DISTINCT ") {
			return &enginetest.RedshiftResult{Columns: []enginetest.RedshiftColumn{{Name: "dt", TypeName: "varchar"}}}, nil
		}
		return nil, fmt.Errorf("unexpected %s", sql)
	}
	lk, err := lake.Open(ctx, "mem://redshift-unload", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateDatabase(ctx, catalog.Database{Name: "wh"}); err != nil {
		t.Fatal(err)
	}
	tbl, err := newRedshift(t, f, nil).Unload(ctx, `SELECT id, total, dt FROM sales`, query.UnloadTarget{
		Location: "s3://lake/curated/wh/sales/", IAMRole: "arn:aws:iam::1:role/r",
		Catalog: cat, Database: "wh", Table: "sales", Options: &query.UnloadOptions{PartitionBy: []string{"dt"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cat.GetTable(ctx, "wh", "sales")
	if err != nil {
		t.Fatal(err)
	}
	if got.Location != "s3://lake/curated/wh/sales/" || got.Format != "parquet" || len(got.Schema.Columns) != 2 ||
		len(got.Schema.PartitionKeys) != 1 || got.Schema.PartitionKeys[0].Name != "dt" || got.Schema.PartitionKeys[0].Type != "date" {
		t.Fatalf("registered %+v (returned %+v)", got, tbl)
	}
	var unload string
	for _, r := range f.Requests("ExecuteStatement") {
		if s := r.Body["Sql"].(string); strings.HasPrefix(s, "UNLOAD") {
			unload = s
		}
	}
	want := `UNLOAD ('SELECT id, total, dt FROM sales') TO 's3://lake/curated/wh/sales/' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS PARQUET PARTITION BY ("dt")`
	if unload != want {
		t.Fatalf("UNLOAD sent:\n%s\nwant\n%s", unload, want)
	}
}
