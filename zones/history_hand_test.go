package zones_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones"
)

// handCommit renders a commit-log object the way zones writes one, with n
// added files of 10 rows and 100 bytes each.
func handCommit(v int64, at time.Time, mode, key string, added, removed int, caller string) string {
	files := func(n int, prefix string) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf(`{"key":"sales/orders/dt=2024-01-0%d/part-%s-%05d.parquet","partition":[{"Key":"dt","Value":"2024-01-0%d"}],"rows":10,"size":100,"stats":[{"column":"id","kind":"int","min":"1","max":"10","has_min_max":true}]}`, i%9+1, prefix, i, i%9+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf(`{"version":%d,"timestamp":%q,"operation":"write","mode":%q,"idempotency_key":%q,"schema_version":1,`+
		`"added":%s,"removed":%s,"metadata":{"source":"s3://in/%d.json"},"audit":{"host":"h1","pid":42,"user":"etl","caller":%q}}`,
		v, at.Format(time.RFC3339Nano), mode, key, files(added, key), files(removed, "old"), v, caller)
}

func put(t *testing.T, s *lake.Store, key string, b []byte) {
	t.Helper()
	if err := s.PutBytes(context.Background(), key, b, nil); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryReadsHandWrittenLog: History lists a log written by hand —
// plain and zstd-compressed objects — with who, when, what operation, the
// idempotency key and the counts, and places audit events among versions
// by time.
func TestHistoryReadsHandWrittenLog(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	z := lk.MustZone(lake.Curated)
	s := z.Store()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	put(t, s, "sales/orders/_lakekit/log/00000000000000000001.json", []byte(handCommit(1, t0, "append", "k1", 2, 0, "svc-a")))
	big, err := logcodec.Encode(jsonRaw(handCommit(2, t0.Add(time.Minute), "overwrite_partitions", "k2", 60, 2, "")))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(big, logcodec.ZstdMagic) {
		t.Fatal("the large commit was not compressed: the test would not cover zstd objects")
	}
	put(t, s, "sales/orders/_lakekit/log/00000000000000000002.json", big)
	put(t, s, "sales/orders/_lakekit/log/00000000000000000003.json", []byte(handCommit(3, t0.Add(3*time.Minute), "append", "k3", 1, 0, "svc-c")))
	// a gap (version 5 without 4) is damage: History gives the versions
	// before it with ErrCorrupt; stray names are ignored
	put(t, s, "sales/orders/_lakekit/log/00000000000000000005.json", []byte(handCommit(5, t0.Add(5*time.Minute), "append", "k5", 1, 0, "")))
	put(t, s, "sales/orders/_lakekit/log/notes.txt", []byte("x"))
	put(t, s, "sales/orders/_lakekit/checkpoint/00000000000000000002.json", []byte("{}"))
	// a vacuum event between versions 2 and 3, recorded through the API
	ev := &lake.HistoryEntry{Kind: lake.HistoryVacuum, Version: 2, Time: t0.Add(2 * time.Minute), Operation: "vacuum",
		Audit: lake.Audit{Host: "h2", PID: 7, Caller: "janitor"}, Status: lake.EventDone, FilesRemoved: 2, BytesRemoved: 200,
		Keys: []string{"sales/orders/dt=2024-01-01/part-old-00000.parquet", "sales/orders/dt=2024-01-02/part-old-00001.parquet"}}
	if err := z.RecordEvent(ctx, "sales", "orders", ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.ID, "-vacuum-") {
		t.Fatalf("event id %q does not name its kind", ev.ID)
	}

	h, err := zones.History(ctx, lk, lake.Curated, "sales", "orders")
	if !errors.Is(err, lake.ErrCorrupt) || !strings.Contains(err.Error(), "version 4") {
		t.Fatalf("History over a gap: %v, want ErrCorrupt naming version 4", err)
	}
	want := []lake.HistoryEntry{
		{Kind: lake.HistoryCommit, Version: 1, Time: t0, Operation: "write", Mode: "append", IdempotencyKey: "k1",
			Audit: lake.Audit{Host: "h1", PID: 42, User: "etl", Caller: "svc-a"}, RowsAdded: 20, FilesAdded: 2, BytesAdded: 200,
			Metadata: map[string]string{"source": "s3://in/1.json"}},
		{Kind: lake.HistoryCommit, Version: 2, Time: t0.Add(time.Minute), Operation: "write", Mode: "overwrite_partitions", IdempotencyKey: "k2",
			Audit: lake.Audit{Host: "h1", PID: 42, User: "etl"}, RowsAdded: 600, FilesAdded: 60, BytesAdded: 6000,
			RowsRemoved: 20, FilesRemoved: 2, BytesRemoved: 200, Metadata: map[string]string{"source": "s3://in/2.json"}},
		*ev,
		{Kind: lake.HistoryCommit, Version: 3, Time: t0.Add(3 * time.Minute), Operation: "write", Mode: "append", IdempotencyKey: "k3",
			Audit: lake.Audit{Host: "h1", PID: 42, User: "etl", Caller: "svc-c"}, RowsAdded: 10, FilesAdded: 1, BytesAdded: 100,
			Metadata: map[string]string{"source": "s3://in/3.json"}},
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Fatalf("History (-want +got):\n%s", diff)
	}
	if h[2].IsVersion() || !h[1].IsVersion() {
		t.Fatal("IsVersion does not tell a vacuum from a version")
	}

	// recording the event again with its id completes it in place
	ev.Status, ev.Error = lake.EventFailed, "boom"
	if err := z.RecordEvent(ctx, "sales", "orders", ev); err != nil {
		t.Fatal(err)
	}
	h, err = zones.History(ctx, lk, lake.Curated, "sales", "orders")
	if !errors.Is(err, lake.ErrCorrupt) || len(h) != 4 || h[2].Status != lake.EventFailed || h[2].Error != "boom" {
		t.Fatalf("after updating the event: %v, %+v", err, h)
	}
}

// jsonRaw keeps a hand-written JSON text as is when encoded.
type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// TestHistoryErrors: a table without a log, bad names, a corrupt or lying
// log object and forged events are errors naming the problem.
func TestHistoryErrors(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	z := lk.MustZone(lake.Curated)
	if _, err := zones.History(ctx, lk, lake.Curated, "sales", "orders"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("History of a table without a log: %v, want ErrNotFound", err)
	}
	if _, err := zones.History(ctx, lk, lake.Curated, "sales", "../orders"); !errors.Is(err, lake.ErrInvalidName) {
		t.Fatalf("History of a hostile table name: %v, want ErrInvalidName", err)
	}
	if _, err := zones.History(ctx, lk, "nope", "sales", "orders"); !errors.Is(err, lake.ErrInvalidName) {
		t.Fatalf("History in an unknown zone: %v, want ErrInvalidName", err)
	}
	s := z.Store()
	put(t, s, "sales/orders/_lakekit/log/00000000000000000001.json", []byte(`{"version":1,`))
	if _, err := zones.History(ctx, lk, lake.Curated, "sales", "orders"); !errors.Is(err, lake.ErrCorrupt) || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("truncated commit: %v", err)
	}
	put(t, s, "sales/orders/_lakekit/log/00000000000000000001.json", []byte(handCommit(2, time.Now(), "append", "k", 1, 0, "")))
	if _, err := zones.History(ctx, lk, lake.Curated, "sales", "orders"); !errors.Is(err, lake.ErrCorrupt) || !strings.Contains(err.Error(), "claims version 2") {
		t.Fatalf("commit claiming another version: %v", err)
	}
	for _, e := range []*lake.HistoryEntry{
		{Kind: lake.HistoryCommit, Operation: "write"},
		{Kind: "", Operation: "x"},
		{Kind: "Vacuum"},
		{Kind: lake.HistoryVacuum, ID: "../../x"},
	} {
		if err := z.RecordEvent(ctx, "sales", "orders", e); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("RecordEvent(%+v): %v, want ErrInvalidName", e, err)
		}
	}
	if err := z.RecordEvent(ctx, "sales", "Orders", &lake.HistoryEntry{Kind: lake.HistoryVacuum}); !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("RecordEvent on a bad table name: %v", err)
	}
	put(t, s, "sales/orders/_lakekit/log/00000000000000000001.json", []byte(handCommit(1, time.Now(), "append", "k", 1, 0, "")))
	put(t, s, "sales/orders/_lakekit/audit/01700000000000000000-vacuum-x.json", []byte(`{"kind":"commit","version":9}`))
	if _, err := zones.History(ctx, lk, lake.Curated, "sales", "orders"); !errors.Is(err, zones.ErrCorrupt) || !strings.Contains(err.Error(), `claims kind "commit"`) {
		t.Fatalf("an audit event posing as a commit: %v, want zones.ErrCorrupt naming it", err)
	}
}

// identDriver is a memory driver that reports a caller identity, counting
// the lookups.
type identDriver struct {
	*memstore.Driver
	calls atomic.Int32
	id    string
	err   error
	delay time.Duration
}

func (d *identDriver) CallerIdentity(ctx context.Context) (string, error) {
	d.calls.Add(1)
	time.Sleep(d.delay)
	return d.id, d.err
}

// TestLakeCaller: the lake asks the driver once; Options.Caller wins
// without asking; a failure is cached as unknown.
func TestLakeCaller(t *testing.T) {
	ctx := context.Background()
	d := &identDriver{Driver: memstore.New(), id: "arn:aws:iam::123456789012:role/etl"}
	lk, err := lake.New(lake.NewStore(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := lk.Caller(ctx); got != d.id {
			t.Fatalf("Caller = %q, want %q", got, d.id)
		}
	}
	if n := d.calls.Load(); n != 1 {
		t.Fatalf("driver asked %d times, want once", n)
	}
	a := lk.Audit(ctx, "")
	if a.Caller != d.id || a.PID == 0 || a.Host == "" {
		t.Fatalf("Audit = %+v", a)
	}
	lk2, _ := lake.New(lake.NewStore(d), &lake.Options{Caller: "svc"})
	if got := lk2.Caller(ctx); got != "svc" || d.calls.Load() != 1 {
		t.Fatalf("Options.Caller: %q, %d lookups", got, d.calls.Load())
	}
	bad := &identDriver{Driver: memstore.New(), err: errors.New("no STS here")}
	lk3, _ := lake.New(lake.NewStore(bad), nil)
	if got := lk3.Caller(ctx) + lk3.Caller(ctx); got != "" || bad.calls.Load() != 1 {
		t.Fatalf("failing lookup: %q, %d lookups (want unknown, asked once)", got, bad.calls.Load())
	}
	// many first commits at once: one lookup, every one gets its answer
	slow := &identDriver{Driver: memstore.New(), id: "svc-slow", delay: 50 * time.Millisecond}
	lk4, _ := lake.New(lake.NewStore(slow), nil)
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if lk4.Caller(ctx) != "svc-slow" {
				wrong.Add(1)
			}
		}()
	}
	wg.Wait()
	if wrong.Load() != 0 || slow.calls.Load() != 1 {
		t.Fatalf("concurrent Caller: %d wrong answers, %d lookups", wrong.Load(), slow.calls.Load())
	}
	plain, _ := lake.New(lake.NewStore(memstore.New()), nil)
	if got := plain.Caller(ctx); got != "" {
		t.Fatalf("a driver without identity: %q", got)
	}
}
