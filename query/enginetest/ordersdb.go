package enginetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakekit/lakekit/internal/testaws"
)

// OrdersDB runs the statements the AWS peers receive in DuckDB, over a
// table shop.orders holding Orders(), the way the service would run them:
// an Athena statement with its execution parameters (SQL literals, one per
// ?), a Redshift Data API statement with its named parameters (text
// values for :name). The peers' answers so come from running what the
// engine sent: a wrong statement or a wrong parameter fails the execution
// or answers other rows, and the suite sees it.
type OrdersDB struct {
	mu   sync.Mutex
	conn *sql.Conn // one connection: PREPARE and EXECUTE must share it
	seq  int
}

// Answer is a statement's result: DuckDB's columns and the Go values it
// returned (int64, float64, bool, string, time.Time, *big.Rat for
// decimals, nil).
type Answer struct {
	Columns []AnswerColumn
	Rows    [][]any
}

// AnswerColumn is a result column: DuckDB's type name without its
// arguments (BIGINT, VARCHAR, DOUBLE, BOOLEAN, TIMESTAMP, DATE, DECIMAL)
// and a decimal's precision and scale.
type AnswerColumn struct {
	Name             string
	Type             string
	Precision, Scale int
}

// OpenOrdersDB opens the database (closed when t ends). It skips t where
// DuckDB is not built in (without cgo), failing it when CI=true.
func OpenOrdersDB(t testing.TB) *OrdersDB {
	t.Helper()
	if !haveDuckDB {
		testaws.SkipOrFail(t, "enginetest: the AWS peers run statements in DuckDB, which needs cgo")
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, q := range []string{
		`CREATE SCHEMA shop`,
		`CREATE TABLE shop.orders (order_id BIGINT, customer VARCHAR, amount DOUBLE, paid BOOLEAN, placed_at TIMESTAMP, region VARCHAR)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, o := range Orders() {
		if _, err := conn.ExecContext(ctx, `INSERT INTO shop.orders VALUES (?, ?, ?, ?, ?, ?)`,
			o.ID, o.Customer, o.Amount, o.Paid, o.At.UTC(), o.Region); err != nil {
			t.Fatal(err)
		}
	}
	return &OrdersDB{conn: conn}
}

// RunAthena runs sql as Athena runs a statement with execution parameters:
// each literal is the SQL text of the value for the ? at its position
// (PREPARE, then EXECUTE with the literals as arguments). One statement
// only; a count of literals other than the ? marks fails, as on Athena.
func (o *OrdersDB) RunAthena(sql string, literals []string) (*Answer, error) {
	return o.run(sql, literals)
}

// RunRedshift runs sql as the Redshift Data API runs a statement with
// parameters: each :name placeholder (outside quotes and -- comments) takes
// the text value of the parameter of that name, cast to the type its
// place needs. A placeholder without a parameter fails.
func (o *OrdersDB) RunRedshift(sql string, params map[string]string) (*Answer, error) {
	text, names, err := namedToPositional(sql, params)
	if err != nil {
		return nil, err
	}
	args := make([]string, len(names))
	for i, n := range names {
		args[i] = "'" + strings.ReplaceAll(params[n], "'", "''") + "'"
	}
	return o.run(text, args)
}

// run prepares text (refusing more than one statement) and executes it
// with args, SQL expressions for its ? marks.
func (o *OrdersDB) run(text string, args []string) (*Answer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ctx := context.Background()
	st, err := o.conn.PrepareContext(ctx, text) // one statement, or an error
	if err != nil {
		return nil, err
	}
	st.Close()
	o.seq++
	name := fmt.Sprintf("peer_stmt_%d", o.seq)
	if _, err := o.conn.ExecContext(ctx, "PREPARE "+name+" AS "+text); err != nil {
		return nil, err
	}
	defer o.conn.ExecContext(ctx, "DEALLOCATE "+name)
	exec := "EXECUTE " + name
	if len(args) > 0 {
		exec += "(" + strings.Join(args, ", ") + ")"
	}
	rows, err := o.conn.QueryContext(ctx, exec)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return readAnswer(rows)
}

// readAnswer reads every row of rows with its column types.
func readAnswer(rows *sql.Rows) (*Answer, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	ans := &Answer{}
	for _, ct := range cts {
		c := AnswerColumn{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		if base, args, ok := strings.Cut(c.Type, "("); ok {
			c.Type = base
			p, s, _ := strings.Cut(strings.TrimSuffix(args, ")"), ",")
			c.Precision, _ = strconv.Atoi(strings.TrimSpace(p))
			c.Scale, _ = strconv.Atoi(strings.TrimSpace(s))
		}
		ans.Columns = append(ans.Columns, c)
	}
	for rows.Next() {
		vals := make([]any, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if ans.Columns[i].Type == "DECIMAL" && v != nil {
				r, ok := new(big.Rat).SetString(fmt.Sprint(v))
				if !ok {
					return nil, fmt.Errorf("enginetest: decimal %v does not parse", v)
				}
				vals[i] = r
			}
		}
		ans.Rows = append(ans.Rows, vals)
	}
	return ans, rows.Err()
}

// text renders a value as both services print it in their text form:
// timestamps with milliseconds, dates as dates, decimals with the
// column's scale.
func (c AnswerColumn) text(v any) string {
	switch x := v.(type) {
	case time.Time:
		if c.Type == "DATE" {
			return x.Format("2006-01-02")
		}
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case *big.Rat:
		return x.FloatString(c.Scale)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if x >= 1e7 || x <= -1e7 {
			s = strconv.FormatFloat(x, 'E', -1, 64)
		}
		return s
	}
	return fmt.Sprint(v)
}

// namedToPositional replaces each :name placeholder of sql that params
// holds (outside string literals, quoted identifiers and -- comments)
// with ?,
// returning the names in order. An unknown :name is an error.
func namedToPositional(sql string, params map[string]string) (string, []string, error) {
	var b strings.Builder
	var names []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				j++
			}
			b.WriteString(sql[i:min(j+1, len(sql))])
			i = j + 1
		case strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			b.WriteString(sql[i : i+j])
			i += j
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':': // a :: cast
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < len(sql) && isNameByte(sql[i+1]):
			j := i + 1
			for j < len(sql) && isNameByte(sql[j]) {
				j++
			}
			n := sql[i+1 : j]
			if _, ok := params[n]; !ok {
				return "", nil, fmt.Errorf("ERROR: no value for parameter :%s", n)
			}
			names = append(names, n)
			b.WriteByte('?')
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), names, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
