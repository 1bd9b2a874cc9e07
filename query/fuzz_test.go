package query_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/sqltext"
)

// unquoteANSI reads one quoted token at the start of lit (quote doubled
// inside) and returns its content and the rest after the closing quote.
func unquoteANSI(lit string, q byte) (content, rest string, ok bool) {
	if len(lit) < 2 || lit[0] != q {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(lit); i++ {
		if lit[i] != q {
			b.WriteByte(lit[i])
			continue
		}
		if i+1 < len(lit) && lit[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), lit[i+1:], true
	}
	return "", "", false
}

// FuzzSQLLiteral: a string parameter rendered for Athena (SQLLiteral),
// for DDL (QuoteString) or as an identifier (QuoteIdent) is exactly one
// token that reads back as the input, and the placeholder scanner sees no
// '?' inside it: the value can never break out of its quotes.
func FuzzSQLLiteral(f *testing.F) {
	for _, s := range []string{"", "plain", "it's", "''", "'; DROP TABLE t; --", `\'`, `"`, "?", "a?b'?'", "\n\r\t", "é€𝄞", "/* ? */", "-- ?", "$1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, err := query.SQLLiteral(s)
		if strings.IndexByte(s, 0) >= 0 {
			if err == nil {
				t.Fatalf("a NUL byte was accepted: %q", lit)
			}
			return
		}
		if err != nil {
			t.Fatalf("SQLLiteral(%q): %v", s, err)
		}
		got, rest, ok := unquoteANSI(lit, '\'')
		if !ok || rest != "" || got != s {
			t.Fatalf("SQLLiteral(%q) = %q reads back as %q with %q after it", s, lit, got, rest)
		}
		if n := sqltext.CountPlaceholders("SELECT " + lit + " = ?"); n != 1 {
			t.Fatalf("SELECT %s = ? has %d placeholders, want 1: the literal leaks", lit, n)
		}
		q, err := sqltext.QuoteString(s)
		if err != nil || q != lit {
			t.Fatalf("QuoteString(%q) = %q, %v; SQLLiteral gave %q", s, q, err, lit)
		}
		if s != "" {
			id, err := sqltext.QuoteIdent(s)
			if err != nil {
				t.Fatalf("QuoteIdent(%q): %v", s, err)
			}
			got, rest, ok := unquoteANSI(id, '"')
			if !ok || rest != "" || got != s {
				t.Fatalf("QuoteIdent(%q) = %q reads back as %q with %q after it", s, id, got, rest)
			}
			if n := sqltext.CountPlaceholders("SELECT " + id + " FROM t WHERE x = ?"); n != 1 {
				t.Fatalf("identifier %s: %d placeholders, want 1", id, n)
			}
		}
		_ = utf8.ValidString(s)
	})
}

// unquoteRedshift reads one Redshift string literal at the start of lit:
// ” is a quote and a backslash escapes the next byte.
func unquoteRedshift(lit string) (content, rest string, ok bool) {
	if len(lit) < 2 || lit[0] != '\'' {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(lit); i++ {
		switch c := lit[i]; {
		case c == '\\' && i+1 < len(lit):
			b.WriteByte(lit[i+1])
			i++
		case c == '\'' && i+1 < len(lit) && lit[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'':
			return b.String(), lit[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// FuzzRedshiftUnload: the query inside UNLOAD ('...') and the S3 target
// are Redshift literals that read back exactly (backslashes and quotes
// escaped), whatever they hold.
func FuzzRedshiftUnload(f *testing.F) {
	for _, s := range []string{"SELECT 1", `SELECT 'a\'`, `SELECT '\\'' ) TO 's3://evil/'`, "SELECT '''", `\`, `x\`} {
		f.Add(s, "s3://lake/out/")
	}
	f.Fuzz(func(t *testing.T, q, to string) {
		sql, err := query.UnloadSQL(q, to, "arn:aws:iam::123456789012:role/unload", nil)
		if err != nil {
			return
		}
		rest, ok := strings.CutPrefix(sql, "UNLOAD (")
		if !ok {
			t.Fatalf("%q", sql)
		}
		got, rest, ok := unquoteRedshift(rest)
		if !ok || got != q {
			t.Fatalf("UNLOAD query literal of %q reads back as %q (ok %v) in %q", q, got, ok, sql)
		}
		rest, ok = strings.CutPrefix(rest, ") TO ")
		if !ok {
			t.Fatalf("after the query literal: %q", rest)
		}
		dst, rest, ok := unquoteRedshift(rest)
		if !ok || dst != to || !strings.HasPrefix(rest, " IAM_ROLE 'arn:aws:iam::123456789012:role/unload'") {
			t.Fatalf("UNLOAD target %q reads back as %q, then %q", to, dst, rest)
		}
	})
}
