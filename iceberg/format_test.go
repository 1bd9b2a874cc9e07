package iceberg_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

// Sale is the row type of the format tests: a zones dataset type (parquet
// tags, a partition field) stored as Iceberg.
type Sale struct {
	ID     int64     `parquet:"id"`
	Item   string    `parquet:"item"`
	Amount float64   `parquet:"amount"`
	Note   *string   `parquet:"note"`
	At     time.Time `parquet:"at"`
	Region string    `parquet:"region" lakekit:"partition"`
}

func sales(from, n int, regions ...string) []Sale {
	base := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)
	out := make([]Sale, n)
	for i := range out {
		id := int64(from + i)
		out[i] = Sale{ID: id, Item: fmt.Sprintf("item-%d", id), Amount: float64(id) * 1.25,
			At: base.Add(time.Duration(id) * time.Hour), Region: regions[int(id)%len(regions)]}
		if id%2 == 1 {
			s := fmt.Sprintf("note %d", id)
			out[i].Note = &s
		}
	}
	return out
}

func sortSales(rows []Sale) []Sale {
	out := append([]Sale(nil), rows...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// saleKeys is what saleScan returns for rows: "id item amount region".
func saleKeys(rows []Sale) []string {
	out := make([]string, len(rows))
	for i, s := range rows {
		out[i] = fmt.Sprintf("%06d %s %g %s", s.ID, s.Item, s.Amount, s.Region)
	}
	sort.Strings(out)
	return out
}

// saleScan reads a snapshot with iceberg-go's own scan (Arrow), not
// lakekit's reader.
func saleScan(ctx context.Context, t *testing.T, tbl *table.Table, snapshotID int64) []string {
	t.Helper()
	at, err := tbl.Scan(table.WithSnapshotID(snapshotID)).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	col := func(rec arrow.RecordBatch, name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("iceberg-go scan has no column %q: %v", name, rec.Schema())
		}
		return rec.Column(idx[0])
	}
	out := []string{}
	for tr.Next() {
		rec := tr.RecordBatch()
		ids, items := col(rec, "id").(*array.Int64), col(rec, "item").(*array.String)
		amounts, regions := col(rec, "amount").(*array.Float64), col(rec, "region").(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, fmt.Sprintf("%06d %s %g %s", ids.Value(i), items.Value(i), amounts.Value(i), regions.Value(i)))
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func commitRows(t *testing.T, ds *zones.Dataset[Sale], mode zones.Mode, batches ...[]Sale) *zones.CommitResult {
	t.Helper()
	ctx := context.Background()
	w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readSales(t *testing.T, ds *zones.Dataset[Sale], opts *zones.ReadOptions) []Sale {
	t.Helper()
	rows, err := ds.ReadAll(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return sortSales(rows)
}

// roundTrip runs the typed round trip through a zones.Dataset with the
// Iceberg format: append (two Write calls), append, overwrite; after each,
// zones' Read and iceberg-go's own scan see exactly the committed rows;
// time travel by snapshot ID, History, Snapshot and the partition filter
// follow the snapshots; lakekit's own log under the dataset stays empty.
func roundTrip(t *testing.T, lk *lake.Lake, cat catalog.Catalog) *iceberg.DatasetTable[Sale] {
	ctx := context.Background()
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, ft := ds.Format()
	dt := ft.(*iceberg.DatasetTable[Sale])
	a1, a2 := sales(0, 7, "eu", "us"), sales(7, 5, "eu", "us")
	a := append(append([]Sale(nil), a1...), a2...)
	c1 := commitRows(t, ds, zones.Append, a1, a2)
	if c1.Rows != int64(len(a)) || c1.Version == 0 {
		t.Fatalf("first commit: %d rows, version %d; want %d rows and a snapshot ID", c1.Rows, c1.Version, len(a))
	}
	b := sales(100, 4, "apac")
	c2 := commitRows(t, ds, zones.Append, b)
	ab := append(append([]Sale(nil), a...), b...)
	if diff := cmp.Diff(sortSales(ab), readSales(t, ds, nil)); diff != "" {
		t.Errorf("zones read after two appends (-want +got):\n%s", diff)
	}
	o := sales(500, 3, "us")
	c3 := commitRows(t, ds, zones.Overwrite, o)
	if diff := cmp.Diff(sortSales(o), readSales(t, ds, nil)); diff != "" {
		t.Errorf("zones read after overwrite (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sortSales(a), readSales(t, ds, &zones.ReadOptions{Version: c1.Version})); diff != "" {
		t.Errorf("time travel to the first snapshot (-want +got):\n%s", diff)
	}
	var eu []Sale
	for _, s := range ab {
		if s.Region == "eu" {
			eu = append(eu, s)
		}
	}
	if diff := cmp.Diff(sortSales(eu), readSales(t, ds, &zones.ReadOptions{Version: c2.Version, Partitions: zones.PartitionIn("region", "eu")})); diff != "" {
		t.Errorf("partition filter at the second snapshot (-want +got):\n%s", diff)
	}

	// iceberg-go's own scan, snapshot by snapshot
	tbl, err := dt.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		id   int64
		want []Sale
	}{{c1.Version, a}, {c2.Version, ab}, {c3.Version, o}} {
		if diff := cmp.Diff(saleKeys(s.want), saleScan(tbl.Context(ctx), t, it, s.id)); diff != "" {
			t.Errorf("iceberg-go scan of snapshot %d (-want +got):\n%s", s.id, diff)
		}
	}

	hist, err := ds.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%d %s", h.Version, h.Mode))
	}
	want := []string{fmt.Sprintf("%d append", c1.Version), fmt.Sprintf("%d append", c2.Version), fmt.Sprintf("%d overwrite", c3.Version)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, f := range snap.Files {
		rows += f.Rows
	}
	if snap.Version != c3.Version || rows != int64(len(o)) || len(snap.Files) != 1 || !cmp.Equal(snap.PartitionKeys, []string{"region"}) {
		t.Errorf("current snapshot: version %d, %d files, %d rows, keys %v; want %d, 1 file, %d rows, [region]",
			snap.Version, len(snap.Files), rows, snap.PartitionKeys, c3.Version, len(o))
	}
	// nothing went to lakekit's own layout
	if _, err := ds.Table().Snapshot(ctx, 0); !errors.Is(err, zones.ErrNoSuchTable) {
		t.Errorf("lakekit's commit log of an Iceberg dataset: %v, want ErrNoSuchTable", err)
	}
	return dt
}

// TestIcebergFormatDatasetLocal: the typed round trip through
// zones.Dataset with Options.Format = iceberg.Format on a file lake with
// the local Iceberg catalog.
func TestIcebergFormatDatasetLocal(t *testing.T) {
	dir := t.TempDir()
	lk, err := lake.Open(context.Background(), "file://"+dir+"/lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := iceberg.LocalCatalog(dir + "/iceberg")
	if err != nil {
		t.Fatal(err)
	}
	dt := roundTrip(t, lk, cat)
	if got := strings.Join(dt.Identifier(), "."); got != "shop.sales" {
		t.Errorf("Iceberg identifier %q, want shop.sales", got)
	}
}

// TestIcebergFormatDatasetGlue: the same round trip on S3 + Glue (moto):
// the lake and the Iceberg table share the bucket, the table lives in the
// dataset's own folder, and Glue shows table_type=ICEBERG with the
// current metadata_location.
func TestIcebergFormatDatasetGlue(t *testing.T) {
	ctx := context.Background()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	m := testaws.StartMoto(t)
	cfg := m.Config(t)
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	st, err := s3store.OpenStore(ctx, cfg, "lake", "", &s3store.Options{UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	cat, err := iceberg.GlueCatalog(cfg, &iceberg.GlueOptions{S3Endpoint: m.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	dt := roundTrip(t, lk, cat)
	tbl, err := dt.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := glue.NewFromConfig(cfg).GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("shop"), Name: aws.String("sales")})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Table.Parameters
	if !strings.EqualFold(p["table_type"], "ICEBERG") || p["metadata_location"] != it.MetadataLocation() {
		t.Errorf("Glue parameters table_type=%q metadata_location=%q; want ICEBERG and %q", p["table_type"], p["metadata_location"], it.MetadataLocation())
	}
	if want := "s3://lake/curated/shop/sales/metadata/"; !strings.HasPrefix(it.MetadataLocation(), want) {
		t.Errorf("metadata at %q, want under the dataset's folder %s", it.MetadataLocation(), want)
	}
}

// TestIcebergFormatRefusals: what has no Iceberg meaning fails with an
// error wrapping errors.ErrUnsupported that names Iceberg and the
// operation, and options of lakekit's own format are refused at
// NewDataset.
func TestIcebergFormatRefusals(t *testing.T) {
	ctx := context.Background()
	lk, cat, _ := salesLake(t)
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	commitRows(t, ds, zones.Append, sales(0, 3, "eu"))
	unsupported := map[string]error{}
	_, unsupported["AddFiles"] = ds.AddFiles(ctx, []string{"x.parquet"}, nil)
	_, unsupported["Convert"] = ds.Convert(ctx, nil)
	_, unsupported["Files"] = ds.Files(ctx, nil)
	_, unsupported["ReadOptions.Where"] = ds.ReadAll(ctx, &zones.ReadOptions{Where: []zones.Predicate{zones.Eq("id", int64(1))}})
	_, unsupported["ReadOptions.Columns"] = ds.ReadAll(ctx, &zones.ReadOptions{Columns: []string{"id"}})
	_, unsupported["WriterOptions.IdempotencyKey"] = ds.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: "k"})
	unsupported["SyncCatalog"] = ds.SyncCatalog(ctx)
	for op, err := range unsupported {
		if !errors.Is(err, errors.ErrUnsupported) || err == nil || !strings.Contains(err.Error(), "iceberg") || !strings.Contains(err.Error(), op) {
			t.Errorf("%s: %v; want an error wrapping errors.ErrUnsupported naming iceberg and %s", op, err, op)
		}
	}
	if rows := readSales(t, ds, nil); len(rows) != 3 {
		t.Errorf("after the refusals the table has %d rows, want 3", len(rows))
	}
	type flat struct {
		ID int64 `parquet:"id"`
	}
	if _, err := zones.NewDataset(lk, lake.Curated, "shop", "other", &zones.Options[flat]{Format: iceberg.Format[flat](cat, nil),
		PartitionBy: func(flat) (lake.Partition, error) { return nil, nil }, PartitionKeys: []string{"p"}}); !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), "PartitionBy") {
		t.Errorf("Format with PartitionBy: %v, want ErrInvalid naming PartitionBy", err)
	}
	if _, err := zones.NewDataset(lk, lake.Curated, "shop", "other", &zones.Options[Sale]{Format: iceberg.Format[Sale](nil, nil)}); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("Format without a catalog: %v, want iceberg.ErrInvalid", err)
	}
	if _, err := zones.NewDataset(lk, lake.Curated, "shop", "other", &zones.Options[struct{ C chan int }]{Format: iceberg.Format[struct{ C chan int }](cat, nil)}); err == nil {
		t.Error("a row type Iceberg cannot store was accepted")
	}
}

// TestIcebergFormatModesLocal: OverwritePartitions through the dataset
// replaces only the partitions its rows fall in (zones and iceberg-go's
// scan agree), and Dataset.Vacuum expires the older snapshots: time
// travel to them then fails with zones.ErrNoSuchVersion while the current
// rows stay.
func TestIcebergFormatModesLocal(t *testing.T) {
	ctx := context.Background()
	lk, cat, _ := salesLake(t)
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := sales(0, 10, "eu", "us")
	c1 := commitRows(t, ds, zones.Append, a)
	eu := sales(300, 3, "eu")
	c2 := commitRows(t, ds, zones.OverwritePartitions, eu)
	want := append([]Sale(nil), eu...)
	for _, s := range a {
		if s.Region == "us" {
			want = append(want, s)
		}
	}
	if diff := cmp.Diff(sortSales(want), readSales(t, ds, nil)); diff != "" {
		t.Errorf("after OverwritePartitions of eu (-want +got):\n%s", diff)
	}
	_, ft := ds.Format()
	tbl, err := ft.(*iceberg.DatasetTable[Sale]).Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saleKeys(want), saleScan(tbl.Context(ctx), t, it, c2.Version)); diff != "" {
		t.Errorf("iceberg-go scan after OverwritePartitions (-want +got):\n%s", diff)
	}
	if got := readSales(t, ds, &zones.ReadOptions{Version: c1.Version}); len(got) != len(a) {
		t.Fatalf("time travel before Vacuum: %d rows, want %d", len(got), len(a))
	}
	res, err := ds.Vacuum(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Live != 2 {
		t.Errorf("Vacuum: %d live files, want 2 (us kept, eu rewritten)", res.Live)
	}
	if _, err := ds.ReadAll(ctx, &zones.ReadOptions{Version: c1.Version}); !errors.Is(err, zones.ErrNoSuchVersion) {
		t.Errorf("time travel to an expired snapshot: %v, want ErrNoSuchVersion", err)
	}
	if diff := cmp.Diff(sortSales(want), readSales(t, ds, nil)); diff != "" {
		t.Errorf("after Vacuum (-want +got):\n%s", diff)
	}
	hist, err := ds.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Version != c2.Version {
		t.Errorf("History after Vacuum: %+v, want only snapshot %d", hist, c2.Version)
	}
}

// TestIcebergFormatConcurrentWritersLocal: 8 writers, each with its own
// zones.Dataset over the same Iceberg table, append 5 times at once
// through Writer.Commit; every append lands exactly once (40 snapshots,
// every row read back once by zones and counted by iceberg-go's scan).
func TestIcebergFormatConcurrentWritersLocal(t *testing.T) {
	ctx := context.Background()
	lk, cat, _ := salesLake(t)
	const writers, appends, per = 8, 5, 3
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func() {
			ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < appends; i++ {
				wr, err := ds.NewWriter(ctx, nil)
				if err == nil {
					err = wr.Write(ctx, sales((w*appends+i)*per, per, "eu", "us"))
				}
				if err == nil {
					_, err = wr.Commit(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortSales(sales(0, writers*appends*per, "eu", "us")), readSales(t, ds, nil)); diff != "" {
		t.Errorf("after %d concurrent appends (-want +got):\n%s", writers*appends, diff)
	}
	hist, err := ds.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != writers*appends {
		t.Errorf("%d snapshots, want %d", len(hist), writers*appends)
	}
	_, ft := ds.Format()
	tbl, err := ft.(*iceberg.DatasetTable[Sale]).Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := saleScan(tbl.Context(ctx), t, it, it.CurrentSnapshot().SnapshotID); len(got) != writers*appends*per {
		t.Errorf("iceberg-go scan: %d rows, want %d", len(got), writers*appends*per)
	}
}
