package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstartLake runs the command on a lake made by the quickstart
// itself (built and run as a user would): the tables and their counts
// agree with the quickstart's own summary, check finds no drift, the
// history picture has every version, and a query counts the rows.
func TestQuickstartLake(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the quickstart")
	}
	dir := t.TempDir()
	qs := filepath.Join(dir, "quickstart")
	if out, err := execCommand("go", "build", "-o", qs, "../../examples/quickstart").CombinedOutput(); err != nil {
		t.Fatalf("building the quickstart: %v\n%s", err, out)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	lk := filepath.Join(dir, "lake")
	r := runBinary(t, qs, nil, "-lake", lk, "-rows", "20000")
	if r.code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var sum struct {
		CuratedPartitions int   `json:"curated_partitions"`
		CuratedTableRows  int64 `json:"curated_table_rows"`
		CleanedRows       int64 `json:"cleaned_rows"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("the quickstart's summary: %v", err)
	}
	env := []string{"LAKEKIT_LAKE=" + lk}
	var tables []tableSummary
	if err := json.Unmarshal([]byte(ok(t, env, "tables", "-json").stdout), &tables); err != nil {
		t.Fatal(err)
	}
	got := map[string]tableSummary{}
	for _, x := range tables {
		got[x.Zone+" "+x.Table] = x
	}
	if pv := got["curated web.page_views"]; pv.Rows != sum.CuratedTableRows || pv.Partitions != sum.CuratedPartitions {
		t.Errorf("tables: web.page_views %+v; the quickstart says %d rows in %d partitions", pv, sum.CuratedTableRows, sum.CuratedPartitions)
	}
	if c := got["cleaned web.clicks"]; c.Rows != sum.CleanedRows || len(tables) != 4 {
		t.Errorf("tables: %+v; the quickstart cleaned %d rows", tables, sum.CleanedRows)
	}
	ok(t, env, "check")
	svg := filepath.Join(dir, "history.svg")
	ok(t, env, "history", "web.page_views", "-svg", svg)
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Join(svgTexts(t, b), "\n")
	for v := int64(1); v <= got["curated web.page_views"].Version; v++ {
		if !strings.Contains(texts, fmt.Sprintf("version %d:", v)) {
			t.Errorf("the history picture lacks version %d", v)
		}
	}
	q := ok(t, env, "query", "-format", "csv", "SELECT count(*) AS n FROM web.page_views")
	if want := fmt.Sprintf("n\n%d\n", sum.CuratedTableRows); q.stdout != want {
		t.Errorf("query: %q, want %q", q.stdout, want)
	}
	if d := ok(t, env, "diff", "web.daily_pages", "1", "2"); !strings.Contains(d.stdout, "added") {
		t.Errorf("diff of the daily table:\n%s", d.stdout)
	}
}
