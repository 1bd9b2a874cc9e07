package duckdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
)

// TestReadOnlyRefusalNamesStatement: a read-only engine's refusal names the
// statement as written and the option that allows it, and matches
// query.ErrReadOnly.
func TestReadOnlyRefusalNamesStatement(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lk, cat := openLake(t, "file://"+dir)
	writeEvents(t, lk, cat, events(10, 2, 0))
	e, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for sql, want := range map[string]string{
		`DROP VIEW shop.events`:                                 "DROP VIEW refused",
		`drop view if exists x`:                                 "DROP VIEW refused",
		`CREATE TABLE t AS SELECT 1`:                            "CREATE TABLE refused",
		`-- make it\nCREATE OR REPLACE TEMP VIEW v AS SELECT 1`: "CREATE VIEW refused",
		`/* x */ (SELECT 1)`:                                    "",
		`COPY (SELECT 1) TO '` + dir + `/curated/x.csv'`:        "COPY refused",
		`ATTACH ':memory:' AS other`:                            "ATTACH refused",
		`SET enable_external_access = true`:                     "SET refused",
		`INSTALL httpfs`:                                        "INSTALL refused",
	} {
		sql = strings.ReplaceAll(sql, `\n`, "\n")
		_, err := e.Exec(ctx, sql)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", sql, err)
			}
			continue
		}
		if !errors.Is(err, query.ErrReadOnly) {
			t.Errorf("%s: %v, want query.ErrReadOnly", sql, err)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Options.Writable") {
			t.Errorf("%s: %q, want it to say %q and name Options.Writable", sql, err, want)
		}
		if strings.Contains(err.Error(), "of type") {
			t.Errorf("%s: the refusal still gives a type number: %v", sql, err)
		}
	}
}
