package transform_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/query/enginetest"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// UnloadOrder is the input of the UNLOAD tests.
type UnloadOrder struct {
	ID       int64     `parquet:"id"`
	Customer string    `parquet:"customer"`
	Amount   float64   `parquet:"amount"`
	Qty      int32     `parquet:"qty"`
	At       time.Time `parquet:"at"`
	Day      string    `parquet:"day" lakekit:"partition"`
}

// UnloadDaily is the SQL transform's output: one row per customer and day.
type UnloadDaily struct {
	Customer string  `parquet:"customer"`
	Orders   int64   `parquet:"orders"`
	Amount   float64 `parquet:"amount"`
	Items    int32   `parquet:"items"`
	Day      string  `parquet:"day" lakekit:"partition"`
}

// UnloadLatest adds a timestamp column, which Athena's UNLOAD cannot write
// as lakekit reads it.
type UnloadLatest struct {
	Customer string    `parquet:"customer"`
	Last     time.Time `parquet:"last"`
	Day      string    `parquet:"day" lakekit:"partition"`
}

const unloadStatement = `SELECT customer, count(*) AS orders, sum(amount) AS amount, CAST(sum(qty) AS INTEGER) AS items, day
FROM "shop"."orders" WHERE customer <> 'nobody' GROUP BY customer, day`

// unloadSource is a file lake holding shop.orders and the DuckDB engine
// over it: the engine of the reference run, and the one the peers play
// Athena's and Redshift's part with.
func unloadSource(t *testing.T) (*lake.Lake, *zones.Dataset[UnloadOrder], *duckdb.Engine) {
	t.Helper()
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	orders, err := zones.NewDataset[UnloadOrder](lk, lake.Cleaned, "shop", "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []UnloadOrder
	for i := range 60 {
		rows = append(rows, UnloadOrder{ID: int64(i), Customer: fmt.Sprintf("c%d", i%7), Amount: float64(i) * 1.25,
			Qty: int32(i % 4), At: time.Date(2024, 5, 1+i%3, i%24, i, 0, 0, time.UTC), Day: fmt.Sprintf("2024-05-0%d", 1+i%3)})
	}
	w, err := orders.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, lk, nil, &duckdb.Options{Zones: []lake.ZoneName{lake.Cleaned}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return lk, orders, eng
}

// s3OutLake is a lake on an S3 bucket of the peer at cfg.
func s3OutLake(t *testing.T, cfg aws.Config, bucket string) *lake.Lake {
	t.Helper()
	ctx := context.Background()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	st, err := s3store.OpenStore(ctx, cfg, bucket, "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

// duckReference runs the statement with the DuckDB engine (rows through
// the client) into a table of the source lake and returns what it holds.
func duckReference[Out any](t *testing.T, lk *lake.Lake, eng *duckdb.Engine, orders *zones.Dataset[UnloadOrder], stmt string) []Out {
	t.Helper()
	ctx := context.Background()
	ref, err := zones.NewDataset[Out](lk, lake.Curated, "shop", "reference", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := transform.SQL("reference", eng, stmt, ref, &transform.SQLOptions{Inputs: []*zones.Table{orders.Table()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := ref.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func sortDaily(rows []UnloadDaily) {
	slices.SortFunc(rows, func(a, b UnloadDaily) int { return strings.Compare(a.Day+a.Customer, b.Day+b.Customer) })
}

func sameDaily(t *testing.T, what string, want, got []UnloadDaily) {
	t.Helper()
	sortDaily(want)
	sortDaily(got)
	if len(want) == 0 || len(want) != len(got) {
		t.Fatalf("%s: %d rows, the DuckDB engine's run %d", what, len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Customer != g.Customer || w.Day != g.Day || w.Orders != g.Orders || w.Items != g.Items || math.Abs(w.Amount-g.Amount) > 1e-9 {
			t.Fatalf("%s: row %d is %+v, the DuckDB engine's run %+v", what, i, g, w)
		}
	}
}

// noStaging fails when files are left in the table's staging folder.
func noStaging(t *testing.T, ds *zones.Table) {
	t.Helper()
	left, err := ds.Zone().Store().ListAll(context.Background(), ds.Prefix()+"/"+zones.StagingDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("%d objects left in the staging folder, first %s", len(left), left[0].Key)
	}
}

// TestSQLTransformAthenaUnloadAdopt: on the Athena engine the SQL
// transform runs UNLOAD … WITH (format = 'PARQUET', partitioned_by = …)
// into the output table's staging folder (the peer writes what Athena
// would: key=value folders, files without an extension, several per
// partition) and adopts the files in one commit with the ledger entry:
// no GetQueryResults call is made, and the table holds what the DuckDB
// engine's run of the same statement holds. A rerun with unchanged inputs
// runs nothing.
func TestSQLTransformAthenaUnloadAdopt(t *testing.T) {
	ctx := context.Background()
	srcLake, orders, duck := unloadSource(t)
	want := duckReference[UnloadDaily](t, srcLake, duck, orders, unloadStatement)

	p := enginetest.StartAthena(t)
	outLake := s3OutLake(t, p.MotoConfig(t), "athena-out")
	out, err := zones.NewDataset[UnloadDaily](outLake, lake.Curated, "shop", "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	player := &enginetest.UnloadPlayer{Source: duck, Store: out.Table().Zone().Store()}
	p.OnStart = player.Athena(p)
	ath, err := query.NewAthena(p.Config(t), &query.AthenaOptions{OutputLocation: "s3://athena-results/",
		Poll: query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := transform.SQL("daily", ath, unloadStatement, out, &transform.SQLOptions{Inputs: []*zones.Table{orders.Table()}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Requests("GetQueryResults")); n != 0 {
		t.Fatalf("%d GetQueryResults calls: result rows went through the client", n)
	}
	starts := p.Requests("StartQueryExecution")
	if len(starts) != 1 || player.Unloads.Load() != 1 {
		t.Fatalf("%d queries started, %d unloads played; want one UNLOAD", len(starts), player.Unloads.Load())
	}
	q, _ := starts[0].Body["QueryString"].(string)
	for _, part := range []string{"UNLOAD (SELECT ", `CAST("orders" AS bigint) AS "orders"`, `CAST("items" AS integer) AS "items"`,
		"/_lakekit/staging/unload-", "format = 'PARQUET'", "partitioned_by = ARRAY['day']"} {
		if !strings.Contains(q, part) {
			t.Fatalf("statement lacks %q:\n%s", part, q)
		}
	}
	got, err := out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameDaily(t, "athena", want, got)
	if res.RowsOut != int64(len(want)) || res.Units != 1 || len(res.Versions) != 1 {
		t.Fatalf("result %+v, want %d rows out in one unit", res, len(want))
	}
	noStaging(t, out.Table())
	l, err := st.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 1 || l.Entries[0].RowsOut != int64(len(want)) || l.Entries[0].Version != res.Versions[0] {
		t.Fatalf("ledger %+v", l.Entries)
	}
	// unchanged inputs: nothing runs
	res, err = st.Run(ctx)
	if err != nil || res.Units != 0 || len(p.Requests("StartQueryExecution")) != 1 {
		t.Fatalf("rerun: %+v %v, %d queries", res, err, len(p.Requests("StartQueryExecution")))
	}
}

// TestSQLTransformAthenaUnloadFallsBackForTimestamps: Athena's UNLOAD
// writes timestamps as INT96, which lakekit does not adopt, so a statement
// whose output has a timestamp column is not unloaded: nothing is
// unloaded, the rows pass through the client as before the UNLOAD path
// existed, and the table holds them with their timestamps.
func TestSQLTransformAthenaUnloadFallsBackForTimestamps(t *testing.T) {
	ctx := context.Background()
	p := enginetest.StartAthena(t)
	outLake := s3OutLake(t, p.MotoConfig(t), "athena-ts")
	out, err := zones.NewDataset[UnloadLatest](outLake, lake.Curated, "shop", "latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	ath, err := query.NewAthena(p.Config(t), &query.AthenaOptions{OutputLocation: "s3://athena-results/"})
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	p.Seed(t, []enginetest.Column{{Name: "customer", Type: "varchar"}, {Name: "last", Type: "timestamp"}, {Name: "day", Type: "varchar"}},
		[][]*string{
			{str("c1"), str("2024-05-01 23:59:00.000"), str("2024-05-01")},
			{str("c2"), str("2024-05-02 07:30:15.250"), str("2024-05-02")},
		})
	st, err := transform.SQL("latest", ath, `SELECT customer, max("at") AS "last", day FROM "shop"."orders" GROUP BY customer, day`, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Requests("StartQueryExecution") {
		if q, _ := r.Body["QueryString"].(string); strings.Contains(q, "UNLOAD") {
			t.Fatalf("a timestamp output was unloaded: %s", q)
		}
	}
	if len(p.Requests("GetQueryResults")) == 0 {
		t.Fatal("no GetQueryResults: the rows did not take the client path")
	}
	got, err := out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []UnloadLatest{
		{Customer: "c1", Last: time.Date(2024, 5, 1, 23, 59, 0, 0, time.UTC), Day: "2024-05-01"},
		{Customer: "c2", Last: time.Date(2024, 5, 2, 7, 30, 15, 250_000_000, time.UTC), Day: "2024-05-02"},
	}
	slices.SortFunc(got, func(a, b UnloadLatest) int { return strings.Compare(a.Customer, b.Customer) })
	if len(got) != 2 || res.RowsOut != 2 {
		t.Fatalf("table holds %+v (result %+v)", got, res)
	}
	for i := range want {
		if got[i].Customer != want[i].Customer || !got[i].Last.Equal(want[i].Last) || got[i].Day != want[i].Day {
			t.Fatalf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestSQLTransformAthenaUnloadFailureCommitsNothing: an UNLOAD that fails
// after writing part of its output commits nothing and leaves nothing in
// the staging folder.
func TestSQLTransformAthenaUnloadFailureCommitsNothing(t *testing.T) {
	ctx := context.Background()
	_, _, duck := unloadSource(t)
	p := enginetest.StartAthena(t)
	outLake := s3OutLake(t, p.MotoConfig(t), "athena-fail")
	out, err := zones.NewDataset[UnloadDaily](outLake, lake.Curated, "shop", "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	player := &enginetest.UnloadPlayer{Source: duck, Store: out.Table().Zone().Store()}
	play := player.Athena(p)
	p.OnStart = func(q string) {
		play(q) // Athena wrote files, then failed
		p.Fail["UNLOAD"] = "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
	}
	ath, err := query.NewAthena(p.Config(t), &query.AthenaOptions{OutputLocation: "s3://athena-results/",
		Poll: query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := transform.SQL("daily", ath, unloadStatement, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Run(ctx); !errors.Is(err, query.ErrQueryFailed) || !strings.Contains(err.Error(), "HIVE_TOO_MANY_OPEN_PARTITIONS") {
		t.Fatalf("err = %v, want the UNLOAD's failure", err)
	}
	if player.Unloads.Load() != 1 {
		t.Fatalf("%d unloads played", player.Unloads.Load())
	}
	if _, err := out.Snapshot(ctx, 0); !errors.Is(err, zones.ErrNoSuchTable) {
		t.Fatalf("the table was committed: %v", err)
	}
	noStaging(t, out.Table())
}

// TestSQLTransformRedshiftUnloadAdopt: on the Redshift engine the SQL
// transform runs UNLOAD ('…') TO 's3://…' IAM_ROLE … FORMAT AS PARQUET
// PARTITION BY (…) (Redshift's data lake export; the fake writes what
// Redshift would) and adopts the files with the ledger entry: no
// GetStatementResult call is made, and the table holds what the DuckDB
// engine's run of the same statement holds.
func TestSQLTransformRedshiftUnloadAdopt(t *testing.T) {
	ctx := context.Background()
	srcLake, orders, duck := unloadSource(t)
	want := duckReference[UnloadDaily](t, srcLake, duck, orders, unloadStatement)

	f := enginetest.StartRedshift(t)
	s3f := testaws.StartFakeS3(t)
	outLake := s3OutLake(t, s3f.Config(t), "redshift-out")
	out, err := zones.NewDataset[UnloadDaily](outLake, lake.Curated, "shop", "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	player := &enginetest.UnloadPlayer{Source: duck, Store: out.Table().Zone().Store()}
	f.Answer = player.Redshift()
	rs, err := query.NewRedshift(f.Config(t), &query.RedshiftOptions{Database: "dev", WorkgroupName: "wg",
		Poll: query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	eng := rs.WithUnloadRole("arn:aws:iam::123456789012:role/unload")
	st, err := transform.SQL("daily", eng, unloadStatement, out, &transform.SQLOptions{Inputs: []*zones.Table{orders.Table()}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Requests("GetStatementResult")); n != 0 {
		t.Fatalf("%d GetStatementResult calls: result rows went through the client", n)
	}
	execs := f.Requests("ExecuteStatement")
	if len(execs) != 1 || player.Unloads.Load() != 1 {
		t.Fatalf("%d statements, %d unloads played", len(execs), player.Unloads.Load())
	}
	q, _ := execs[0].Body["Sql"].(string)
	for _, part := range []string{"UNLOAD ('SELECT ", `CAST("orders" AS BIGINT)`, "''nobody''", "IAM_ROLE 'arn:aws:iam::123456789012:role/unload'",
		"FORMAT AS PARQUET", `PARTITION BY ("day")`, "/_lakekit/staging/unload-"} {
		if !strings.Contains(q, part) {
			t.Fatalf("statement lacks %q:\n%s", part, q)
		}
	}
	got, err := out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameDaily(t, "redshift", want, got)
	if res.RowsOut != int64(len(want)) || res.Units != 1 {
		t.Fatalf("result %+v", res)
	}
	noStaging(t, out.Table())
	// parameters cannot be bound inside Redshift's UNLOAD
	st2, err := transform.SQL("daily2", eng, `SELECT customer, 1 AS orders, 1.0 AS amount, 1 AS items, day FROM "shop"."orders" WHERE id > ?`, out,
		&transform.SQLOptions{Params: []any{3}, Append: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st2.Run(ctx); !errors.Is(err, query.ErrInvalidParam) {
		t.Fatalf("UNLOAD with parameters: %v, want ErrInvalidParam", err)
	}
}

// TestSQLTransformRedshiftUnloadTimestamps: Redshift's UNLOAD writes
// timestamps as INT64 microseconds, which the table takes: the adopted
// rows equal the DuckDB engine's run of the same statement. A tinyint
// column, which Redshift cannot write, is refused naming the column before
// any statement runs.
func TestSQLTransformRedshiftUnloadTimestamps(t *testing.T) {
	ctx := context.Background()
	srcLake, orders, duck := unloadSource(t)
	const stmt = `SELECT customer, max("at") AS "last", day FROM "shop"."orders" GROUP BY customer, day`
	want := duckReference[UnloadLatest](t, srcLake, duck, orders, stmt)

	f := enginetest.StartRedshift(t)
	s3f := testaws.StartFakeS3(t)
	outLake := s3OutLake(t, s3f.Config(t), "redshift-ts")
	out, err := zones.NewDataset[UnloadLatest](outLake, lake.Curated, "shop", "latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	player := &enginetest.UnloadPlayer{Source: duck, Store: out.Table().Zone().Store()}
	f.Answer = player.Redshift()
	rs, err := query.NewRedshift(f.Config(t), &query.RedshiftOptions{Database: "dev", WorkgroupName: "wg",
		Poll: query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := transform.SQL("latest", rs, stmt, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Run(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ := f.Requests("ExecuteStatement")[0].Body["Sql"].(string)
	if !strings.Contains(q, `CAST("last" AS TIMESTAMP)`) || !strings.Contains(q, "IAM_ROLE default") {
		t.Fatalf("statement %s", q)
	}
	got, err := out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := func(r UnloadLatest) string { return r.Day + r.Customer }
	slices.SortFunc(want, func(a, b UnloadLatest) int { return strings.Compare(key(a), key(b)) })
	slices.SortFunc(got, func(a, b UnloadLatest) int { return strings.Compare(key(a), key(b)) })
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d rows, the DuckDB engine's run %d", len(got), len(want))
	}
	for i := range want {
		if key(got[i]) != key(want[i]) || !got[i].Last.Equal(want[i].Last) {
			t.Fatalf("row %d: %+v, the DuckDB engine's run %+v", i, got[i], want[i])
		}
	}

	type tiny struct {
		Customer string `parquet:"customer"`
		Flag     int8   `parquet:"flag"`
	}
	tout, err := zones.NewDataset[tiny](outLake, lake.Curated, "shop", "tiny", nil)
	if err != nil {
		t.Fatal(err)
	}
	tst, err := transform.SQL("tiny", rs, `SELECT customer, 1 AS flag FROM "shop"."orders"`, tout, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Redshift cannot UNLOAD a tinyint: the statement is not unloaded but
	// runs as a plain query whose rows pass through the client (this fake
	// answers UNLOADs only, so that query's failure is the proof)
	n := len(f.Requests("ExecuteStatement"))
	if _, err := tst.Run(ctx); err == nil || errors.Is(err, query.ErrUnsupported) {
		t.Fatalf("tinyint on Redshift: %v, want the row path's query (answered by nothing here)", err)
	}
	execs := f.Requests("ExecuteStatement")[n:]
	if len(execs) != 1 {
		t.Fatalf("%d statements after the refusal, want the one plain query", len(execs))
	}
	if q, _ := execs[0].Body["Sql"].(string); strings.Contains(q, "UNLOAD") || !strings.Contains(q, "1 AS flag") {
		t.Fatalf("the tinyint output ran as %q, want the plain statement", q)
	}
}
