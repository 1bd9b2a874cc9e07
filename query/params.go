package query

import (
	"fmt"

	"github.com/lakekit/lakekit/query/sqltext"
)

// checkParamCount refuses a mismatch between ? placeholders and values
// before anything is sent.
func checkParamCount(sql string, params []any) error {
	if n := sqltext.CountPlaceholders(sql); n != len(params) {
		return fmt.Errorf("query: the SQL has %d ? placeholders but %d parameters were given: %w", n, len(params), ErrInvalidParam)
	}
	return nil
}
