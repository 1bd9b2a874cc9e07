package enginetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/query"
)

// Order is the suite's dataset row. Region is the partition key.
type Order struct {
	ID       int64     `parquet:"order_id"`
	Customer string    `parquet:"customer"`
	Amount   float64   `parquet:"amount"`
	Paid     bool      `parquet:"paid"`
	At       time.Time `parquet:"placed_at,timestamp(microsecond)"`
	Region   string    `parquet:"-" lakekit:"partition,name=region"`
}

// Database and Table name the dataset: shop.orders.
const (
	Database = "shop"
	Table    = "orders"
)

// Hostile is a parameter value that would drop the table if it were
// spliced into the SQL text.
const Hostile = "x'; DROP TABLE shop.orders; --"

// Orders returns the dataset: 60 orders over 3 regions and 4 customers.
func Orders() []Order {
	regions := []string{"eu", "us", "ap"}
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	out := make([]Order, 60)
	for i := range out {
		out[i] = Order{
			ID: int64(i + 1), Customer: fmt.Sprintf("c%d", i%4), Amount: float64((i*37)%100) + 0.25,
			Paid: i%3 != 0, At: t0.Add(time.Duration(i) * 90 * time.Minute), Region: regions[i%3],
		}
	}
	return out
}

// FlatOrder is Order for an unpartitioned table: Region is a stored
// column, so the suite's queries read the same.
type FlatOrder struct {
	ID       int64     `parquet:"order_id"`
	Customer string    `parquet:"customer"`
	Amount   float64   `parquet:"amount"`
	Paid     bool      `parquet:"paid"`
	At       time.Time `parquet:"placed_at,timestamp(microsecond)"`
	Region   string    `parquet:"region"`
}

// FlatOrders returns Orders as FlatOrder rows.
func FlatOrders() []FlatOrder {
	orders := Orders()
	out := make([]FlatOrder, len(orders))
	for i, o := range orders {
		out[i] = FlatOrder(o)
	}
	return out
}

// ColumnSpec is an expected column: its name and its kind (bigint,
// varchar, double, boolean, timestamp, date, decimal).
type ColumnSpec struct {
	Name string
	Kind string
}

// Case is one conformance query.
type Case struct {
	Name    string
	SQL     string
	Params  []any
	Columns []ColumnSpec
	Rows    [][]any
	// Typed also scans the rows into CustomerTotal with query.ScanRows.
	Typed bool
}

// CustomerTotal is the typed row of the "per_customer" case.
type CustomerTotal struct {
	Customer string  `db:"customer"`
	N        int64   `db:"n"`
	Total    float64 `db:"total"`
}

var kindGoType = map[string]reflect.Type{
	"bigint":    reflect.TypeFor[int64](),
	"varchar":   reflect.TypeFor[string](),
	"double":    reflect.TypeFor[float64](),
	"boolean":   reflect.TypeFor[bool](),
	"timestamp": reflect.TypeFor[time.Time](),
	"date":      reflect.TypeFor[time.Time](),
	"decimal":   reflect.TypeFor[query.Decimal](),
}

// Cases returns the suite's queries with their answers computed from Orders.
func Cases() []Case {
	orders := Orders()
	var cases []Case
	cases = append(cases, Case{Name: "count", SQL: `SELECT count(*) AS n FROM shop.orders`,
		Columns: []ColumnSpec{{"n", "bigint"}}, Rows: [][]any{{int64(len(orders))}}})

	type agg struct {
		n     int64
		total float64
	}
	by := map[string]*agg{}
	for _, o := range orders {
		a := by[o.Customer]
		if a == nil {
			a = &agg{}
			by[o.Customer] = a
		}
		a.n++
		a.total += o.Amount
	}
	var custs []string
	for c := range by {
		custs = append(custs, c)
	}
	sort.Strings(custs)
	var rows [][]any
	for _, c := range custs {
		rows = append(rows, []any{c, by[c].n, by[c].total})
	}
	cases = append(cases, Case{Name: "per_customer", Typed: true,
		SQL:     `SELECT customer, count(*) AS n, sum(amount) AS total FROM shop.orders GROUP BY customer ORDER BY customer`,
		Columns: []ColumnSpec{{"customer", "varchar"}, {"n", "bigint"}, {"total", "double"}}, Rows: rows})

	rows = nil
	for _, o := range orders {
		if o.Region == "eu" && o.Amount > 50 {
			rows = append(rows, []any{o.ID, o.Paid, o.At})
		}
	}
	cases = append(cases, Case{Name: "bound_filter",
		SQL:     `SELECT order_id, paid, placed_at FROM shop.orders WHERE region = ? AND amount > ? ORDER BY order_id`,
		Params:  []any{"eu", 50.0},
		Columns: []ColumnSpec{{"order_id", "bigint"}, {"paid", "boolean"}, {"placed_at", "timestamp"}}, Rows: rows})

	cases = append(cases, Case{Name: "hostile_parameter",
		SQL:     `SELECT count(*) AS n FROM shop.orders WHERE customer = ?`,
		Params:  []any{Hostile},
		Columns: []ColumnSpec{{"n", "bigint"}}, Rows: [][]any{{int64(0)}}})

	cases = append(cases, Case{Name: "typed_literals",
		SQL:     `SELECT CAST(12.5 AS DECIMAL(10,2)) AS d, DATE '2024-01-02' AS day, CAST(NULL AS VARCHAR) AS nothing`,
		Columns: []ColumnSpec{{"d", "decimal"}, {"day", "date"}, {"nothing", "varchar"}},
		Rows:    [][]any{{query.MustDecimal("12.50"), time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), nil}}})

	// still there after the hostile parameter
	cases = append(cases, Case{Name: "still_there", SQL: `SELECT count(*) AS n FROM shop.orders`,
		Columns: []ColumnSpec{{"n", "bigint"}}, Rows: [][]any{{int64(len(orders))}}})
	return cases
}

var valueCmp = cmp.Options{
	cmpopts.EquateApprox(0, 1e-9),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
}

// Run runs every case, in order, against e.
func Run(t *testing.T, e query.Engine) {
	ctx := context.Background()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			res, err := e.Query(ctx, c.SQL, c.Params...)
			if err != nil {
				t.Fatalf("%s: %v", c.SQL, err)
			}
			defer res.Close()
			if len(res.Columns) != len(c.Columns) {
				t.Fatalf("columns %v, want %v", res.ColumnNames(), c.Columns)
			}
			for i, want := range c.Columns {
				got := res.Columns[i]
				if got.Name != want.Name {
					t.Errorf("column %d is named %q, want %q", i, got.Name, want.Name)
				}
				if got.GoType != kindGoType[want.Kind] {
					t.Errorf("column %q (%s) has Go type %v, want %v (%s)", got.Name, got.DatabaseType, got.GoType, kindGoType[want.Kind], want.Kind)
				}
			}
			if c.Typed {
				var got []CustomerTotal
				for v, err := range query.ScanRows[CustomerTotal](res) {
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, v)
				}
				var want []CustomerTotal
				for _, r := range c.Rows {
					want = append(want, CustomerTotal{r[0].(string), r[1].(int64), r[2].(float64)})
				}
				if d := cmp.Diff(want, got, valueCmp); d != "" {
					t.Fatalf("typed rows (-want +got):\n%s", d)
				}
				return
			}
			got, err := res.All()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.Rows, got, valueCmp); d != "" {
				t.Fatalf("rows (-want +got):\n%s", d)
			}
		})
	}
	t.Run("parameter_count", func(t *testing.T) { checkParamCount(t, e) })
	t.Run("exec", func(t *testing.T) { checkExec(t, e) })
	t.Run("failed", func(t *testing.T) { checkFailed(t, e) })
	t.Run("cancelled", func(t *testing.T) { checkCancelled(t, e) })
	t.Run("consumed_and_scan", func(t *testing.T) { checkResultErrors(t, e) })
}

// checkExec: Exec runs a statement with its parameters bound and returns
// its statistics.
func checkExec(t *testing.T, e query.Engine) {
	st, err := e.Exec(context.Background(), `SELECT count(*) AS n FROM shop.orders WHERE customer = ? AND amount > ?`, "c1", 10.5)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if st == nil {
		t.Fatal("Exec returned no Stats")
	}
}

// failingStatements fail when they run, on every engine: a table that is
// not there, a syntax error, a parameter that does not convert to the
// type its place needs.
var failingStatements = []struct {
	name   string
	sql    string
	params []any
}{
	{"no_such_table", `SELECT count(*) AS n FROM shop.no_such_table`, nil},
	{"syntax_error", `SELEC count(*) AS n FROM shop.orders`, nil},
	{"wrong_parameter_type", `SELECT count(*) AS n FROM shop.orders WHERE amount > ?`, []any{"lots"}},
}

// checkFailed: a statement that fails when it runs is refused by Query and
// Exec with query.ErrQueryFailed (not ErrInvalidParam, not a bare driver
// or service error).
func checkFailed(t *testing.T, e query.Engine) {
	ctx := context.Background()
	for _, c := range failingStatements {
		res, err := e.Query(ctx, c.sql, c.params...)
		if err == nil {
			res.Close()
		}
		if !errors.Is(err, query.ErrQueryFailed) {
			t.Errorf("%s: Query(%q): err = %v, want query.ErrQueryFailed", c.name, c.sql, err)
		}
		if _, err := e.Exec(ctx, c.sql, c.params...); !errors.Is(err, query.ErrQueryFailed) {
			t.Errorf("%s: Exec(%q): err = %v, want query.ErrQueryFailed", c.name, c.sql, err)
		}
	}
}

// checkCancelled: a statement run with a cancelled context is refused
// with query.ErrCancelled, and the context's error is reachable.
func checkCancelled(t *testing.T, e query.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const sql = `SELECT count(*) AS n FROM shop.orders WHERE customer = ?`
	res, err := e.Query(ctx, sql, "c1")
	if err == nil {
		res.Close()
	}
	if !errors.Is(err, query.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a cancelled context: err = %v, want query.ErrCancelled and context.Canceled", err)
	}
	if _, err := e.Exec(ctx, sql, "c1"); !errors.Is(err, query.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Errorf("Exec with a cancelled context: err = %v, want query.ErrCancelled and context.Canceled", err)
	}
}

// checkResultErrors: a result's rows stream once (a second read is
// query.ErrConsumed), and scanning into a type whose field the result
// lacks is query.ErrScan naming it.
func checkResultErrors(t *testing.T, e query.Engine) {
	ctx := context.Background()
	const sql = `SELECT customer, count(*) AS n FROM shop.orders GROUP BY customer ORDER BY customer`
	res, err := e.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := res.All()
	res.Close()
	if err != nil || len(rows) != 4 {
		t.Fatalf("All: %d rows, %v; want 4 customers", len(rows), err)
	}
	if _, err := res.All(); !errors.Is(err, query.ErrConsumed) {
		t.Errorf("second All: err = %v, want query.ErrConsumed", err)
	}
	type wrong struct {
		Customer string `db:"customer"`
		Region   string `db:"region"`
	}
	res, err = e.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var scanErr error
	for _, err := range query.ScanRows[wrong](res) {
		scanErr = err
		break
	}
	if !errors.Is(scanErr, query.ErrScan) || !strings.Contains(scanErr.Error(), "region") {
		t.Errorf("ScanRows into a type with a field the result lacks: err = %v, want query.ErrScan naming region", scanErr)
	}
}

// checkParamCount: too many or too few values for the ? placeholders are
// refused with query.ErrInvalidParam by Query and Exec, before the
// statement runs: the same program gets the same error on every engine.
func checkParamCount(t *testing.T, e query.Engine) {
	ctx := context.Background()
	for _, c := range []struct {
		sql    string
		params []any
	}{
		{`SELECT count(*) AS n FROM shop.orders WHERE customer = ?`, nil},
		{`SELECT count(*) AS n FROM shop.orders WHERE customer = ?`, []any{"c1", "c2"}},
		{`SELECT count(*) AS n FROM shop.orders`, []any{"c1"}},
		{`SELECT count(*) AS n FROM shop.orders WHERE customer = ? AND amount > ?`, []any{"c1"}},
	} {
		res, err := e.Query(ctx, c.sql, c.params...)
		if err == nil {
			res.Close()
		}
		if !errors.Is(err, query.ErrInvalidParam) {
			t.Errorf("Query(%q, %d values): err = %v, want query.ErrInvalidParam", c.sql, len(c.params), err)
		}
		if _, err := e.Exec(ctx, c.sql, c.params...); !errors.Is(err, query.ErrInvalidParam) {
			t.Errorf("Exec(%q, %d values): err = %v, want query.ErrInvalidParam", c.sql, len(c.params), err)
		}
	}
}

var redshiftTypes = map[string]string{
	"BIGINT": "int8", "INTEGER": "int4", "SMALLINT": "int2", "VARCHAR": "varchar", "DOUBLE": "float8", "FLOAT": "float4",
	"BOOLEAN": "bool", "TIMESTAMP": "timestamp", "DATE": "date", "DECIMAL": "numeric",
}

// RedshiftAnswer answers every statement a RedshiftFake receives by
// running it, with its parameters, in an OrdersDB (opened for t): the
// suite's statements (as the Redshift engine rewrites them, with :p1..
// parameters) get the rows computed from Orders, and a wrong statement or
// parameter fails with the database's message or answers other rows.
func RedshiftAnswer(t testing.TB) func(sql string, params map[string]string) (*RedshiftResult, error) {
	db := OpenOrdersDB(t)
	return func(sql string, params map[string]string) (*RedshiftResult, error) {
		ans, err := db.RunRedshift(sql, params)
		if err != nil {
			return nil, fmt.Errorf("ERROR: %v", err)
		}
		res := &RedshiftResult{}
		for _, c := range ans.Columns {
			typ, ok := redshiftTypes[c.Type]
			if !ok {
				typ = "unknown " + c.Type // the engine must refuse it
			}
			res.Columns = append(res.Columns, RedshiftColumn{Name: c.Name, TypeName: typ, Nullable: true})
		}
		for _, r := range ans.Rows {
			var rec []map[string]any
			for i, v := range r {
				rec = append(rec, redshiftField(v, ans.Columns[i]))
			}
			res.Records = append(res.Records, rec)
		}
		return res, nil
	}
}

// redshiftField renders a value as a Data API Field union.
func redshiftField(v any, c AnswerColumn) map[string]any {
	switch x := v.(type) {
	case nil:
		return map[string]any{"isNull": true}
	case int64:
		return map[string]any{"longValue": x}
	case int32:
		return map[string]any{"longValue": int64(x)}
	case float64:
		return map[string]any{"doubleValue": x}
	case bool:
		return map[string]any{"booleanValue": x}
	case time.Time:
		if c.Type == "DATE" {
			return map[string]any{"stringValue": x.Format("2006-01-02")}
		}
		return map[string]any{"stringValue": strings.TrimSuffix(x.UTC().Format("2006-01-02 15:04:05.999999"), ".")}
	}
	return map[string]any{"stringValue": c.text(v)}
}
