//go:build cgo

package zones_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

// crawl registers a table's folders in cat as a Glue crawler would: the
// schema from the files' footers, a partition per Hive folder.
func crawl(t *testing.T, lk *lake.Lake, cat catalog.Catalog) {
	t.Helper()
	ctx := context.Background()
	d, err := catalog.Discover(ctx, lk.MustZone(lake.Curated).Store(), "sales/events", "sales", "events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Register(ctx, cat, &catalog.RegisterOptions{CreateDatabase: true}); err != nil {
		t.Fatal(err)
	}
}

// partitionLocations returns the catalog's partition locations by value.
func partitionLocations(t *testing.T, cat catalog.Catalog) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, err := range cat.Partitions(context.Background(), "sales", "events", "") {
		if err != nil {
			t.Fatal(err)
		}
		out[strings.Join(p.Values, "/")] = p.Location
	}
	return out
}

// TestConvertDuckDBTableInPlace: a table made by plain DuckDB COPY …
// PARTITION_BY and registered as a crawler would becomes a lakekit table:
// version 1 names exactly the files, nothing moves, the catalog keeps its
// locations; lakekit's read = the Athena-style view = DuckDB's glob; an
// append then works.
func TestConvertDuckDBTableInPlace(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, root)
	cat := localCatalog(t, lk)
	table := filepath.Join(root, "curated", "sales", "events")
	os.MkdirAll(filepath.Dir(table), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (bucket))`, duckEvents(0, 600, 4), table))
	crawl(t, lk, cat)
	before := partitionLocations(t, cat)
	files := parquetFiles(t, table)

	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	res, err := ds.Convert(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 || res.Rows != 600 || len(res.Files) != len(files) {
		t.Fatalf("convert: version %d, %d rows, %d files (folders hold %d)", res.Version, res.Rows, len(res.Files), len(files))
	}
	if got := parquetFiles(t, table); !slices.Equal(got, files) {
		t.Fatalf("convert moved or wrote files: %v → %v", files, got)
	}
	if after := partitionLocations(t, cat); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("partition locations changed: %v → %v", before, after)
	}
	if got := ids(t, ds); !slices.Equal(got, idRange(0, 600)) {
		t.Fatalf("lakekit reads %d rows, want 600", len(got))
	}
	sameViews(t, "after convert", cat, ds)
	var globRows int64
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s/*/*.parquet')`, table)).Scan(&globRows); err != nil || globRows != 600 {
		t.Fatalf("DuckDB's glob: %d rows, %v", globRows, err)
	}
	if _, err := ds.Convert(ctx, nil); !errors.Is(err, lake.ErrExists) {
		t.Fatalf("converting twice: %v, want ErrExists", err)
	}

	writeCommit(t, ds, makeEvents(1000, 80, 8), nil)
	sameViews(t, "append after convert", cat, ds)
	writeCommit(t, ds, makeEvents(2000, 30, 2), &zones.WriterOptions{Mode: zones.OverwritePartitions})
	sameViews(t, "overwrite after convert", cat, ds)
}

// TestConvertWithoutCatalogEntry: folders not yet in the catalog are read
// as Hive folders (as catalog.Discover does) and the entry is created; a
// file that does not fit the dataset is refused and nothing is committed.
func TestConvertWithoutCatalogEntry(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lk := fileLake(t, root)
	cat := localCatalog(t, lk)
	table := filepath.Join(root, "curated", "sales", "events")
	os.MkdirAll(filepath.Dir(table), 0o755)
	duckExec(t, fmt.Sprintf(`COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (bucket))`, duckEvents(0, 100, 2), table))
	bad := filepath.Join(table, "bucket=b001", "bad.parquet")
	duckExec(t, fmt.Sprintf(`COPY (SELECT 'x' AS id) TO '%s' (FORMAT PARQUET)`, bad))
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	if _, err := ds.Convert(ctx, nil); !errors.Is(err, zones.ErrSchema) || !strings.Contains(err.Error(), "bad.parquet") {
		t.Fatalf("a file that does not fit: %v, want ErrSchema naming it", err)
	}
	if _, err := ds.Snapshot(ctx, 0); !errors.Is(err, zones.ErrNoSuchTable) {
		t.Fatalf("a refused conversion committed: %v", err)
	}
	os.Remove(bad)
	if _, err := ds.Convert(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, ds); !slices.Equal(got, idRange(0, 100)) {
		t.Fatalf("lakekit reads %d rows, want 100", len(got))
	}
	sameViews(t, "converted without a catalog entry", cat, ds)
}

// TestConvertOnS3AndGlue: the same on S3 with Glue, on moto: files
// DuckDB wrote are uploaded as a job would, registered as a crawler
// would; after Convert lakekit reads exactly the rows the Glue partition
// locations hold, and an append lands where Glue points.
func TestConvertOnS3AndGlue(t *testing.T) {
	ctx := context.Background()
	m := testaws.StartMoto(t)
	cfg := m.Config(t)
	if _, err := s3.NewFromConfig(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	st, err := s3store.OpenStore(ctx, cfg, "lake", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	duckExec(t, fmt.Sprintf(`COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (bucket))`, duckEvents(0, 300, 3), local))
	zs := lk.MustZone(lake.Curated).Store()
	for _, p := range parquetFiles(t, local) {
		rel, _ := filepath.Rel(local, p)
		b, _ := os.ReadFile(p)
		if err := zs.PutBytes(ctx, "sales/events/"+filepath.ToSlash(rel), b, nil); err != nil {
			t.Fatal(err)
		}
	}
	cat := newGlueCatalog(t, cfg)
	crawl(t, lk, cat)
	before := partitionLocations(t, cat)

	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	if _, err := ds.Convert(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := partitionLocations(t, cat); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("partition locations changed: %v → %v", before, after)
	}
	if got := ids(t, ds); !slices.Equal(got, idRange(0, 300)) {
		t.Fatalf("lakekit reads %d rows, want 300", len(got))
	}
	if ext := s3View(t, lk, cat); ext != 300 {
		t.Fatalf("the Glue locations hold %d rows, want 300", ext)
	}
	writeCommit(t, ds, makeEvents(1000, 40, 4), nil)
	if ext, own := s3View(t, lk, cat), int64(len(ids(t, ds))); ext != own || own != 340 {
		t.Fatalf("after an append: Glue locations hold %d rows, lakekit reads %d (want 340)", ext, own)
	}
}

// s3View counts the rows of every visible object under the catalog's
// partition locations (what Athena reads), from their footers.
func s3View(t *testing.T, lk *lake.Lake, cat catalog.Catalog) int64 {
	t.Helper()
	ctx := context.Background()
	zs := lk.MustZone(lake.Curated).Store()
	var rows int64
	for _, loc := range partitionLocations(t, cat) {
		prefix := strings.TrimPrefix(strings.TrimSuffix(loc, "/")+"/", zs.Location(""))
		for e, err := range zs.List(ctx, prefix, nil) {
			if err != nil {
				t.Fatal(err)
			}
			rest := strings.TrimPrefix(e.Key, prefix)
			if e.IsDir || strings.HasPrefix(rest, "_") || strings.HasPrefix(rest, ".") || strings.Contains(rest, "/_") || strings.Contains(rest, "/.") {
				continue
			}
			b, err := zs.ReadAll(ctx, e.Key)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("%s: %v", e.Key, err)
			}
			rows += f.NumRows()
		}
	}
	return rows
}

func newGlueCatalog(t *testing.T, cfg aws.Config) *catalog.Glue {
	t.Helper()
	g, err := catalog.NewGlue(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
