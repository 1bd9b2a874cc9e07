package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/catalog"
)

func TestCompileFilter(t *testing.T) {
	keys := []catalog.Column{{Name: "region", Type: "string"}, {Name: "dt", Type: "date"}, {Name: "hour", Type: "int"}}
	parts := [][]string{
		{"eu", "2024-01-31", "2"},
		{"eu", "2024-02-01", "10"},
		{"us", "2024-02-01", "9"},
		{"us-east", "2024-03-01", "23"},
		{"o'hare", "2024-03-02", "0"},
	}
	cases := []struct {
		expr string
		want []int // indexes of parts that match
	}{
		{"", []int{0, 1, 2, 3, 4}},
		{"region = 'eu'", []int{0, 1}},
		{"REGION='eu'", []int{0, 1}},
		{"region <> 'eu'", []int{2, 3, 4}},
		{"region != 'eu'", []int{2, 3, 4}},
		{"hour > 9", []int{1, 3}}, // numeric: '10' > '9'
		{"hour >= 9", []int{1, 2, 3}},
		{"hour < 10", []int{0, 2, 4}},
		{"hour <= 2", []int{0, 4}},
		{"9 < hour", []int{1, 3}},
		{"hour = 09", []int{2}},
		{"hour = '9'", []int{2}},
		{"dt >= '2024-02-01' AND dt < '2024-03-01'", []int{1, 2}},
		{"region = 'us' OR hour = 2", []int{0, 2}},
		{"NOT region = 'eu'", []int{2, 3, 4}},
		{"not (region = 'eu' or region = 'us')", []int{3, 4}},
		{"region = 'eu' AND (hour = 2 OR hour = 10) AND dt LIKE '2024-02%'", []int{1}},
		{"region IN ('us', 'eu')", []int{0, 1, 2}},
		{"region NOT IN ('us', 'eu')", []int{3, 4}},
		{"hour IN (0, 23)", []int{3, 4}},
		{"hour BETWEEN 2 AND 10", []int{0, 1, 2}},
		{"hour NOT BETWEEN 2 AND 10", []int{3, 4}},
		{"dt BETWEEN '2024-02-01' AND '2024-02-28'", []int{1, 2}},
		{"region LIKE 'us%'", []int{2, 3}},
		{"region LIKE '_u'", []int{0, 1}},
		{"region NOT LIKE 'u%'", []int{0, 1, 4}},
		{"region = 'o''hare'", []int{4}},
		{"`region` = 'eu' AND \"hour\" = 2", []int{0}},
	}
	for _, tc := range cases {
		f, err := catalog.CompileFilter(tc.expr, keys)
		if err != nil {
			t.Errorf("CompileFilter(%q): %v", tc.expr, err)
			continue
		}
		var got []int
		for i, p := range parts {
			if f.Match(p) {
				got = append(got, i)
			}
		}
		if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("filter %q (-want +got):\n%s", tc.expr, d)
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	keys := []catalog.Column{{Name: "region", Type: "string"}, {Name: "hour", Type: "int"}}
	cases := []struct {
		expr string
		pos  string
	}{
		{"region = ", "position 10"},
		{"region = 'eu", "position 10"},
		{"nokey = 'x'", "position 1"},
		{"region = 'eu' AND (hour = 1", "position 28"},
		{"hour > 'ten'", "position 8"},
		{"region == 'eu'", "position 8"},
		{"region 'eu'", "position 8"},
		{"region IN 'eu'", "position 11"},
		{"region IN ('eu' 'us')", "position 17"},
		{"region BETWEEN 'a' OR 'b'", "position 20"},
		{"region LIKE 5", "position 13"},
		{"'eu' = 'eu'", "position 1"},
		{"region = 'eu' garbage", "position 15"},
		{"region = 'eu' ; drop", "position 15"},
		{"region ! 'eu'", "position 8"},
		{"NOT", "position 4"},
		{"hour IN (region)", "position 10"},
	}
	for _, tc := range cases {
		_, err := catalog.CompileFilter(tc.expr, keys)
		if !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("CompileFilter(%q) = %v, want ErrInvalid", tc.expr, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.pos) {
			t.Errorf("CompileFilter(%q): error %q does not name %s", tc.expr, err, tc.pos)
		}
	}
}

func TestFilterExpression(t *testing.T) {
	keys := []catalog.Column{{Name: "region", Type: "string"}, {Name: "hour", Type: "int"}}
	cases := map[string]string{
		"":                                      "",
		"region='eu'":                           "region = 'eu'",
		"`REGION` != 'o''hare' and not(hour<3)": "region <> 'o''hare' AND NOT (hour < 3)",
		"region in ('a','b') or hour between 1 and 2": "region IN ('a', 'b') OR hour BETWEEN 1 AND 2",
		"region like 'e%'":                            "region LIKE 'e%'",
	}
	for in, want := range cases {
		f, err := catalog.CompileFilter(in, keys)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Expression(); got != want {
			t.Errorf("Expression(%q) = %q, want %q", in, got, want)
		}
	}
}
