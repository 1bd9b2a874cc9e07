//go:build cgo

package zones_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestWriterEncodingsDuckDB: DuckDB reads every value of the files written
// with the writer's encodings (delta integers, dictionary and PLAIN
// strings) exactly.
func TestWriterEncodingsDuckDB(t *testing.T) {
	rows := makeEncRows(20_000)
	_, paths := writeEncRows(t, rows, 5000)
	for _, p := range paths {
		enc := columnEncodings(t, p)
		if len(enc["kind"]) == 0 || len(enc["id"]) == 0 {
			t.Fatalf("%s: columns missing: %v", p, enc)
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list := "['" + strings.Join(paths, "','") + "']"
	r, err := db.QueryContext(context.Background(), `SELECT id, day, kind, note, tagged, ptr, bucket FROM read_parquet(`+list+`, hive_partitioning = true) ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	i := 0
	for r.Next() {
		var id int64
		var day int32
		var kind, note, tagged, bucket string
		var ptr sql.NullString
		if err := r.Scan(&id, &day, &kind, &note, &tagged, &ptr, &bucket); err != nil {
			t.Fatal(err)
		}
		if i >= len(rows) {
			t.Fatalf("duckdb read more than the %d rows written", len(rows))
		}
		w := rows[i]
		if id != w.ID || day != w.Day || kind != w.Kind || note != w.Note || tagged != w.Tagged || bucket != w.Bucket ||
			ptr.Valid != (w.Ptr != nil) || (w.Ptr != nil && ptr.String != *w.Ptr) {
			t.Fatalf("duckdb row %d: %d %d %q %q %q %v %q; wrote %+v", i, id, day, kind, note, tagged, ptr, bucket, w)
		}
		i++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(rows) {
		t.Fatalf("duckdb read %d rows, wrote %d", i, len(rows))
	}
}
