//go:build cgo

package zones_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestDuckDBReadsTheFiles checks that an independent engine reads what
// zones writes: DuckDB's read_parquet over the snapshot's files with Hive
// partitioning gets the same count, sums, partitions and timestamps.
func TestDuckDBReadsTheFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := int64(200_000)
	rows := makeEvents(0, n, 100)
	ds := newEvents(t, fileLake(t, dir), nil)
	writeCommit(t, ds, rows, nil)
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range snap.Files {
		if !strings.HasPrefix(f.Location, "file://") {
			t.Fatalf("location %q is not a file URL", f.Location)
		}
		files = append(files, "'"+filepath.Join(dir, "curated", f.Key)+"'")
	}
	var wantIDs, wantNote int64
	var wantAmount float64
	for _, r := range rows {
		wantIDs += r.ID
		wantAmount += r.Amount
		wantNote += int64(len(r.Note))
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`SELECT count(*), sum(id), sum(amount), count(DISTINCT bucket), sum(length(note)),
		epoch_us(min("at")), epoch_us(max("at")), any_value(typeof("at")), count(DISTINCT kind),
		sum(CASE WHEN bucket = 'b042' THEN 1 ELSE 0 END)
		FROM read_parquet([%s], hive_partitioning = true)`, strings.Join(files, ","))
	var count, sumID, buckets, noteLen, minAt, maxAt, kindsN, b42 int64
	var sumAmount float64
	var atType string
	if err := db.QueryRowContext(ctx, q).Scan(&count, &sumID, &sumAmount, &buckets, &noteLen, &minAt, &maxAt, &atType, &kindsN, &b42); err != nil {
		t.Fatal(err)
	}
	if count != n || sumID != wantIDs || math.Abs(sumAmount-wantAmount) > 1e-6*wantAmount || buckets != 100 || noteLen != wantNote || kindsN != int64(len(kinds)) || b42 != n/100 {
		t.Fatalf("duckdb: count %d sum(id) %d sum(amount) %f buckets %d note %d kinds %d b042 %d; want %d %d %f 100 %d %d %d",
			count, sumID, sumAmount, buckets, noteLen, kindsN, b42, n, wantIDs, wantAmount, wantNote, len(kinds), n/100)
	}
	if minAt != rows[0].At.UnixMicro() || maxAt != rows[n-1].At.UnixMicro() || atType != "TIMESTAMP WITH TIME ZONE" {
		t.Fatalf("duckdb timestamps: min %d max %d type %s; want %d %d TIMESTAMP WITH TIME ZONE", minAt, maxAt, atType, rows[0].At.UnixMicro(), rows[n-1].At.UnixMicro())
	}
	// the partition column is not stored in the files (it comes from the path)
	var cols int64
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet(%s, hive_partitioning = false))`, files[0])).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if cols != 6 {
		t.Fatalf("a file has %d columns, want the 6 stored ones", cols)
	}
}
