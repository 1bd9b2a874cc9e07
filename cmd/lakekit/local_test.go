package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// TestLocalOutputs runs the read-only subcommands on a local lake and
// compares their table layouts with golden files.
func TestLocalOutputs(t *testing.T) {
	l := localLake(t)
	rep := l.replacer()
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"tables.txt", []string{"tables"}},
		{"tables-curated.txt", []string{"tables", "-zone", "curated", "-db", "web"}},
		{"describe.txt", []string{"describe", "web.page_views"}},
		{"describe-countries.txt", []string{"describe", "web.countries"}},
		{"history.txt", []string{"history", "web.page_views"}},
		{"diff.txt", []string{"diff", "web.page_views", "1", "3"}},
		{"check.txt", []string{"check"}},
	} {
		r := ok(t, nil, append(c.args, "-lake", l.url)...)
		golden(t, c.golden, normalize(r.stdout, rep...))
		if r.stderr != "" {
			t.Errorf("lakekit %v wrote to stderr without a terminal (no progress when piped): %q", c.args, r.stderr)
		}
	}
}

// TestTablesJSONAndEnv: LAKEKIT_LAKE gives the lake, and -json lists what
// the snapshots say.
func TestTablesJSONAndEnv(t *testing.T) {
	l := localLake(t)
	r := ok(t, []string{"LAKEKIT_LAKE=" + l.url}, "tables", "-json")
	var got []tableSummary
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("tables -json: %v\n%s", err, r.stdout)
	}
	snap, err := l.views.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, f := range snap.Files {
		size += f.Size
	}
	want := tableSummary{Zone: "curated", Table: "web.page_views", Version: 3, Rows: rowsPV, Files: len(snap.Files), Bytes: size,
		Partitions: 4, LastCommit: fmtTime(snap.Timestamp), SchemaVersion: 1}
	if len(got) != 2 || got[1] != want {
		t.Errorf("tables -json = %+v, want web.countries and %+v", got, want)
	}
	if got[0].Table != "web.countries" || got[0].Rows != 3 || got[0].Partitions != 0 {
		t.Errorf("tables -json: web.countries = %+v", got[0])
	}
}

// TestHistoryJSON: history -json is the audit trail zones.History reads.
func TestHistoryJSON(t *testing.T) {
	l := localLake(t)
	r := ok(t, nil, "history", "-lake", l.url, "web.page_views", "-json")
	var got []lake.HistoryEntry
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("history -json: %v\n%s", err, r.stdout)
	}
	want, err := zones.History(context.Background(), l.lk, lake.Curated, "web", "page_views")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("history -json differs from zones.History (-want +got):\n%s", d)
	}
	modes := []string{}
	for _, e := range got {
		modes = append(modes, e.Mode)
	}
	if !slices.Equal(modes, []string{"append", "append", "overwrite_partitions"}) || got[2].RowsRemoved != 10 || got[2].IdempotencyKey != "load-3" {
		t.Errorf("history: modes %v, version 3 %+v", modes, got[2])
	}
}

// TestCheckOrphan: a Parquet file planted in a live partition folder is
// read by Athena but named by no version: drift, exit status 1, and
// -repair (a catalog sync) does not hide it.
func TestCheckOrphan(t *testing.T) {
	l := localLake(t)
	ctx := context.Background()
	st := l.lk.MustZone(lake.Curated).Store()
	snap, err := l.views.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, err := st.ReadAll(ctx, snap.Files[1].Key)
	if err != nil {
		t.Fatal(err)
	}
	orphan := "web/page_views/dt=2024-05-02/part-planted-00001.parquet"
	if err := st.PutBytes(ctx, orphan, body, nil); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check"}, {"check", "web.page_views", "-repair"}} {
		r := lakekit(t, nil, append(args, "-lake", l.url, "-json")...)
		if r.code != 1 {
			t.Fatalf("lakekit %v: exit %d, want 1 (drift)\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		checks := parseChecks(t, r.stdout)
		pv := findCheck(t, checks, "web.page_views")
		want := []drift{{Kind: driftForeign, Key: orphan}}
		if d := cmp.Diff(want, pv.Drift, cmp.Comparer(func(a, b drift) bool { return a.Kind == b.Kind && a.Key == b.Key })); d != "" {
			t.Errorf("lakekit %v: drift (-want +got):\n%s", args, d)
		}
		if len(args) == 1 {
			if c := findCheck(t, checks, "web.countries"); len(c.Drift) != 0 {
				t.Errorf("web.countries drifts: %+v", c.Drift)
			}
		}
	}
	r := lakekit(t, nil, "check", "-lake", l.url)
	if r.code != 1 || !strings.Contains(r.stdout, "foreign") || !strings.Contains(r.stdout, orphan) || !strings.Contains(r.stdout, "AddFiles") || !strings.Contains(r.stderr, "drift found in 1 of 2 tables") {
		t.Errorf("check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestCheckCatalogByHand: partitions repointed, added and removed in the
// catalog by hand, and a table removed from it, are drift; -repair (SyncCatalog) brings the catalog back
// to the snapshot and check is clean again.
func TestCheckCatalogByHand(t *testing.T) {
	l := localLake(t)
	ctx := context.Background()
	st := l.lk.MustZone(lake.Curated).Store()
	old := st.Location("web/page_views/dt=2024-05-01/") // the folder version 3 replaced
	if err := l.cat.UpdatePartitionLocations(ctx, "web", "page_views", []catalog.Partition{{Values: []string{"2024-05-01"}, Location: old}}); err != nil {
		t.Fatal(err)
	}
	if err := l.cat.AddPartitions(ctx, "web", "page_views", []catalog.Partition{{Values: []string{"2099-01-01"}, Location: st.Location("web/page_views/dt=2099-01-01/")}}); err != nil {
		t.Fatal(err)
	}
	if err := l.cat.DeletePartitions(ctx, "web", "page_views", [][]string{{"2024-05-04"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.cat.DeleteTable(ctx, "web", "countries"); err != nil {
		t.Fatal(err)
	}
	r := lakekit(t, nil, "check", "-lake", l.url, "-json")
	if r.code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if c := findCheck(t, parseChecks(t, r.stdout), "web.countries"); len(c.Drift) != 1 || c.Drift[0].Kind != driftNoTable {
		t.Errorf("web.countries removed from the catalog: %+v", c.Drift)
	}
	pv := findCheck(t, parseChecks(t, r.stdout), "web.page_views")
	var kinds []string
	for _, d := range pv.Drift {
		kinds = append(kinds, d.Kind+" "+d.Partition)
	}
	slices.Sort(kinds)
	want := []string{"missing-partition dt=2024-05-04", "orphan ", "repointed dt=2024-05-01", "stale-partition dt=2099-01-01"}
	if !slices.Equal(kinds, want) {
		t.Errorf("drift %q, want %q", kinds, want)
	}
	r = ok(t, nil, "check", "-lake", l.url, "-repair", "-json")
	pv = findCheck(t, parseChecks(t, r.stdout), "web.page_views")
	if !pv.Repaired || len(pv.Drift) != 0 || pv.CatalogParts != 4 {
		t.Errorf("after -repair: %+v", pv)
	}
	if c := findCheck(t, parseChecks(t, r.stdout), "web.countries"); !c.Repaired || len(c.Drift) != 0 {
		t.Errorf("after -repair (registered again): %+v", c)
	}
	ct, err := l.cat.GetTable(ctx, "web", "countries")
	if err != nil || len(ct.Schema.Columns) != 2 || ct.Location != l.lk.MustZone(lake.Cleaned).Store().Location("web/countries/") {
		t.Errorf("web.countries registered by -repair: %+v, %v", ct, err)
	}
	ok(t, nil, "check", "-lake", l.url)
}

func parseChecks(t *testing.T, out string) []tableCheck {
	t.Helper()
	var checks []tableCheck
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("check -json: %v\n%s", err, out)
	}
	return checks
}

func findCheck(t *testing.T, checks []tableCheck, table string) tableCheck {
	t.Helper()
	for _, c := range checks {
		if c.Table == table {
			return c
		}
	}
	t.Fatalf("check lists no %s: %+v", table, checks)
	return tableCheck{}
}

// TestVacuum: a dry run lists the file the overwrite replaced and deletes
// nothing; -yes deletes it, frees its bytes and leaves an audit record.
func TestVacuum(t *testing.T) {
	l := localLake(t)
	ctx := context.Background()
	st := l.lk.MustZone(lake.Curated).Store()
	v1, err := l.views.Snapshot(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	replaced := v1.Files[0] // dt=2024-05-01, replaced by version 3
	r := ok(t, nil, "vacuum", "-lake", l.url, "web.page_views", "-retention", "0s", "-json")
	var rep vacuumReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("vacuum -json: %v\n%s", err, r.stdout)
	}
	want := vacuumReport{Table: "web.page_views", Zone: "curated", Retention: "0s", DryRun: true, Deleted: []string{replaced.Key}, Bytes: replaced.Size, Live: 5}
	if d := cmp.Diff(want, rep); d != "" {
		t.Errorf("vacuum dry run (-want +got):\n%s", d)
	}
	if _, err := st.ReadAll(ctx, replaced.Key); err != nil {
		t.Fatalf("the dry run deleted %s: %v", replaced.Key, err)
	}
	r = ok(t, nil, "vacuum", "-lake", l.url, "web.page_views", "-retention", "0s", "-yes")
	if !strings.Contains(r.stdout, "deleted "+replaced.Key) || !strings.Contains(r.stdout, fmtBytes(replaced.Size)+" freed") || !strings.Contains(r.stdout, "audit record") {
		t.Errorf("vacuum -yes:\n%s", r.stdout)
	}
	if _, err := st.ReadAll(ctx, replaced.Key); err == nil {
		t.Errorf("vacuum -yes left %s", replaced.Key)
	}
	h := ok(t, nil, "history", "-lake", l.url, "web.page_views")
	if !strings.Contains(h.stdout, "vacuum (done)") {
		t.Errorf("history shows no vacuum:\n%s", h.stdout)
	}
	r = ok(t, nil, "vacuum", "-lake", l.url, "web.page_views")
	if !strings.Contains(r.stdout, "would delete 0 files, 0 B freed") || !strings.Contains(r.stdout, "the zone's (168h0m0s)") {
		t.Errorf("vacuum with the zone's retention:\n%s", r.stdout)
	}
	ok(t, nil, "check", "-lake", l.url)
}

// TestQuery runs SQL on DuckDB through the command: an aligned table
// (golden), CSV and JSON parsed and compared, parameters, and the rows and
// bytes scanned on stderr.
func TestQuery(t *testing.T) {
	l := localLake(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	const q = "SELECT dt, count(*) AS views, sum(duration_ms) AS ms FROM web.page_views GROUP BY dt ORDER BY dt"
	r := ok(t, nil, "query", "-lake", l.url, q)
	golden(t, "query.txt", r.stdout)
	if !strings.HasPrefix(r.stderr, "4 rows, ") || !strings.Contains(r.stderr, " scanned, ") {
		t.Errorf("query stderr %q: want the rows and bytes scanned", r.stderr)
	}
	want := [][]string{{"dt", "views", "ms"}}
	for _, dt := range []string{"2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"} {
		var n, ms int64
		for _, f := range [][]View{views("2024-05-01", 500, 4), views("2024-05-02", 100, 20), views("2024-05-02", 300, 5), views("2024-05-03", 200, 30), views("2024-05-04", 400, 8)} {
			for _, v := range f {
				if v.DT == dt {
					n++
					ms += v.DurationMS
				}
			}
		}
		want = append(want, []string{dt, fmtInt(n), fmtInt(ms)})
	}
	r = ok(t, nil, "query", "-lake", l.url, "-format", "csv", q)
	got, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("query -format csv (-want +got):\n%s", d)
	}
	r = ok(t, nil, "query", "-lake", l.url, "-format", "json", "SELECT count(*) AS n, min(page) AS p FROM web.page_views WHERE dt = ? AND duration_ms >= ?", "2024-05-02", "500")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("query -format json: %v\n%s", err, r.stdout)
	}
	var n float64
	for _, v := range append(views("2024-05-02", 100, 20), views("2024-05-02", 300, 5)...) {
		if v.DurationMS >= 500 {
			n++
		}
	}
	if len(rows) != 1 || rows[0]["n"] != n || rows[0]["p"] != "/" {
		t.Errorf("query -format json = %v, want n=%v", rows, n)
	}
	r = lakekit(t, nil, "query", "-lake", l.url, "DELETE FROM web.page_views")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("a write statement: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func fmtInt(n int64) string { return strings.ReplaceAll(fmtCount(n), ",", "") }

// TestUsage: usage errors exit 2 with a one-line message, failures exit 1,
// and -h on every subcommand prints its flags and an example.
func TestUsage(t *testing.T) {
	l := localLake(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "no subcommand given"},
		{[]string{"tabels"}, 2, `unknown subcommand "tabels"`},
		{[]string{"tables"}, 2, "no lake: give -lake URL or set LAKEKIT_LAKE"},
		{[]string{"tables", "-lake", l.url, "-bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"tables", "-lake", l.url, "-catalog", "hive"}, 2, `-catalog "hive": want local or glue`},
		{[]string{"tables", "-lake", l.url, "-zone", "gold"}, 2, `-zone "gold"`},
		{[]string{"describe", "-lake", l.url}, 2, "want DB.TABLE, got 0 argument(s)"},
		{[]string{"describe", "-lake", l.url, "page_views"}, 2, `table "page_views": want DB.TABLE`},
		{[]string{"diff", "-lake", l.url, "web.page_views", "1", "x"}, 2, "want two table versions"},
		{[]string{"vacuum", "-lake", l.url, "web.page_views", "-retention", "-1h"}, 2, "want a duration of 0 or more"},
		{[]string{"query", "-lake", l.url, "-format", "xml", "SELECT 1"}, 2, `-format "xml"`},
		{[]string{"describe", "-lake", l.url, "web.nothing"}, 1, "web.nothing: no such table"},
		{[]string{"diff", "-lake", l.url, "web.page_views", "1", "9"}, 1, "version 9"},
		{[]string{"tables", "-lake", filepath.Join(l.url, "nope")}, 1, "no such file or directory"},
	} {
		r := lakekit(t, nil, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) || strings.Count(r.stderr, "lakekit: ") != 1 {
			t.Errorf("lakekit %v: exit %d, stderr %q; want exit %d and %q", c.args, r.code, r.stderr, c.code, c.msg)
		}
	}
	for _, c := range commands {
		r := lakekit(t, nil, c.name, "-h")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: lakekit "+c.name) || !strings.Contains(r.stdout, "Example:\n  lakekit "+c.name) || !strings.Contains(r.stdout, "-lake") {
			t.Errorf("lakekit %s -h: exit %d\n%s%s", c.name, r.code, r.stdout, r.stderr)
		}
	}
	if r := lakekit(t, nil, "-h"); r.code != 0 || !strings.Contains(r.stdout, "vacuum") {
		t.Errorf("lakekit -h: exit %d\n%s", r.code, r.stdout)
	}
}

// TestNoCgoBuild: a CGO_ENABLED=0 build has every subcommand, and query
// says it needs a cgo build.
func TestNoCgoBuild(t *testing.T) {
	l := localLake(t)
	bin := filepath.Join(t.TempDir(), "lakekit-nocgo")
	cmd := execCommand("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	want := ok(t, nil, "tables", "-lake", l.url)
	if r := runBinary(t, bin, nil, "tables", "-lake", l.url); r.code != 0 || r.stdout != want.stdout {
		t.Errorf("tables without cgo: exit %d\n%s%s\nwant\n%s", r.code, r.stdout, r.stderr, want.stdout)
	}
	r := runBinary(t, bin, nil, "query", "-lake", l.url, "SELECT 1")
	if r.code != 1 || !strings.Contains(r.stderr, "built without cgo") {
		t.Errorf("query without cgo: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestDescribeProjection: Athena's partition projection settings are listed
// apart from the other catalog parameters.
func TestDescribeProjection(t *testing.T) {
	l := localLake(t)
	ctx := context.Background()
	ct, err := l.cat.GetTable(ctx, "web", "page_views")
	if err != nil {
		t.Fatal(err)
	}
	ct.Parameters["projection.enabled"] = "true"
	ct.Parameters["projection.dt.type"] = "date"
	ct.Parameters["projection.dt.range"] = "2024-05-01,NOW"
	ct.Parameters["storage.location.template"] = ct.Location + "dt=${dt}/"
	if err := l.cat.UpdateTable(ctx, ct, nil); err != nil {
		t.Fatal(err)
	}
	out := ok(t, nil, "describe", "-lake", l.url, "web.page_views").stdout
	_, proj, found := strings.Cut(out, "\nprojection\n")
	if !found {
		t.Fatalf("describe has no projection section:\n%s", out)
	}
	for _, kv := range [][2]string{{"projection.dt.range", "2024-05-01,NOW"}, {"projection.dt.type", "date"}, {"projection.enabled", "true"}, {"storage.location.template", ct.Location + "dt=${dt}/"}} {
		if want := fmt.Sprintf("\n%-25s  %s\n", kv[0], kv[1]); !strings.Contains(proj, want) {
			t.Errorf("projection section lacks %q:\n%s", want, proj)
		}
	}
	if strings.Contains(strings.Split(out, "\nprojection\n")[0], "projection.enabled") {
		t.Errorf("projection settings listed among the catalog parameters:\n%s", out)
	}
}
