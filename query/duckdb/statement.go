package duckdb

import (
	"fmt"
	"strings"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/query"
)

// verbs names DuckDB's statement types as SQL spells them.
var verbs = map[duck.StmtType]string{
	duck.STATEMENT_TYPE_SELECT:       "SELECT",
	duck.STATEMENT_TYPE_INSERT:       "INSERT",
	duck.STATEMENT_TYPE_UPDATE:       "UPDATE",
	duck.STATEMENT_TYPE_EXPLAIN:      "EXPLAIN",
	duck.STATEMENT_TYPE_DELETE:       "DELETE",
	duck.STATEMENT_TYPE_PREPARE:      "PREPARE",
	duck.STATEMENT_TYPE_CREATE:       "CREATE",
	duck.STATEMENT_TYPE_EXECUTE:      "EXECUTE",
	duck.STATEMENT_TYPE_ALTER:        "ALTER",
	duck.STATEMENT_TYPE_TRANSACTION:  "transaction statement",
	duck.STATEMENT_TYPE_COPY:         "COPY",
	duck.STATEMENT_TYPE_ANALYZE:      "ANALYZE",
	duck.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE",
	duck.STATEMENT_TYPE_CREATE_FUNC:  "CREATE FUNCTION",
	duck.STATEMENT_TYPE_DROP:         "DROP",
	duck.STATEMENT_TYPE_EXPORT:       "EXPORT DATABASE",
	duck.STATEMENT_TYPE_PRAGMA:       "PRAGMA",
	duck.STATEMENT_TYPE_VACUUM:       "VACUUM",
	duck.STATEMENT_TYPE_CALL:         "CALL",
	duck.STATEMENT_TYPE_SET:          "SET",
	duck.STATEMENT_TYPE_LOAD:         "LOAD",
	duck.STATEMENT_TYPE_RELATION:     "relation",
	duck.STATEMENT_TYPE_EXTENSION:    "extension statement",
	duck.STATEMENT_TYPE_LOGICAL_PLAN: "logical plan",
	duck.STATEMENT_TYPE_ATTACH:       "ATTACH",
	duck.STATEMENT_TYPE_DETACH:       "DETACH",
	duck.STATEMENT_TYPE_MULTI:        "multi-statement",
}

// readOnlyRefusal is the error for a statement a read-only engine refuses:
// it names the statement as written ("DROP VIEW refused") and the fix.
func readOnlyRefusal(typ duck.StmtType, sqlText string) error {
	return fmt.Errorf("duckdb: %s refused: the engine is read-only (open it with Options.Writable to allow writes to its own database): %w",
		statementName(typ, sqlText), query.ErrReadOnly)
}

// statementName names a statement for an error: its leading keywords
// ("DROP VIEW", "CREATE TABLE", "COPY", "INSTALL") when the text starts
// with the verb DuckDB parsed, else the verb of its type.
func statementName(typ duck.StmtType, sqlText string) string {
	verb, ok := verbs[typ]
	if !ok {
		verb = fmt.Sprintf("statement of type %d", typ)
	}
	words := leadingWords(sqlText, 6)
	if len(words) == 0 {
		return verb
	}
	switch words[0] {
	case "CREATE", "DROP", "ALTER":
		// the object kind follows the verb, after its modifiers
		for _, w := range words[1:] {
			switch w {
			case "OR", "REPLACE", "TEMP", "TEMPORARY", "UNIQUE", "PERSISTENT", "IF", "NOT", "EXISTS":
				continue
			}
			return words[0] + " " + w
		}
		return words[0]
	case "INSTALL", "FORCE", "UPDATE", "USE", "CHECKPOINT", "RESET", "DETACH", "ATTACH", "COPY", "SET", "LOAD", "EXPORT", "IMPORT", "INSERT", "DELETE", "CALL", "VACUUM", "BEGIN", "COMMIT", "ROLLBACK", "TRUNCATE", "MERGE":
		if words[0] == "FORCE" && len(words) > 1 {
			return "FORCE " + words[1]
		}
		return words[0]
	}
	return verb
}

// leadingWords returns up to n upper-cased words at the start of sqlText,
// skipping white space, comments and opening parentheses; a word is a run
// of letters and underscores.
func leadingWords(sqlText string, n int) []string {
	var out []string
	s := sqlText
	for len(out) < n {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "--"):
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i+1:]
				continue
			}
			return out
		case strings.HasPrefix(s, "/*"):
			if i := strings.Index(s[2:], "*/"); i >= 0 {
				s = s[2+i+2:]
				continue
			}
			return out
		}
		end := 0
		for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z') {
			end++
		}
		if end == 0 {
			return out
		}
		out = append(out, strings.ToUpper(s[:end]))
		s = s[end:]
	}
	return out
}
