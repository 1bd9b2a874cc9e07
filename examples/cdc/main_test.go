package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

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

// TestDMSEndToEnd runs the example in DMS's layout — a full load in 18
// LOAD files (so the hexadecimal counter passes A–F), then change files
// half a day apart (within and across date folders) — with CSV and
// Parquet, with and without IncludeOpForFullLoad and date folders, merging
// after each file or once over all files, and checks the curated table,
// read by DuckDB from the files of its newest snapshot, against a model
// that replays the raw files (read through the store) by commit time.
func TestDMSEndToEnd(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"csv-op-dated-each", []string{"-format", "csv"}},
		{"csv-noop-flat-atend", []string{"-format", "csv", "-op-for-full-load=false", "-date-folders=false", "-merge-at-end"}},
		{"parquet-op-dated-atend", []string{"-format", "parquet", "-merge-at-end"}},
		{"parquet-noop-flat-each", []string{"-format", "parquet", "-op-for-full-load=false", "-date-folders=false"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"-lake", dir, "-customers", "600", "-batches", "4", "-seed", "5"}, c.args...)
			s := runCDC(t, args...)
			// merged file by file, re-sent changes arrive after newer ones
			// were applied (stale); merged at once, the newest simply wins
			stale := !slices.Contains(c.args, "-merge-at-end")
			if s.RawFiles != 22 || (s.Stale > 0) != stale || s.QuarantinedRows != 3 || s.Deleted == 0 || s.Updated == 0 || s.Unaccepted != 0 {
				t.Fatalf("summary %+v: want 22 files (18 LOAD, 4 changes), stale changes %v, updated and deleted changes, 3 quarantined (one per change file after the first), none unaccepted", s, stale)
			}
			checkModel(t, dir, s, slices.Contains(c.args, "-date-folders=false"))

			// running again writes nothing new and changes nothing
			s2 := runCDC(t, args...)
			if s2.RawFiles != 0 || s2.CuratedRows != s.CuratedRows || s2.CuratedVersion != s.CuratedVersion {
				t.Fatalf("rerun: %+v, first run %+v", s2, s)
			}
		})
	}
}

// checkModel replays the raw files of the lake in dir and compares the
// curated table with the result.
func checkModel(t *testing.T, dir string, s Summary, flat bool) {
	t.Helper()
	ctx := context.Background()
	lk, err := lake.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	model := map[string]*modelRow{}
	var changes, bad int64
	var names []string
	layout := &raw.DMSLayout{Schema: dmsSchema, Table: dmsTable, DatePartition: !flat}
	for l, err := range raw.List(ctx, lk, "dms", "customers", &raw.ListOptions{Layout: layout}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, l.Key[strings.LastIndexByte(l.Key, '/')+1:])
		b, err := lk.MustZone(lake.Raw).Store().ReadAll(ctx, l.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range fileRecords(t, l.Key, b) { // Op,cdc_ts,id,name,email,country,balance
			changes++
			op, ts, id := r[0], r[1], r[2]
			if op == "" {
				op = "I"
			}
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
	// DMS's order: LOAD00000001 … LOAD00000009, LOAD0000000A … LOAD00000012, then the changes by time
	if len(names) != 22 || names[9] != "LOAD0000000A"+ext(names[9]) || names[15] != "LOAD00000010"+ext(names[15]) ||
		!strings.HasPrefix(names[18], "2024") || !slices.IsSorted(names[18:]) {
		t.Fatalf("listed in the order %v", names)
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
}

func ext(name string) string { return name[strings.IndexByte(name, '.'):] }

// fileRecords reads a DMS file as records Op,cdc_ts,id,name,email,country,
// balance (Op "" where the file has no Op column), with encoding/csv or
// parquet-go, not with lakekit's decoders.
func fileRecords(t *testing.T, key string, b []byte) [][]string {
	t.Helper()
	if strings.HasSuffix(key, ".parquet") {
		rows, err := parquet.Read[dmsRow](bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		var out [][]string
		for _, r := range rows {
			out = append(out, []string{r.Op, r.CDCTS, fmt.Sprint(r.ID), r.Name, r.Email, r.Country, strconv.FormatFloat(r.Balance, 'f', 2, 64)})
		}
		return out
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, r := range recs[1:] {
		if recs[0][0] != "Op" {
			r = append([]string{""}, r...)
		}
		out = append(out, r)
	}
	return out
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
