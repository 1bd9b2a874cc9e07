//go:build cgo

package parquetx

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// The checks must never refuse a file another writer made: DuckDB's files
// in every codec lakekit reads, with structs, lists and nulls.
func TestPageCheckAcceptsDuckDBFiles(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	for _, codec := range []string{"uncompressed", "snappy", "gzip", "zstd"} {
		t.Run("duckdb/"+codec, func(t *testing.T) {
			path := filepath.Join(dir, codec+".parquet")
			q := fmt.Sprintf(`COPY (SELECT i AS id, CASE WHEN i %% 3 = 0 THEN NULL ELSE repeat('y', i %% 61) END AS name,
				['a','b','c'][i %% 3 + 1] AS kind, range(i %% 4) AS tags, i / 7.0 AS score,
				{'k': i, 'v': 'w' || i} AS st
				FROM range(30000) t(i)) TO '%s' (FORMAT parquet, COMPRESSION %s, ROW_GROUP_SIZE 10000)`, path, codec)
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkWholeFile(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}
