//go:build cgo

package zones_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

// view is what an engine sees of a table: rows and the sum of their ids.
type view struct {
	Rows  int64
	IDSum int64
}

// externalView reads a table on a file lake the way Athena does: the
// catalog's table location (unpartitioned) or each partition's location,
// every *.parquet object below it with no folder or name starting with "_"
// or "." between the location and the object (Hive's hidden-file rule),
// counted by DuckDB.
func externalView(t *testing.T, cat catalog.Catalog, db, table string) view {
	t.Helper()
	ctx := context.Background()
	ct, err := cat.GetTable(ctx, db, table)
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchDatabase) {
		return view{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var locs []string
	if len(ct.Schema.PartitionKeys) == 0 {
		locs = append(locs, ct.Location)
	} else {
		for p, err := range cat.Partitions(ctx, db, table, "") {
			if err != nil {
				t.Fatal(err)
			}
			locs = append(locs, p.Location)
		}
	}
	var files []string
	for _, loc := range locs {
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "file" {
			t.Fatalf("location %q is not a file URL", loc)
		}
		root := filepath.FromSlash(u.Path)
		matches, _ := filepath.Glob(filepath.Join(root, "*.parquet"))
		files = append(files, matches...)
		// below: recursive, skipping hidden folders
		var walk func(dir string)
		walk = func(dir string) {
			entries, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, e := range entries {
				base := filepath.Base(e)
				if strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
					continue
				}
				if strings.HasSuffix(base, ".parquet") {
					if dir != root {
						files = append(files, e)
					}
					continue
				}
				walk(e)
			}
		}
		walk(root)
	}
	if len(files) == 0 {
		return view{}
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + f + "'"
	}
	db0, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db0.Close()
	var v view
	q := fmt.Sprintf("SELECT count(*), coalesce(sum(id), 0) FROM read_parquet([%s])", strings.Join(quoted, ","))
	if err := db0.QueryRow(q).Scan(&v.Rows, &v.IDSum); err != nil {
		t.Fatal(err)
	}
	return v
}

// lakekitView is lakekit's own read of the newest version.
func lakekitView(t *testing.T, ds *zones.Dataset[event]) view {
	t.Helper()
	rows, err := ds.ReadAll(context.Background(), nil)
	if errors.Is(err, zones.ErrNoSuchTable) {
		return view{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var v view
	for _, r := range rows {
		v.Rows++
		v.IDSum += r.ID
	}
	return v
}

func sameViews(t *testing.T, what string, cat catalog.Catalog, ds *zones.Dataset[event]) {
	t.Helper()
	ext, own := externalView(t, cat, "sales", "events"), lakekitView(t, ds)
	if ext != own {
		t.Fatalf("%s: Athena-style view %+v, lakekit %+v", what, ext, own)
	}
}

func localCatalog(t *testing.T, lk *lake.Lake) *failingCatalog {
	t.Helper()
	local, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return &failingCatalog{Catalog: local}
}

// TestExternalViewAfterEveryOutcome writes through every outcome a commit
// can have and checks after each that what Athena reads through the
// catalog's locations is exactly lakekit's newest version.
func TestExternalViewAfterEveryOutcome(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 300, 3), nil)
	sameViews(t, "first commit", cat, ds)

	// an append in flight: its files are uploaded (flushed by
	// MaxRowsPerFile) but not committed — invisible
	small := newEvents(t, lk, &zones.Options[event]{Catalog: cat, MaxRowsPerFile: 50})
	w := writeOnly(t, small, makeEvents(300, 300, 3), nil)
	sameViews(t, "append in flight", cat, ds)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	sameViews(t, "append committed", cat, ds)

	// refused by the schema (int64 id → string id): refused before upload
	type badID struct {
		ID     string `parquet:"id"`
		Bucket string `parquet:"bucket" lakekit:"partition"`
	}
	bad, err := zones.NewDataset[badID](lk, lake.Curated, "sales", "events", &zones.Options[badID]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.NewWriter(ctx, nil); !errors.Is(err, zones.ErrSchema) {
		t.Fatalf("schema change: %v, want ErrSchema", err)
	}
	sameViews(t, "schema refusal", cat, ds)

	// the catalog fails before the log write: nothing committed, nothing left
	cat.arm("GetTable", 1)
	if _, err := ds.NewWriter(ctx, nil); err == nil {
		t.Fatal("catalog failure before the write: no error")
	}
	sameViews(t, "catalog failure before the log write", cat, ds)

	// conflicting overwrites: the loser leaves nothing visible
	w1 := writeOnly(t, ds, makeEvents(1000, 30, 1), &zones.WriterOptions{Mode: zones.OverwritePartitions})
	w2 := writeOnly(t, ds, makeEvents(2000, 30, 1), &zones.WriterOptions{Mode: zones.OverwritePartitions})
	if _, err := w1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("second overwrite: %v, want ErrConflict", err)
	}
	sameViews(t, "conflict", cat, ds)

	// cancelled before the commit
	cctx, cancel := context.WithCancel(ctx)
	w3 := writeOnly(t, small, makeEvents(3000, 200, 3), nil)
	cancel()
	if _, err := w3.Commit(cctx); err == nil {
		t.Fatal("commit with a cancelled context succeeded")
	}
	sameViews(t, "cancelled", cat, ds)

	// the catalog fails after the log write: ErrCatalog; the external view
	// is one whole earlier version, and the newest after the next commit
	before := externalView(t, cat, "sales", "events")
	cat.arm("UpdatePartitionLocations", 1)
	if _, err := writeOnly(t, ds, makeEvents(4000, 20, 1), &zones.WriterOptions{Mode: zones.OverwritePartitions}).Commit(ctx); !errors.Is(err, zones.ErrCatalog) {
		t.Fatalf("catalog failure after the log write: %v, want ErrCatalog", err)
	}
	if ext := externalView(t, cat, "sales", "events"); ext != before {
		t.Fatalf("after ErrCatalog the external view %+v is not the earlier version %+v", ext, before)
	}
	writeCommit(t, ds, makeEvents(5000, 10, 3), nil)
	sameViews(t, "next commit after ErrCatalog", cat, ds)
}

// TestCatalogCrashRepairedByNextCommit: a commit stopped at a catalog call
// (new partition not added; moved partition not repointed) leaves the
// catalog behind; the next commit of another key into another partition
// brings it to the newest version, and Vacuum never deletes files the
// catalog still points at.
func TestCatalogCrashRepairedByNextCommit(t *testing.T) {
	ctx := context.Background()
	for _, call := range []string{"AddPartitions", "UpdatePartitionLocations", "UpdateTable", "GetTable"} {
		t.Run(call, func(t *testing.T) {
			lk := fileLake(t, "")
			cat := localCatalog(t, lk)
			ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
			writeCommit(t, ds, makeEvents(0, 1000, 1), nil) // bucket b000
			mode := zones.Append
			rows := makeEvents(1000, 1000, 2)[500:] // b001 rows: a new partition
			if call == "UpdatePartitionLocations" {
				mode, rows = zones.OverwritePartitions, makeEvents(2000, 700, 1) // b000 replaced
			}
			w := writeOnly(t, ds, rows, &zones.WriterOptions{Mode: mode}) // its catalog check passes
			cat.arm(call, 1)
			_, err := w.Commit(ctx)
			if !errors.Is(err, zones.ErrCatalog) {
				t.Fatalf("commit killed at %s: %v, want ErrCatalog", call, err)
			}
			// Vacuum now: it brings the catalog forward before deleting
			if _, err := ds.Vacuum(ctx, 0); err != nil {
				t.Fatal(err)
			}
			sameViews(t, "after vacuum", cat, ds)
			// and a later commit of another key repairs it too
			w = writeOnly(t, ds, makeEvents(9000, 5, 1), &zones.WriterOptions{Mode: mode})
			cat.arm(call, 1)
			// (an append into an existing partition may make no such call)
			if _, err := w.Commit(ctx); err != nil && !errors.Is(err, zones.ErrCatalog) {
				t.Fatalf("second commit killed at %s: %v, want ErrCatalog or success", call, err)
			}
			cat.arm(call, 0)
			writeCommit(t, ds, makeEvents(10000, 30, 3)[20:], nil) // b002 only
			sameViews(t, "after the next commit", cat, ds)
		})
	}
}

// TestCatalogCrashNotReportedUnderConcurrentSync: five writers commit at once into one
// cataloged table; no commit reports a catalog error, and the catalog
// ends at the newest version.
func TestCatalogCrashNotReportedUnderConcurrentSync(t *testing.T) {
	t.Run("file+local", func(t *testing.T) {
		lk := fileLake(t, "")
		cat := localCatalog(t, lk)
		concurrentSync(t, lk, cat, 5, 12)
		ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
		sameViews(t, "after 60 concurrent commits", cat, ds)
	})
	t.Run("s3+glue on moto", func(t *testing.T) {
		m := testaws.StartMoto(t)
		cfg := m.Config(t)
		if _, err := s3.NewFromConfig(cfg).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
			t.Fatal(err)
		}
		st, err := s3store.OpenStore(context.Background(), cfg, "lake", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		lk, err := lake.New(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		cat, err := catalog.NewGlue(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		concurrentSync(t, lk, cat, 4, 5)
		// every catalog partition points at the newest snapshot's location
		ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
		snap, err := ds.Snapshot(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		got := partitionsOf(t, cat)
		zs := lk.MustZone(lake.Curated).Store()
		for path, prefix := range snap.Locations {
			v := strings.TrimPrefix(path, "bucket=")
			if got[v] != zs.Location(prefix+"/") {
				t.Errorf("partition %s: catalog %q, snapshot %q", v, got[v], zs.Location(prefix+"/"))
			}
		}
		if len(got) != len(snap.Locations) {
			t.Errorf("catalog has %d partitions, snapshot %d", len(got), len(snap.Locations))
		}
	})
}

// concurrentSync runs writers × commits appends at once into one cataloged
// table; no commit may report a catalog error, and the catalog must end at
// the newest version.
func concurrentSync(t *testing.T, lk *lake.Lake, cat catalog.Catalog, writers, commits int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds, err := zones.NewDataset[event](lk, lake.Curated, "sales", "events", &zones.Options[event]{Catalog: cat, InMemoryBuffers: true})
			if err != nil {
				errs <- err
				return
			}
			for i := range commits {
				w, err := ds.NewWriter(ctx, nil)
				if err == nil {
					err = w.Write(ctx, makeEvents(int64(g*1000+i*10), 10, 8))
				}
				if err == nil {
					_, err = w.Commit(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d commit %d: %w", g, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// the recorded version may lag by a few appends into existing
	// partitions (they change nothing in the catalog), never lead
	ct, _ := cat.GetTable(ctx, "sales", "events")
	rec, err := strconv.Atoi(ct.Parameters[zones.CatalogVersionParam])
	if n := writers * commits; err != nil || rec > n || rec < n-8 {
		t.Fatalf("catalog records version %q, want at most %d and at least %d", ct.Parameters[zones.CatalogVersionParam], n, n-8)
	}
}

// TestOverwritePartitionsOfUnpartitionedTableReplacesIt: with no partition
// keys, "the partitions the rows touch" is the whole table.
func TestOverwritePartitionsOfUnpartitionedTableReplacesIt(t *testing.T) {
	type flat struct {
		ID   int64  `parquet:"id"`
		Name string `parquet:"name"`
	}
	ctx := context.Background()
	lk := fileLake(t, "")
	ds, err := zones.NewDataset[flat](lk, lake.Curated, "sales", "flat", nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := []flat{{1, "a"}, {2, "b"}, {3, "c"}}
	for range 2 {
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions})
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
	got, err := ds.ReadAll(ctx, nil)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d rows after two OverwritePartitions of 3 rows, want 3 (%v)", len(got), err)
	}
}

// TestCatalogTableElsewhereRefused: a catalog table of the same name that
// lives somewhere else is not taken over without AdoptCatalogTable.
func TestCatalogTableElsewhereRefused(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	cat := localCatalog(t, lk)
	if err := cat.CreateDatabase(ctx, catalog.Database{Name: "sales"}); err != nil {
		t.Fatal(err)
	}
	other := "file:///elsewhere/other/events/"
	if err := cat.CreateTable(ctx, &catalog.Table{Database: "sales", Name: "events", Location: other, Format: "parquet",
		Schema: catalog.Schema{Columns: []catalog.Column{{Name: "id", Type: "bigint"}}}}); err != nil {
		t.Fatal(err)
	}
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	_, err := ds.NewWriter(ctx, nil)
	if !errors.Is(err, lake.ErrExists) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), ds.Table().Location()) {
		t.Fatalf("commit into a table located elsewhere: %v, want ErrExists naming both locations", err)
	}
	ct, _ := cat.GetTable(ctx, "sales", "events")
	if ct.Location != other {
		t.Fatalf("the table was repointed to %s", ct.Location)
	}
	adopt := newEvents(t, lk, &zones.Options[event]{Catalog: cat, AdoptCatalogTable: true})
	if _, err := adopt.NewWriter(ctx, &zones.WriterOptions{Mode: zones.Overwrite, ReplaceSchema: true}); err != nil {
		t.Fatalf("with AdoptCatalogTable: %v", err)
	}
}

// TestReplaceSchemaOnOverwrite: a full overwrite with ReplaceSchema drops,
// retypes and re-keys the table; the catalog and what Athena reads follow;
// time travel still reads the old rows with the old schema; other modes
// keep refusing the change.
func TestReplaceSchemaOnOverwrite(t *testing.T) {
	type v1 struct {
		C0 string `parquet:"c0"`
		C2 string `parquet:"c2" lakekit:"partition"`
	}
	type v2 struct {
		C1 int16  `parquet:"c1"`
		C2 string `parquet:"c2" lakekit:"partition"`
	}
	type v3 struct {
		X  int64  `parquet:"x"`
		C1 int16  `parquet:"c1" lakekit:"partition"`
		C2 string `parquet:"c2" lakekit:"partition"`
	}
	ctx := context.Background()
	lk := fileLake(t, "")
	cat := localCatalog(t, lk)
	d1, _ := zones.NewDataset[v1](lk, lake.Curated, "sales", "t", &zones.Options[v1]{Catalog: cat})
	w1, _ := d1.NewWriter(ctx, nil)
	w1.Write(ctx, []v1{{"a", "p"}, {"b", "q"}})
	if _, err := w1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	d2, err := zones.NewDataset[v2](lk, lake.Curated, "sales", "t", &zones.Options[v2]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []zones.Mode{zones.Append, zones.OverwritePartitions} {
		if _, err := d2.NewWriter(ctx, &zones.WriterOptions{Mode: m}); !errors.Is(err, zones.ErrSchema) {
			t.Fatalf("%s with a dropped column: %v, want ErrSchema", m, err)
		}
		if _, err := d2.NewWriter(ctx, &zones.WriterOptions{Mode: m, ReplaceSchema: true}); !errors.Is(err, zones.ErrInvalid) {
			t.Fatalf("%s with ReplaceSchema: %v, want ErrInvalid", m, err)
		}
	}
	w2, err := d2.NewWriter(ctx, &zones.WriterOptions{Mode: zones.Overwrite, ReplaceSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	w2.Write(ctx, []v2{{7, "p"}})
	if _, err := w2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ct, _ := cat.GetTable(ctx, "sales", "t")
	if len(ct.Schema.Columns) != 1 || ct.Schema.Columns[0].Name != "c1" || ct.Schema.Columns[0].Type != "smallint" || ct.Schema.Version != 2 {
		t.Fatalf("catalog after replacement: v%d %+v", ct.Schema.Version, ct.Schema.Columns)
	}
	got, err := d2.ReadAll(ctx, nil)
	if err != nil || len(got) != 1 || got[0].C1 != 7 {
		t.Fatalf("read after replacement: %+v %v", got, err)
	}
	old, err := d1.ReadAll(ctx, &zones.ReadOptions{Version: 1})
	if err != nil || len(old) != 2 {
		t.Fatalf("time travel to version 1: %+v %v", old, err)
	}
	// the partition keys change: [c2] → [c1, c2]; the old partitions go
	d3, err := zones.NewDataset[v3](lk, lake.Curated, "sales", "t", &zones.Options[v3]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	w3, err := d3.NewWriter(ctx, &zones.WriterOptions{Mode: zones.Overwrite, ReplaceSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	w3.Write(ctx, []v3{{1, 5, "r"}, {2, 6, "r"}})
	if _, err := w3.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ct, _ = cat.GetTable(ctx, "sales", "t")
	if len(ct.Schema.PartitionKeys) != 2 || ct.Schema.PartitionKeys[0].Name != "c1" {
		t.Fatalf("catalog keys after replacement: %+v", ct.Schema.PartitionKeys)
	}
	var parts []string
	for p, err := range cat.Partitions(ctx, "sales", "t", "") {
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, strings.Join(p.Values, "/"))
	}
	if strings.Join(parts, ",") != "5/r,6/r" {
		t.Fatalf("catalog partitions after re-keying: %v", parts)
	}
	if got, err := d3.ReadAll(ctx, nil); err != nil || len(got) != 2 {
		t.Fatalf("read after re-keying: %+v %v", got, err)
	}
	if old, err := d1.ReadAll(ctx, &zones.ReadOptions{Version: 1}); err != nil || len(old) != 2 {
		t.Fatalf("time travel to version 1 after re-keying: %+v %v", old, err)
	}
}

// TestProjectionSeesExactlyTheCommittedFiles: with Athena partition
// projection, partitions are not read from the catalog but computed from
// storage.location.template; resolving it for every committed partition
// and reading what a Hive reader reads there gives lakekit's rows, and the
// writes the template cannot follow are refused up front.
func TestProjectionSeesExactlyTheCommittedFiles(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 300, 3), nil)
	ct, err := cat.GetTable(ctx, "sales", "events")
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.ApplyProjection(ct, &catalog.Projection{Keys: map[string]catalog.KeyProjection{
		"bucket": {Type: catalog.ProjectEnum, Values: []string{"b000", "b001", "b002", "b003"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := cat.UpdateTable(ctx, ct, nil); err != nil {
		t.Fatal(err)
	}
	projected := func() view {
		ct, _ := cat.GetTable(ctx, "sales", "events")
		tmpl := ct.Parameters["storage.location.template"]
		var files []string
		for _, v := range strings.Split(ct.Parameters["projection.bucket.values"], ",") {
			u, _ := url.Parse(strings.ReplaceAll(tmpl, "${bucket}", v))
			m, _ := filepath.Glob(filepath.Join(filepath.FromSlash(u.Path), "*.parquet"))
			files = append(files, m...)
		}
		if len(files) == 0 {
			return view{}
		}
		db, _ := sql.Open("duckdb", "")
		defer db.Close()
		var v view
		if err := db.QueryRow("SELECT count(*), sum(id) FROM read_parquet(['"+strings.Join(files, "','")+"'])").Scan(&v.Rows, &v.IDSum); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got, want := projected(), lakekitView(t, ds); got != want {
		t.Fatalf("projected view %+v, lakekit %+v", got, want)
	}
	// an append in flight is invisible; committed, it is seen
	w := writeOnly(t, newEvents(t, lk, &zones.Options[event]{Catalog: cat, MaxRowsPerFile: 20}), makeEvents(300, 200, 4), nil)
	if got, want := projected(), lakekitView(t, ds); got != want {
		t.Fatalf("append in flight: projected view %+v, lakekit %+v", got, want)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := projected(), lakekitView(t, ds); got != want || got.Rows != 500 {
		t.Fatalf("after the append: projected view %+v, lakekit %+v", got, want)
	}
	for _, m := range []zones.Mode{zones.Overwrite, zones.OverwritePartitions} {
		if _, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: m}); !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), "projection") {
			t.Fatalf("%s on a projected table: %v, want ErrInvalid naming projection", m, err)
		}
	}
}

// TestNullPartitionValue: a nil pointer partition field is filed under
// key=__HIVE_DEFAULT_PARTITION__ (what Hive, Glue and Athena read as NULL)
// and reads back as nil; the literal string as a value is refused.
func TestNullPartitionValue(t *testing.T) {
	type sale struct {
		ID     int64   `parquet:"id"`
		Region *string `parquet:"region" lakekit:"partition"`
	}
	ctx := context.Background()
	dir := t.TempDir()
	lk := fileLake(t, dir)
	cat := localCatalog(t, lk)
	ds, err := zones.NewDataset[sale](lk, lake.Curated, "sales", "s", &zones.Options[sale]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	eu := "eu"
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []sale{{1, &eu}, {2, nil}, {3, nil}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := ds.ReadAll(ctx, nil)
	if err != nil || len(rows) != 3 {
		t.Fatalf("read: %+v %v", rows, err)
	}
	nulls := 0
	for _, r := range rows {
		if r.Region == nil {
			nulls++
		} else if *r.Region != "eu" {
			t.Fatalf("row %d region %q", r.ID, *r.Region)
		}
	}
	if nulls != 2 {
		t.Fatalf("%d rows read back with a nil region, want 2", nulls)
	}
	var parts []string
	for p, err := range cat.Partitions(ctx, "sales", "s", "") {
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p.Values[0])
		if p.Values[0] == lake.NullPartitionValue && !strings.HasSuffix(p.Location, "/region=__HIVE_DEFAULT_PARTITION__/") {
			t.Fatalf("NULL partition at %s", p.Location)
		}
	}
	if strings.Join(parts, ",") != "__HIVE_DEFAULT_PARTITION__,eu" {
		t.Fatalf("catalog partitions %v", parts)
	}
	// DuckDB with Hive partitioning reads the folder as NULL too
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	var n int
	glob := filepath.Join(dir, "curated", "sales", "s", "*", "*.parquet")
	if err := db.QueryRow("SELECT count(*) FROM read_parquet('" + glob + "', hive_partitioning = true) WHERE region IS NULL").Scan(&n); err != nil || n != 2 {
		t.Fatalf("DuckDB reads %d NULL-region rows (%v), want 2", n, err)
	}
	lit := lake.NullPartitionValue
	w2, _ := ds.NewWriter(ctx, nil)
	if err := w2.Write(ctx, []sale{{4, &lit}}); !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), "NULL") {
		t.Fatalf("the literal marker as a value: %v, want ErrInvalid", err)
	}
}

// writeCounter counts the catalog writes a commit makes.
type writeCounter struct {
	catalog.Catalog
	writes int
}

func (c *writeCounter) UpdateTable(ctx context.Context, t *catalog.Table, o *catalog.UpdateOptions) error {
	c.writes++
	return c.Catalog.UpdateTable(ctx, t, o)
}

func (c *writeCounter) AddPartitions(ctx context.Context, db, t string, p []catalog.Partition) error {
	c.writes++
	return c.Catalog.AddPartitions(ctx, db, t, p)
}

func (c *writeCounter) UpdatePartitionLocations(ctx context.Context, db, t string, p []catalog.Partition) error {
	c.writes++
	return c.Catalog.UpdatePartitionLocations(ctx, db, t, p)
}

// TestCatalogWritesOnlyWhenItChanges: appends into existing partitions
// write nothing to the catalog (no Glue table version per commit), except
// the recorded version every few commits; the view stays exact.
func TestCatalogWritesOnlyWhenItChanges(t *testing.T) {
	lk := fileLake(t, "")
	local, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	cat := &writeCounter{Catalog: local}
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	writeCommit(t, ds, makeEvents(0, 30, 3), nil)
	cat.writes = 0
	for i := range 16 {
		writeCommit(t, ds, makeEvents(int64(100+i*10), 10, 3), nil)
	}
	if cat.writes > 4 {
		t.Fatalf("16 appends into existing partitions made %d catalog writes, want at most 4 (the recorded version every 8)", cat.writes)
	}
	sameViews(t, "after appends", local, ds)
	writeCommit(t, ds, makeEvents(1000, 10, 20), nil) // new partitions
	sameViews(t, "after new partitions", local, ds)
}
