package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
)

type eventV1 struct {
	ID    int64     `parquet:"id"`
	Count int32     `parquet:"count"`
	Name  *string   `parquet:"name"`
	At    time.Time `parquet:"at,timestamp(microsecond)"`
	Dt    string    `parquet:"dt"` // also in the path: the path wins
}

type eventV2 struct {
	ID    int64            `parquet:"id"`
	Count int64            `parquet:"count"` // widened
	Name  *string          `parquet:"name"`
	At    time.Time        `parquet:"at,timestamp(microsecond)"`
	Attrs map[string]int64 `parquet:"attrs"` // new
}

func putParquet[T any](t *testing.T, s *lake.Store, key string, rows []T) {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes(context.Background(), key, buf.Bytes(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestDiscover(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.New(lake.NewStore(memstore.Named("discover")), nil)
	if err != nil {
		t.Fatal(err)
	}
	zone := lk.MustZone("raw").Store()
	name := "x"
	putParquet(t, zone, "shop/events/dt=2024-01-02/hour=10/part-0.parquet", []eventV1{{ID: 1, Count: 2, Name: &name, Dt: "2024-01-02"}})
	putParquet(t, zone, "shop/events/dt=2024-01-02/hour=9/part-0.parquet", []eventV1{{ID: 2}})
	putParquet(t, zone, "shop/events/dt=2024-01-01/hour=23/part-1.parquet", []eventV2{{ID: 3, Attrs: map[string]int64{"a": 1}}})
	for _, junk := range []string{"shop/events/_lakekit/log/0001.json", "shop/events/dt=2024-01-01/hour=23/_SUCCESS", "shop/events/README.txt", "shop/events/.tmp/x.parquet"} {
		if err := zone.PutBytes(ctx, junk, []byte("not parquet"), nil); err != nil {
			t.Fatal(err)
		}
	}

	d, err := catalog.Discover(ctx, zone, "shop/events", "shop", "events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Files != 3 || d.SchemaFiles != 3 {
		t.Errorf("files %d, schema files %d; want 3, 3", d.Files, d.SchemaFiles)
	}
	loc := zone.Location("shop/events/")
	want := &catalog.Table{
		Database: "shop", Name: "events", Location: loc, Format: "parquet",
		Schema: catalog.Schema{
			Version: 1,
			Columns: []catalog.Column{
				{Name: "id", Type: "bigint", Required: true},
				{Name: "count", Type: "bigint", Required: true},
				{Name: "name", Type: "string"},
				{Name: "at", Type: "timestamp", Required: true},
				{Name: "attrs", Type: "map<string,bigint>"},
			},
			PartitionKeys: []catalog.Column{{Name: "dt", Type: "date", Required: true}, {Name: "hour", Type: "int", Required: true}},
		},
	}
	if diff := cmp.Diff(want, d.Table, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("discovered table (-want +got):\n%s", diff)
	}
	wantParts := []catalog.Partition{
		{Values: []string{"2024-01-01", "23"}, Location: loc + "dt=2024-01-01/hour=23/"},
		{Values: []string{"2024-01-02", "9"}, Location: loc + "dt=2024-01-02/hour=9/"},
		{Values: []string{"2024-01-02", "10"}, Location: loc + "dt=2024-01-02/hour=10/"},
	}
	if diff := cmp.Diff(wantParts, d.Partitions, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("discovered partitions (-want +got):\n%s", diff)
	}

	// Register into the lake's own catalog, creating the database.
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Register(ctx, cat, &catalog.RegisterOptions{CreateDatabase: true}); err != nil {
		t.Fatal(err)
	}
	got, err := cat.GetTable(ctx, "shop", "events")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Schema.Columns) != 5 || got.Schema.Version != 1 {
		t.Errorf("registered %+v", got.Schema)
	}
	// New data with a new column: a second discovery evolves the table and
	// adds the new partition.
	type eventV3 struct {
		ID      int64  `parquet:"id"`
		Channel string `parquet:"channel"`
	}
	putParquet(t, zone, "shop/events/dt=2024-01-03/hour=0/part-0.parquet", []eventV3{{ID: 4, Channel: "web"}})
	d2, err := catalog.Discover(ctx, zone, "shop/events", "shop", "events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Register(ctx, cat, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = cat.GetTable(ctx, "shop", "events")
	if got.Schema.Version != 2 || got.Schema.Columns[len(got.Schema.Columns)-1].Name != "channel" || got.Schema.Columns[len(got.Schema.Columns)-1].Required {
		t.Errorf("after second discovery: %+v", got.Schema)
	}
	n := 0
	for _, err := range cat.Partitions(ctx, "shop", "events", "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d partitions registered, want 4", n)
	}
}

func TestDiscoverErrors(t *testing.T) {
	ctx := context.Background()
	s := lake.NewStore(memstore.New())
	type a struct {
		V int64 `parquet:"v"`
	}
	type b struct {
		V string `parquet:"v"`
	}
	putParquet(t, s, "t1/k=1/a.parquet", []a{{1}})
	putParquet(t, s, "t1/k=2/b.parquet", []b{{"x"}})
	if _, err := catalog.Discover(ctx, s, "t1", "db", "t", nil); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("conflicting column types: %v", err)
	}
	putParquet(t, s, "t2/k=1/a.parquet", []a{{1}})
	putParquet(t, s, "t2/j=1/a.parquet", []a{{1}})
	if _, err := catalog.Discover(ctx, s, "t2", "db", "t", nil); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("mixed partition keys: %v", err)
	}
	if _, err := catalog.Discover(ctx, s, "empty", "db", "t", nil); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("no files: %v", err)
	}
	s.PutBytes(ctx, "t3/bad.parquet", []byte("PAR1 not really"), nil)
	if _, err := catalog.Discover(ctx, s, "t3", "db", "t", nil); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("corrupt file: %v", err)
	}
	putParquet(t, s, "t4/k=x/a.parquet", []a{{1}})
	putParquet(t, s, "t4/k=7/a.parquet", []a{{1}})
	d, err := catalog.Discover(ctx, s, "t4", "db", "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.Schema.PartitionKeys[0].Type != "string" {
		t.Errorf("mixed key values typed %s, want string", d.Table.Schema.PartitionKeys[0].Type)
	}
	putParquet(t, s, "t5/k=3000000000/a.parquet", []a{{1}})
	if d, err := catalog.Discover(ctx, s, "t5", "db", "t", nil); err != nil || d.Table.Schema.PartitionKeys[0].Type != "bigint" {
		t.Errorf("large integer key: %v %v", d, err)
	}
	// A registered table whose column the files now contradict: refused.
	cat := catalog.NewLocal(lake.NewStore(memstore.New()))
	putParquet(t, s, "t6/a.parquet", []a{{1}})
	d, err = catalog.Discover(ctx, s, "t6", "db", "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Register(ctx, cat, &catalog.RegisterOptions{CreateDatabase: true}); err != nil {
		t.Fatal(err)
	}
	putParquet(t, s, "t7/a.parquet", []b{{"x"}})
	d, err = catalog.Discover(ctx, s, "t7", "db", "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Register(ctx, cat, nil); !errors.Is(err, catalog.ErrIncompatibleSchema) {
		t.Errorf("incompatible rediscovery: %v", err)
	}
}
