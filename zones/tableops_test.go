package zones_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

type tableOpsRow struct {
	ID int64  `parquet:"id"`
	DT string `parquet:"dt" lakekit:"partition"`
}

// tableOpsLake commits two days, then overwrites the first: the catalog
// has both partitions and one file is replaced.
func tableOpsLake(t *testing.T) (*lake.Lake, catalog.Catalog, *zones.Dataset[tableOpsRow]) {
	t.Helper()
	ctx := context.Background()
	lk, err := lake.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	d, err := zones.NewDataset[tableOpsRow](lk, lake.Curated, "db", "ops", &zones.Options[tableOpsRow]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode zones.Mode
		rows []tableOpsRow
	}{
		{zones.Append, []tableOpsRow{{1, "2024-01-01"}, {2, "2024-01-02"}}},
		{zones.OverwritePartitions, []tableOpsRow{{3, "2024-01-01"}}},
	} {
		w, err := d.NewWriter(ctx, &zones.WriterOptions{Mode: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, c.rows); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return lk, cat, d
}

// TestTableSyncCatalog: an untyped Table brings partitions changed by hand
// back to the snapshot, as Dataset.SyncCatalog does.
func TestTableSyncCatalog(t *testing.T) {
	lk, cat, d := tableOpsLake(t)
	ctx := context.Background()
	tbl, err := zones.OpenTable(lk, lake.Curated, "db", "ops")
	if err != nil {
		t.Fatal(err)
	}
	st := lk.MustZone(lake.Curated).Store()
	if err := cat.UpdatePartitionLocations(ctx, "db", "ops", []catalog.Partition{{Values: []string{"2024-01-01"}, Location: st.Location("db/ops/elsewhere/")}}); err != nil {
		t.Fatal(err)
	}
	if err := cat.DeletePartitions(ctx, "db", "ops", [][]string{{"2024-01-02"}}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	snap, err := d.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for p, err := range cat.Partitions(ctx, "db", "ops", "") {
		if err != nil {
			t.Fatal(err)
		}
		got[p.Values[0]] = p.Location
	}
	for _, day := range []string{"2024-01-01", "2024-01-02"} {
		if want := st.Location(snap.Locations["dt="+day] + "/"); got[day] != want {
			t.Errorf("partition %s at %q after SyncCatalog, want %q", day, got[day], want)
		}
	}
	if err := tbl.SyncCatalog(ctx, nil); !errors.Is(err, zones.ErrInvalid) {
		t.Errorf("SyncCatalog without a catalog: %v, want ErrInvalid", err)
	}
	other, err := zones.OpenTable(lk, lake.Curated, "db", "unregistered")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SyncCatalog(ctx, cat); !errors.Is(err, catalog.ErrNoSuchTable) && !errors.Is(err, catalog.ErrNoSuchDatabase) {
		t.Errorf("SyncCatalog of a table the catalog lacks: %v", err)
	}
}

// TestTableVacuumWithDryRun: a dry run names the replaced file and its
// bytes and deletes nothing; the real run with the catalog deletes it.
func TestTableVacuumWithDryRun(t *testing.T) {
	lk, cat, d := tableOpsLake(t)
	ctx := context.Background()
	v1, err := d.Snapshot(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	replaced := v1.Files[0]
	tbl := d.Table()
	st := lk.MustZone(lake.Curated).Store()
	for _, opts := range []*zones.VacuumOptions{{DryRun: true}, {DryRun: true, Catalog: cat}} {
		res, err := tbl.VacuumWith(ctx, 0, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.DryRun || len(res.Deleted) != 1 || res.Deleted[0] != replaced.Key || res.Bytes != replaced.Size || res.AuditID != "" {
			t.Errorf("dry run (catalog %v): %+v, want %s of %d bytes", opts.Catalog != nil, res, replaced.Key, replaced.Size)
		}
		if _, err := st.ReadAll(ctx, replaced.Key); err != nil {
			t.Fatalf("the dry run deleted %s: %v", replaced.Key, err)
		}
	}
	res, err := tbl.VacuumWith(ctx, 0, &zones.VacuumOptions{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	if res.DryRun || len(res.Deleted) != 1 || res.Bytes != replaced.Size || res.AuditID == "" {
		t.Errorf("vacuum: %+v", res)
	}
	if _, err := st.ReadAll(ctx, replaced.Key); !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("after vacuum, reading %s: %v", replaced.Key, err)
	}
}
