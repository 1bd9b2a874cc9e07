// Package sqltext holds the SQL-text helpers lakekit's query engines share
// and that an engine written outside lakekit may use too: finding the
// positional ? placeholders of a statement (outside literals, quoted
// identifiers and comments), rewriting them as named ones, and quoting
// identifiers and the string literals of DDL and warehouse commands.
//
// Applications do not need it: they pass values as parameters
// (query.Engine.Query's params) and names through the catalog. Errors wrap
// ErrInvalid, which is query.ErrInvalid.
package sqltext

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid: an identifier or string that cannot be quoted (empty, or
// holding a NUL byte). query.ErrInvalid is this error.
var ErrInvalid = errors.New("query: invalid input")

// Placeholders returns the byte offsets of the positional `?` placeholders
// in sql, skipping string literals ('...', with doubled-quote escapes), quoted
// identifiers ("..." and `...`), dollar-quoted strings ($$...$$), and
// comments (-- to end of line, /* ... */).
func Placeholders(sql string) []int {
	var out []int
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; c {
		case '?':
			out = append(out, i)
		case '\'', '"', '`':
			for i++; i < len(sql); i++ {
				if sql[i] == c {
					if i+1 < len(sql) && sql[i+1] == c {
						i++
						continue
					}
					break
				}
			}
		case '-':
			if i+1 < len(sql) && sql[i+1] == '-' {
				for i < len(sql) && sql[i] != '\n' {
					i++
				}
			}
		case '/':
			if i+1 < len(sql) && sql[i+1] == '*' {
				end := strings.Index(sql[i+2:], "*/")
				if end < 0 {
					i = len(sql)
				} else {
					i += 2 + end + 1
				}
			}
		case '$':
			// $tag$ ... $tag$ (Redshift/Postgres dollar quoting)
			j := i + 1
			for j < len(sql) && (sql[j] == '_' || sql[j] >= 'a' && sql[j] <= 'z' || sql[j] >= 'A' && sql[j] <= 'Z' || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			if j < len(sql) && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					i = len(sql)
				} else {
					i = j + 1 + end + len(tag) - 1
				}
			}
		}
	}
	return out
}

// CountPlaceholders returns how many positional ? placeholders sql has
// outside literals, quoted identifiers and comments.
func CountPlaceholders(sql string) int { return len(Placeholders(sql)) }

// NamedPlaceholders rewrites each positional ? of sql as :p1, :p2, ... (the
// Redshift Data API's named parameters) and returns the names in order.
func NamedPlaceholders(sql string) (string, []string) {
	pos := Placeholders(sql)
	if len(pos) == 0 {
		return sql, nil
	}
	var b strings.Builder
	names := make([]string, len(pos))
	last := 0
	for i, p := range pos {
		names[i] = "p" + strconv.Itoa(i+1)
		b.WriteString(sql[last:p])
		b.WriteString(":" + names[i])
		last = p + 1
	}
	b.WriteString(sql[last:])
	return b.String(), names
}

// QuoteIdent quotes an SQL identifier with double quotes, doubling any
// double quote inside (ANSI; DuckDB, Athena DML, Redshift). A name with a
// NUL byte or an empty name is refused.
func QuoteIdent(name string) (string, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("sqltext: invalid identifier %q (empty or holds a NUL byte): %w", name, ErrInvalid)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// QuoteQualified quotes each part and joins them with dots: "db"."table".
func QuoteQualified(parts ...string) (string, error) {
	q := make([]string, len(parts))
	for i, p := range parts {
		s, err := QuoteIdent(p)
		if err != nil {
			return "", err
		}
		q[i] = s
	}
	return strings.Join(q, "."), nil
}

// QuoteString renders s as a SQL string literal with doubled-quote escaping. It is for
// the parts of DDL and warehouse commands that cannot be parameters (S3
// locations, role ARNs in COPY/UNLOAD), never for user values in queries.
func QuoteString(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("sqltext: string %q holds a NUL byte: %w", s, ErrInvalid)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}
