// Command athena queries the quickstart's curated tables on Amazon Athena
// into typed Go structs, and prints what each query scanned and cost. With
// -lake it first estimates the scan from the Glue catalog and the table's
// commit log, without running anything.
//
//	go run ./examples/quickstart -lake s3://my-bucket/lake -catalog glue   # make the tables
//	go run ./examples/athena -lake s3://my-bucket/lake -output s3://my-bucket/athena-results/
//
// AWS_ENDPOINT_URL points it at moto_server (whose Athena answers with
// results seeded through its API) for a rehearsal.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/query"
)

func main() { mainWith("athena", run) }

// TopPage is a row of the first query.
type TopPage struct {
	Page     string `db:"page"`
	Views    int64  `db:"views"`
	UserDays int64  `db:"user_days"`
}

// Channel is a row of the second query.
type Channel struct {
	Channel   string  `db:"channel"`
	Views     int64   `db:"views"`
	AvgSecond float64 `db:"avg_seconds"`
}

const topPagesSQL = `SELECT page, sum(views) AS views, sum(users) AS user_days
FROM daily_pages WHERE dt BETWEEN ? AND ? GROUP BY page ORDER BY views DESC LIMIT 10`

const channelsSQL = `SELECT channel, count(*) AS views, round(avg(duration_ms) / 1000.0, 2) AS avg_seconds
FROM page_views WHERE dt = ? GROUP BY channel ORDER BY views DESC`

// Summary is the last line of output.
type Summary struct {
	Queries        int     `json:"queries"`
	Rows           int     `json:"rows"`
	BytesScanned   int64   `json:"bytes_scanned"`
	CostUSD        float64 `json:"cost_usd"`
	EstimatedBytes int64   `json:"estimated_bytes,omitempty"`
	EstimatedFiles int     `json:"estimated_files,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("athena", flag.ContinueOnError)
	lakeURL := fs.String("lake", "", "the lake the tables live in (s3://bucket/prefix), for the dry-run estimate; optional")
	database := fs.String("database", "web", "Glue database of the tables")
	workGroup := fs.String("workgroup", "primary", "Athena workgroup")
	output := fs.String("output", "", "s3:// location for query results (default: the workgroup's)")
	// the default days are those of the quickstart's events (2024-05-01 to 2024-05-07)
	from := fs.String("from", "2024-05-01", "first day (dt) of the top-pages query")
	to := fs.String("to", "2024-05-07", "last day (dt) of the top-pages query")
	day := fs.String("day", "2024-05-03", "the day (dt) of the channels query")
	price := fs.Float64("price-per-tb", query.DefaultPricePerTB, "Athena's price per TB scanned, USD")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	for _, d := range []string{*from, *to, *day} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return usagef("day %q: want YYYY-MM-DD", d)
		}
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	opts := &query.AthenaOptions{Database: *database, WorkGroup: *workGroup, OutputLocation: *output, PricePerTB: *price,
		Poll: query.Poll{MaxWait: 10 * time.Minute}}
	var sum Summary
	if *lakeURL != "" {
		lk, err := lake.Open(ctx, *lakeURL, nil)
		if err != nil {
			return err
		}
		defer lk.Close()
		opts.Lake = lk
		if opts.Catalog, err = catalog.NewGlue(cfg, nil); err != nil {
			return err
		}
	}
	eng, err := query.NewAthena(cfg, opts)
	if err != nil {
		return err
	}
	defer eng.Close()

	if opts.Lake != nil {
		est, err := eng.Estimate(ctx, *database, "page_views", fmt.Sprintf("dt = '%s'", *day))
		if err != nil {
			return err
		}
		sum.EstimatedBytes, sum.EstimatedFiles = est.Bytes, est.Files
		fmt.Fprintf(stdout, "estimate   %s.page_views for dt = %s: %d partition, %d files, %s: at most $%.6f\n",
			*database, *day, est.Partitions, est.Files, fmtBytes(est.Bytes), est.Cost)
	}

	top, st, err := typed[TopPage](ctx, eng, topPagesSQL, *from, *to)
	if err != nil {
		return fmt.Errorf("top pages: %w", err)
	}
	report(stdout, &sum, fmt.Sprintf("top pages %s..%s", *from, *to), st, len(top))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "page\tviews\tuser days\t")
	for _, r := range top {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", r.Page, fmtCount(r.Views), fmtCount(r.UserDays))
	}
	tw.Flush()

	chans, st, err := typed[Channel](ctx, eng, channelsSQL, *day)
	if err != nil {
		return fmt.Errorf("channels: %w", err)
	}
	report(stdout, &sum, "channels on "+*day, st, len(chans))
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "channel\tviews\tavg s\t")
	for _, r := range chans {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t\n", r.Channel, fmtCount(r.Views), r.AvgSecond)
	}
	tw.Flush()

	out, _ := json.Marshal(sum)
	fmt.Fprintln(stdout, string(out))
	return nil
}

// typed runs a query with bound parameters and scans every row into a T.
func typed[T any](ctx context.Context, eng query.Engine, sql string, params ...any) ([]T, query.Stats, error) {
	res, err := eng.Query(ctx, sql, params...)
	if err != nil {
		return nil, query.Stats{}, err
	}
	defer res.Close()
	var rows []T
	for r, err := range query.ScanRows[T](res) {
		if err != nil {
			return nil, query.Stats{}, err
		}
		rows = append(rows, r)
	}
	return rows, res.Stats(), nil
}

func report(w io.Writer, sum *Summary, what string, st query.Stats, rows int) {
	sum.Queries++
	sum.Rows += rows
	if st.BytesScanned > 0 {
		sum.BytesScanned += st.BytesScanned
	}
	sum.CostUSD += st.Cost
	fmt.Fprintf(w, "\nquery      %s: %d rows, scanned %s in %s, cost $%.6f (query %s)\n",
		what, rows, fmtBytes(max(st.BytesScanned, 0)), fmtSeconds(st.ExecutionTime), st.Cost, st.QueryID)
}
