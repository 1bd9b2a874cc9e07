package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/examples/internal/extest/duck"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

func runCDC(t *testing.T, args ...string) Summary {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var s Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	return s
}

type modelRow struct {
	ts      string
	live    bool
	balance string
	email   string
	country string
}

// TestCDC runs the example and checks the curated table, read by DuckDB
// from the files of its newest snapshot, against a model that replays the
// raw change files (read through the store) by commit time.
func TestCDC(t *testing.T) {
	dir := t.TempDir()
	s := runCDC(t, "-lake", dir, "-customers", "1000", "-batches", "4", "-seed", "5")
	if s.RawFiles != 5 || s.Stale == 0 || s.QuarantinedRows != 3 || s.Deleted == 0 || s.Updated == 0 {
		t.Fatalf("summary %+v: want 5 files, some stale, updated and deleted changes, 3 quarantined (one per change file after the first)", s)
	}

	ctx := context.Background()
	lk, err := lake.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	model := map[string]*modelRow{}
	var changes, bad int64
	for l, err := range raw.List(ctx, lk, "dms", "customers", nil) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := lk.MustZone(lake.Raw).Store().ReadAll(ctx, l.Key)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[1:] { // Op,cdc_ts,id,name,email,country,balance
			changes++
			op, ts, id := r[0], r[1], r[2]
			if op != "I" && op != "U" && op != "D" {
				bad++
				continue
			}
			m := model[id]
			if m != nil && ts < m.ts { // older than what was applied
				continue
			}
			model[id] = &modelRow{ts: ts, live: op != "D", email: r[4], country: r[5], balance: r[6]}
		}
	}
	if changes != s.ChangeRows || bad != s.QuarantinedRows {
		t.Fatalf("raw holds %d changes, %d bad; summary %+v", changes, bad, s)
	}
	live := map[string]*modelRow{}
	for id, m := range model {
		if m.live {
			live[id] = m
		}
	}

	files := snapshotFiles(t, lk, dir)
	db := duck.Open(t)
	rows, err := db.Query("SELECT id, email, country, balance FROM " + duck.ParquetFiles(files))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	parts := map[string]bool{}
	for rows.Next() {
		var id int64
		var email, country string
		var balance float64
		if err := rows.Scan(&id, &email, &country, &balance); err != nil {
			t.Fatal(err)
		}
		got++
		parts[country] = true
		m := live[fmt.Sprint(id)]
		if m == nil {
			t.Errorf("customer %d is in the table but deleted or never inserted", id)
			continue
		}
		if want, _ := strconv.ParseFloat(m.balance, 64); want != balance || m.email != email || m.country != country {
			t.Errorf("customer %d: %s %s %v, want %s %s %s", id, email, country, balance, m.email, m.country, m.balance)
		}
	}
	if got != len(live) || int64(got) != s.CuratedRows || len(parts) != s.CuratedPartitions {
		t.Fatalf("DuckDB reads %d rows in %d partitions; the model has %d live; summary %+v", got, len(parts), len(live), s)
	}

	// running again lands nothing new (same content) and changes nothing
	s2 := runCDC(t, "-lake", dir, "-customers", "1000", "-batches", "4", "-seed", "5")
	if s2.RawFiles != 0 || s2.CuratedRows != s.CuratedRows || s2.CuratedVersion != s.CuratedVersion {
		t.Fatalf("rerun: %+v, first run %+v", s2, s)
	}
}

// snapshotFiles lists the local paths of the table's newest snapshot, as
// its commit log records them (replaced files stay on disk until vacuum).
func snapshotFiles(t *testing.T, lk *lake.Lake, dir string) []string {
	t.Helper()
	tb, err := zones.OpenTable(lk, lake.Curated, "crm", "customers")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tb.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range snap.Files {
		files = append(files, filepath.Join(dir, "curated", filepath.FromSlash(f.Key)))
	}
	return files
}

func TestErrors(t *testing.T) {
	ro := extest.ReadOnlyDir(t)
	for _, c := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"wrong flag", []string{"-rows", "5"}, []string{"-rows"}},
		{"bad size", []string{"-customers", "0"}, []string{"-customers"}},
		{"read-only lake", []string{"-lake", ro}, []string{"not writable"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			extest.WantOneLineError(t, extest.Run(t, time.Minute, c.args), "cdc", c.wants...)
		})
	}
}
