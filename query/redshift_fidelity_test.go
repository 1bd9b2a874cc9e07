package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
	"github.com/lakekit/lakekit/zones"
)

// TestRedshiftFidelityParameters: the Data API's SqlParameter list has at
// least one member and each value at least one character. A statement
// without placeholders sends no Parameters member at all, and an empty
// string or []byte becomes an empty string literal in the SQL instead.
func TestRedshiftFidelityParameters(t *testing.T) {
	ctx := context.Background()
	f := enginetest.StartRedshift(t)
	f.Answer = func(string, map[string]string) (*enginetest.RedshiftResult, error) { return nil, nil }
	r := newRedshift(t, f, nil)
	if _, err := r.Exec(ctx, `DELETE FROM t`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec(ctx, `UPDATE t SET a = ?, b = ?, c = ? WHERE d = ?`, "", []byte{}, "x", []byte{1}); err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests("ExecuteStatement")
	if _, ok := reqs[0].Body["Parameters"]; ok {
		t.Errorf("a statement without placeholders sent Parameters: %s", reqs[0].Raw)
	}
	b := reqs[1].Body
	if got, want := b["Sql"], `UPDATE t SET a = '', b = '', c = :p3 WHERE d = :p4`; got != want {
		t.Errorf("Sql %q, want %q", got, want)
	}
	ps, _ := b["Parameters"].([]any)
	if len(ps) != 2 {
		t.Fatalf("Parameters %v, want p3 and p4 only", b["Parameters"])
	}
	for _, p := range ps {
		if v, _ := p.(map[string]any)["value"].(string); v == "" {
			t.Errorf("empty parameter value sent: %v", p)
		}
	}
}

// TestRedshiftFidelityBatchLimit: BatchExecuteStatement takes at most 40
// statements; a longer batch is refused before anything is sent (splitting
// would break its one transaction).
func TestRedshiftFidelityBatchLimit(t *testing.T) {
	f := enginetest.StartRedshift(t)
	f.Answer = func(string, map[string]string) (*enginetest.RedshiftResult, error) { return nil, nil }
	r := newRedshift(t, f, nil)
	sqls := make([]string, query.MaxBatchStatements+1)
	for i := range sqls {
		sqls[i] = fmt.Sprintf("INSERT INTO t VALUES (%d)", i)
	}
	if _, err := r.ExecBatch(context.Background(), sqls...); !errors.Is(err, query.ErrInvalid) {
		t.Fatalf("a batch of %d: err = %v, want ErrInvalid", len(sqls), err)
	}
	if n := len(f.Requests("BatchExecuteStatement")); n != 0 {
		t.Fatalf("%d BatchExecuteStatement calls for a refused batch", n)
	}
	if _, err := r.ExecBatch(context.Background(), sqls[:query.MaxBatchStatements]...); err != nil {
		t.Fatalf("a batch of %d: %v", query.MaxBatchStatements, err)
	}
}

// TestRedshiftFidelityMaxFileSize: UNLOAD's MAXFILESIZE must lie between
// 5 MB and 6.2 GB.
func TestRedshiftFidelityMaxFileSize(t *testing.T) {
	for _, c := range []struct {
		mb int
		ok bool
	}{{0, true}, {5, true}, {6200, true}, {4, false}, {1, false}, {-1, false}, {6201, false}, {100000, false}} {
		_, err := query.UnloadSQL("SELECT 1", "s3://b/o/", "default", &query.UnloadOptions{MaxFileSizeMB: c.mb})
		if c.ok && err != nil || !c.ok && !errors.Is(err, query.ErrInvalid) {
			t.Errorf("MaxFileSizeMB %d: err = %v", c.mb, err)
		}
	}
}

// s3Lake opens a lake on a gofakes3 server: s3://lake/root.
func s3Lake(t *testing.T) *lake.Lake {
	t.Helper()
	fs := testaws.StartFakeS3(t)
	st, err := s3store.OpenStore(context.Background(), fs.Config(t), "lake", "root", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

// TestRedshiftFidelityCopyTableManifest: CopyTable loads exactly the
// snapshot's files through a manifest, never the table's prefix, which
// also holds the commit log, the files an overwrite replaced and the files
// of writes that never committed (Redshift COPY loads every object under a
// prefix). A committed file still in the staging folder is loaded from
// there.
func TestRedshiftFidelityCopyTableManifest(t *testing.T) {
	ctx := context.Background()
	lk := s3Lake(t)
	ds, err := zones.NewDataset[enginetest.Order](lk, lake.Curated, enginetest.Database, enginetest.Table, nil)
	if err != nil {
		t.Fatal(err)
	}
	orders := enginetest.Orders()
	write := func(rows []enginetest.Order, mode zones.Mode) {
		t.Helper()
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write(orders, zones.Append)
	var eu []enginetest.Order
	for _, o := range orders {
		if o.Region == "eu" {
			o.Amount++
			eu = append(eu, o)
		}
	}
	write(eu, zones.OverwritePartitions) // the old eu files stay until Vacuum
	store := lk.MustZone(lake.Curated).Store()
	// a write that never committed left a file in a partition folder
	if err := store.PutBytes(ctx, "shop/orders/region=us/part-uncommitted-0.parquet", []byte("PAR1junkPAR1"), nil); err != nil {
		t.Fatal(err)
	}
	snap, err := ds.Table().Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// an appended file whose commit's move out of the staging folder is
	// still to come (its writer died after the commit point)
	var pending *zones.DataFile
	for i, df := range snap.Files {
		if df.Staged != "" {
			pending = &snap.Files[i]
			break
		}
	}
	if pending == nil {
		t.Fatal("no appended file records its staging key")
	}
	moveObject(t, store, pending.Key, pending.Staged)

	f := enginetest.StartRedshift(t)
	var manifests []map[string]int64
	var manifestKeys []string
	f.Answer = func(sql string, _ map[string]string) (*enginetest.RedshiftResult, error) {
		i := strings.Index(sql, " FROM '")
		if !strings.HasPrefix(sql, "COPY ") || i < 0 {
			return nil, fmt.Errorf("unexpected %s", sql)
		}
		u := sql[i+len(" FROM '"):]
		u = u[:strings.IndexByte(u, '\'')]
		key := strings.TrimPrefix(u, store.Location(""))
		manifestKeys = append(manifestKeys, key)
		b, err := store.ReadAll(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %v", u, err)
		}
		var m struct {
			Entries []struct {
				URL       string
				Mandatory bool
				Meta      struct {
					ContentLength int64 `json:"content_length"`
				}
			}
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		got := map[string]int64{}
		for _, e := range m.Entries {
			if !e.Mandatory {
				return nil, fmt.Errorf("entry %s not mandatory", e.URL)
			}
			got[e.URL] = e.Meta.ContentLength
		}
		manifests = append(manifests, got)
		return nil, nil
	}
	r := newRedshift(t, f, nil)
	role := "arn:aws:iam::123456789012:role/loader"
	if _, err := r.CopyTable(ctx, ds.Table(), "public.orders", role, nil); err != nil {
		t.Fatal(err)
	}
	euOnly := func(p lake.Partition) bool { v, _ := p.Get("region"); return v == "eu" }
	if _, err := r.CopyTable(ctx, ds.Table(), "public.orders_eu", role, &query.CopyTableOptions{Partitions: euOnly}); err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests("ExecuteStatement")
	if len(reqs) != 2 || len(manifests) != 2 {
		t.Fatalf("%d statements, %d manifests read; want one COPY per call", len(reqs), len(manifests))
	}
	sql := reqs[0].Body["Sql"].(string)
	wantPrefix := `COPY "public"."orders" FROM 's3://lake/root/curated/shop/orders/_lakekit/redshift-copy/`
	if !strings.HasPrefix(sql, wantPrefix) || !strings.HasSuffix(sql, `.manifest' IAM_ROLE '`+role+`' FORMAT AS PARQUET MANIFEST`) {
		t.Fatalf("COPY %s", sql)
	}
	for i, m := range manifests {
		want := map[string]int64{}
		for _, df := range snap.Files {
			if i == 1 && !euOnly(df.Partition) {
				continue
			}
			key, loc := df.Key, df.Location
			if df.Key == pending.Key {
				key, loc = df.Staged, store.Location(df.Staged)
			}
			a, err := store.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			want[loc] = a.Size
		}
		if !equalSizes(m, want) {
			t.Errorf("manifest %d lists %v\nwant the snapshot's files %v", i, keysOf(m), keysOf(want))
		}
	}
	for _, k := range manifestKeys {
		if ok, _ := store.Exists(ctx, k); ok {
			t.Errorf("manifest %s left behind", k)
		}
	}
}

// moveObject moves an object within a store.
func moveObject(t *testing.T, store *lake.Store, from, to string) {
	t.Helper()
	ctx := context.Background()
	b, err := store.ReadAll(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, to, b, nil); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, from); err != nil {
		t.Fatal(err)
	}
}

func equalSizes(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keysOf(m map[string]int64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRedshiftFidelityUnloadPartitions: UNLOAD ... PARTITION BY makes no
// catalog calls, so Unload registers the partitions it wrote (a NULL value
// as __HIVE_DEFAULT_PARTITION__, as UNLOAD names its folder); without them
// Athena and Spectrum read zero rows of a partitioned table.
func TestRedshiftFidelityUnloadPartitions(t *testing.T) {
	ctx := context.Background()
	f := enginetest.StartRedshift(t)
	var distinct string
	f.Answer = func(sql string, _ map[string]string) (*enginetest.RedshiftResult, error) {
		switch {
		case strings.HasPrefix(sql, "SELECT * FROM ("):
			return &enginetest.RedshiftResult{Columns: []enginetest.RedshiftColumn{
				{Name: "id", TypeName: "int8"}, {Name: "region", TypeName: "varchar"}, {Name: "dt", TypeName: "date"},
			}}, nil
		case strings.HasPrefix(sql, "UNLOAD ("):
			return nil, nil
		case strings.HasPrefix(sql, "SELECT DISTINCT "):
			distinct = sql
			s := func(v string) map[string]any { return map[string]any{"stringValue": v} }
			return &enginetest.RedshiftResult{
				Columns: []enginetest.RedshiftColumn{{Name: "region", TypeName: "varchar", Nullable: true}, {Name: "dt", TypeName: "varchar"}},
				Records: [][]map[string]any{{s("eu"), s("2024-01-01")}, {s("us"), s("2024-01-02")}, {{"isNull": true}, s("2024-01-01")}},
			}, nil
		}
		return nil, fmt.Errorf("unexpected %s", sql)
	}
	lk, err := lake.Open(ctx, "mem://redshift-unload-partitions", nil)
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
	q := `SELECT id, region, dt FROM sales`
	if _, err := newRedshift(t, f, nil).Unload(ctx, q, query.UnloadTarget{
		Location: "s3://lake/curated/wh/sales/", IAMRole: "arn:aws:iam::1:role/r",
		Catalog: cat, Database: "wh", Table: "sales", Options: &query.UnloadOptions{PartitionBy: []string{"region", "dt"}},
	}); err != nil {
		t.Fatal(err)
	}
	if want := `SELECT DISTINCT CAST("region" AS VARCHAR(MAX)) AS "region", CAST("dt" AS VARCHAR(MAX)) AS "dt" FROM (` + q + `) AS lakekit_unload`; distinct != want {
		t.Errorf("partition listing\n got %s\nwant %s", distinct, want)
	}
	got := map[string]string{}
	for p, err := range cat.Partitions(ctx, "wh", "sales", "") {
		if err != nil {
			t.Fatal(err)
		}
		got[strings.Join(p.Values, "/")] = p.Location
	}
	want := map[string]string{
		"eu/2024-01-01":                         "s3://lake/curated/wh/sales/region=eu/dt=2024-01-01/",
		"us/2024-01-02":                         "s3://lake/curated/wh/sales/region=us/dt=2024-01-02/",
		"__HIVE_DEFAULT_PARTITION__/2024-01-01": "s3://lake/curated/wh/sales/region=__HIVE_DEFAULT_PARTITION__/dt=2024-01-01/",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("registered partitions %v\nwant %v", got, want)
	}
}

// TestRedshiftFidelityNames: Redshift truncates identifiers over 127 bytes
// (also the column names of the external tables Spectrum reads), and has
// no tinyint external type; lakekit refuses both instead of letting
// Redshift read something else than what was declared.
func TestRedshiftFidelityNames(t *testing.T) {
	role := "arn:aws:iam::1:role/r"
	long := strings.Repeat("é", 64) // 128 bytes, 64 characters
	ok := strings.Repeat("a", query.MaxRedshiftNameBytes)
	for _, c := range []struct {
		name string
		f    func() (string, error)
		ok   bool
	}{
		{"copy column", func() (string, error) {
			return query.CopySQL("t", "s3://b/", role, &query.CopyOptions{Columns: []string{long}})
		}, false},
		{"copy table", func() (string, error) { return query.CopySQL("s."+long, "s3://b/", role, nil) }, false},
		{"copy 127 bytes", func() (string, error) {
			return query.CopySQL(ok+"."+ok, "s3://b/", role, &query.CopyOptions{Columns: []string{ok}})
		}, true},
		{"unload partition", func() (string, error) {
			return query.UnloadSQL("SELECT 1", "s3://b/", role, &query.UnloadOptions{PartitionBy: []string{long}})
		}, false},
		{"external schema", func() (string, error) { return query.ExternalSchemaSQL(long, "db", role, false) }, false},
	} {
		if _, err := c.f(); c.ok && err != nil || !c.ok && !errors.Is(err, query.ErrInvalid) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	tbl := func(cols ...catalog.Column) *catalog.Table {
		return &catalog.Table{Database: "wh", Name: "t", Schema: catalog.Schema{Columns: cols}}
	}
	for _, c := range []struct {
		t  *catalog.Table
		ok bool
	}{
		{tbl(catalog.Column{Name: "a", Type: "smallint"}, catalog.Column{Name: ok, Type: "array<struct<x:smallint>>"}), true},
		{tbl(catalog.Column{Name: "a", Type: "tinyint"}), false},
		{tbl(catalog.Column{Name: "a", Type: "map<string,array<tinyint>>"}), false},
		{tbl(catalog.Column{Name: "a", Type: "struct<" + strings.Repeat("f", 128) + ":int>"}), false},
		{tbl(catalog.Column{Name: long, Type: "int"}), false},
	} {
		if err := query.CheckSpectrumTable(c.t); c.ok && err != nil || !c.ok && !errors.Is(err, query.ErrInvalid) {
			t.Errorf("%v: err = %v", c.t.Schema.Columns, err)
		}
	}

	// Unload refuses before it writes anything
	f := enginetest.StartRedshift(t)
	f.Answer = func(string, map[string]string) (*enginetest.RedshiftResult, error) { return nil, nil }
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://redshift-unload-names", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newRedshift(t, f, nil).Unload(ctx, `SELECT flag FROM t`, query.UnloadTarget{
		Location: "s3://lake/curated/wh/t/", IAMRole: role, Catalog: cat, Database: "wh", Table: "t",
		Columns: []catalog.Column{{Name: "flag", Type: "tinyint"}},
	})
	if !errors.Is(err, query.ErrInvalid) || !strings.Contains(err.Error(), "smallint") {
		t.Fatalf("Unload of a tinyint column: err = %v", err)
	}
	if n := len(f.Requests("")); n != 0 {
		t.Fatalf("%d Data API calls for a refused Unload", n)
	}
}
