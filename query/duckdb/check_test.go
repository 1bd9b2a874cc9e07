package duckdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
)

// TestCheckRemembered: a SQL text the engine has checked once is checked
// from memory the next times (the engine does not prepare it twice), and
// the answers stay what the first check said: a writing statement is
// refused every time, a wrong number of values every time, a text that
// did not prepare fails again, and a good query answers the same.
func TestCheckRemembered(t *testing.T) {
	ctx := context.Background()
	lk, cat := fileLake(t)
	writeEvents(t, lk, cat, events(100, 4, 0))
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	count := "SELECT count(*) AS n FROM shop.events WHERE bucket = ?"
	for round := range 3 {
		if _, err := e.Exec(ctx, "DROP VIEW shop.events"); !errors.Is(err, query.ErrReadOnly) {
			t.Fatalf("round %d: Exec DROP VIEW: %v, want query.ErrReadOnly", round, err)
		}
		if _, err := e.Query(ctx, "DROP VIEW shop.events"); !errors.Is(err, query.ErrReadOnly) {
			t.Fatalf("round %d: Query DROP VIEW: %v, want query.ErrReadOnly", round, err)
		}
		if _, err := e.Query(ctx, count); !errors.Is(err, query.ErrInvalidParam) {
			t.Fatalf("round %d: no value for a placeholder: %v, want query.ErrInvalidParam", round, err)
		}
		if _, err := e.Query(ctx, count, 1, 2); !errors.Is(err, query.ErrInvalidParam) {
			t.Fatalf("round %d: two values for one placeholder: %v, want query.ErrInvalidParam", round, err)
		}
		if _, err := e.Query(ctx, "SELECT * FROM shop.no_such_table"); !errors.Is(err, query.ErrQueryFailed) {
			t.Fatalf("round %d: unknown table: %v, want query.ErrQueryFailed", round, err)
		}
		if _, err := e.Query(ctx, "SELECT 1; SELECT 2"); err == nil {
			t.Fatalf("round %d: two statements were accepted", round)
		}
		res, err := e.Query(ctx, count, 1)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rows, err := res.All()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(rows) != 1 || rows[0][0] != int64(25) {
			t.Fatalf("round %d: count of bucket 1 = %v, want [[25]]", round, rows)
		}
	}
}
