package iceberg_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// openCounter is a catalog whose tables' file IO records every data file
// (a .parquet under data/) that is opened for reading.
type openCounter struct {
	catalog.Catalog
	mu     sync.Mutex
	opened []string
}

func (c *openCounter) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	t, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	fsF := func(ctx context.Context) (icebergio.IO, error) {
		fs, err := t.FS(ctx)
		if err != nil {
			return nil, err
		}
		wfs, ok := fs.(icebergio.WriteFileIO)
		if !ok {
			return nil, fmt.Errorf("file IO %T cannot write", fs)
		}
		return &countingIO{WriteFileIO: wfs, c: c}, nil
	}
	return table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), fsF, c), nil
}

func (c *openCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.opened
	c.opened = nil
	return out
}

type countingIO struct {
	icebergio.WriteFileIO
	c *openCounter
}

func (f *countingIO) Open(name string) (icebergio.File, error) {
	if strings.Contains(name, "/data/") && strings.HasSuffix(name, ".parquet") {
		f.c.mu.Lock()
		f.c.opened = append(f.c.opened, name)
		f.c.mu.Unlock()
	}
	return f.WriteFileIO.Open(name)
}

// TestIcebergFormatPartitionPushdown: a read through the dataset's Iceberg
// table with a partition filter (built from Dataset.PartitionOf and
// zones.PartitionIn, as a dataset read's ReadOptions.Partitions) opens
// only the data files of the selected partition, decided from the
// manifests: 3 of 9 files, each under region=eu, and returns exactly that
// partition's rows; without a filter all 9 are opened; time travel keeps
// the pruning.
func TestIcebergFormatPartitionPushdown(t *testing.T) {
	ctx := context.Background()
	lk, local, _ := salesLake(t)
	cat := &openCounter{Catalog: local}
	ds, err := zones.NewDataset(lk, lake.Curated, "shop", "sales", &zones.Options[Sale]{Format: iceberg.Format[Sale](cat, nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, ft := ds.Format()
	dt := ft.(*iceberg.DatasetTable[Sale])
	var all []Sale
	var first *zones.CommitResult
	for i := 0; i < 3; i++ {
		rows := sales(i*30, 30, "eu", "us", "ap")
		c := commitRows(t, ds, zones.Append, rows)
		if first == nil {
			first = c
		}
		all = append(all, rows...)
	}
	in := func(region string) func(*Sale) bool {
		sel := zones.PartitionIn("region", region)
		return func(row *Sale) bool {
			p, err := ds.PartitionOf(row)
			if err != nil {
				t.Fatal(err)
			}
			return sel(p)
		}
	}
	var eu []Sale
	for _, s := range all {
		if s.Region == "eu" {
			eu = append(eu, s)
		}
	}
	cat.take()
	got, err := dt.ReadPartitions(ctx, 0, in("eu"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortSales(eu), sortSales(got)); diff != "" {
		t.Errorf("rows of region=eu (-want +got):\n%s", diff)
	}
	opened := cat.take()
	if len(opened) != 3 {
		t.Errorf("a read of region=eu opened %d data files, want its 3: %v", len(opened), opened)
	}
	for _, f := range opened {
		if !strings.Contains(f, "/region=eu/") {
			t.Errorf("a read of region=eu opened %s", f)
		}
	}
	plan, err := dt.PlanPartitions(ctx, 0, in("eu"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortStrings(opened), plan); diff != "" {
		t.Errorf("planned files are not the files read (-read +planned):\n%s", diff)
	}
	if got, err = dt.ReadPartitions(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) || len(cat.take()) != 9 {
		t.Errorf("an unfiltered read: %d rows, want %d, and 9 files opened", len(got), len(all))
	}
	if got, err = dt.ReadPartitions(ctx, first.Version, in("us")); err != nil {
		t.Fatal(err)
	}
	if opened = cat.take(); len(got) != 10 || len(opened) != 1 || !strings.Contains(opened[0], "/region=us/") {
		t.Errorf("time travel to the first snapshot, region=us: %d rows (want 10), files opened %v (want its 1)", len(got), opened)
	}
	if got, err = dt.ReadPartitions(ctx, 0, in("nowhere")); err != nil || len(got) != 0 || len(cat.take()) != 0 {
		t.Errorf("a partition that does not exist: %d rows, %v; want none and no file opened", len(got), err)
	}
}

// TestIcebergPartitionPushdownHidden: with hidden partitioning (day of
// At), the row keep is given has At at the start of the file's day, so a
// filter on the day prunes the other days' files from the manifests;
// rows of the day are all returned.
func TestIcebergPartitionPushdownHidden(t *testing.T) {
	ctx := context.Background()
	local, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cat := &openCounter{Catalog: local}
	ft, err := iceberg.Format[Reading](cat, nil).Bind(zones.FormatTarget{Zone: lake.Curated, Database: "curated", Table: "readings"})
	if err != nil {
		t.Fatal(err)
	}
	dt := ft.(*iceberg.DatasetTable[Reading])
	from := time.Date(2026, 5, 1, 0, 30, 0, 0, time.UTC)
	rows := readings(from, 3*time.Hour, 40) // 5 days
	if _, err := dt.Commit(ctx, zones.Append, rows, nil); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC)
	var seen []time.Time
	keep := func(r *Reading) bool {
		seen = append(seen, r.At)
		return r.At.UTC().Truncate(24 * time.Hour).Equal(day)
	}
	cat.take()
	got, err := dt.ReadPartitions(ctx, 0, keep)
	if err != nil {
		t.Fatal(err)
	}
	var want []Reading
	for _, r := range rows {
		if r.At.Truncate(24 * time.Hour).Equal(day) {
			want = append(want, r)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows of %s (-want +got):\n%s", day.Format(time.DateOnly), diff)
	}
	if opened := cat.take(); len(opened) != 1 || !strings.Contains(opened[0], "at_day=2026-05-03") {
		t.Errorf("files opened %v, want the one of 2026-05-03", opened)
	}
	for _, at := range seen[:5] {
		if !at.Equal(at.Truncate(24 * time.Hour)) {
			t.Errorf("keep was given At %s for a file's partition, want the start of its day", at)
		}
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// salesLake opens a file lake and a local Iceberg catalog in a fresh
// directory, closed when the test ends, and returns them with the directory.
func salesLake(t *testing.T) (*lake.Lake, catalog.Catalog, string) {
	t.Helper()
	dir := t.TempDir()
	lk, err := lake.Open(context.Background(), "file://"+dir+"/lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	cat, err := iceberg.LocalCatalog(dir + "/iceberg")
	if err != nil {
		t.Fatal(err)
	}
	return lk, cat, dir
}
