// The Firehose path: click events as producers send them to an Amazon Data
// Firehose stream, delivered into raw/web/clicks/ in Firehose's layout,
// cleaned into web.clicks (rejects to web.clicks_quarantine), aggregated
// into curated web.daily_pages.

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// The raw dataset Firehose delivers into, and the tables built from it.
const (
	ClickSource     = "web"
	ClickDataset    = "clicks"
	WebDatabase     = "web"
	CleanedTable    = "clicks"
	QuarantineTable = "clicks_quarantine"
	DailyTable      = "daily_pages"
)

// Pages are the pages the validation rules accept.
var Pages = []string{"/", "/search", "/product", "/cart", "/checkout"}

// RawClick is one event as a producer sends it to Firehose (a JSON object).
type RawClick struct {
	EventID    string    `json:"event_id"`
	TS         time.Time `json:"ts"`
	UserID     string    `json:"user_id"`
	Page       string    `json:"page"`
	DurationMS int64     `json:"duration_ms"`
}

// Click is a validated event in cleaned web.clicks, partitioned by day.
type Click struct {
	EventID    string    `parquet:"event_id"`
	TS         time.Time `parquet:"ts"`
	UserID     string    `parquet:"user_id"`
	Page       string    `parquet:"page"`
	DurationMS int64     `parquet:"duration_ms"`
	DT         string    `parquet:"dt" lakekit:"partition"`
}

// DailyPage is curated web.daily_pages: views and users per day and page.
type DailyPage struct {
	DT    string `parquet:"dt" lakekit:"partition"`
	Page  string `parquet:"page"`
	Views int64  `parquet:"views"`
	Users int64  `parquet:"users"`
}

// ClickRules validate raw events; a record that breaks one is quarantined.
var ClickRules = []transform.Rule{
	transform.Required("event_id"),
	transform.Required("ts"),
	transform.Required("user_id"),
	transform.Enum("page", Pages...),
	transform.Range("duration_ms", 0, 3600*1000),
}

// clicks holds the Firehose path's datasets and transforms.
type clicks struct {
	cleaned    *zones.Dataset[Click]
	quarantine *zones.Dataset[transform.Quarantine]
	daily      *zones.Dataset[DailyPage]
	clean      *transform.Transform[RawClick, Click]
	curate     *transform.Transform[Click, DailyPage]
}

func newClicks(lk *lake.Lake, cat catalog.Catalog, src transform.Source[RawClick]) (*clicks, error) {
	c := &clicks{}
	var err error
	if c.cleaned, err = zones.NewDataset[Click](lk, lake.Cleaned, WebDatabase, CleanedTable,
		&zones.Options[Click]{Catalog: cat, Description: "validated click events from Firehose"}); err != nil {
		return nil, err
	}
	if c.quarantine, err = zones.NewDataset[transform.Quarantine](lk, lake.Cleaned, WebDatabase, QuarantineTable,
		&zones.Options[transform.Quarantine]{Catalog: cat, Description: "click records rejected by clean_clicks or by Firehose, with the reason"}); err != nil {
		return nil, err
	}
	if c.daily, err = zones.NewDataset[DailyPage](lk, lake.Curated, WebDatabase, DailyTable,
		&zones.Options[DailyPage]{Catalog: cat, Description: "views and users per day and page"}); err != nil {
		return nil, err
	}
	if c.clean, err = transform.New("clean_clicks", src, transform.Map(cleanClick), c.cleaned,
		&transform.Options[Click]{Rules: ClickRules, Quarantine: c.quarantine, Caller: "examples/ingest-services"}); err != nil {
		return nil, err
	}
	if c.curate, err = transform.New("daily_pages", transform.FromDataset(c.cleaned), transform.PerPartition(dailyPages), c.daily,
		&transform.Options[DailyPage]{Mode: zones.OverwritePartitions, Caller: "examples/ingest-services"}); err != nil {
		return nil, err
	}
	return c, nil
}

func cleanClick(_ context.Context, r RawClick) (Click, error) {
	ts := r.TS.UTC()
	return Click{EventID: r.EventID, TS: ts, UserID: r.UserID, Page: r.Page, DurationMS: r.DurationMS, DT: ts.Format(time.DateOnly)}, nil
}

func dailyPages(_ context.Context, part lake.Partition, rows iter.Seq2[Click, error], emit func(DailyPage)) error {
	dt, _ := part.Get("dt")
	views := map[string]int64{}
	users := map[string]map[string]bool{}
	for c, err := range rows {
		if err != nil {
			return err
		}
		views[c.Page]++
		if users[c.Page] == nil {
			users[c.Page] = map[string]bool{}
		}
		users[c.Page][c.UserID] = true
	}
	pages := make([]string, 0, len(views))
	for p := range views {
		pages = append(pages, p)
	}
	sort.Strings(pages)
	for _, p := range pages {
		emit(DailyPage{DT: dt, Page: p, Views: views[p], Users: int64(len(users[p]))})
	}
	return nil
}

// clickGen makes click records: about 1% break a rule (an unknown page, no
// user, a negative duration), so they end in quarantine.
type clickGen struct {
	rng *rand.Rand
	at  time.Time
	n   int
	bad int
}

func newClickGen(seed int64) *clickGen {
	return &clickGen{rng: rand.New(rand.NewSource(seed)), at: time.Date(2024, 5, 1, 22, 0, 0, 0, time.UTC)}
}

// next returns the next record as a producer sends it, and whether it is
// one of the malformed ones.
func (g *clickGen) next() ([]byte, bool) {
	g.n++
	g.at = g.at.Add(time.Duration(100+g.rng.Intn(900)) * time.Millisecond)
	r := RawClick{EventID: fmt.Sprintf("e%07d", g.n), TS: g.at, UserID: fmt.Sprintf("u%d", g.rng.Intn(500)),
		Page: Pages[g.rng.Intn(len(Pages))], DurationMS: int64(g.rng.Intn(60000))}
	bad := g.rng.Intn(100) == 0
	if bad {
		g.bad++
		switch g.n % 3 {
		case 0:
			r.Page = "/unknown"
		case 1:
			r.UserID = ""
		default:
			r.DurationMS = -1
		}
	}
	b, _ := json.Marshal(r)
	return b, bad
}

// firehoseObjectKey is where Firehose delivers a buffer that arrived at t,
// relative to the dataset's prefix: YYYY/MM/dd/HH/ (UTC) and
// <stream>-<version>-YYYY-MM-dd-HH-mm-ss-<uuid>, .gz when gzip-compressed.
func firehoseObjectKey(stream string, t time.Time, rng *rand.Rand, ext string) string {
	var u [16]byte
	rng.Read(u[:])
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	t = t.UTC()
	return t.Format("2006/01/02/15/") + stream + "-1-" + t.Format("2006-01-02-15-04-05") + "-" + uuid + ext
}

// firehoseStats counts what the Firehose path sent.
type firehoseStats struct {
	records, malformed, objects, errorRecords int
}

// landLikeFirehose writes records into the raw zone the way a Firehose
// stream with the rendered set-up delivers them (what runs locally, where
// no Firehose exists): buffers of perObject records, concatenated without
// a delimiter and gzip-compressed, under
// <source>/<dataset>/YYYY/MM/dd/HH/; and one error output object, with
// the records a processing Lambda failed on, as Firehose writes them
// under <source>/<dataset>/errors/processing-failed/YYYY/MM/dd/HH/ (JSON
// lines with the record base64-encoded in rawData and the error code).
// Objects already there are left as they are.
func landLikeFirehose(ctx context.Context, lk *lake.Lake, g *clickGen, n, perObject int, stream string) (firehoseStats, error) {
	rz := lk.MustZone(lake.Raw).Store()
	prefix := ClickSource + "/" + ClickDataset + "/"
	var st firehoseStats
	keyRNG := rand.New(rand.NewSource(int64(n)))
	for sent := 0; sent < n; {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		start := g.at
		for i := 0; i < perObject && sent < n; i++ {
			rec, bad := g.next()
			if bad {
				st.malformed++
			}
			zw.Write(rec)
			sent++
			st.records++
		}
		if err := zw.Close(); err != nil {
			return st, err
		}
		key := prefix + firehoseObjectKey(stream, start, keyRNG, ".gz")
		if err := createOnce(ctx, rz, key, buf.Bytes(), nil); err != nil {
			return st, err
		}
		st.objects++
	}
	// a processing Lambda failed on three records: Firehose puts them in
	// its error output instead of delivering them
	var errOut bytes.Buffer
	for range 3 {
		rec, _ := g.next()
		line, _ := json.Marshal(map[string]any{
			"attemptsMade": 4, "arrivalTimestamp": g.at.UnixMilli(), "errorCode": "Lambda.FunctionError",
			"errorMessage":           "The Lambda function was successfully invoked but it returned an error result.",
			"attemptEndingTimestamp": g.at.Add(time.Minute).UnixMilli(), "rawData": base64.StdEncoding.EncodeToString(rec),
			"lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:enrich-clicks:$LATEST"})
		errOut.Write(append(line, '\n'))
		st.errorRecords++
	}
	key := prefix + "errors/processing-failed/" + firehoseObjectKey(stream, g.at, keyRNG, "")
	if err := createOnce(ctx, rz, key, errOut.Bytes(), nil); err != nil {
		return st, err
	}
	return st, nil
}

// createOnce writes an object unless it is there: a service writes each
// object once, so a second run of the program (same seed, same keys and
// bytes) leaves what the first wrote as it is.
func createOnce(ctx context.Context, st *lake.Store, key string, b []byte, opts *lake.PutOptions) error {
	if err := st.Create(ctx, key, b, opts); err != nil && !errors.Is(err, lake.ErrExists) {
		return err
	}
	return nil
}

// sendToFirehose sends n records to a Firehose stream with PutRecordBatch,
// 500 a call (the API's limit), retrying the records a call reports failed.
func sendToFirehose(ctx context.Context, fh *firehose.Client, stream string, g *clickGen, n int) (firehoseStats, error) {
	var st firehoseStats
	for sent := 0; sent < n; {
		var recs []ftypes.Record
		for i := 0; i < 500 && sent < n; i++ {
			rec, bad := g.next()
			if bad {
				st.malformed++
			}
			recs = append(recs, ftypes.Record{Data: rec})
			sent++
		}
		for attempt := 0; len(recs) > 0; attempt++ {
			if attempt == 5 {
				return st, fmt.Errorf("firehose stream %s: %d records still failing after %d attempts", stream, len(recs), attempt)
			}
			out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: recs})
			if err != nil {
				return st, fmt.Errorf("firehose stream %s: %w", stream, err)
			}
			var again []ftypes.Record
			for i, r := range out.RequestResponses {
				if r.ErrorCode != nil && i < len(recs) {
					again = append(again, recs[i])
				}
			}
			st.records += len(recs) - len(again)
			recs = again
			if len(again) > 0 {
				time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
			}
		}
	}
	return st, nil
}
