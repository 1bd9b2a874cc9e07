package enginetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/sqltext"
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

// athenaText renders an expected value as Athena's VarCharValue.
func athenaText(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
		if math.Abs(x) >= 1e7 {
			s = strconv.FormatFloat(x, 'E', -1, 64)
		}
	case bool:
		s = strconv.FormatBool(x)
	case string:
		s = x
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			s = x.Format("2006-01-02")
		} else {
			s = x.UTC().Format("2006-01-02 15:04:05.000")
		}
	case query.Decimal:
		s = x.String()
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

// SeedAthena queues every case's answer in moto, in the order Run asks.
func SeedAthena(t testing.TB, p *AthenaPeer) {
	for _, c := range Cases() {
		cols := make([]Column, len(c.Columns))
		for i, s := range c.Columns {
			cols[i] = Column{Name: s.Name, Type: s.Kind}
			if s.Kind == "decimal" {
				cols[i].Precision, cols[i].Scale = 10, 2
			}
			if s.Kind == "timestamp" {
				cols[i].Precision = 3
			}
		}
		var rows [][]*string
		for _, r := range c.Rows {
			vals := make([]*string, len(r))
			for i, v := range r {
				vals[i] = athenaText(v)
				if c.Columns[i].Kind == "timestamp" && v != nil {
					s := v.(time.Time).UTC().Format("2006-01-02 15:04:05.000")
					vals[i] = &s
				}
			}
			rows = append(rows, vals)
		}
		p.Seed(t, cols, rows)
	}
}

var redshiftTypes = map[string]string{
	"bigint": "int8", "varchar": "varchar", "double": "float8", "boolean": "bool",
	"timestamp": "timestamp", "date": "date", "decimal": "numeric",
}

// RedshiftAnswer answers the suite's statements (as the Redshift engine
// rewrites them, with :p1.. parameters) for a RedshiftFake. It checks the
// bound parameter values against the case's.
func RedshiftAnswer(t testing.TB) func(sql string, params map[string]string) (*RedshiftResult, error) {
	cases := Cases()
	return func(sql string, params map[string]string) (*RedshiftResult, error) {
		for _, c := range cases {
			text, names := sqltext.NamedPlaceholders(c.SQL)
			if text != sql {
				continue
			}
			for i, n := range names {
				want := fmt.Sprint(c.Params[i])
				if params[n] != want {
					return nil, fmt.Errorf("parameter %s = %q, want %q", n, params[n], want)
				}
			}
			res := &RedshiftResult{}
			for _, s := range c.Columns {
				res.Columns = append(res.Columns, RedshiftColumn{Name: s.Name, TypeName: redshiftTypes[s.Kind], Nullable: true})
			}
			for _, r := range c.Rows {
				var rec []map[string]any
				for i, v := range r {
					rec = append(rec, redshiftField(v, c.Columns[i].Kind))
				}
				res.Records = append(res.Records, rec)
			}
			return res, nil
		}
		return nil, fmt.Errorf("ERROR: relation does not exist (no case for %q)", sql)
	}
}

func redshiftField(v any, kind string) map[string]any {
	switch x := v.(type) {
	case nil:
		return map[string]any{"isNull": true}
	case int64:
		return map[string]any{"longValue": x}
	case float64:
		return map[string]any{"doubleValue": x}
	case bool:
		return map[string]any{"booleanValue": x}
	case string:
		return map[string]any{"stringValue": x}
	case time.Time:
		if kind == "date" {
			return map[string]any{"stringValue": x.Format("2006-01-02")}
		}
		return map[string]any{"stringValue": strings.TrimSuffix(x.UTC().Format("2006-01-02 15:04:05.999999"), ".")}
	case query.Decimal:
		return map[string]any{"stringValue": x.String()}
	}
	return map[string]any{"stringValue": fmt.Sprint(v)}
}
