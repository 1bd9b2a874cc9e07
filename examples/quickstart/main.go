// Command quickstart is lakekit's first command: it builds a small data lake
// end to end on this machine, with nothing to install.
//
//	go run ./examples/quickstart                      # a new lake under the current directory
//	go run ./examples/quickstart -rows 1000000 -seed 7
//	go run ./examples/quickstart -lake s3://bucket/prefix -catalog glue
//	go run ./examples/quickstart -format iceberg        # the curated page views also as Iceberg
//
// It generates deterministic clickstream events (about 1% malformed), sends
// them through the ingestion buffer into the raw zone as JSON lines, runs
// the pipeline with the local runner — raw → cleaned (validated; rejects
// quarantined) → curated (page views partitioned by dt, and a daily
// aggregate), every table registered in the catalog — queries the curated
// tables with DuckDB, and writes pictures of the pipeline and of the run
// into the lake. Its last line is a JSON summary of its own counts: those of
// this run (raw_records = cleaned_rows + quarantined_rows), and of the
// curated table as a whole (curated_partitions, curated_table_rows). Run it
// again on the same lake and it adds a new batch of events; the transforms
// process only the raw objects their ledgers have not seen.
//
// On AWS (or moto_server via AWS_ENDPOINT_URL) the same program runs on S3
// and Glue unchanged: -lake s3://bucket/prefix -catalog glue.
//
// With -format iceberg the curated page views are also written as an
// Apache Iceberg table (web.page_views_iceberg) through the same
// zones.Dataset API, with Options.Format = iceberg.Format, and the report
// runs on it with DuckDB too (iceberg.go).
//
// The files: main.go the program, pipeline.go the pipeline (its tables,
// transforms and steps; examples/stepfunctions holds the same file),
// events.go the generated events, cli.go the command-line plumbing.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"

	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones/raw"
)

func main() { mainWith("quickstart", run) }

// Summary is the program's last line of output.
type Summary struct {
	Lake              string   `json:"lake"`
	Catalog           string   `json:"catalog"`
	RawRecords        int64    `json:"raw_records"`
	RawObjects        int64    `json:"raw_objects"`
	CleanedRows       int64    `json:"cleaned_rows"`
	QuarantinedRows   int64    `json:"quarantined_rows"`
	CuratedRows       int64    `json:"curated_rows"`
	CuratedPartitions int      `json:"curated_partitions"`
	CuratedTableRows  int64    `json:"curated_table_rows"` // all runs so far (the snapshot)
	DailyRows         int64    `json:"daily_rows"`
	QueryRows         int      `json:"query_rows"`
	RunID             string   `json:"run_id"`
	Pictures          []string `json:"pictures"`
	Seconds           float64  `json:"seconds"`
	// Iceberg is set with -format iceberg.
	Iceberg *IcebergSummary `json:"iceberg,omitempty"`
}

// DayRow is one row of the report query.
type DayRow struct {
	DT         string  `db:"dt"`
	Views      int64   `db:"views"`
	Users      int64   `db:"users"`
	AvgSeconds float64 `db:"avg_seconds"`
	TopPage    string  `db:"top_page"`
	Search     float64 `db:"search_share"`
}

// reportSQL summarises the curated page views per day.
const reportSQL = `SELECT dt, count(*) AS views, count(DISTINCT user_id) AS users,
  round(avg(duration_ms) / 1000.0, 2) AS avg_seconds, mode(page) AS top_page,
  round(avg(CASE WHEN channel = 'search' THEN 1.0 ELSE 0.0 END), 3) AS search_share
FROM web.page_views GROUP BY dt ORDER BY dt`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	lakeURL := fs.String("lake", "", "where the lake lives: a directory, file://, mem:// or s3://bucket/prefix (default: a new directory under the current one)")
	rows := fs.Int("rows", 200000, "events to generate")
	seed := fs.Int64("seed", 1, "seed of the event generator (the same seed gives the same events)")
	catKind := fs.String("catalog", "local", "catalog: local (inside the lake) or glue (AWS Glue Data Catalog)")
	format := fs.String("format", "hive", "table format of the extra curated copy: hive (none) or iceberg (web.page_views_iceberg as Apache Iceberg)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *rows <= 0 {
		return usagef("-rows %d: want a positive number of events", *rows)
	}
	if *catKind != "local" && *catKind != "glue" {
		return usagef("-catalog %q: want local or glue", *catKind)
	}
	if *format != "hive" && *format != "iceberg" {
		return usagef("-format %q: want hive or iceberg", *format)
	}
	start := time.Now()
	if *lakeURL == "" {
		dir, err := os.MkdirTemp(".", "quickstart-lake-")
		if err != nil {
			return fmt.Errorf("cannot make the lake directory: %w", err)
		}
		if *lakeURL, err = filepath.Abs(dir); err != nil {
			return err
		}
	}
	lk, err := openLake(ctx, *lakeURL, nil)
	if err != nil {
		return err
	}
	defer lk.Close()
	cat, err := openCatalog(ctx, *catKind, lk)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lake       %s (catalog: %s)\n", where(lk), *catKind)
	var icat icecatalog.Catalog
	if *format == "iceberg" {
		if icat, err = icebergCatalog(ctx, lk, *catKind); err != nil {
			return err
		}
	}

	env, err := NewEnv(lk, cat, &EnvOptions{Caller: "examples/quickstart"})
	if err != nil {
		return err
	}

	// 1. ingestion: events → buffer → raw zone
	stats, err := ingest(ctx, lk, *rows, *seed, stdout)
	if err != nil {
		return err
	}

	// 2. the pipeline on the local runner; SQL steps run on DuckDB
	eng, err := duckdb.Open(ctx, lk, cat, nil)
	if err != nil {
		return err
	}
	defer eng.Close()
	var mu sync.Mutex
	results := map[string]*transform.Result{}
	p := Pipeline(
		func(context.Context, Params) (*Env, error) { return env, nil },
		func(step string, r *transform.Result) {
			mu.Lock()
			defer mu.Unlock()
			results[step] = r
			printStep(stdout, step, r)
		})
	runner, err := orchestrate.NewRunner(lk, &orchestrate.RunnerOptions{
		SQL:    sqlSteps{eng},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	t0 := time.Now()
	r, runErr := runner.Run(ctx, p, Params{Lake: *lakeURL, Catalog: *catKind})

	// 3. pictures of the pipeline and of this run, even when it failed
	var pictures []string
	if r != nil {
		if pictures, err = writePictures(ctx, lk, p, r); err != nil {
			return err
		}
	}
	if runErr != nil {
		return fmt.Errorf("pipeline: %w (see %s)", runErr, strings.Join(pictures, ", "))
	}
	fmt.Fprintf(stdout, "pipeline   run %s %s in %s; pictures: %s\n", r.ID, r.State, fmtSeconds(time.Since(t0)), strings.Join(pictures, ", "))
	if err := printTopPages(stdout, r.Steps["top_pages"]); err != nil {
		return err
	}

	// 4. query the curated tables with DuckDB
	t0 = time.Now()
	if err := eng.Refresh(ctx); err != nil {
		return err
	}
	days, err := query.All[DayRow](ctx, eng, reportSQL)
	if err != nil {
		return fmt.Errorf("report query: %w", err)
	}
	fmt.Fprintf(stdout, "query      %d rows from web.page_views on DuckDB in %s\n\n", len(days), fmtSeconds(time.Since(t0)))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dt\tviews\tusers\tavg s\tsearch\ttop page\t")
	for _, d := range days {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.1f%%\t%s\t\n", d.DT, fmtCount(d.Views), fmtCount(d.Users), d.AvgSeconds, d.Search*100, d.TopPage)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	var ice *IcebergSummary
	if icat != nil {
		if ice, err = curateIceberg(ctx, env, icat, eng, days, stdout); err != nil {
			return fmt.Errorf("iceberg: %w", err)
		}
	}

	// 5. the summary: the program's own counts
	snap, err := env.PageViews.Table().Snapshot(ctx, 0)
	if err != nil {
		return err
	}
	s := Summary{Lake: *lakeURL, Catalog: *catKind, RawRecords: stats.RecordsFlushed, RawObjects: stats.Flushes,
		CleanedRows: results["clean"].RowsOut, QuarantinedRows: results["clean"].Rejected,
		CuratedRows: results["page_views"].RowsOut, CuratedPartitions: len(snap.Partitions()), CuratedTableRows: snap.Rows(),
		DailyRows: results["daily_pages"].RowsOut, QueryRows: len(days), RunID: r.ID, Pictures: pictures,
		Seconds: float64(time.Since(start).Milliseconds()) / 1000, Iceberg: ice}
	out, err := json.Marshal(s)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}

// ingest generates rows events and lands them through the ingestion buffer.
func ingest(ctx context.Context, lk *lake.Lake, rows int, seed int64, stdout io.Writer) (raw.BufferStats, error) {
	t0 := time.Now()
	buf, err := raw.NewBuffer(lk, Source, Dataset, &raw.BufferOptions{
		FlushRecords:  max(rows/8, 1000), // a few objects, so the clean step has work to share out
		FlushBytes:    32 << 20,
		FlushInterval: -1,
	})
	if err != nil {
		return raw.BufferStats{}, err
	}
	gen := NewGenerator(seed)
	for range rows {
		if err := buf.Add(ctx, gen.Next()); err != nil {
			buf.Close(context.Background())
			return raw.BufferStats{}, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := buf.Close(cctx); err != nil {
		return raw.BufferStats{}, err
	}
	st := buf.Stats()
	d := time.Since(t0)
	fmt.Fprintf(stdout, "ingest     %s events (%s malformed) → raw/%s/%s: %d objects, %s in %s (%s)\n",
		fmtCount(st.RecordsFlushed), fmtCount(gen.Bad), Source, Dataset,
		st.Flushes, fmtBytes(st.BytesStored), fmtSeconds(d), fmtRate(st.RecordsFlushed, d))
	return st, nil
}

func printStep(w io.Writer, step string, r *transform.Result) {
	d := r.Duration
	switch step {
	case "clean":
		fmt.Fprintf(w, "clean      %s records → %s rows in cleaned web.clicks, %s quarantined in web.clicks_quarantine; %d commits in %s (%s)\n",
			fmtCount(r.RowsIn), fmtCount(r.RowsOut), fmtCount(r.Rejected), len(r.Versions), fmtSeconds(d), fmtRate(r.RowsIn, d))
	case "page_views":
		fmt.Fprintf(w, "page_views %s rows → %s rows in curated web.page_views; %d commits in %s (%s)\n",
			fmtCount(r.RowsIn), fmtCount(r.RowsOut), len(r.Versions), fmtSeconds(d), fmtRate(r.RowsIn, d))
	default:
		fmt.Fprintf(w, "%-10s %s rows → %s rows in curated web.%s; %d commits in %s (%s)\n",
			step, fmtCount(r.RowsIn), fmtCount(r.RowsOut), step, len(r.Versions), fmtSeconds(d), fmtRate(r.RowsIn, d))
	}
}

// printTopPages prints the output of the pipeline's SQL step.
func printTopPages(w io.Writer, sr *orchestrate.StepRun) error {
	if sr == nil || len(sr.Output) == 0 {
		return nil
	}
	var rows []struct {
		Page     string `json:"page"`
		Views    int64  `json:"views"`
		UserDays int64  `json:"user_days"`
	}
	if err := json.Unmarshal(sr.Output, &rows); err != nil {
		return fmt.Errorf("top_pages output: %w", err)
	}
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmt.Sprintf("%s %s", r.Page, fmtCount(r.Views))
	}
	fmt.Fprintf(w, "top_pages  %s\n", strings.Join(parts, " · "))
	return nil
}

// writePictures stores Mermaid pictures of the pipeline and of the run at
// the lake's root, and the run as an SVG picture any browser or image
// viewer shows (pipeline.svg), and returns where they are.
func writePictures(ctx context.Context, lk *lake.Lake, p *orchestrate.Pipeline, r *orchestrate.Run) ([]string, error) {
	pic, err := orchestrate.Mermaid(p)
	if err != nil {
		return nil, err
	}
	runPic, err := orchestrate.MermaidRun(p, r)
	if err != nil {
		return nil, err
	}
	svg, err := orchestrate.SVGRun(p, r)
	if err != nil {
		return nil, err
	}
	st := lk.Store()
	var locs []string
	for key, body := range map[string]string{"pipeline.mmd": pic, "pipeline-run.mmd": runPic, "pipeline.svg": svg} {
		ct := "text/vnd.mermaid"
		if strings.HasSuffix(key, ".svg") {
			ct = "image/svg+xml"
		}
		if err := st.PutBytes(ctx, key, []byte(body), &lake.PutOptions{ContentType: ct}); err != nil {
			return nil, fmt.Errorf("writing %s: %w", key, err)
		}
	}
	for _, key := range []string{"pipeline.mmd", "pipeline-run.mmd", "pipeline.svg"} {
		locs = append(locs, localPath(st.Location(key)))
	}
	return locs, nil
}

// sqlSteps runs the pipeline's SQL steps on a query engine: the views are
// refreshed first, so the statement sees what earlier steps committed, and
// the rows become the step's output (a JSON array of objects).
type sqlSteps struct{ eng *duckdb.Engine }

func (s sqlSteps) ExecSQL(ctx context.Context, stmt string, params ...any) (json.RawMessage, error) {
	if err := s.eng.Refresh(ctx); err != nil {
		return nil, err
	}
	res, err := s.eng.Query(ctx, stmt, params...)
	if err != nil {
		return nil, err
	}
	names := res.ColumnNames()
	out := []map[string]any{}
	for row, err := range res.Rows() {
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(row))
		for i, v := range row {
			m[names[i]] = jsonValue(v)
		}
		out = append(out, m)
	}
	return json.Marshal(out)
}

// jsonValue makes engine values JSON-friendly (decimals as numbers).
func jsonValue(v any) any {
	switch x := v.(type) {
	case query.Decimal:
		return json.Number(x.String())
	case sql.RawBytes:
		return string(x)
	}
	return v
}
