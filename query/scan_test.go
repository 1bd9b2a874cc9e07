package query_test

import (
	"database/sql"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/query"
)

func result(cols []query.Column, rows ...[]any) *query.Result {
	return query.NewResult(cols, query.Stats{}, func(yield func([]any, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}, nil, nil)
}

func col(name, typ string, gt any) query.Column {
	return query.Column{Name: name, DatabaseType: typ, GoType: reflect.TypeOf(gt)}
}

type Base struct {
	ID int64 `db:"id"`
}

type scanTarget struct {
	Base
	Name    string               `parquet:"name,dict"`
	Amount  float64              // by field name, case-insensitively
	Price   query.Decimal        `db:"price"`
	PriceF  float64              `db:"price_f"`
	PriceS  string               `db:"price_s"`
	Rat     *big.Rat             `db:"rat"`
	Small   int16                `db:"small"`
	Maybe   *string              `db:"maybe"`
	NullInt sql.NullInt64        `db:"null_int"`
	Tags    []string             `db:"tags"`
	Attrs   map[string]int       `db:"attrs"`
	Point   struct{ X, Y int64 } `db:"point"`
	Day     time.Time            `db:"day"`
	Region  string               `parquet:"-" lakekit:"partition,name=region"`
	Skipped string               `db:"-"`
}

func TestScanRows(t *testing.T) {
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	cols := []query.Column{
		col("id", "bigint", int64(0)), col("NAME", "varchar", ""), col("amount", "double", 0.0),
		col("price", "decimal(10,2)", query.Decimal{}), col("price_f", "decimal(10,2)", query.Decimal{}),
		col("price_s", "decimal(10,2)", query.Decimal{}), col("rat", "decimal(10,2)", query.Decimal{}),
		col("small", "integer", int32(0)), col("maybe", "varchar", ""), col("null_int", "bigint", int64(0)),
		col("tags", "array", []any{}), col("attrs", "map", map[any]any{}), col("point", "row", map[string]any{}),
		col("day", "date", time.Time{}), col("region", "varchar", ""), col("extra", "varchar", ""),
	}
	row := []any{int64(7), "ann", 2.5, query.MustDecimal("12.34"), query.MustDecimal("1.50"), query.MustDecimal("1.50"),
		query.MustDecimal("0.25"), int32(300), nil, nil, []any{"a", "b"}, map[any]any{"x": int64(1)},
		map[string]any{"x": int64(1), "y": int64(2)}, day, "eu", "ignored"}
	var got []scanTarget
	for v, err := range query.ScanRows[scanTarget](result(cols, row)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	want := scanTarget{Base: Base{7}, Name: "ann", Amount: 2.5, Price: query.MustDecimal("12.34"), PriceF: 1.5, PriceS: "1.50",
		Rat: big.NewRat(1, 4), Small: 300, Tags: []string{"a", "b"}, Attrs: map[string]int{"x": 1},
		Point: struct{ X, Y int64 }{1, 2}, Day: day, Region: "eu"}
	if d := cmp.Diff([]scanTarget{want}, got, cmp.Comparer(func(a, b *big.Rat) bool { return a.Cmp(b) == 0 })); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestScanErrorsNameTheMismatch(t *testing.T) {
	type missing struct {
		ID    int64 `db:"id"`
		Email string
	}
	_, err := scanAll[missing](result([]query.Column{col("id", "bigint", int64(0))}, []any{int64(1)}))
	if !errors.Is(err, query.ErrScan) || !strings.Contains(err.Error(), `missing.Email (string) wants column "Email"`) || !strings.Contains(err.Error(), "id bigint") {
		t.Fatalf("missing column: %v", err)
	}
	type small struct {
		N int8 `db:"n"`
	}
	_, err = scanAll[small](result([]query.Column{col("n", "bigint", int64(0))}, []any{int64(1000)}))
	if !errors.Is(err, query.ErrScan) || !strings.Contains(err.Error(), `column "n" (bigint) into field small.N (int8)`) || !strings.Contains(err.Error(), "overflows") {
		t.Fatalf("overflow: %v", err)
	}
	type text struct {
		N int64 `db:"n"`
	}
	_, err = scanAll[text](result([]query.Column{col("n", "varchar", "")}, []any{"abc"}))
	if !errors.Is(err, query.ErrScan) || !strings.Contains(err.Error(), `column "n" (varchar) into field text.N (int64): a string value cannot be stored in int64`) {
		t.Fatalf("type mismatch: %v", err)
	}
	_, err = scanAll[text](result([]query.Column{col("n", "bigint", int64(0))}, []any{nil}))
	if !errors.Is(err, query.ErrScan) || !strings.Contains(err.Error(), "NULL") {
		t.Fatalf("NULL into int64: %v", err)
	}
	_, err = scanAll[int64](result([]query.Column{col("a", "bigint", int64(0)), col("b", "bigint", int64(0))}))
	if !errors.Is(err, query.ErrScan) || !strings.Contains(err.Error(), "exactly one column") {
		t.Fatalf("scalar from two columns: %v", err)
	}
	_, err = scanAll[text](result([]query.Column{col("n", "decimal(5,2)", query.Decimal{})}, []any{query.MustDecimal("1.5")}))
	if !errors.Is(err, query.ErrScan) || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("fractional decimal into int64: %v", err)
	}
}

func scanAll[T any](r *query.Result) ([]T, error) {
	var out []T
	for v, err := range query.ScanRows[T](r) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func TestResultStreamsOnce(t *testing.T) {
	r := result([]query.Column{col("a", "bigint", int64(0))}, []any{int64(1)})
	if _, err := r.All(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.All(); !errors.Is(err, query.ErrConsumed) {
		t.Fatalf("second read: %v", err)
	}
}

func TestSQLLiteral(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{"it's", `'it''s'`},
		{"x'; DROP TABLE t; --", `'x''; DROP TABLE t; --'`},
		{42, "42"},
		{uint8(7), "7"},
		{-1.25, "DOUBLE '-1.25'"},
		{float32(0.5), "REAL '0.5'"},
		{true, "TRUE"},
		{nil, "NULL"},
		{(*int)(nil), "NULL"},
		{[]byte{0, 255}, "X'00ff'"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "TIMESTAMP '2024-01-02 02:04:05'"},
		{query.Date{Year: 2024, Month: 2, Day: 29}, "DATE '2024-02-29'"},
		{query.MustDecimal("-0.05"), "DECIMAL '-0.05'"},
		{sql.NullString{String: "v", Valid: true}, "'v'"},
		{sql.NullString{}, "NULL"},
	} {
		got, err := query.SQLLiteral(c.v)
		if err != nil || got != c.want {
			t.Errorf("SQLLiteral(%#v) = %q, %v; want %q", c.v, got, err, c.want)
		}
	}
	for _, bad := range []any{struct{}{}, []int{1}, "a\x00b"} {
		if _, err := query.SQLLiteral(bad); !errors.Is(err, query.ErrInvalidParam) {
			t.Errorf("SQLLiteral(%#v): %v, want ErrInvalidParam", bad, err)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, s := range []string{"0", "-0.05", "123.450", "1e3", "", "1.2.3", "--1"} {
		d, err := query.ParseDecimal(s)
		switch s {
		case "1e3", "", "1.2.3", "--1":
			if err == nil {
				t.Errorf("ParseDecimal(%q) accepted: %v", s, d)
			}
			continue
		}
		if err != nil || d.String() != s {
			t.Errorf("ParseDecimal(%q) = %v, %v", s, d, err)
		}
	}
	if !query.MustDecimal("1.50").Equal(query.MustDecimal("1.5")) || query.MustDecimal("1.5").Float64() != 1.5 {
		t.Error("Equal/Float64")
	}
}

func TestScanIntoPointers(t *testing.T) {
	type row struct {
		ID int64 `db:"id"`
	}
	got, err := scanAll[*row](result([]query.Column{col("id", "bigint", int64(0))}, []any{int64(1)}, []any{int64(2)}))
	if err != nil || len(got) != 2 || got[0].ID != 1 || got[1].ID != 2 || got[0] == got[1] {
		t.Fatalf("got %v, %v", got, err)
	}
}
