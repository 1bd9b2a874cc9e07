package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/examples/internal/extest"
	"github.com/lakekit/lakekit/examples/internal/extest/duck"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

func TestMain(m *testing.M) {
	extest.MaybeRunMain(main)
	os.Exit(m.Run())
}

func runPF(t *testing.T, args ...string) (string, Summary) {
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
	return out.String(), s
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var n []string
	for _, e := range es {
		if !e.IsDir() {
			n = append(n, e.Name())
		}
	}
	sort.Strings(n)
	return n
}

// TestPartnerFiles runs the sample drop folder through and checks the raw
// objects (bytes and checksums through the store), where each file went,
// and the cleaned and quarantined rows with DuckDB.
func TestPartnerFiles(t *testing.T) {
	root := t.TempDir()
	drop, lakeDir := filepath.Join(root, "drop"), filepath.Join(root, "lake")
	os.Mkdir(drop, 0o755)
	// keep copies of the originals to compare against
	if err := writeSamples(drop); err != nil {
		t.Fatal(err)
	}
	orig := map[string][]byte{}
	for _, n := range names(t, drop) {
		orig[n], _ = os.ReadFile(filepath.Join(drop, n))
	}
	os.RemoveAll(drop)
	os.Mkdir(drop, 0o755)

	out, s := runPF(t, "-drop", drop, "-lake", lakeDir, "-sample")
	if s.Files != 5 || s.Landed != 3 || s.Duplicates != 1 || s.Rejected != 1 {
		t.Fatalf("summary %+v\n%s", s, out)
	}
	if got := names(t, drop); len(got) != 0 {
		t.Errorf("drop folder still holds %v", got)
	}
	if got := names(t, filepath.Join(drop, "processed")); strings.Join(got, ",") != "orders-20240501.csv,orders-20240501.csv.sha256,orders-20240502.csv,orders-20240503.csv" {
		t.Errorf("processed: %v", got)
	}
	if got := names(t, filepath.Join(drop, "duplicates")); strings.Join(got, ",") != "orders-20240502-resend.csv" {
		t.Errorf("duplicates: %v", got)
	}
	if got := names(t, filepath.Join(drop, "rejected")); strings.Join(got, ",") != "orders-20240504.csv,orders-20240504.csv.sha256" {
		t.Errorf("rejected: %v", got)
	}

	// raw: three objects, byte for byte the originals, with their checksums
	ctx := context.Background()
	lk, err := lake.Open(ctx, lakeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	store := lk.MustZone(lake.Raw).Store()
	var objs []string
	var lines int64
	for l, err := range raw.List(ctx, lk, "acme", "orders", nil) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.ReadAll(ctx, l.Key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != l.SHA256 || l.Metadata["partner"] != "acme" {
			t.Errorf("%s: recorded sha256 %s, content %x, metadata %v", l.Key, l.SHA256, sum, l.Metadata)
		}
		if !bytes.Equal(b, orig[l.OriginalName]) {
			t.Errorf("%s is not the bytes of %s", l.Key, l.OriginalName)
		}
		objs = append(objs, l.OriginalName)
		lines += int64(bytes.Count(b, []byte("\n"))) - 1
	}
	sort.Strings(objs)
	if strings.Join(objs, ",") != "orders-20240501.csv,orders-20240502.csv,orders-20240503.csv" {
		t.Fatalf("raw objects of %v", objs)
	}
	if lines != s.RawRecords || s.RawRecords != s.CleanedRows+s.QuarantinedRows || s.QuarantinedRows == 0 {
		t.Fatalf("raw has %d records; summary %+v", lines, s)
	}

	// cleaned and quarantine through DuckDB
	db := duck.Open(t)
	var n, days int64
	duck.Scan(t, db, "SELECT count(*), count(DISTINCT dt) FROM "+duck.ParquetGlob(filepath.Join(lakeDir, "cleaned", "partners", "acme_orders")), &n, &days)
	if n != s.CleanedRows || days != 3 {
		t.Errorf("DuckDB: %d cleaned rows over %d days; summary says %d", n, days, s.CleanedRows)
	}
	var bad int64
	duck.Scan(t, db, "SELECT count(*), count(*) FILTER (WHERE quantity < 1 OR currency NOT IN ('EUR','USD','GBP')) FROM "+
		duck.ParquetGlob(filepath.Join(lakeDir, "cleaned", "partners", "acme_orders")), &n, &bad)
	if bad != 0 {
		t.Errorf("%d invalid rows reached the cleaned zone", bad)
	}
	duck.Scan(t, db, "SELECT count(*) FROM "+duck.ParquetGlob(filepath.Join(lakeDir, "cleaned", "partners", "acme_orders_quarantine")), &n)
	if n != s.QuarantinedRows {
		t.Errorf("DuckDB: %d quarantined rows; summary says %d", n, s.QuarantinedRows)
	}

	// the partner sends the same file again under a new name: a duplicate,
	// nothing new in cleaned
	if err := os.WriteFile(filepath.Join(drop, "orders-20240503-again.csv"), orig["orders-20240503.csv"], 0o644); err != nil {
		t.Fatal(err)
	}
	_, s2 := runPF(t, "-drop", drop, "-lake", lakeDir)
	if s2.Files != 1 || s2.Duplicates != 1 || s2.Landed != 0 || s2.CleanedRows != 0 {
		t.Fatalf("second run %+v", s2)
	}
	duck.Scan(t, db, "SELECT count(*) FROM "+duck.ParquetGlob(filepath.Join(lakeDir, "cleaned", "partners", "acme_orders")), &n)
	if n != s.CleanedRows {
		t.Errorf("after the duplicate: %d cleaned rows, want %d", n, s.CleanedRows)
	}
}

func TestErrors(t *testing.T) {
	ro := extest.ReadOnlyDir(t)
	drop := t.TempDir()
	closed := extest.ClosedPort(t)
	cases := []struct {
		name  string
		args  []string
		env   []string
		wants []string
	}{
		{"wrong flag", []string{"-folder", "x"}, nil, []string{"-folder"}},
		{"no drop folder", []string{"-drop", filepath.Join(drop, "missing"), "-lake", t.TempDir()}, nil, []string{"missing", "not a directory"}},
		{"bad partner", []string{"-partner", "ACME", "-drop", drop}, nil, []string{"-partner"}},
		{"unreachable lake", []string{"-drop", drop, "-lake", "s3://nowhere/lake"},
			[]string{"AWS_ENDPOINT_URL=" + closed, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_MAX_ATTEMPTS=2"},
			[]string{"cannot be reached"}},
		{"read-only lake", []string{"-drop", drop, "-lake", ro}, nil, []string{"not writable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := extest.Run(t, time.Minute, c.args, c.env...)
			extest.WantOneLineError(t, r, "partner-files", c.wants...)
		})
	}
}
