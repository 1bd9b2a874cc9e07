//go:build cgo

package zones_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// duckExec runs statements on a fresh in-memory DuckDB.
func duckExec(t *testing.T, stmts ...string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// duckEvents is a DuckDB SELECT of n events with ids from..from+n-1 in
// partitions b000..b(parts-1), in the event table's column names and types.
func duckEvents(from, n, parts int) string {
	return fmt.Sprintf(`SELECT i::BIGINT AS id, TIMESTAMP '2024-01-01' + to_microseconds(i) AS at, 'u' || i AS "user",
		(i * 0.5)::DOUBLE AS amount, 'click' AS kind, 'n' AS note, 'b' || lpad((i %% %d)::VARCHAR, 3, '0') AS bucket
		FROM range(%d, %d) t(i)`, parts, from, from+n)
}

// parquetFiles lists the *.parquet files below dir.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func fileURLs(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = "file://" + p
	}
	return out
}

func ids(t *testing.T, ds *zones.Dataset[event]) []int64 {
	t.Helper()
	rows, err := ds.ReadAll(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

func idRange(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i)
	}
	return out
}

// TestAdoptDuckDBFiles: files DuckDB wrote with COPY … PARTITION_BY outside
// the lake are copied into the table in one commit; a file DuckDB wrote
// into a new partition folder of the table is committed where it lies;
// lakekit's read and the Athena-style view equal the rows DuckDB wrote,
// and adopting the same files again is a Duplicate.
func TestAdoptDuckDBFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 100, 4), nil)

	out := filepath.Join(root, "duck")
	duckExec(t, fmt.Sprintf(`COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (bucket))`, duckEvents(1000, 300, 3), out))
	files := parquetFiles(t, out)
	if len(files) != 3 {
		t.Fatalf("DuckDB wrote %v", files)
	}
	res, err := ds.AddFiles(ctx, fileURLs(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 300 || len(res.Files) != 3 || res.Duplicate {
		t.Fatalf("adopt: %+v", res)
	}
	for _, f := range res.Files {
		if !strings.HasPrefix(f.Key, "sales/events/bucket=") || strings.Contains(f.Key, "data_") {
			t.Fatalf("a file outside the table is copied into its layout under a lakekit name, got %s", f.Key)
		}
		if len(f.Stats) == 0 {
			t.Fatalf("no statistics for %s", f.Key)
		}
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the source %s is gone: %v", f, err)
		}
	}
	want := append(idRange(0, 100), idRange(1000, 300)...)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after adopt: %d rows, want %d", len(got), len(want))
	}
	sameViews(t, "after adopting DuckDB files", cat, ds)

	again, err := ds.AddFiles(ctx, fileURLs(files), nil)
	if err != nil || !again.Duplicate || again.Version != res.Version {
		t.Fatalf("adopting the same files again: %+v %v, want the earlier version as a Duplicate", again, err)
	}

	// written straight into a new partition folder of the table
	inPlace := filepath.Join(root, "lake", "curated", "sales", "events", "bucket=b900", "data_0.parquet")
	os.MkdirAll(filepath.Dir(inPlace), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(5000, 50, 1), inPlace))
	res, err = ds.AddFiles(ctx, []string{"sales/events/bucket=b900/data_0.parquet"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Key != "sales/events/bucket=b900/data_0.parquet" {
		t.Fatalf("a file in its partition's folder is committed where it lies: %+v", res.Files)
	}
	want = append(want, idRange(5000, 50)...)
	slices.Sort(want)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read after in-place adopt: %d rows, want %d", len(got), len(want))
	}
	sameViews(t, "after adopting in place", cat, ds)
	if _, err := ds.AddFiles(ctx, []string{"sales/events/bucket=b900/data_0.parquet"}, &zones.AddFilesOptions{IdempotencyKey: "other"}); !errors.Is(err, zones.ErrInvalid) {
		t.Fatalf("adopting a file already in the table: %v, want ErrInvalid", err)
	}

	// an append after adoption works as for any table
	writeCommit(t, ds, makeEvents(9000, 40, 4), nil)
	sameViews(t, "append after adopt", cat, ds)
}

// TestAdoptRefusesWrongColumnType: a file whose column has another type is
// refused naming the file and the column; the table is unchanged.
func TestAdoptRefusesWrongColumnType(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	first := writeCommit(t, ds, makeEvents(0, 50, 2), nil)

	good := filepath.Join(root, "good", "bucket=b001", "g.parquet")
	bad := filepath.Join(root, "bad", "bucket=b001", "b.parquet")
	os.MkdirAll(filepath.Dir(good), 0o755)
	os.MkdirAll(filepath.Dir(bad), 0o755)
	duckExec(t,
		fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(100, 10, 1), good),
		fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) REPLACE (id::VARCHAR AS id) FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(200, 10, 1), bad))
	_, err := ds.AddFiles(ctx, fileURLs([]string{good, bad}), nil)
	if !errors.Is(err, zones.ErrSchema) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `"id"`) {
		t.Fatalf("wrong column type: %v, want ErrSchema naming %s and column id", err, bad)
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil || snap.Version != first.Version {
		t.Fatalf("the table changed: %+v %v", snap, err)
	}
	// NULLs in a column the table requires
	nulls := filepath.Join(root, "nulls", "bucket=b001", "n.parquet")
	os.MkdirAll(filepath.Dir(nulls), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) REPLACE (CASE WHEN id %% 2 = 0 THEN NULL ELSE "user" END AS "user") FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(300, 10, 1), nulls))
	if _, err := ds.AddFiles(ctx, fileURLs([]string{nulls}), nil); !errors.Is(err, zones.ErrSchema) || !strings.Contains(err.Error(), `"user"`) {
		t.Fatalf("NULLs in a required column: %v, want ErrSchema naming user", err)
	}
	// a column the table does not have
	extra := filepath.Join(root, "extra", "bucket=b001", "e.parquet")
	os.MkdirAll(filepath.Dir(extra), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (SELECT *, 1 AS surprise FROM (SELECT * EXCLUDE (bucket) FROM (%s))) TO '%s' (FORMAT PARQUET)`, duckEvents(400, 10, 1), extra))
	if _, err := ds.AddFiles(ctx, fileURLs([]string{extra}), nil); !errors.Is(err, zones.ErrSchema) || !strings.Contains(err.Error(), "surprise") {
		t.Fatalf("extra column: %v, want ErrSchema naming surprise", err)
	}
	// no partition values anywhere
	flat := filepath.Join(root, "flat", "f.parquet")
	os.MkdirAll(filepath.Dir(flat), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(500, 10, 1), flat))
	if _, err := ds.AddFiles(ctx, fileURLs([]string{flat}), nil); !errors.Is(err, zones.ErrInvalid) {
		t.Fatalf("no partition values: %v, want ErrInvalid", err)
	}
	if res, err := ds.AddFiles(ctx, fileURLs([]string{flat}), &zones.AddFilesOptions{Partition: lake.Partition{{Key: "bucket", Value: "b777"}}}); err != nil || res.Partitions[0].HivePath() != "bucket=b777" {
		t.Fatalf("partition from the options: %+v %v", res, err)
	}
	if snap, _ := ds.Snapshot(ctx, 0); snap.Version != first.Version+1 {
		t.Fatalf("refused adoptions committed something: version %d", snap.Version)
	}
	sameViews(t, "after refusals", cat, ds)
}

// eventFile is the event row as a file stores it (no partition column).
type eventFile struct {
	ID     int64     `parquet:"id"`
	At     time.Time `parquet:"at,timestamp(microsecond)"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	Kind   string    `parquet:"kind"`
	Note   string    `parquet:"note"`
}

func writeParquetGo(t *testing.T, p string, rows []event, opts ...parquet.WriterOption) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[eventFile](f, opts...)
	for _, r := range rows {
		if _, err := w.Write([]eventFile{{r.ID, r.At, r.User, r.Amount, r.Kind, r.Note}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestAdoptParquetGoSettings: files written by parquet-go with other
// settings than lakekit's (no dictionary, snappy, data page v2) are
// adopted and read back exactly; legacy INT96 timestamps are refused
// naming the column.
func TestAdoptParquetGoSettings(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	var paths []string
	var want []int64
	for i, opts := range [][]parquet.WriterOption{
		{parquet.Compression(&parquet.Snappy)},
		{parquet.DataPageVersion(2), parquet.Compression(&parquet.Zstd)},
		{parquet.DataPageVersion(1), parquet.Compression(&parquet.Uncompressed), parquet.PageBufferSize(1024)},
	} {
		rows := makeEvents(int64(i*1000), 200, 1)
		p := filepath.Join(root, "pq", fmt.Sprintf("bucket=p%d", i), "f.parquet")
		writeParquetGo(t, p, rows, opts...)
		paths = append(paths, p)
		for _, r := range rows {
			want = append(want, r.ID)
		}
	}
	if _, err := ds.AddFiles(ctx, fileURLs(paths), nil); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if got := ids(t, ds); !slices.Equal(got, want) {
		t.Fatalf("read: %d rows, want %d", len(got), len(want))
	}
	rows, err := ds.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]event{}
	for _, r := range makeEvents(0, 200, 1) {
		byID[r.ID] = r
	}
	for _, r := range rows {
		if w, ok := byID[r.ID]; ok && (!w.At.Equal(r.At) || w.User != r.User || w.Amount != r.Amount || w.Note != r.Note) {
			t.Fatalf("row %d read back as %+v, written %+v", r.ID, r, w)
		}
	}
	sameViews(t, "parquet-go files", cat, ds)

	type legacy struct {
		ID     int64            `parquet:"id"`
		At     deprecated.Int96 `parquet:"at"`
		User   string           `parquet:"user"`
		Amount float64          `parquet:"amount"`
		Kind   string           `parquet:"kind"`
		Note   string           `parquet:"note"`
	}
	p := filepath.Join(root, "int96", "bucket=x", "f.parquet")
	os.MkdirAll(filepath.Dir(p), 0o755)
	f, _ := os.Create(p)
	w := parquet.NewGenericWriter[legacy](f)
	w.Write([]legacy{{ID: 1, At: deprecated.Int64ToInt96(5)}})
	w.Close()
	f.Close()
	if _, err := ds.AddFiles(ctx, fileURLs([]string{p}), nil); !errors.Is(err, zones.ErrSchema) || !strings.Contains(err.Error(), "INT96") || !strings.Contains(err.Error(), `"at"`) {
		t.Fatalf("INT96 timestamps: %v, want ErrSchema naming at", err)
	}
}

// TestVacuumKeepsForeignFiles: objects lakekit did not write (another
// engine's Parquet file in a live partition folder, a _SUCCESS marker)
// are never deleted by Vacuum, however old, and are listed; an orphan a
// lakekit writer left is still deleted.
func TestVacuumKeepsForeignFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 100, 2), nil)
	w := writeOnly(t, newEvents(t, lk, &zones.Options[event]{Catalog: cat, MaxRowsPerFile: 10}), makeEvents(500, 50, 1), nil)
	_ = w // never committed: its uploads are lakekit's orphans

	table := filepath.Join(root, "lake", "curated", "sales", "events")
	foreign := filepath.Join(table, "bucket=b000", "athena-output-0001.parquet")
	duckExec(t, fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(7000, 5, 1), foreign))
	marker := filepath.Join(table, "_SUCCESS")
	os.WriteFile(marker, nil, 0o644)
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, p := range append(parquetFiles(t, table), marker) {
		os.Chtimes(p, old, old)
	}
	res, err := ds.Vacuum(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{foreign, marker} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("vacuum deleted the foreign object %s", p)
		}
	}
	slices.Sort(res.Foreign)
	if !slices.Equal(res.Foreign, []string{"sales/events/_SUCCESS", "sales/events/bucket=b000/athena-output-0001.parquet"}) {
		t.Fatalf("VacuumResult.Foreign = %v", res.Foreign)
	}
	if len(res.Deleted) == 0 {
		t.Fatalf("the dead writer's orphans were not deleted: %+v", res)
	}
	for _, k := range res.Deleted {
		if !strings.Contains(k, "/_lakekit/staging/") {
			t.Fatalf("vacuum deleted %s, not an orphan of lakekit's", k)
		}
	}
	// adopting the foreign file makes it lakekit's: the views agree again
	if _, err := ds.AddFiles(ctx, []string{"sales/events/bucket=b000/athena-output-0001.parquet"}, nil); err != nil {
		t.Fatal(err)
	}
	sameViews(t, "foreign file adopted", cat, ds)
}

// TestAdoptOutcomes: the external view equals lakekit's read after each
// outcome of an adoption — a catalog failure after the commit (one whole
// earlier version until the next commit), two adoptions of one in-place
// file at once under different keys (one commits, the other is a
// conflict), and two of the same files with the default key (one commits,
// the other is a Duplicate).
func TestAdoptOutcomes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 60, 3), nil)

	out := filepath.Join(root, "duck")
	duckExec(t, fmt.Sprintf(`COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (bucket))`, duckEvents(1000, 90, 3), out))
	before := externalView(t, cat, "sales", "events")
	cat.armAfter("GetTable", 1, 40) // the check before the commit passes, the publish fails
	res, err := ds.AddFiles(ctx, fileURLs(parquetFiles(t, out)), nil)
	if res == nil || !errors.Is(err, zones.ErrCatalog) {
		t.Fatalf("catalog failure after the commit: %+v %v, want a result and ErrCatalog", res, err)
	}
	if ext := externalView(t, cat.Catalog, "sales", "events"); ext != before {
		t.Fatalf("after ErrCatalog the external view %+v is not the earlier version %+v", ext, before)
	}
	cat.arm("GetTable", 0)
	writeCommit(t, ds, makeEvents(2000, 10, 3), nil)
	sameViews(t, "next commit after ErrCatalog", cat, ds)

	// one in-place file, two adoptions at once under different keys
	p := filepath.Join(root, "lake", "curated", "sales", "events", "bucket=b500", "x.parquet")
	os.MkdirAll(filepath.Dir(p), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (SELECT * EXCLUDE (bucket) FROM (%s)) TO '%s' (FORMAT PARQUET)`, duckEvents(3000, 20, 1), p))
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := ds.AddFiles(ctx, []string{"sales/events/bucket=b500/x.parquet"}, &zones.AddFilesOptions{IdempotencyKey: fmt.Sprint("k", i)})
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	ok, conflict := 0, 0
	for _, e := range []error{e1, e2} {
		switch {
		case e == nil:
			ok++
		case errors.Is(e, zones.ErrConflict), errors.Is(e, zones.ErrInvalid):
			conflict++
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("two adoptions of one file: %v / %v, want one commit and one refusal", e1, e2)
	}
	sameViews(t, "one file adopted twice at once", cat, ds)

	// the same files twice at once, default key: one commit, one Duplicate
	out2 := filepath.Join(root, "duck2")
	duckExec(t, fmt.Sprintf(`COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (bucket))`, duckEvents(4000, 30, 2), out2))
	results := make(chan *zones.CommitResult, 2)
	for range 2 {
		go func() {
			r, err := ds.AddFiles(ctx, fileURLs(parquetFiles(t, out2)), nil)
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	r1, r2 := <-results, <-results
	if r1 == nil || r2 == nil || r1.Duplicate == r2.Duplicate || r1.Version != r2.Version {
		t.Fatalf("same files at once: %+v / %+v, want one commit and one Duplicate of it", r1, r2)
	}
	sameViews(t, "same files adopted twice at once", cat, ds)
}

// TestAdoptUnpartitioned: an unpartitioned table adopts files from any
// folder (key=value folders in the path are not partitions there), and an
// overwrite by adoption replaces the table.
func TestAdoptUnpartitioned(t *testing.T) {
	ctx := context.Background()
	type item struct {
		ID   int64  `parquet:"id"`
		Name string `parquet:"name"`
	}
	root := t.TempDir()
	lk := fileLake(t, filepath.Join(root, "lake"))
	cat := localCatalog(t, lk)
	ds, err := zones.NewDataset[item](lk, lake.Curated, "shop", "items", &zones.Options[item]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(root, "in", "dt=1", "a.parquet")
	b := filepath.Join(root, "in", "b.parquet")
	os.MkdirAll(filepath.Dir(a), 0o755)
	duckExec(t,
		fmt.Sprintf(`COPY (SELECT i::BIGINT AS id, 'n' || i AS name FROM range(0, 10) t(i)) TO '%s' (FORMAT PARQUET)`, a),
		fmt.Sprintf(`COPY (SELECT i::BIGINT AS id, 'n' || i AS name FROM range(10, 15) t(i)) TO '%s' (FORMAT PARQUET)`, b))
	if _, err := ds.AddFiles(ctx, fileURLs([]string{a}), nil); err != nil {
		t.Fatal(err)
	}
	res, err := ds.AddFiles(ctx, fileURLs([]string{b}), &zones.AddFilesOptions{Mode: zones.Overwrite})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ds.ReadAll(ctx, nil)
	if err != nil || len(rows) != 5 || res.Rows != 5 || len(res.Removed) != 1 {
		t.Fatalf("after an overwrite by adoption: %d rows (%v), result %+v", len(rows), err, res)
	}
}
