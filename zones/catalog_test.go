package zones_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// eventV2 adds a nullable column to event: an allowed evolution.
type eventV2 struct {
	ID      int64     `parquet:"id"`
	At      time.Time `parquet:"at"`
	User    string    `parquet:"user"`
	Amount  float64   `parquet:"amount"`
	Kind    string    `parquet:"kind"`
	Note    string    `parquet:"note"`
	Channel *string   `parquet:"channel"`
	Bucket  string    `parquet:"bucket" lakekit:"partition"`
}

// eventDropped lacks the note column: a refused evolution.
type eventDropped struct {
	ID     int64     `parquet:"id"`
	At     time.Time `parquet:"at"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	Kind   string    `parquet:"kind"`
	Bucket string    `parquet:"bucket" lakekit:"partition"`
}

func partitionsOf(t *testing.T, cat catalog.Catalog) map[string]string {
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

func TestCatalogFollowsCommits(t *testing.T) {
	ctx := context.Background()
	for _, withCatalog := range []bool{true, false} {
		name := map[bool]string{true: "local catalog", false: "commit log only"}[withCatalog]
		t.Run(name, func(t *testing.T) {
			lk := fileLake(t, "")
			var cat catalog.Catalog
			if withCatalog {
				local, err := catalog.OpenLocal(lk)
				if err != nil {
					t.Fatal(err)
				}
				cat = local
			}
			ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat, Description: "sales events"})
			writeCommit(t, ds, makeEvents(0, 40, 2), nil)
			store := lk.MustZone(lake.Curated).Store()
			if withCatalog {
				tb, err := cat.GetTable(ctx, "sales", "events")
				if err != nil {
					t.Fatal(err)
				}
				if tb.Location != store.Location("sales/events/") || tb.Format != "parquet" || len(tb.Schema.Columns) != 6 ||
					len(tb.Schema.PartitionKeys) != 1 || tb.Schema.PartitionKeys[0].Name != "bucket" || tb.Description != "sales events" {
					t.Fatalf("catalog table: %+v", tb)
				}
				parts := partitionsOf(t, cat)
				if len(parts) != 2 || parts["b000"] != store.Location("sales/events/bucket=b000/") {
					t.Fatalf("partitions: %v", parts)
				}
			}
			// overwrite b001: the catalog partition moves to the new location
			var b1 []event
			for _, e := range makeEvents(100, 10, 2) {
				if e.Bucket == "b001" {
					b1 = append(b1, e)
				}
			}
			res := writeCommit(t, ds, b1, &zones.WriterOptions{Mode: zones.OverwritePartitions})
			newLoc := res.Commit.Locations[0].Prefix
			if !strings.Contains(newLoc, "/_g2-") {
				t.Fatalf("new location %s", newLoc)
			}
			if withCatalog {
				parts := partitionsOf(t, cat)
				if parts["b001"] != store.Location(newLoc+"/") || parts["b000"] != store.Location("sales/events/bucket=b000/") {
					t.Fatalf("after overwrite: %v", parts)
				}
			}
			// adding a nullable column is a new schema version
			v2, err := zones.NewDataset[eventV2](lk, lake.Curated, "sales", "events", &zones.Options[eventV2]{Catalog: cat})
			if err != nil {
				t.Fatal(err)
			}
			ch := "web"
			w, _ := v2.NewWriter(ctx, nil)
			if err := w.Write(ctx, []eventV2{{ID: 500, At: time.Unix(0, 0).UTC(), Channel: &ch, Bucket: "b000"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			snap, _ := v2.Snapshot(ctx, 0)
			if snap.SchemaVersion != 2 || len(snap.Schema) != 7 {
				t.Fatalf("log schema v%d %v", snap.SchemaVersion, snap.Schema)
			}
			if withCatalog {
				tb, _ := cat.GetTable(ctx, "sales", "events")
				if len(tb.Schema.Columns) != 7 || tb.Schema.Version != 2 {
					t.Fatalf("catalog schema after evolution: v%d %d columns", tb.Schema.Version, len(tb.Schema.Columns))
				}
			}
			// old files read through the new type: the new column is nil
			rows, err := v2.ReadAll(ctx, &zones.ReadOptions{Where: []zones.Predicate{zones.In("id", 0, 500)}})
			if err != nil || len(rows) != 2 {
				t.Fatalf("read v2: %v %v", rows, err)
			}
			for _, r := range rows {
				if (r.ID == 0) != (r.Channel == nil) || (r.ID == 500 && *r.Channel != "web") {
					t.Fatalf("row %+v", r)
				}
			}
			// dropping a column is refused before anything is uploaded
			dropped, err := zones.NewDataset[eventDropped](lk, lake.Curated, "sales", "events", &zones.Options[eventDropped]{Catalog: cat})
			if err != nil {
				t.Fatal(err)
			}
			_, err = dropped.NewWriter(ctx, nil)
			if !errors.Is(err, zones.ErrSchema) || !errors.Is(err, catalog.ErrIncompatibleSchema) || !strings.Contains(err.Error(), "note") {
				t.Fatalf("dropping a column: %v, want ErrSchema naming note", err)
			}
			if snap2, _ := v2.Snapshot(ctx, 0); snap2.Version != snap.Version {
				t.Fatalf("refused commit changed the table to version %d", snap2.Version)
			}
			// SyncCatalog repairs a catalog that missed commits
			if withCatalog {
				if err := cat.DeletePartitions(ctx, "sales", "events", [][]string{{"b001"}}); err != nil {
					t.Fatal(err)
				}
				if err := v2.SyncCatalog(ctx); err != nil {
					t.Fatal(err)
				}
				if parts := partitionsOf(t, cat); parts["b001"] != store.Location(newLoc+"/") {
					t.Fatalf("after sync: %v", parts)
				}
			}
		})
	}
}
