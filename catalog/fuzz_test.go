package catalog_test

import (
	"testing"

	"github.com/lakekit/lakekit/catalog"
)

var fuzzKeys = []catalog.Column{{Name: "day", Type: "string"}, {Name: "hour", Type: "int"}}

// FuzzCompileFilter: any expression compiles or fails with an error; a
// compiled one has a canonical spelling (sent to Glue) that compiles to a
// filter matching exactly the same partitions, and is a fixed point.
func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{
		"day = '2024-01-01'", "hour > 3 AND day LIKE '2024-%'", "day IN ('a', 'b''c') OR NOT hour BETWEEN 1 AND 5",
		"`day` != 'x'", `"day" NOT LIKE '_%'`, "((hour <= 10))", "day NOT IN ('')", "hour = 1.5", "day = 'unterminated",
		"day = 'a' AND", "hour IN ()", "nope = 1", "", "day < 'é' or hour >= -3",
	} {
		f.Add(s, "2024-01-01", "3")
	}
	f.Fuzz(func(t *testing.T, expr, day, hour string) {
		flt, err := catalog.CompileFilter(expr, fuzzKeys)
		if err != nil {
			return
		}
		canon := flt.Expression()
		g, err := catalog.CompileFilter(canon, fuzzKeys)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not compile: %v", canon, expr, err)
		}
		if again := g.Expression(); again != canon {
			t.Fatalf("canonical form not stable: %q → %q → %q", expr, canon, again)
		}
		vals := []string{day, hour}
		if flt.Match(vals) != g.Match(vals) {
			t.Fatalf("%q and its canonical form %q disagree on %q", expr, canon, vals)
		}
	})
}
