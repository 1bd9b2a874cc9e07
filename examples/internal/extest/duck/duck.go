// Package duck reads Parquet files with DuckDB through database/sql, the
// examples' tests' independent check of what lakekit wrote.
package duck

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // the independent reader
)

// Open opens an in-memory DuckDB.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Scan runs a query on DuckDB and scans its one row into dest.
func Scan(t testing.TB, db *sql.DB, q string, dest ...any) {
	t.Helper()
	if err := db.QueryRow(q).Scan(dest...); err != nil {
		t.Fatalf("duckdb: %s: %v", q, err)
	}
}

// ParquetGlob is a DuckDB read_parquet over every Parquet file under dir
// (hive partitioning on), quoted for SQL.
func ParquetGlob(dir string) string {
	return "read_parquet('" + strings.ReplaceAll(filepath.ToSlash(dir), "'", "''") + "/**/*.parquet', hive_partitioning = true)"
}

// ParquetFiles is a DuckDB read_parquet over exactly these files.
func ParquetFiles(files []string) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = "'" + strings.ReplaceAll(filepath.ToSlash(f), "'", "''") + "'"
	}
	return "read_parquet([" + strings.Join(q, ", ") + "], hive_partitioning = true)"
}
