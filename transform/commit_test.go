package transform_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// hookDriver lets a test act on puts and reads of chosen keys.
type hookDriver struct {
	driver.Driver
	// beforePut runs before the put; an error is returned without storing.
	beforePut func(key string, body []byte, opts *driver.PutOptions) error
	// afterPut runs after a successful put; an error is returned although
	// the object is stored (an answer lost on the way back).
	afterPut func(key string, body []byte, opts *driver.PutOptions) error
	// onRead runs before a Get, Stat or random-access open.
	onRead func(key string) error
}

func (h *hookDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if h.beforePut != nil {
		if err := h.beforePut(key, b, opts); err != nil {
			return err
		}
	}
	if err := h.Driver.Put(ctx, key, bytes.NewReader(b), int64(len(b)), opts); err != nil {
		return err
	}
	if h.afterPut != nil {
		return h.afterPut(key, b, opts)
	}
	return nil
}

func (h *hookDriver) read(key string) error {
	if h.onRead != nil {
		return h.onRead(key)
	}
	return nil
}

func (h *hookDriver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	if err := h.read(key); err != nil {
		return nil, nil, err
	}
	return h.Driver.Get(ctx, key, off, length)
}

func (h *hookDriver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	if err := h.read(key); err != nil {
		return nil, err
	}
	return h.Driver.Stat(ctx, key)
}

func (h *hookDriver) OpenReaderAt(ctx context.Context, key string) (driver.ReaderAtCloser, *driver.Attributes, error) {
	if err := h.read(key); err != nil {
		return nil, nil, err
	}
	return h.Driver.(driver.ReaderAtOpener).OpenReaderAt(ctx, key)
}

func (h *hookDriver) Location(key string) string { return h.Driver.(driver.Locator).Location(key) }

// hookLake is a file lake whose driver is h (h.Driver is set here). The
// hooks must be set before the lake is used concurrently.
func hookLake(t *testing.T, h *hookDriver) *lake.Lake {
	t.Helper()
	d, err := filestore.New(t.TempDir(), &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	h.Driver = d
	lk, err := lake.New(lake.NewStore(h), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

// failCatalog fails the next n calls of the method named call
// (AddPartitions by default), which zones makes after the commit point of
// a commit, so the commit reports zones.ErrCatalog.
type failCatalog struct {
	catalog.Catalog
	call      string
	n, failed atomic.Int32
}

func (c *failCatalog) hit(call string) error {
	want := c.call
	if want == "" {
		want = "AddPartitions"
	}
	if call == want && c.n.Add(-1) >= 0 {
		c.failed.Add(1)
		return fmt.Errorf("injected: %s failed", call)
	}
	return nil
}

func (c *failCatalog) AddPartitions(ctx context.Context, db, t string, parts []catalog.Partition) error {
	if err := c.hit("AddPartitions"); err != nil {
		return err
	}
	return c.Catalog.AddPartitions(ctx, db, t, parts)
}

func (c *failCatalog) CreateTable(ctx context.Context, t *catalog.Table) error {
	if err := c.hit("CreateTable"); err != nil {
		return err
	}
	return c.Catalog.CreateTable(ctx, t)
}

func newFailCatalog(t *testing.T, lk *lake.Lake) *failCatalog {
	t.Helper()
	local, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return &failCatalog{Catalog: local}
}

func toEvent(_ context.Context, r RawEvent) (Event, error) {
	return Event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, At: r.At.UTC(), Day: r.At.UTC().Format("2006-01-02")}, nil
}

func cleanTransform(t *testing.T, lk *lake.Lake, out *zones.Dataset[Event], opts *transform.Options[Event]) *transform.Transform[RawEvent, Event] {
	t.Helper()
	tr, err := transform.New("clean_events", transform.FromRaw(lk, "web", "events", transform.JSONLines[RawEvent](nil)),
		transform.Map(toEvent), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// exactlyOnce checks that out holds ids 0..n-1 once each.
func exactlyOnce(t *testing.T, out *zones.Dataset[Event], n int) {
	t.Helper()
	rows, err := out.ReadAll(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, r := range rows {
		seen[r.ID]++
	}
	if len(rows) != n || len(seen) != n {
		t.Fatalf("output has %d rows, %d distinct ids; want %d exactly once", len(rows), len(seen), n)
	}
}

// TestRunCatalogFailureIsCommitted: a unit whose commit landed but whose
// catalog update failed is committed — Run says so with an error wrapping
// zones.ErrCatalog and a full Result carrying the catalog error, the
// ledger records the unit, and a rerun processes nothing.
func TestRunCatalogFailureIsCommitted(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	cat := newFailCatalog(t, lk)
	out, err := zones.NewDataset[Event](lk, lake.Cleaned, "shop", "events", &zones.Options[Event]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		data, _ := genBatch(i*30, 30)
		land(t, lk, fmt.Sprintf("f%d.jsonl", i), data)
	}
	tr := cleanTransform(t, lk, out, &transform.Options[Event]{FilesPerUnit: 1, Parallelism: 1})
	cat.n.Store(1)
	res, err := tr.Run(ctx)
	if cat.failed.Load() != 1 {
		t.Fatalf("the injected catalog failure ran %d times, want 1", cat.failed.Load())
	}
	if !errors.Is(err, zones.ErrCatalog) {
		t.Fatalf("Run after a catalog failure: %v, want an error wrapping zones.ErrCatalog", err)
	}
	if res == nil || res.Units != 2 || res.RowsOut != 60 || len(res.Versions) != 2 {
		t.Fatalf("Run after a catalog failure: %+v, want both units counted as committed", res)
	}
	if !errors.Is(res.CatalogErr, zones.ErrCatalog) || !strings.Contains(res.CatalogErr.Error(), "injected") {
		t.Fatalf("Result.CatalogErr = %v, want the injected catalog failure", res.CatalogErr)
	}
	l, err := tr.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || l.Entries[0].RowsOut+l.Entries[1].RowsOut != 60 {
		t.Fatalf("ledger %+v, want both units with their final counts", l.Entries)
	}
	exactlyOnce(t, out, 60)
	again, err := tr.Run(ctx)
	if err != nil || again.Units != 0 || again.CatalogErr != nil {
		t.Fatalf("rerun: %+v %v, want nothing to do", again, err)
	}
	// the catalog catches up (the second unit's commit or SyncCatalog)
	if err := out.SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	var parts int
	for _, err := range cat.Partitions(ctx, "shop", "events", "") {
		if err != nil {
			t.Fatal(err)
		}
		parts++
	}
	if parts != 3 {
		t.Fatalf("catalog has %d partitions, want 3 days", parts)
	}
}

// TestMergeCatalogFailureIsCommitted: the same for a CDC merge.
func TestMergeCatalogFailureIsCommitted(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := newFailCatalog(t, lk)
	changes, err := zones.NewDataset[Change](lk, lake.Cleaned, "crm", "customer_changes", nil)
	if err != nil {
		t.Fatal(err)
	}
	customers, err := zones.NewDataset[Customer](lk, lake.Curated, "crm", "customers", &zones.Options[Customer]{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	m, err := transform.Merge("customers_cdc", transform.FromDataset(changes), customers, customerSpec, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := changes.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []Change{{Op: "I", ID: 1, Seq: 1, Name: "a", Region: "eu"}, {Op: "I", ID: 2, Seq: 1, Name: "b", Region: "us"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cat.n.Store(1)
	res, err := m.Run(ctx)
	if !errors.Is(err, zones.ErrCatalog) || res == nil || res.Units != 1 || res.Merge.Inserted != 2 || !errors.Is(res.CatalogErr, zones.ErrCatalog) {
		t.Fatalf("merge after a catalog failure: %+v %v, want it committed with the catalog error", res, err)
	}
	l, err := m.Ledger(ctx)
	if err != nil || len(l.Entries) != 1 {
		t.Fatalf("ledger %+v %v, want the merge recorded", l, err)
	}
	rows, err := customers.ReadAll(ctx, nil)
	if err != nil || len(rows) != 2 {
		t.Fatalf("curated %v %v", rows, err)
	}
	if again, err := m.Run(ctx); err != nil || again.Units != 0 {
		t.Fatalf("rerun: %+v %v, want nothing to do", again, err)
	}
}

// TestRunCommitUnknownRerun: a unit whose commit outcome is unknown
// fails the run with zones.ErrCommitUnknown (the key reachable); a rerun
// then finds the unit in the ledger when the commit landed, or commits it
// under the same key when it did not — exactly once either way.
func TestRunCommitUnknownRerun(t *testing.T) {
	for _, landed := range []bool{true, false} {
		t.Run(fmt.Sprintf("landed=%v", landed), func(t *testing.T) {
			ctx := context.Background()
			var armed atomic.Bool
			var mu sync.Mutex
			var logKey string // the log object of the commit made unknown
			isLog := func(key string, opts *driver.PutOptions) bool {
				return strings.HasPrefix(key, "cleaned/shop/events/_lakekit/log/") && opts != nil && opts.IfNotExists
			}
			lost := errors.New("injected: connection reset at the commit point")
			h := &hookDriver{}
			take := func(key string, opts *driver.PutOptions) bool {
				mu.Lock()
				defer mu.Unlock()
				if !armed.Load() || logKey != "" || !isLog(key, opts) {
					return false
				}
				logKey = key
				return true
			}
			if landed {
				h.afterPut = func(key string, _ []byte, opts *driver.PutOptions) error {
					if take(key, opts) {
						return lost
					}
					return nil
				}
			} else {
				h.beforePut = func(key string, _ []byte, opts *driver.PutOptions) error {
					if take(key, opts) {
						return lost
					}
					return nil
				}
			}
			h.onRead = func(key string) error {
				mu.Lock()
				defer mu.Unlock()
				if armed.Load() && key == logKey {
					return errors.New("injected: the store does not answer")
				}
				return nil
			}
			lk := hookLake(t, h)
			out, err := zones.NewDataset[Event](lk, lake.Cleaned, "shop", "events", nil)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := genBatch(0, 40)
			land(t, lk, "a.jsonl", data)
			tr := cleanTransform(t, lk, out, nil)
			armed.Store(true)
			_, err = tr.Run(ctx)
			var cue *zones.CommitUnknownError
			if !errors.Is(err, zones.ErrCommitUnknown) || !errors.As(err, &cue) || cue.Key == "" {
				t.Fatalf("Run with the commit answer lost: %v, want zones.ErrCommitUnknown with the key", err)
			}
			armed.Store(false)

			res, err := tr.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			hist, err := out.History(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 1 || hist[0].IdempotencyKey != cue.Key {
				t.Fatalf("history %d commits (key %q), want one commit under the key of the unknown one %q", len(hist), hist[0].IdempotencyKey, cue.Key)
			}
			if wantUnits := map[bool]int{true: 0, false: 1}[landed]; res.Units != wantUnits {
				t.Fatalf("rerun did %d units, want %d", res.Units, wantUnits)
			}
			exactlyOnce(t, out, 40)
			l, err := tr.Ledger(ctx)
			if err != nil || len(l.Entries) != 1 {
				t.Fatalf("ledger %+v %v", l, err)
			}
			if again, err := tr.Run(ctx); err != nil || again.Units != 0 {
				t.Fatalf("second rerun: %+v %v", again, err)
			}
		})
	}
}

// logSignal is a slog handler that closes ch when a record with message
// msg and attribute key=val is logged.
type logSignal struct {
	msg, key string
	val      int64
	once     sync.Once
	ch       chan struct{}
}

func (s *logSignal) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSignal) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *logSignal) WithGroup(string) slog.Handler            { return s }
func (s *logSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message != s.msg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == s.key && a.Value.Kind() == slog.KindInt64 && a.Value.Int64() == s.val {
			s.once.Do(func() { close(s.ch) })
			return false
		}
		return true
	})
	return nil
}

// TestRunVersionsInCommitOrder: two units run in parallel; the one that
// commits version 1 is held after its commit point until the unit that
// commits version 2 has finished, so units finish out of commit order.
// Result.Versions is still [1 2].
func TestRunVersionsInCommitOrder(t *testing.T) {
	ctx := context.Background()
	sig := &logSignal{msg: "transform: unit committed", key: "version", val: 2, ch: make(chan struct{})}
	var held atomic.Bool
	h := &hookDriver{}
	h.afterPut = func(key string, body []byte, _ *driver.PutOptions) error {
		// the newest-version hint, written after the commit point
		if key == "cleaned/shop/events/_lakekit/_last_version" && string(body) == "1" {
			select {
			case <-sig.ch:
				held.Store(true)
				time.Sleep(20 * time.Millisecond) // let the other unit reach its Result
			case <-time.After(10 * time.Second):
			}
		}
		return nil
	}
	lk := hookLake(t, h)
	out, err := zones.NewDataset[Event](lk, lake.Cleaned, "shop", "events", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		data, _ := genBatch(i*20, 20)
		land(t, lk, fmt.Sprintf("f%d.jsonl", i), data)
	}
	tr := cleanTransform(t, lk, out, &transform.Options[Event]{FilesPerUnit: 1, Parallelism: 2, Logger: slog.New(sig)})
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !held.Load() {
		t.Fatal("the unit of version 1 was not held until version 2 finished: the test did not reorder completion")
	}
	if !slices.Equal(res.Versions, []int64{1, 2}) {
		t.Fatalf("Result.Versions = %v, want [1 2] (commit order)", res.Versions)
	}
}
