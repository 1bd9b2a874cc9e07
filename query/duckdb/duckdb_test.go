package duckdb_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/filestore"
	_ "github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

type event struct {
	ID     int64     `parquet:"id"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	At     time.Time `parquet:"at,timestamp(microsecond)"`
	Bucket int32     `parquet:"-" lakekit:"partition,name=bucket"`
}

func openLake(t testing.TB, url string) (*lake.Lake, *catalog.Local) {
	t.Helper()
	lk, err := lake.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return lk, cat
}

func fileLake(t testing.TB) (*lake.Lake, *catalog.Local) {
	return openLake(t, "file://"+t.TempDir())
}

func events(n, buckets int, base int64) []event {
	out := make([]event, n)
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		id := base + int64(i)
		out[i] = event{ID: id, User: fmt.Sprintf("u%03d", id%37), Amount: float64(id%1000) / 4,
			At: t0.Add(time.Duration(id) * time.Minute), Bucket: int32(id % int64(buckets))}
	}
	return out
}

func writeEvents(t testing.TB, lk *lake.Lake, cat catalog.Catalog, rows []event) *zones.Dataset[event] {
	t.Helper()
	ctx := context.Background()
	ds, err := zones.NewDataset[event](lk, lake.Curated, "shop", "events", &zones.Options[event]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return ds
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestSameRowsAsZones: the view returns exactly what zones' own reader
// returns, with the partition column typed from the catalog.
func TestSameRowsAsZones(t *testing.T) {
	for _, store := range []string{"file", "mem"} {
		t.Run(store, func(t *testing.T) {
			ctx := context.Background()
			var lk *lake.Lake
			var cat *catalog.Local
			if store == "file" {
				lk, cat = fileLake(t)
			} else {
				lk, cat = openLake(t, "mem://duckdb-same-rows-"+t.Name())
			}
			ds := writeEvents(t, lk, cat, events(500, 7, 0))
			want, err := ds.ReadAll(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			e, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			res, err := e.Query(ctx, `SELECT * FROM shop.events LIMIT 1`)
			if err != nil {
				t.Fatal(err)
			}
			res.Close()
			types := map[string]string{}
			for _, c := range res.Columns {
				types[c.Name] = c.DatabaseType
			}
			if types["bucket"] != "integer" || types["id"] != "bigint" {
				t.Fatalf("column types %v: want bucket integer (from the catalog), id bigint", types)
			}
			got, err := query.All[event](ctx, e, `SELECT id, "user", amount, "at", bucket FROM shop.events ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
			if len(got) != 500 {
				t.Fatalf("got %d rows, want 500", len(got))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("DuckDB rows differ from zones' (-zones +duckdb):\n%s", d)
			}
		})
	}
}

// TestOnePartitionOfHundred: a filter on one partition of 100 reads only
// that partition's files, also with the value bound as a parameter.
func TestOnePartitionOfHundred(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	writeEvents(t, lk, cat, events(2000, 100, 0))
	e, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Query(ctx, `SELECT count(*) FROM shop.events`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.All(); err != nil {
		t.Fatal(err)
	}
	if n := e.LastProfile().FilesRead(); n != 100 {
		t.Fatalf("full scan read %d files, want 100", n)
	}
	for _, q := range []struct {
		sql    string
		params []any
	}{
		{`SELECT count(*), sum(amount) FROM shop.events WHERE bucket = 42`, nil},
		{`SELECT count(*), sum(amount) FROM shop.events WHERE bucket = ?`, []any{42}},
	} {
		n, err := query.All[int64](ctx, e, strings.Replace(q.sql, ", sum(amount)", "", 1), q.params...)
		if err != nil {
			t.Fatal(err)
		}
		if n[0] != 20 {
			t.Fatalf("%s: %d rows, want 20", q.sql, n[0])
		}
		p := e.LastProfile()
		if got := p.FilesRead(); got != 1 {
			t.Fatalf("%s %v: read %d files, want 1 (profile %+v)", q.sql, q.params, got, p.Operators)
		}
		t.Logf("%s %v: 1 of 100 files read, %d bytes", q.sql, q.params, p.BytesRead)
	}
}

// TestSnapshotDuringAppend: while appends commit, queries see whole commits
// only (each commit adds 100 rows) until Refresh moves the views forward.
func TestSnapshotDuringAppend(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	ds := writeEvents(t, lk, cat, events(100, 5, 0))
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	v0, _ := e.Version("shop", "events")
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for c := 1; c <= 10; c++ {
			w, err := ds.NewWriter(ctx, nil)
			if err == nil {
				err = w.Write(ctx, events(100, 5, int64(c*100)))
			}
			if err == nil {
				_, err = w.Commit(ctx)
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	seen := map[int64]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := query.All[int64](ctx, e, `SELECT count(*) FROM shop.events`)
		if err != nil {
			t.Fatal(err)
		}
		n := counts[0]
		if n%100 != 0 {
			t.Fatalf("saw %d rows: a partial commit", n)
		}
		v, _ := e.Version("shop", "events")
		if want := 100 * (v - v0 + 1); n != want {
			t.Fatalf("version %d shows %d rows, want %d", v, n, want)
		}
		seen[n] = true
		if n == 1100 {
			break
		}
		select {
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("appends did not finish")
		}
		if err := e.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	t.Logf("row counts seen while appending: %d distinct", len(seen))
	// pinned: the first version still answers with its 100 rows
	if err := e.Pin(ctx, "shop", "events", v0); err != nil {
		t.Fatal(err)
	}
	counts, err := query.All[int64](ctx, e, `SELECT count(*) FROM shop.events`)
	if err != nil || counts[0] != 100 {
		t.Fatalf("pinned to version %d: %v rows, %v; want 100", v0, counts, err)
	}
}

// TestInjectionIsBound: a hostile value is bound, not spliced: it
// round-trips as data and the view still exists.
func TestInjectionIsBound(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	writeEvents(t, lk, cat, events(10, 2, 0))
	e, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	evil := "x'; DROP VIEW shop.events; --"
	got, err := query.All[string](ctx, e, `SELECT ? AS v`, evil)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != evil {
		t.Fatalf("round trip: %q", got[0])
	}
	n, err := query.All[int64](ctx, e, `SELECT count(*) FROM shop.events WHERE "user" = ?`, evil)
	if err != nil || n[0] != 0 {
		t.Fatalf("count = %v, %v", n, err)
	}
	n, err = query.All[int64](ctx, e, `SELECT count(*) FROM shop.events`)
	if err != nil || n[0] != 10 {
		t.Fatalf("after the hostile value the view answers %v, %v; want 10 rows", n, err)
	}
}

func TestReadOnlyAndNoNetwork(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lk, cat := openLake(t, "file://"+dir)
	writeEvents(t, lk, cat, events(10, 2, 0))
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, s := range []string{
		`CREATE TABLE t AS SELECT 1`,
		`COPY (SELECT 1) TO '` + dir + `/curated/x.csv'`,
		`SET enable_external_access = true`,
		`INSTALL httpfs`,
		`ATTACH ':memory:' AS other`,
	} {
		if _, err := e.Exec(ctx, s); !errors.Is(err, query.ErrReadOnly) {
			t.Errorf("%s: err = %v, want ErrReadOnly", s, err)
		}
	}
	for _, s := range []string{
		`SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')`,
		`SELECT * FROM read_text('/etc/hostname')`,
	} {
		if _, err := e.Query(ctx, s); !errors.Is(err, query.ErrQueryFailed) || !strings.Contains(err.Error(), "disabled by configuration") {
			t.Errorf("%s: err = %v, want a query.ErrQueryFailed permission error", s, err)
		}
	}
	if _, err := e.Query(ctx, `SELECT 1; SELECT 2`); err == nil {
		t.Error("two statements in one call ran")
	}
	// even a writable engine cannot turn the network back on
	w, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, s := range []string{`SET enable_external_access = true`, `SET autoinstall_known_extensions = true`} {
		if _, err := w.Exec(ctx, s); err == nil {
			t.Errorf("writable engine: %s succeeded", s)
		}
	}
}

type eventV2 struct {
	ID     int64     `parquet:"id"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	At     time.Time `parquet:"at,timestamp(microsecond)"`
	Note   *string   `parquet:"note,optional"`
	Bucket int32     `parquet:"-" lakekit:"partition,name=bucket"`
}

// TestEvolvedSchema: files written before a nullable column was added read
// as NULL in it (the view unions the files by column name).
func TestEvolvedSchema(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	writeEvents(t, lk, cat, events(10, 2, 0))
	ds, err := zones.NewDataset[eventV2](lk, lake.Curated, "shop", "events", &zones.Options[eventV2]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	note := "new"
	if err := w.Write(ctx, []eventV2{{ID: 100, User: "x", Note: &note, Bucket: 1, At: time.Unix(0, 0).UTC()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	type row struct {
		ID   int64
		Note *string
	}
	got, err := query.All[row](ctx, e, `SELECT id, note FROM shop.events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 || got[0].Note != nil || got[10].Note == nil || *got[10].Note != "new" {
		t.Fatalf("rows %+v", got)
	}
}

// TestStagedCacheReused: a lake that is not on the file store is staged
// into the cache once; a second engine reuses the copies (keyed by ETag).
func TestStagedCacheReused(t *testing.T) {
	ctx := context.Background()
	lk, cat := openLake(t, "mem://duckdb-stage-cache")
	ds := writeEvents(t, lk, cat, events(300, 3, 0))
	cache := t.TempDir()
	stat := func() map[string]time.Time {
		out := map[string]time.Time{}
		filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				info, _ := d.Info()
				out[p] = info.ModTime()
			}
			return nil
		})
		return out
	}
	e1, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	e1.Close()
	first := stat()
	if len(first) != 3 {
		t.Fatalf("%d staged files, want 3", len(first))
	}
	for p := range first {
		if !strings.Contains(p, "bucket=") {
			t.Fatalf("staged path %s lost its partition directory", p)
		}
	}
	time.Sleep(20 * time.Millisecond)
	e2, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if d := cmp.Diff(first, stat()); d != "" {
		t.Fatalf("second open re-staged files:\n%s", d)
	}
	w, _ := ds.NewWriter(ctx, nil)
	if err := w.Write(ctx, events(30, 3, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e2.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(stat()); n != 6 {
		t.Fatalf("%d staged files after an append, want 6", n)
	}
	c, err := query.All[int64](ctx, e2, `SELECT count(*) FROM shop.events`)
	if err != nil || c[0] != 330 {
		t.Fatalf("count %v, %v", c, err)
	}
}

// TestRefreshFollowsCatalog: a table dropped from the catalog loses its
// view; a cataloged table without commits gets none (and no error).
func TestRefreshFollowsCatalog(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	writeEvents(t, lk, cat, events(10, 2, 0))
	if err := cat.CreateTable(ctx, &catalog.Table{Database: "shop", Name: "empty", Format: "parquet",
		Location: lk.MustZone(lake.Curated).Store().Location("shop/empty/"),
		Schema:   catalog.Schema{Columns: []catalog.Column{{Name: "a", Type: "bigint"}}}}); err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, ok := e.Version("shop", "empty"); ok {
		t.Fatal("a table without commits got a view")
	}
	if err := cat.DeleteTable(ctx, "shop", "events"); err != nil {
		t.Fatal(err)
	}
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(ctx, `SELECT * FROM shop.events`); err == nil {
		t.Fatal("the view of a dropped table still answers")
	}
}

// TestReadsFilesAwaitingTheirMove: a committed file can still sit in its
// table's staging folder (the commit moves it after the commit point; a
// writer that died in between leaves the move to the next commit). The
// view reads it from there, and keeps reading once it has moved.
func TestReadsFilesAwaitingTheirMove(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	ds := writeEvents(t, lk, cat, events(100, 5, 0))
	snap, err := ds.Table().Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var df *zones.DataFile
	for i := range snap.Files {
		if snap.Files[i].Staged != "" {
			df = &snap.Files[i]
			break
		}
	}
	if df == nil {
		t.Fatal("no appended file records its staging key")
	}
	store := lk.MustZone(lake.Curated).Store()
	move := func(from, to string) {
		b, err := store.ReadAll(ctx, from)
		if err == nil {
			err = store.PutBytes(ctx, to, b, nil)
		}
		if err == nil {
			err = store.Delete(ctx, from)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	move(df.Key, df.Staged) // as if the commit's move were still to come
	e, err := duckdb.Open(ctx, lk, cat, &duckdb.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	count := func() int64 {
		t.Helper()
		n, err := query.All[int64](ctx, e, `SELECT count(*) FROM shop.events`)
		if err != nil {
			t.Fatal(err)
		}
		return n[0]
	}
	if n := count(); n != 100 {
		t.Fatalf("%d rows with a file awaiting its move, want 100", n)
	}
	move(df.Staged, df.Key) // the move happens
	if n := count(); n != 100 {
		t.Fatalf("%d rows after the move, want 100", n)
	}
}
