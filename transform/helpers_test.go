package transform_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// counting wraps a driver and counts reads of data: Gets and random-access
// opens of Parquet files and raw objects. Listings, Stats and reads of
// commit logs, checkpoints and lakekit's system objects are not data.
type counting struct {
	driver.Driver
	dataReads atomic.Int64
	mu        sync.Mutex
	keys      []string
}

func isData(key string) bool {
	if strings.Contains(key, "/_lakekit/") || strings.HasPrefix(key, "_lakekit/") {
		return false
	}
	return strings.HasSuffix(key, ".parquet") || strings.HasPrefix(key, "raw/")
}

func (c *counting) note(key string) {
	if isData(key) {
		c.dataReads.Add(1)
		c.mu.Lock()
		c.keys = append(c.keys, key)
		c.mu.Unlock()
	}
}

func (c *counting) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	c.note(key)
	return c.Driver.Get(ctx, key, off, length)
}

// countingRA adds the random-access path of drivers that have one (the
// file store), counted too.
type countingRA struct{ *counting }

func (c countingRA) OpenReaderAt(ctx context.Context, key string) (driver.ReaderAtCloser, *driver.Attributes, error) {
	c.note(key)
	return c.Driver.(driver.ReaderAtOpener).OpenReaderAt(ctx, key)
}

// wrapCounting returns the counting driver to put under a store.
func wrapCounting(d driver.Driver) (driver.Driver, *counting) {
	c := &counting{Driver: d}
	if _, ok := d.(driver.ReaderAtOpener); ok {
		return countingRA{c}, c
	}
	return c, c
}

func (c *counting) Location(key string) string {
	if l, ok := c.Driver.(driver.Locator); ok {
		return l.Location(key)
	}
	return key
}

func (c *counting) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.keys
	c.keys = nil
	c.dataReads.Store(0)
	return k
}

// backend makes lakes on one kind of store.
type backend struct {
	name string
	open func(t *testing.T) (*lake.Lake, *counting)
}

func fileLake(t testing.TB, dir string) (*lake.Lake, *counting) {
	t.Helper()
	d, err := filestore.New(dir, &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	w, c := wrapCounting(d)
	lk, err := lake.New(lake.NewStore(w), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lk, c
}

var bucketSeq atomic.Int64

func s3Lake(t *testing.T) (*lake.Lake, *counting) {
	t.Helper()
	f := testaws.StartFakeS3(t)
	cfg := f.Config(t)
	ctx := context.Background()
	name := fmt.Sprintf("transform-%d", bucketSeq.Add(1))
	st, err := s3store.OpenStore(ctx, cfg, name, "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	var cl *s3.Client
	if !st.As(&cl) {
		t.Fatal("no s3 client")
	}
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	w, c := wrapCounting(st.Driver())
	lk, err := lake.New(lake.NewStore(w), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lk, c
}

var backends = []backend{
	{"file", func(t *testing.T) (*lake.Lake, *counting) { return fileLake(t, t.TempDir()) }},
	{"s3", s3Lake},
}

// --- the pipeline under test: raw JSON lines → cleaned → curated ---

// RawEvent is what the producers send.
type RawEvent struct {
	ID     int64     `json:"id"`
	User   string    `json:"user"`
	Kind   string    `json:"kind"`
	Amount float64   `json:"amount"`
	At     time.Time `json:"at"`
}

// Event is the cleaned row, partitioned by day.
type Event struct {
	ID     int64     `parquet:"id"`
	User   string    `parquet:"user"`
	Kind   string    `parquet:"kind"`
	Amount float64   `parquet:"amount"`
	At     time.Time `parquet:"at"`
	Day    string    `parquet:"day" lakekit:"partition"`
}

// Sale is the curated row, partitioned by day and kind.
type Sale struct {
	ID       int64   `parquet:"id"`
	User     string  `parquet:"user"`
	AmountCt int64   `parquet:"amount_ct"`
	Big      bool    `parquet:"big"`
	Day      string  `parquet:"day" lakekit:"partition"`
	Kind     string  `parquet:"kind" lakekit:"partition"`
	Amount   float64 `parquet:"amount"`
}

// DayTotal is an aggregate per day.
type DayTotal struct {
	Day    string  `parquet:"day" lakekit:"partition"`
	Events int64   `parquet:"events"`
	Amount float64 `parquet:"amount"`
}

var kinds = []string{"buy", "refund", "view"}

var baseDay = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// genBatch makes n JSON lines with ids from first, spread over 3 days.
func genBatch(first, n int) ([]byte, []RawEvent) {
	var b bytes.Buffer
	evs := make([]RawEvent, n)
	for i := range evs {
		id := first + i
		evs[i] = RawEvent{ID: int64(id), User: fmt.Sprintf("u%03d", id%37), Kind: kinds[id%3],
			Amount: float64(id%1000) / 4, At: baseDay.Add(time.Duration(id%3)*24*time.Hour + time.Duration(id)*time.Second)}
		line, _ := json.Marshal(evs[i])
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), evs
}

type pipeline struct {
	lk       *lake.Lake
	cleaned  *zones.Dataset[Event]
	curated  *zones.Dataset[Sale]
	totals   *zones.Dataset[DayTotal]
	toClean  *transform.Transform[RawEvent, Event]
	toCurate *transform.Transform[Event, Sale]
	toTotals *transform.Transform[Event, DayTotal]
}

var cleanRules = []transform.Rule{
	transform.Required("user"),
	transform.Enum("kind", kinds...),
	transform.Range("amount", 0, 10000),
	transform.Regexp("user", `^u[0-9]{3}$`),
}

func newPipeline(t testing.TB, lk *lake.Lake, parallel int) *pipeline {
	t.Helper()
	p := &pipeline{lk: lk}
	var err error
	if p.cleaned, err = zones.NewDataset[Event](lk, lake.Cleaned, "shop", "events", nil); err != nil {
		t.Fatal(err)
	}
	if p.curated, err = zones.NewDataset[Sale](lk, lake.Curated, "shop", "sales", nil); err != nil {
		t.Fatal(err)
	}
	if p.totals, err = zones.NewDataset[DayTotal](lk, lake.Curated, "shop", "day_totals", nil); err != nil {
		t.Fatal(err)
	}
	p.toClean, err = transform.New("clean_events",
		transform.FromRaw(lk, "web", "events", transform.JSONLines[RawEvent](nil)),
		transform.Map(func(_ context.Context, r RawEvent) (Event, error) {
			return Event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, At: r.At.UTC(), Day: r.At.UTC().Format("2006-01-02")}, nil
		}),
		p.cleaned, &transform.Options[Event]{Rules: cleanRules, Parallelism: parallel, FilesPerUnit: 1})
	if err != nil {
		t.Fatal(err)
	}
	p.toCurate, err = transform.New("curate_sales", transform.FromDataset(p.cleaned),
		transform.Map(func(_ context.Context, e Event) (Sale, error) {
			if e.Kind == "view" {
				return Sale{}, transform.Skip
			}
			return Sale{ID: e.ID, User: e.User, AmountCt: int64(e.Amount * 100), Big: e.Amount >= 100, Day: e.Day, Kind: e.Kind, Amount: e.Amount}, nil
		}),
		p.curated, &transform.Options[Sale]{Parallelism: parallel, DedupKey: func(s Sale) string { return fmt.Sprint(s.ID) }})
	if err != nil {
		t.Fatal(err)
	}
	p.toTotals, err = transform.New("day_totals", transform.FromDataset(p.cleaned),
		transform.PerPartition(func(ctx context.Context, part lake.Partition, rows iter.Seq2[Event, error], emit func(DayTotal)) error {
			day, _ := part.Get("day")
			tot := DayTotal{Day: day}
			for e, err := range rows {
				if err != nil {
					return err
				}
				tot.Events++
				tot.Amount += e.Amount
			}
			emit(tot)
			return nil
		}),
		p.totals, &transform.Options[DayTotal]{Mode: zones.OverwritePartitions, Parallelism: parallel})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func land(t testing.TB, lk *lake.Lake, name string, data []byte) {
	t.Helper()
	if _, err := raw.Land(context.Background(), lk, "web", "events", name, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
}

func (p *pipeline) runAll(t testing.TB) (*transform.Result, *transform.Result, *transform.Result) {
	t.Helper()
	ctx := context.Background()
	a, err := p.toClean.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.toCurate.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.toTotals.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, c
}

// duck answers a query over the Parquet files of a table's newest snapshot,
// read by DuckDB itself (files copied out of the store to a directory, so
// the check is independent of lakekit's reader). tbl in the query names
// the files.
func duck(t testing.TB, lk *lake.Lake, zone lake.ZoneName, db, table, query string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	tb, err := zones.OpenTable(lk, zone, db, table)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tb.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	zs := lk.MustZone(zone).Store()
	var files []string
	for i, f := range snap.Files {
		b, err := zs.ReadAll(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		// keep the Hive path so DuckDB sees partition columns
		rel := strings.TrimPrefix(f.Key, tb.Prefix()+"/")
		if i := strings.Index(rel, "/_g"); i >= 0 { // overwritten partitions live under _g<...>/
			rel = rel[i+1:]
		}
		if strings.HasPrefix(rel, "_g") {
			rel = rel[strings.Index(rel, "/")+1:]
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		p = filepath.Join(filepath.Dir(p), fmt.Sprintf("f%d-%s", i, filepath.Base(p)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, "'"+p+"'")
	}
	conn, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	src := "(SELECT NULL LIMIT 0)"
	if len(files) > 0 {
		src = fmt.Sprintf("read_parquet([%s], hive_partitioning = true)", strings.Join(files, ","))
	}
	q := strings.ReplaceAll(query, "tbl", src)
	if err := conn.QueryRow(q).Scan(dest...); err != nil {
		t.Fatalf("duckdb: %s: %v", q, err)
	}
}

func isNoTable(err error) bool { return errors.Is(err, zones.ErrNoSuchTable) }
