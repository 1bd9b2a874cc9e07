package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// binary is the lakekit command built once by TestMain.
var binary string

// TestMain builds the command once, as a user installs it, and runs the
// tests against that binary.
func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "lakekit-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lakekit")
	if out, err := execCommand("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// execCommand is exec.Command (a name the tests share).
func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// result is what one run of the command did.
type result struct {
	stdout, stderr string
	code           int
}

// lakekit runs the built command with args and the test's environment
// (plus env, "NAME=value"), without a terminal.
func lakekit(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runBinary(t, binary, env, args...)
}

func runBinary(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("lakekit %v: %v", args, err)
	}
	return r
}

// ok runs the command and fails the test unless it exits 0.
func ok(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := lakekit(t, env, args...)
	if r.code != 0 {
		t.Fatalf("lakekit %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// volatile matches what differs between runs in the command's output, each
// replaced by a placeholder of the same length so columns stay aligned:
// commit times, the random parts of object names, audit ids.
var volatile = []struct {
	re   *regexp.Regexp
	with byte
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`), 'T'},
	{regexp.MustCompile(`[0-9a-f]{20}`), 'x'},
	// file sizes follow the writer's encoding choices, not the command
	{regexp.MustCompile(`\b\d+(\.\d+)? (B|KiB|MiB|GiB)\b`), 'b'},
}

// normalize makes output comparable with a golden file: volatile parts
// replaced, the lake's location and the host name replaced.
func normalize(s string, replace ...string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllStringFunc(s, func(m string) string { return strings.Repeat(string(v.with), len(m)) })
	}
	return strings.NewReplacer(replace...).Replace(s)
}

// golden compares got with testdata/name (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	// Columns are compared by content: a size placeholder's length follows
	// the size, and with it the width of its column.
	if squeeze(string(want)) != squeeze(got) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// squeeze collapses each line's runs of spaces.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// View is a page view, as the quickstart's curated table holds them.
type View struct {
	EventID    string    `parquet:"event_id"`
	TS         time.Time `parquet:"ts"`
	UserID     string    `parquet:"user_id"`
	Page       string    `parquet:"page"`
	DurationMS int64     `parquet:"duration_ms"`
	DT         string    `parquet:"dt" lakekit:"partition"`
}

// Country is a small unpartitioned table.
type Country struct {
	Code string `parquet:"code"`
	Name string `parquet:"name"`
}

// views returns n deterministic page views on day dt, numbered from first.
func views(dt string, first, n int) []View {
	day, _ := time.Parse("2006-01-02", dt)
	pages := []string{"/", "/search", "/product", "/cart"}
	out := make([]View, n)
	for i := range out {
		k := first + i
		out[i] = View{EventID: fmt.Sprintf("e%d", k), TS: day.Add(time.Duration(k) * time.Minute), UserID: fmt.Sprintf("u%d", k%7),
			Page: pages[k%len(pages)], DurationMS: int64(100 * (k%9 + 1)), DT: dt}
	}
	return out
}

// testLake is a lake made like the quickstart's: curated web.page_views
// partitioned by dt (three commits: an append, an append, an overwrite of
// one day) and cleaned web.countries (one commit, unpartitioned), both
// registered in the catalog.
type testLake struct {
	url   string
	lk    *lake.Lake
	cat   catalog.Catalog
	views *zones.Dataset[View]
}

// Rows of the test lake.
const (
	rowsV1 = 10 + 20 + 30 // 2024-05-01..03
	rowsV2 = 5 + 8        // 2024-05-02 and 2024-05-04 appended
	rowsV3 = 4            // 2024-05-01 overwritten (10 rows replaced)
	rowsPV = rowsV1 + rowsV2 - 10 + rowsV3
)

func makeLake(t *testing.T, url string, lk *lake.Lake, cat catalog.Catalog) *testLake {
	t.Helper()
	ctx := context.Background()
	d, err := zones.NewDataset[View](lk, lake.Curated, "web", "page_views", &zones.Options[View]{Catalog: cat, Description: "page views"})
	if err != nil {
		t.Fatal(err)
	}
	commits := []struct {
		mode zones.Mode
		rows []View
	}{
		{zones.Append, append(append(views("2024-05-01", 0, 10), views("2024-05-02", 100, 20)...), views("2024-05-03", 200, 30)...)},
		{zones.Append, append(views("2024-05-02", 300, 5), views("2024-05-04", 400, 8)...)},
		{zones.OverwritePartitions, views("2024-05-01", 500, 4)},
	}
	for i, c := range commits {
		commit(t, d, c.mode, fmt.Sprintf("load-%d", i+1), c.rows)
	}
	cd, err := zones.NewDataset[Country](lk, lake.Cleaned, "web", "countries", &zones.Options[Country]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, cd, zones.Append, "countries-1", []Country{{"de", "Germany"}, {"fr", "France"}, {"jp", "Japan"}})
	if _, err := d.Snapshot(ctx, 0); err != nil {
		t.Fatal(err)
	}
	return &testLake{url: url, lk: lk, cat: cat, views: d}
}

func commit[T any](t *testing.T, d *zones.Dataset[T], mode zones.Mode, key string, rows []T) {
	t.Helper()
	ctx := context.Background()
	w, err := d.NewWriter(ctx, &zones.WriterOptions{Mode: mode, IdempotencyKey: key, Caller: "lakekit-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// localLake makes the test lake in a temporary directory with the local
// catalog.
func localLake(t *testing.T) *testLake {
	t.Helper()
	dir := t.TempDir()
	lk, err := lake.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return makeLake(t, dir, lk, cat)
}

// replacer names what normalize replaces in this lake's output.
func (l *testLake) replacer() []string {
	host, _ := os.Hostname()
	r := []string{strings.TrimSuffix(l.lk.Store().Location(""), "/"), "LAKE", l.url, "LAKE"}
	if host != "" {
		r = append(r, " "+host+"\n", " HOST\n")
	}
	return r
}
