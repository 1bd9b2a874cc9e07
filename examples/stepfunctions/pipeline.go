// The quickstart pipeline: its tables, its transforms and its DAG. The same
// file is in examples/quickstart (which runs it locally) and
// examples/stepfunctions (which compiles it to Amazon States Language and is
// its worker); examples/copy_test.go checks that the two copies agree.
//
// Data flow (the whitepaper's zones):
//
//	browsers → ingestion buffer → raw   web/clicks/ingest_date=.../*.jsonl   (JSON lines, as sent)
//	raw      → clean            → cleaned web.clicks (dt=...)              (validated; rejects to web.clicks_quarantine)
//	cleaned  → page_views       → curated web.page_views (dt=...)          (enriched rows)
//	cleaned  → daily_pages      → curated web.daily_pages (dt=...)         (per day and page)
//	curated  → top_pages        SQL over web.daily_pages

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// Source and Dataset name the raw input: raw/web/clicks/...
const (
	Source  = "web"
	Dataset = "clicks"
	// Database holds every table of the pipeline.
	Database = "web"
)

// Pages and Devices are the values the validation rules accept.
var (
	Pages   = []string{"/", "/search", "/product", "/cart", "/checkout", "/account", "/help", "/blog"}
	Devices = []string{"desktop", "mobile", "tablet"}
)

// RawClick is one event as browsers send it (JSON).
type RawClick struct {
	EventID    string    `json:"event_id"`
	TS         time.Time `json:"ts"`
	UserID     string    `json:"user_id"`
	SessionID  string    `json:"session_id"`
	Page       string    `json:"page"`
	Referrer   string    `json:"referrer"`
	Country    string    `json:"country"`
	Device     string    `json:"device"`
	DurationMS int64     `json:"duration_ms"`
}

// Click is a validated event in the cleaned zone (web.clicks), partitioned
// by its UTC day.
type Click struct {
	EventID    string    `parquet:"event_id"`
	TS         time.Time `parquet:"ts"`
	UserID     string    `parquet:"user_id"`
	SessionID  string    `parquet:"session_id"`
	Page       string    `parquet:"page"`
	Referrer   string    `parquet:"referrer"`
	Country    string    `parquet:"country"`
	Device     string    `parquet:"device"`
	DurationMS int64     `parquet:"duration_ms"`
	DT         string    `parquet:"dt" lakekit:"partition"`
}

// PageView is a curated, enriched event (web.page_views).
type PageView struct {
	EventID    string    `parquet:"event_id"`
	TS         time.Time `parquet:"ts"`
	Hour       int32     `parquet:"hour"`
	UserID     string    `parquet:"user_id"`
	SessionID  string    `parquet:"session_id"`
	Page       string    `parquet:"page"`
	Channel    string    `parquet:"channel"` // direct, search, social, referral, email
	Country    string    `parquet:"country"`
	Device     string    `parquet:"device"`
	DurationMS int64     `parquet:"duration_ms"`
	DT         string    `parquet:"dt" lakekit:"partition"`
}

// DailyPage is the curated aggregate per day and page (web.daily_pages).
type DailyPage struct {
	DT            string  `parquet:"dt" lakekit:"partition"`
	Page          string  `parquet:"page"`
	Views         int64   `parquet:"views"`
	Users         int64   `parquet:"users"`
	AvgDurationMS float64 `parquet:"avg_duration_ms"`
}

// Rules validate raw events; a record that breaks one goes to quarantine.
var Rules = []transform.Rule{
	transform.Required("event_id"),
	transform.Required("ts"),
	transform.Required("user_id"),
	transform.Enum("page", Pages...),
	transform.Enum("device", Devices...),
	transform.Regexp("country", `^[a-z]{2}$`),
	transform.Range("duration_ms", 0, 6*3600*1000),
}

// Table names.
const (
	CleanedTable    = "clicks"
	QuarantineTable = "clicks_quarantine"
	PageViewsTable  = "page_views"
	DailyTable      = "daily_pages"
	PipelineName    = "quickstart"
)

// TopPagesSQL is the pipeline's SQL step. It runs on DuckDB locally and on
// Athena when compiled to Step Functions (the same dialect subset).
const TopPagesSQL = `SELECT page, sum(views) AS views, sum(users) AS user_days
FROM web.daily_pages GROUP BY page ORDER BY views DESC, page LIMIT 5`

// Env is everything the pipeline's steps work on.
type Env struct {
	Lake    *lake.Lake
	Catalog catalog.Catalog

	Cleaned    *zones.Dataset[Click]
	Quarantine *zones.Dataset[transform.Quarantine]
	PageViews  *zones.Dataset[PageView]
	Daily      *zones.Dataset[DailyPage]

	Clean       *transform.Transform[RawClick, Click]
	ToPageViews *transform.Transform[Click, PageView]
	ToDaily     *transform.Transform[Click, DailyPage]
}

// EnvOptions tune NewEnv. A nil *EnvOptions means defaults.
type EnvOptions struct {
	// Parallelism of each transform (default GOMAXPROCS, at least 2).
	Parallelism int
	// Caller goes into every commit's audit record.
	Caller string
}

// NewEnv describes the pipeline's datasets and transforms over lk,
// registering every table in cat as it is committed.
func NewEnv(lk *lake.Lake, cat catalog.Catalog, opts *EnvOptions) (*Env, error) {
	var o EnvOptions
	if opts != nil {
		o = *opts
	}
	if o.Parallelism <= 0 {
		o.Parallelism = max(2, runtime.GOMAXPROCS(0))
	}
	e := &Env{Lake: lk, Catalog: cat}
	var err error
	if e.Cleaned, err = zones.NewDataset[Click](lk, lake.Cleaned, Database, CleanedTable,
		&zones.Options[Click]{Catalog: cat, Description: "validated click events, one row per event"}); err != nil {
		return nil, err
	}
	if e.Quarantine, err = zones.NewDataset[transform.Quarantine](lk, lake.Cleaned, Database, QuarantineTable,
		&zones.Options[transform.Quarantine]{Catalog: cat, Description: "raw click records the clean step rejected, with the reason"}); err != nil {
		return nil, err
	}
	if e.PageViews, err = zones.NewDataset[PageView](lk, lake.Curated, Database, PageViewsTable,
		&zones.Options[PageView]{Catalog: cat, Description: "page views with channel and hour"}); err != nil {
		return nil, err
	}
	if e.Daily, err = zones.NewDataset[DailyPage](lk, lake.Curated, Database, DailyTable,
		&zones.Options[DailyPage]{Catalog: cat, Description: "views, users and average time per day and page"}); err != nil {
		return nil, err
	}
	if e.Clean, err = transform.New("clean_clicks",
		transform.FromRaw(lk, Source, Dataset, transform.JSONLines[RawClick](nil)),
		transform.Map(cleanClick), e.Cleaned,
		&transform.Options[Click]{Rules: Rules, Quarantine: e.Quarantine, Parallelism: o.Parallelism, FilesPerUnit: 1, Caller: o.Caller}); err != nil {
		return nil, err
	}
	if e.ToPageViews, err = transform.New("curate_page_views", transform.FromDataset(e.Cleaned),
		transform.Map(pageView), e.PageViews,
		&transform.Options[PageView]{Parallelism: o.Parallelism, Caller: o.Caller}); err != nil {
		return nil, err
	}
	if e.ToDaily, err = transform.New("daily_pages", transform.FromDataset(e.Cleaned),
		transform.PerPartition(dailyPages), e.Daily,
		&transform.Options[DailyPage]{Mode: zones.OverwritePartitions, Parallelism: o.Parallelism, Caller: o.Caller}); err != nil {
		return nil, err
	}
	return e, nil
}

func cleanClick(_ context.Context, r RawClick) (Click, error) {
	ts := r.TS.UTC()
	return Click{EventID: r.EventID, TS: ts, UserID: r.UserID, SessionID: r.SessionID, Page: r.Page,
		Referrer: r.Referrer, Country: r.Country, Device: r.Device, DurationMS: r.DurationMS,
		DT: ts.Format(time.DateOnly)}, nil
}

func pageView(_ context.Context, c Click) (PageView, error) {
	return PageView{EventID: c.EventID, TS: c.TS, Hour: int32(c.TS.UTC().Hour()), UserID: c.UserID,
		SessionID: c.SessionID, Page: c.Page, Channel: Channel(c.Referrer), Country: c.Country,
		Device: c.Device, DurationMS: c.DurationMS, DT: c.DT}, nil
}

// Channel classifies a referrer URL.
func Channel(ref string) string {
	switch {
	case ref == "":
		return "direct"
	case strings.Contains(ref, "google.") || strings.Contains(ref, "duckduckgo.") || strings.Contains(ref, "bing."):
		return "search"
	case strings.Contains(ref, "t.co/") || strings.Contains(ref, "facebook.") || strings.Contains(ref, "linkedin."):
		return "social"
	case strings.Contains(ref, "mail."):
		return "email"
	}
	return "referral"
}

func dailyPages(_ context.Context, part lake.Partition, rows iter.Seq2[Click, error], emit func(DailyPage)) error {
	dt, _ := part.Get("dt")
	type agg struct {
		views, dur int64
		users      map[string]struct{}
	}
	pages := map[string]*agg{}
	for c, err := range rows {
		if err != nil {
			return err
		}
		a := pages[c.Page]
		if a == nil {
			a = &agg{users: map[string]struct{}{}}
			pages[c.Page] = a
		}
		a.views++
		a.dur += c.DurationMS
		a.users[c.UserID] = struct{}{}
	}
	names := make([]string, 0, len(pages))
	for p := range pages {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		a := pages[p]
		emit(DailyPage{DT: dt, Page: p, Views: a.views, Users: int64(len(a.users)), AvgDurationMS: float64(a.dur) / float64(a.views)})
	}
	return nil
}

// Params are a run's parameters (the execution input on Step Functions):
// where the lake and its catalog are, so the same steps run anywhere.
type Params struct {
	Lake    string `json:"lake"`
	Catalog string `json:"catalog"` // local or glue
}

// StepResult is what a Go step reports (its output in the run history).
type StepResult struct {
	Transform  string  `json:"transform"`
	Units      int     `json:"units"`
	Files      int     `json:"files"`
	RowsIn     int64   `json:"rows_in"`
	RowsOut    int64   `json:"rows_out"`
	Rejected   int64   `json:"rejected"`
	Versions   []int64 `json:"versions,omitempty"`
	DurationMS int64   `json:"duration_ms"`
}

// ResultOf turns a transform's result into a step output.
func ResultOf(r *transform.Result) StepResult {
	return StepResult{Transform: r.Transform, Units: r.Units, Files: r.Files, RowsIn: r.RowsIn, RowsOut: r.RowsOut,
		Rejected: r.Rejected, Versions: r.Versions, DurationMS: r.Duration.Milliseconds()}
}

// Opener returns the environment of a run from its parameters. Locally the
// quickstart hands over the one it built; a worker on Fargate opens the
// lake the parameters name.
type Opener func(ctx context.Context, p Params) (*Env, error)

// Pipeline is the quickstart pipeline: clean, then page_views and
// daily_pages side by side, then the top_pages SQL report. done, when not
// nil, is called after each Go step with its result (progress displays).
func Pipeline(open Opener, done func(step string, r *transform.Result)) *orchestrate.Pipeline {
	step := func(name string, run func(*Env) func(context.Context) (*transform.Result, error)) *orchestrate.Step {
		return orchestrate.GoStep(name, func(ctx context.Context, in orchestrate.Input) (orchestrate.Output, error) {
			var p Params
			if len(in.Params) > 0 {
				if err := json.Unmarshal(in.Params, &p); err != nil {
					return nil, fmt.Errorf("step %s: parameters: %w", name, err)
				}
			}
			env, err := open(ctx, p)
			if err != nil {
				return nil, err
			}
			res, err := run(env)(ctx)
			if err != nil {
				return nil, err
			}
			if done != nil {
				done(name, res)
			}
			return json.Marshal(ResultOf(res))
		}).Retry(orchestrate.RetryPolicy{ErrorEquals: []string{orchestrate.ErrorTaskFailed}, MaxAttempts: 2, Interval: time.Second})
	}
	return orchestrate.New(PipelineName,
		step("clean", func(e *Env) func(context.Context) (*transform.Result, error) { return e.Clean.Run }),
		step("page_views", func(e *Env) func(context.Context) (*transform.Result, error) { return e.ToPageViews.Run }).After("clean"),
		step("daily_pages", func(e *Env) func(context.Context) (*transform.Result, error) { return e.ToDaily.Run }).After("clean"),
		orchestrate.SQLStep("top_pages", TopPagesSQL).After("page_views", "daily_pages").Athena(Database, "", ""),
	)
}
