package metrictest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/lakekit/lakekit/internal/metrictest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

type rawEvent struct {
	ID     int64     `json:"id"`
	User   string    `json:"user"`
	Kind   string    `json:"kind"`
	Amount float64   `json:"amount"`
	At     time.Time `json:"at"`
}

type event struct {
	ID     int64   `parquet:"id"`
	User   string  `parquet:"user"`
	Kind   string  `parquet:"kind"`
	Amount float64 `parquet:"amount"`
	Day    string  `parquet:"day" lakekit:"partition"`
}

type sale struct {
	ID       int64  `parquet:"id"`
	AmountCt int64  `parquet:"amount_ct"`
	Day      string `parquet:"day" lakekit:"partition"`
}

type dayTotal struct {
	Sales int64  `parquet:"sales"`
	Day   string `parquet:"day" lakekit:"partition"`
}

// gatedDriver holds puts into the raw zone while its gate is set and open.
type gatedDriver struct {
	driver.Driver
	mu   sync.Mutex
	gate chan struct{}
}

func (d *gatedDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	d.mu.Lock()
	g := d.gate
	d.mu.Unlock()
	if g != nil && strings.HasPrefix(key, "raw/") {
		select {
		case <-g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return d.Driver.Put(ctx, key, body, size, opts)
}

// quickstart is what one run did, as its own results tell it.
type quickstart struct {
	buf                    raw.BufferStats
	gaveUp, gaveUpElapsed  time.Duration // the Add that met a full buffer
	clean, curate          *transform.Result
	totals, dup            *zones.CommitResult
	scan                   query.Stats
	run, broken            *orchestrate.Run
	salesRead, eventsFiles int64
}

const (
	events     = 600
	patience   = 50 * time.Millisecond
	pricePerTB = 5.0
)

// ingest lands the events through a raw Buffer whose store first stalls:
// one Add meets a full buffer and gives up after patience, then the store
// answers and everything lands.
func ingest(t *testing.T, lk *lake.Lake, gd *gatedDriver, q *quickstart) {
	ctx := context.Background()
	b, err := raw.NewBuffer(lk, "web", "events", &raw.BufferOptions{FlushBytes: 4096, MaxBufferedBytes: 8192, MaxConcurrentFlushes: 1})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	kinds := []string{"view", "cart", "buy"}
	gaveUp := false
	for i := 0; i < events; i++ {
		e := rawEvent{ID: int64(i), User: fmt.Sprintf("u%03d", i%37), Kind: kinds[i%3], Amount: float64(i%100) / 4, At: day.Add(time.Duration(i%3)*24*time.Hour + time.Duration(i)*time.Second)}
		line, _ := json.Marshal(e)
		switch i % 50 {
		case 3: // malformed
			line = line[:len(line)/2]
		case 9: // a kind no rule allows
			e.Kind = "bogus"
			line, _ = json.Marshal(e)
		}
		if gaveUp {
			if err := b.Add(ctx, line); err != nil {
				t.Fatal(err)
			}
			continue
		}
		short, cancel := context.WithTimeout(ctx, patience)
		start := time.Now()
		err := b.Add(short, line)
		cancel()
		if errors.Is(err, raw.ErrBufferFull) {
			q.gaveUp, q.gaveUpElapsed, gaveUp = patience, time.Since(start), true
			close(gd.gate)
			i-- // add it again
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !gaveUp {
		t.Fatal("no Add met a full buffer while the store stalled")
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	q.buf = b.Stats()
}

// pipelines builds the quickstart pipeline (clean, curate, totals, report)
// and one whose only step fails. The transforms commit one unit at a
// time, so the only commit retry is the one the store's fault causes
// (parallel units may retry against each other, a number no result
// reports).
func pipelines(t *testing.T, lk *lake.Lake, athena *query.Athena, q *quickstart) (*orchestrate.Pipeline, *orchestrate.Pipeline) {
	cleaned, err := zones.NewDataset[event](lk, lake.Cleaned, "shop", "events", nil)
	if err != nil {
		t.Fatal(err)
	}
	sales, err := zones.NewDataset[sale](lk, lake.Curated, "shop", "sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	totals, err := zones.NewDataset[dayTotal](lk, lake.Curated, "shop", "day_totals", nil)
	if err != nil {
		t.Fatal(err)
	}
	toClean, err := transform.New("clean_events", transform.FromRaw(lk, "web", "events", transform.JSONLines[rawEvent](nil)),
		transform.Map(func(_ context.Context, r rawEvent) (event, error) {
			return event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, Day: r.At.UTC().Format("2006-01-02")}, nil
		}), cleaned, &transform.Options[event]{Rules: []transform.Rule{transform.Enum("kind", "view", "cart", "buy")}, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	toCurate, err := transform.New("curate_sales", transform.FromDataset(cleaned),
		transform.Map(func(_ context.Context, e event) (sale, error) {
			if e.Kind != "buy" {
				return sale{}, transform.Skip
			}
			return sale{ID: e.ID, AmountCt: int64(e.Amount * 100), Day: e.Day}, nil
		}), sales, &transform.Options[sale]{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	step := func(name string, fn func(ctx context.Context) error) *orchestrate.Step {
		return orchestrate.GoStep(name, func(ctx context.Context, _ orchestrate.Input) (orchestrate.Output, error) {
			return orchestrate.Output(`"ok"`), fn(ctx)
		})
	}
	var reportCalls atomic.Int32
	qs := orchestrate.New("quickstart",
		step("clean", func(ctx context.Context) (err error) { q.clean, err = toClean.Run(ctx); return err }),
		step("curate", func(ctx context.Context) (err error) { q.curate, err = toCurate.Run(ctx); return err }).After("clean"),
		step("totals", func(ctx context.Context) error { return writeTotals(ctx, sales, totals, q) }).After("curate"),
		step("report", func(ctx context.Context) error {
			if reportCalls.Add(1) == 1 {
				return orchestrate.NewError("Throttled", errors.New("slow down"))
			}
			res, err := athena.Query(ctx, `SELECT count(*) AS n FROM sales`)
			if err != nil {
				return err
			}
			q.scan = res.Stats()
			return res.Close()
		}).After("totals").Retry(orchestrate.RetryPolicy{ErrorEquals: []string{"Throttled"}, Interval: time.Millisecond, MaxAttempts: 2}))
	broken := orchestrate.New("broken", step("bad", func(context.Context) error {
		return orchestrate.NewError("Boom", errors.New("no"))
	}))
	return qs, broken
}

// writeTotals reads the curated sales and writes a total per day: once,
// once more as a duplicate (same idempotency key), and twice as
// overwrites of the same partition, one of which conflicts.
func writeTotals(ctx context.Context, sales *zones.Dataset[sale], totals *zones.Dataset[dayTotal], q *quickstart) error {
	rows, err := sales.ReadAll(ctx, nil)
	if err != nil {
		return err
	}
	q.salesRead = int64(len(rows))
	per := map[string]int64{}
	for _, s := range rows {
		per[s.Day]++
	}
	var all []dayTotal
	for d, n := range per {
		all = append(all, dayTotal{Sales: n, Day: d})
	}
	write := func(wo *zones.WriterOptions, rows []dayTotal) (*zones.Writer[dayTotal], error) {
		w, err := totals.NewWriter(ctx, wo)
		if err != nil {
			return nil, err
		}
		return w, w.Write(ctx, rows)
	}
	for i, dst := range []**zones.CommitResult{&q.totals, &q.dup} {
		w, err := write(&zones.WriterOptions{IdempotencyKey: "totals-1"}, all)
		if err != nil {
			return err
		}
		if *dst, err = w.Commit(ctx); err != nil {
			return err
		}
		if (*dst).Duplicate != (i == 1) {
			return fmt.Errorf("commit %d of totals-1: duplicate %v", i, (*dst).Duplicate)
		}
	}
	wa, err := write(&zones.WriterOptions{Mode: zones.OverwritePartitions}, all[:1])
	if err != nil {
		return err
	}
	wb, err := write(&zones.WriterOptions{Mode: zones.OverwritePartitions}, all[:1])
	if err != nil {
		return err
	}
	if _, err := wa.Commit(ctx); err != nil {
		return err
	}
	if _, err := wb.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		return fmt.Errorf("second overwrite: %v, want ErrConflict", err)
	}
	return nil
}

// runQuickstart lands, cleans, curates, totals and reports on a lake
// whose meters rec records.
func runQuickstart(t *testing.T, rec *metrictest.Recorder) (*lake.Lake, *quickstart) {
	ctx := context.Background()
	// The first commit to day_totals meets a throttled log write (one
	// retry); raw puts stall until ingest opens the gate.
	fs := faultstore.Wrap(memstore.New(), &faultstore.Options{Rules: []faultstore.Rule{{Op: faultstore.OpCreate, KeyContains: "day_totals/_lakekit/log/", Nth: 1, Times: 1, Fault: faultstore.Throttle}}})
	gd := &gatedDriver{Driver: fs, gate: make(chan struct{})}
	lk, err := lake.New(lake.NewStore(gd), &lake.Options{MeterProvider: rec.Provider})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	q := &quickstart{}
	ingest(t, lk, gd, q)

	p := enginetest.StartAthena(t)
	p.Scanned = 3 << 40
	one := "1"
	p.Seed(t, []enginetest.Column{{Name: "n", Type: "bigint"}}, [][]*string{{&one}})
	athena, err := query.NewAthena(p.Config(t), &query.AthenaOptions{WorkGroup: "primary", OutputLocation: "s3://athena-results/q/", PricePerTB: pricePerTB, Lake: lk,
		Poll: query.Poll{MinDelay: 5 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxWait: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := orchestrate.NewRunner(lk, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs, broken := pipelines(t, lk, athena, q)
	if q.run, err = r.Run(ctx, qs, nil); err != nil {
		t.Fatal(err)
	}
	if q.broken, err = r.Run(ctx, broken, nil); !errors.Is(err, orchestrate.ErrStepFailed) || q.broken == nil {
		t.Fatalf("broken run: %v, %v; want its run and ErrStepFailed", q.broken, err)
	}
	if q.clean.Rejected != 24 || q.totals.Attempts != 2 {
		t.Fatalf("clean rejected %d records, the totals commit took %d attempts; want 24 and 2", q.clean.Rejected, q.totals.Attempts)
	}
	return lk, q
}

// written is what the commits of one table added, version by version.
type written struct{ versions, rows, bytes, files int64 }

func writtenTo(t *testing.T, lk *lake.Lake, zone lake.ZoneName, db, name string) written {
	t.Helper()
	ctx := context.Background()
	tbl, err := zones.OpenTable(lk, zone, db, name)
	if err != nil {
		t.Fatal(err)
	}
	last, err := tbl.Snapshot(ctx, 0)
	if err != nil {
		t.Fatalf("%s.%s: %v", db, name, err)
	}
	w := written{versions: last.Version}
	seen := map[string]bool{}
	for v := int64(1); v <= last.Version; v++ {
		snap, err := tbl.Snapshot(ctx, v)
		if err != nil {
			t.Fatalf("%s.%s version %d: %v", db, name, v, err)
		}
		for _, f := range snap.Files {
			if !seen[f.Key] {
				seen[f.Key] = true
				w.rows, w.bytes, w.files = w.rows+f.Rows, w.bytes+f.Size, w.files+1
			}
		}
	}
	return w
}

// liveFiles is the number and bytes of the files of a table's newest
// snapshot.
func liveFiles(t *testing.T, lk *lake.Lake, zone lake.ZoneName, db, name string) (n, bytes int64) {
	t.Helper()
	tbl, err := zones.OpenTable(lk, zone, db, name)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tbl.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snap.Files {
		n, bytes = n+1, bytes+f.Size
	}
	return n, bytes
}

// expectation is one instrument's value (a histogram's: its count) over
// the points with attrs.
type expectation struct {
	name, unit string
	attrs      []attribute.KeyValue
	want       float64
}

// TestMetricsOfEveryInstrumentInAQuickstartRun runs the quickstart (a
// buffered ingest, clean and curate transforms with quarantine, a daily
// total written with a duplicate, a retry and a conflict, an Athena report
// retried once, and a pipeline that fails) on a lake whose meter provider
// is the SDK's ManualReader, and checks every instrument lakekit made
// against what the run did. An instrument made by any package that this
// test has no expectation for fails it: a new instrument needs its line
// here.
func TestMetricsOfEveryInstrumentInAQuickstartRun(t *testing.T) {
	rec := metrictest.New(t)
	lk, q := runQuickstart(t, rec)
	m := rec.Collect(t)

	tbl := func(n string) attribute.KeyValue { return attribute.String("lakekit.table", n) }
	outcome := func(o string) attribute.KeyValue { return attribute.String("lakekit.commit.outcome", o) }
	w := map[string]written{}
	var all written
	for _, x := range []struct {
		zone     lake.ZoneName
		db, name string
	}{{lake.Cleaned, "shop", "events"}, {lake.Cleaned, "shop", "events" + transform.QuarantineSuffix}, {lake.Curated, "shop", "sales"}, {lake.Curated, "shop", "day_totals"}} {
		got := writtenTo(t, lk, x.zone, x.db, x.name)
		w[x.db+"."+x.name] = got
		all = written{all.versions + got.versions, all.rows + got.rows, all.bytes + got.bytes, all.files + got.files}
	}
	eventFiles, eventBytes := liveFiles(t, lk, lake.Cleaned, "shop", "events")
	saleFiles, saleBytes := liveFiles(t, lk, lake.Curated, "shop", "sales")
	var steps, stepSeconds float64
	for _, run := range []*orchestrate.Run{q.run, q.broken} {
		for _, sr := range run.Steps {
			steps, stepSeconds = steps+1, stepSeconds+sr.Ended.Sub(sr.Started).Seconds()
		}
	}
	flushes := float64(q.buf.Flushes + q.buf.FlushErrors)
	source := attribute.String("lakekit.source", "web")
	athena := attribute.String("lakekit.query.engine", "athena")
	wants := []expectation{
		{zones.MetricCommits, "{commit}", nil, float64(all.versions + 2)},
		{zones.MetricCommits, "{commit}", []attribute.KeyValue{outcome("committed")}, float64(all.versions)},
		{zones.MetricCommits, "{commit}", []attribute.KeyValue{tbl("shop.events"), outcome("committed")}, float64(w["shop.events"].versions)},
		{zones.MetricCommits, "{commit}", []attribute.KeyValue{tbl("shop.day_totals"), outcome("duplicate")}, 1},
		{zones.MetricCommits, "{commit}", []attribute.KeyValue{tbl("shop.day_totals"), outcome("failed"), attribute.String("error.type", "conflict")}, 1},
		{zones.MetricCommitRetries, "{attempt}", []attribute.KeyValue{tbl("shop.day_totals")}, float64(q.totals.Attempts - 1)},
		{zones.MetricCommitRetries, "{attempt}", nil, 1},
		{zones.MetricCommitConflicts, "{commit}", []attribute.KeyValue{tbl("shop.day_totals")}, 1},
		{zones.MetricCommitConflicts, "{commit}", nil, 1},
		{zones.MetricRowsWritten, "{row}", nil, float64(all.rows)},
		{zones.MetricRowsWritten, "{row}", []attribute.KeyValue{tbl("shop.events")}, float64(q.clean.RowsOut)},
		{zones.MetricRowsWritten, "{row}", []attribute.KeyValue{tbl("shop.events_quarantine")}, float64(q.clean.Rejected)},
		{zones.MetricRowsWritten, "{row}", []attribute.KeyValue{tbl("shop.sales")}, float64(q.curate.RowsOut)},
		{zones.MetricBytesWritten, "By", nil, float64(all.bytes)},
		{zones.MetricBytesWritten, "By", []attribute.KeyValue{tbl("shop.day_totals")}, float64(w["shop.day_totals"].bytes)},
		{zones.MetricFilesWritten, "{file}", nil, float64(all.files)},
		{zones.MetricRowsRead, "{row}", nil, float64(q.curate.RowsIn + q.salesRead)},
		{zones.MetricRowsRead, "{row}", []attribute.KeyValue{tbl("shop.events"), attribute.String("lakekit.zone", "cleaned")}, float64(q.curate.RowsIn)},
		{zones.MetricFilesRead, "{file}", nil, float64(eventFiles + saleFiles)},
		{zones.MetricFilesRead, "{file}", []attribute.KeyValue{tbl("shop.sales")}, float64(saleFiles)},
		{zones.MetricBytesRead, "By", nil, -1}, // bounded below
		{raw.MetricBufferFlushes, "{flush}", []attribute.KeyValue{source}, flushes},
		{raw.MetricBufferFlushDuration, "s", []attribute.KeyValue{source}, flushes},
		{raw.MetricRecordsLanded, "{record}", []attribute.KeyValue{source}, events},
		{raw.MetricBytesLanded, "By", []attribute.KeyValue{source}, float64(q.buf.BytesStored)},
		{raw.MetricBufferWaits, "{wait}", []attribute.KeyValue{source}, float64(q.buf.Waits)},
		{raw.MetricBufferWaitDuration, "s", []attribute.KeyValue{source}, float64(q.buf.Waits)},
		{raw.MetricBufferWaitDuration, "s", []attribute.KeyValue{source, attribute.String("error.type", "buffer_full")}, 1},
		{transform.MetricQuarantined, "{record}", []attribute.KeyValue{attribute.String("lakekit.transform", "clean_events")}, float64(q.clean.Rejected)},
		{transform.MetricQuarantined, "{record}", []attribute.KeyValue{attribute.String("lakekit.quarantine.rule", "decode")}, events / 50},
		{transform.MetricQuarantined, "{record}", []attribute.KeyValue{attribute.String("lakekit.quarantine.rule", "enum")}, events / 50},
		{query.MetricQueries, "{execution}", []attribute.KeyValue{athena, attribute.String("lakekit.query.state", "SUCCEEDED")}, 1},
		{query.MetricBytesScanned, "By", []attribute.KeyValue{athena}, 3 << 40},
		{query.MetricCost, "{USD}", []attribute.KeyValue{athena}, 15}, // 3 TiB at $5 per TiB
		{orchestrate.MetricStepDuration, "s", nil, steps},
		{orchestrate.MetricStepFailures, "{step}", []attribute.KeyValue{attribute.String("lakekit.pipeline", "broken"), attribute.String("error.type", "Boom")}, 1},
		{orchestrate.MetricStepFailures, "{step}", nil, 1},
		{orchestrate.MetricStepRetries, "{attempt}", []attribute.KeyValue{attribute.String("lakekit.step", "report")}, 1},
		{orchestrate.MetricStepRetries, "{attempt}", nil, 1},
	}
	checkValues(t, m, wants)
	checkEveryInstrument(t, rec, wants)

	// What a count cannot show: the bytes read are column chunks of the
	// live files read (less than the files: footers are not counted); the
	// time values add up to what the run measured.
	if b := m.Int(zones.MetricBytesRead); b <= 0 || b >= eventBytes+saleBytes {
		t.Errorf("%s = %d, want in (0, %d)", zones.MetricBytesRead, b, eventBytes+saleBytes)
	}
	if _, sum := m.Count(orchestrate.MetricStepDuration); math.Abs(sum-stepSeconds) > 1e-6 {
		t.Errorf("%s sums %vs, want %vs", orchestrate.MetricStepDuration, sum, stepSeconds)
	}
	// The Add's context was made before the Add began to wait, so the wait
	// it records ends at the deadline a little less than patience after
	// its start (49.6 ms of 50 in one CI run): half is the floor that
	// still tells a timed wait from none.
	if _, sum := m.Count(raw.MetricBufferWaitDuration, attribute.String("error.type", "buffer_full")); sum < q.gaveUp.Seconds()/2 || sum > q.gaveUpElapsed.Seconds() {
		t.Errorf("%s of the Add that gave up: %vs, want in [%v, %v]", raw.MetricBufferWaitDuration, sum, q.gaveUp.Seconds()/2, q.gaveUpElapsed.Seconds())
	}
	if _, sum := m.Count(raw.MetricBufferFlushDuration); sum <= 0 {
		t.Errorf("%s sums %vs, want more than 0", raw.MetricBufferFlushDuration, sum)
	}
	if q.scan.BytesScanned != 3<<40 || q.buf.RecordsFlushed != events {
		t.Errorf("the run: Athena scanned %d bytes, the buffer landed %d records; want %d and %d", q.scan.BytesScanned, q.buf.RecordsFlushed, int64(3<<40), events)
	}
}

// checkValues compares each expectation with the instrument's value.
func checkValues(t *testing.T, m metrictest.Snapshot, wants []expectation) {
	t.Helper()
	for _, e := range wants {
		if !m.Has(e.name) {
			t.Errorf("%s recorded nothing", e.name)
			continue
		}
		if e.want < 0 {
			continue
		}
		var got float64
		switch m.Kind(e.name) {
		case "int":
			got = float64(m.Int(e.name, e.attrs...))
		case "float":
			got = m.Float(e.name, e.attrs...)
		case "histogram":
			n, _ := m.Count(e.name, e.attrs...)
			got = float64(n)
		default:
			t.Errorf("%s: an instrument of a kind this test cannot read (%s)", e.name, m.Kind(e.name))
			continue
		}
		if math.Abs(got-e.want) > 1e-9*math.Max(1, e.want) {
			t.Errorf("%s %v = %v, want %v", e.name, e.attrs, got, e.want)
		}
	}
}

// checkEveryInstrument fails for an instrument lakekit made that wants
// does not name, for one it names that was never made, and for a unit
// other than the expected one.
func checkEveryInstrument(t *testing.T, rec *metrictest.Recorder, wants []expectation) {
	t.Helper()
	unit := map[string]string{}
	for _, e := range wants {
		unit[e.name] = e.unit
	}
	made := map[string]bool{}
	for _, i := range rec.Instruments() {
		made[i.Name] = true
		u, ok := unit[i.Name]
		switch {
		case !ok:
			t.Errorf("instrument %s (scope %s) has no expectation in this test: add what the quickstart run should record", i.Name, i.Scope)
		case u != i.Unit:
			t.Errorf("instrument %s has unit %q, want %q", i.Name, i.Unit, u)
		}
	}
	for name := range unit {
		if !made[name] {
			t.Errorf("instrument %s was never made", name)
		}
	}
	if len(made) < 20 {
		t.Errorf("only %d instruments were made: %v", len(made), rec.Instruments())
	}
}
