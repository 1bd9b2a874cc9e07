package zones_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones"
)

// writeOnly writes rows with a new writer and returns it uncommitted.
func writeOnly(t *testing.T, ds *zones.Dataset[event], rows []event, wo *zones.WriterOptions) *zones.Writer[event] {
	t.Helper()
	ctx := context.Background()
	w, err := ds.NewWriter(ctx, wo)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	return w
}

func wantRows(t *testing.T, ds *zones.Dataset[event], n int, firstID int64) {
	t.Helper()
	got := readAll(t, ds, nil)
	if len(got) != n {
		t.Fatalf("read %d rows, want %d", len(got), n)
	}
	for i, r := range got {
		if r.ID != firstID+int64(i) {
			t.Fatalf("row %d has id %d, want %d", i, r.ID, firstID+int64(i))
		}
	}
}

// TestSameKeyOverlappingAttemptAbortKeepsCommitted: writer B starts with
// the key of writer A before A commits; B aborting must not delete A's
// committed files (their names used to derive from the key).
func TestSameKeyOverlappingAttemptAbortKeepsCommitted(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"mem", "file"} {
		t.Run(name, func(t *testing.T) {
			lk := memLake(t)
			if name == "file" {
				lk = fileLake(t, "")
			}
			ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 500})
			wo := &zones.WriterOptions{IdempotencyKey: "job-1"}
			a := writeOnly(t, ds, makeEvents(0, 1000, 1), wo)
			b := writeOnly(t, ds, makeEvents(0, 1000, 1), wo)
			if _, err := a.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			wantRows(t, ds, 1000, 0)
			if _, err := ds.Vacuum(ctx, 0); err != nil {
				t.Fatal(err)
			}
			wantRows(t, ds, 1000, 0)
		})
	}
}

// TestSameKeyOverlappingAttemptCommit: the second attempt with one key
// commits nothing: with the same rows it is a Duplicate; with other rows
// it is refused naming the key and the version, and the first attempt's
// rows are what reads return.
func TestSameKeyOverlappingAttemptCommit(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 500})
	wo := &zones.WriterOptions{IdempotencyKey: "job-1"}
	a := writeOnly(t, ds, makeEvents(0, 1000, 1), wo)
	same := writeOnly(t, ds, makeEvents(0, 1000, 1), wo)
	other := writeOnly(t, ds, makeEvents(0, 1500, 1), wo)
	ra, err := a.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := same.Commit(ctx)
	if err != nil || !rs.Duplicate || rs.Version != ra.Version || rs.Rows != 1000 {
		t.Fatalf("same data, same key: %+v %v, want a Duplicate of version %d", rs, err, ra.Version)
	}
	ro, err := other.Commit(ctx)
	if !errors.Is(err, zones.ErrConflict) || ro != nil || !strings.Contains(err.Error(), `"job-1"`) || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("other data, same key: %+v %v, want ErrConflict naming the key and version 1", ro, err)
	}
	wantRows(t, ds, 1000, 0)
	if n := countParquet(t, lk); n != 2 {
		t.Fatalf("%d parquet objects, want the first attempt's 2: the others left files", n)
	}
	// a later writer with the key, after the commit, behaves the same
	if res := writeCommit(t, ds, makeEvents(0, 1000, 1), wo); !res.Duplicate {
		t.Fatalf("late retry with the same data: %+v", res)
	}
	w := writeOnly(t, ds, makeEvents(5000, 10, 1), wo)
	if _, err := w.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("late reuse of the key with other rows: %v, want ErrConflict", err)
	}
	wantRows(t, ds, 1000, 0)
}

// TestCommitUnknownResolvedOnCancel cancels the context at random moments
// of commits on a file lake: every commit either returns success (and is
// in the log), or an error and is not in the log, or ErrCommitUnknown; a
// retry with the key never doubles rows.
func TestCommitUnknownResolvedOnCancel(t *testing.T) {
	lk := fileLake(t, "")
	ds := newEvents(t, lk, nil)
	var committed, refused, unknown int
	want := int64(0)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		key := fmt.Sprintf("k%d", i)
		ctx, cancel := context.WithCancel(context.Background())
		rows := makeEvents(int64(i)*100, 100, 3)
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Duration(rng.IntN(3000))*time.Microsecond, cancel)
		_, err = w.Commit(ctx)
		cancel()
		inLog := keyInLog(t, ds, key)
		switch {
		case err == nil || errors.Is(err, zones.ErrCatalog):
			committed++
			if !inLog {
				t.Fatalf("commit %s returned success but is not in the log", key)
			}
		case errors.Is(err, zones.ErrCommitUnknown):
			unknown++
		default:
			refused++
			if inLog {
				t.Fatalf("commit %s returned %v, but it is in the log", key, err)
			}
		}
		if err != nil && !errors.Is(err, zones.ErrCatalog) { // the caller retries with the same key
			res := writeCommit(t, ds, rows, &zones.WriterOptions{IdempotencyKey: key})
			if res.Duplicate != inLog {
				t.Fatalf("retry of %s: Duplicate=%v, in the log before: %v", key, res.Duplicate, inLog)
			}
		}
		want += 100
	}
	t.Logf("60 cancelled commits: %d committed, %d not committed, %d unknown", committed, refused, unknown)
	if got := len(readAll(t, ds, nil)); int64(got) != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
}

func keyInLog(t *testing.T, ds *zones.Dataset[event], key string) bool {
	t.Helper()
	h, err := ds.History(context.Background())
	if errors.Is(err, zones.ErrNoSuchTable) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range h {
		if c.IdempotencyKey == key {
			return true
		}
	}
	return false
}

var errUnreachable = errors.New("connection reset by peer")

// logFailDriver fails every put and read of commit-log objects while on.
type logFailDriver struct {
	driver.Driver
	on     atomic.Bool
	landed atomic.Bool // the put reaches the store before failing
	down   atomic.Bool // after the failed put, log reads fail too
}

func (d *logFailDriver) isLog(key string) bool {
	return d.on.Load() && strings.Contains(key, "/_lakekit/log/")
}

func (d *logFailDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	if d.isLog(key) {
		if d.landed.Load() && !d.down.Load() {
			d.Driver.Put(ctx, key, body, size, opts)
		}
		d.down.Store(true)
		return errUnreachable
	}
	return d.Driver.Put(ctx, key, body, size, opts)
}

func (d *logFailDriver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	if d.isLog(key) && d.down.Load() {
		return nil, nil, errUnreachable
	}
	return d.Driver.Get(ctx, key, off, length)
}

// TestCommitUnknownWhenTheLogCannotBeRead: the log put fails and the log
// cannot be read back: Commit says ErrCommitUnknown with the key, keeps
// the staged files, and a retry with the key settles it either way.
func TestCommitUnknownWhenTheLogCannotBeRead(t *testing.T) {
	ctx := context.Background()
	for _, landed := range []bool{false, true} {
		t.Run(fmt.Sprintf("landed=%v", landed), func(t *testing.T) {
			d := &logFailDriver{Driver: memstore.New()}
			lk, err := lake.New(lake.NewStore(d), nil)
			if err != nil {
				t.Fatal(err)
			}
			ds := newEvents(t, lk, nil)
			writeCommit(t, ds, makeEvents(0, 100, 2), nil)
			w := writeOnly(t, ds, makeEvents(100, 100, 2), &zones.WriterOptions{IdempotencyKey: "batch-7"})
			d.on.Store(true)
			d.landed.Store(landed)
			_, err = w.Commit(ctx)
			d.on.Store(false)
			d.down.Store(false)
			var cu *zones.CommitUnknownError
			if !errors.Is(err, zones.ErrCommitUnknown) || !errors.As(err, &cu) || cu.Key != "batch-7" || cu.Version != 2 {
				t.Fatalf("commit with an unreachable log: %v, want ErrCommitUnknown with key batch-7, version 2", err)
			}
			res := writeCommit(t, ds, makeEvents(100, 100, 2), &zones.WriterOptions{IdempotencyKey: "batch-7"})
			if res.Duplicate != landed || res.Version != 2 {
				t.Fatalf("retry: %+v, want version 2, Duplicate=%v", res, landed)
			}
			wantRows(t, ds, 200, 0)
		})
	}
}

func deleteKey(t *testing.T, lk *lake.Lake, key string) {
	t.Helper()
	if err := lk.MustZone(lake.Curated).Store().Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

func putKey(t *testing.T, lk *lake.Lake, key string, b []byte) {
	t.Helper()
	if err := lk.MustZone(lake.Curated).Store().PutBytes(context.Background(), key, b, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptLogGap: a deleted log object in the middle of the log is
// corruption: reads and writes fail with ErrCorrupt naming the version,
// nothing reuses its number, Vacuum refuses, and earlier versions still
// read.
func TestCorruptLogGap(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	ds := newEvents(t, lk, nil)
	for i := range 4 {
		writeCommit(t, ds, makeEvents(int64(i)*100, 100, 2), &zones.WriterOptions{IdempotencyKey: fmt.Sprintf("k%d", i+1)})
	}
	deleteKey(t, lk, logcodec.CommitKey("sales/events", 2))
	fresh := newEvents(t, lk, nil) // a reader with no cache
	if _, err := fresh.ReadAll(ctx, nil); !errors.Is(err, zones.ErrCorrupt) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("read over a gap: %v, want ErrCorrupt naming version 2", err)
	}
	if _, err := fresh.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: "k3"}); !errors.Is(err, zones.ErrCorrupt) {
		t.Fatalf("write over a gap: %v, want ErrCorrupt", err)
	}
	if _, err := fresh.Vacuum(ctx, 0); !errors.Is(err, zones.ErrCorrupt) {
		t.Fatalf("vacuum over a gap: %v, want ErrCorrupt", err)
	}
	if _, err := fresh.Table().Vacuum(ctx, 0); !errors.Is(err, zones.ErrCorrupt) {
		t.Fatalf("table vacuum over a gap: %v, want ErrCorrupt", err)
	}
	snap, err := fresh.Snapshot(ctx, 1)
	if err != nil || snap.Rows() != 100 {
		t.Fatalf("time travel to version 1: %v %v", snap, err)
	}
	if h, err := fresh.History(ctx); !errors.Is(err, zones.ErrCorrupt) || len(h) != 1 {
		t.Fatalf("history over a gap: %d entries, %v", len(h), err)
	}
	if ok, _ := lk.MustZone(lake.Curated).Store().Exists(ctx, logcodec.CommitKey("sales/events", 2)); ok {
		t.Fatal("a writer reused version 2")
	}
	// the writer that had cached the table before the damage fails too
	if _, err := ds.NewWriter(ctx, nil); err != nil {
		// it has versions 1-4 cached and only reads forward: fine either way
		if !errors.Is(err, zones.ErrCorrupt) {
			t.Fatal(err)
		}
	}
	// an explicit repair restores service; its audit record names version 2
	res, err := fresh.Table().Repair(ctx, &zones.RepairOptions{Caller: "ops"})
	if err != nil || len(res.Damaged) != 1 || res.Damaged[0] != 2 {
		t.Fatalf("repair: %+v %v", res, err)
	}
	got := readAll(t, newEvents(t, lk, nil), nil)
	if len(got) != 300 {
		t.Fatalf("after repair: %d rows, want 300 (version 2's rows are lost)", len(got))
	}
	hist, err := zones.History(ctx, lk, lake.Curated, "sales", "events")
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, e := range hist {
		if e.Kind == lake.HistoryRepair && e.Status == lake.EventDone && e.Metadata["versions"] == "2" && e.Audit.Caller == "ops" {
			audited = true
		}
	}
	if !audited {
		t.Fatalf("no repair audit record: %+v", hist)
	}
}

// TestCorruptCheckpointFallsBack: a damaged checkpoint does not make an
// intact table unreadable: readers fall back to an older checkpoint and
// the log, and the next commit writes a good checkpoint.
func TestCorruptCheckpointFallsBack(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, &zones.Options[event]{InMemoryBuffers: true})
	n := zones.CheckpointInterval + 3
	for i := range n {
		writeCommit(t, ds, makeEvents(int64(i)*10, 10, 2), nil)
	}
	cp := logcodec.CheckpointKey("sales/events", zones.CheckpointInterval)
	if ok, _ := lk.MustZone(lake.Curated).Store().Exists(ctx, cp); !ok {
		t.Fatal("no checkpoint was written: the test would not test anything")
	}
	putKey(t, lk, cp, []byte("garbage, not a checkpoint"))
	fresh := newEvents(t, lk, &zones.Options[event]{InMemoryBuffers: true})
	wantRows(t, fresh, n*10, 0)
	writeCommit(t, fresh, makeEvents(int64(n)*10, 10, 2), nil)
	b, err := lk.MustZone(lake.Curated).Store().ReadAll(ctx, "sales/events/"+logcodec.LastCheckpoint)
	if err != nil || string(b) != fmt.Sprint(n+1) {
		t.Fatalf("hint after the next commit: %q %v, want a checkpoint at version %d", b, err, n+1)
	}
	wantRows(t, newEvents(t, lk, nil), (n+1)*10, 0)
}

// TestCorruptLogEntry: one undecodable entry does not block time travel to
// the versions before it; the newest read fails with ErrCorrupt naming the
// object; lake's History lists what precedes it; Repair restores service.
func TestCorruptLogEntry(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, nil)
	for i := range 5 {
		writeCommit(t, ds, makeEvents(int64(i)*100, 100, 2), nil)
	}
	key := logcodec.CommitKey("sales/events", 3)
	putKey(t, lk, key, []byte(`{"version":3,"added":[{"key":`))
	fresh := newEvents(t, lk, nil)
	if _, err := fresh.ReadAll(ctx, nil); !errors.Is(err, zones.ErrCorrupt) || !strings.Contains(err.Error(), key) {
		t.Fatalf("newest read: %v, want ErrCorrupt naming %s", err, key)
	}
	snap, err := fresh.Snapshot(ctx, 2)
	if err != nil || snap.Rows() != 200 {
		t.Fatalf("time travel to version 2: %v, %v", snap, err)
	}
	rows, err := fresh.ReadAll(ctx, &zones.ReadOptions{Version: 2})
	if err != nil || len(rows) != 200 {
		t.Fatalf("read version 2: %d rows, %v", len(rows), err)
	}
	if h, err := zones.History(ctx, lk, lake.Curated, "sales", "events"); !errors.Is(err, lake.ErrCorrupt) || len(h) != 2 {
		t.Fatalf("lake history: %d entries, %v", len(h), err)
	}
	res, err := fresh.Table().Repair(ctx, nil)
	if err != nil || len(res.Damaged) != 1 || res.Saved[3] == "" {
		t.Fatalf("repair: %+v %v", res, err)
	}
	saved, err := lk.MustZone(lake.Curated).Store().ReadAll(ctx, res.Saved[3])
	if err != nil || !bytes.HasPrefix(saved, []byte(`{"version":3`)) {
		t.Fatalf("the damaged bytes were not kept: %q %v", saved, err)
	}
	if got := readAll(t, newEvents(t, lk, nil), nil); len(got) != 400 {
		t.Fatalf("after repair: %d rows", len(got))
	}
}

// TestCorruptDataFileIsAnError: a data file replaced by other bytes (or
// deleted) is reported as ErrCorrupt, never read as other rows.
func TestCorruptDataFileIsAnError(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, nil)
	writeCommit(t, ds, makeEvents(0, 100, 1), nil)
	snap, _ := ds.Snapshot(ctx, 0)
	other := newEvents(t, memLake(t), nil)
	writeCommit(t, other, makeEvents(0, 150, 1), nil)
	osnap, _ := other.Snapshot(ctx, 0)
	b, err := lakeOf(other).MustZone(lake.Curated).Store().ReadAll(ctx, osnap.Files[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	putKey(t, lk, snap.Files[0].Key, b)
	if _, err := ds.ReadAll(ctx, nil); !errors.Is(err, zones.ErrCorrupt) || !strings.Contains(err.Error(), snap.Files[0].Key) {
		t.Fatalf("read of a replaced file: %v, want ErrCorrupt naming it", err)
	}
	deleteKey(t, lk, snap.Files[0].Key)
	if _, err := ds.ReadAll(ctx, nil); !errors.Is(err, zones.ErrCorrupt) {
		t.Fatalf("read of a deleted file: %v, want ErrCorrupt", err)
	}
}

// TestCorruptUnencryptedObjectInEncryptedZone: a zone that requires
// SSE-KMS refuses to read a data or log object that was not written with
// a KMS key, naming it.
func TestCorruptUnencryptedObjectInEncryptedZone(t *testing.T) {
	ctx := context.Background()
	st := lake.NewStore(memstore.New())
	lk, err := lake.New(st, &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{
		lake.Curated: {KMSKeyID: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", RequireEncryption: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ds := newEvents(t, lk, nil)
	writeCommit(t, ds, makeEvents(0, 100, 1), nil)
	wantRows(t, ds, 100, 0)
	snap, _ := ds.Snapshot(ctx, 0)
	raw := lake.NewStore(st.Driver()) // the same bucket, no zone rules
	b, err := raw.ReadAll(ctx, "curated/"+snap.Files[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.PutBytes(ctx, "curated/"+snap.Files[0].Key, b, nil); err != nil { // same bytes, no KMS
		t.Fatal(err)
	}
	if _, err := ds.ReadAll(ctx, nil); !errors.Is(err, lake.ErrEncryptionRequired) || !strings.Contains(err.Error(), snap.Files[0].Key) {
		t.Fatalf("read of an unencrypted data file: %v, want ErrEncryptionRequired naming it", err)
	}
	lb, _ := raw.ReadAll(ctx, "curated/"+logcodec.CommitKey("sales/events", 1))
	if err := raw.PutBytes(ctx, "curated/"+logcodec.CommitKey("sales/events", 1), lb, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := newEvents(t, lk, nil).Snapshot(ctx, 0); !errors.Is(err, lake.ErrEncryptionRequired) {
		t.Fatalf("read of an unencrypted log object: %v, want ErrEncryptionRequired", err)
	}
}

// TestCorruptFolderNameRefusedUpFront: a value whose escaped folder name
// would pass 255 bytes is refused when first seen, with ErrInvalid, on
// every store — not at upload with a file-system error.
func TestCorruptFolderNameRefusedUpFront(t *testing.T) {
	ctx := context.Background()
	ds := newEvents(t, fileLake(t, ""), nil)
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := makeEvent(1, 1)
	e.Bucket = strings.Repeat("a", 200) + strings.Repeat("/", 20) // 260 bytes escaped
	if err := w.Write(ctx, []event{e}); !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), "255") {
		t.Fatalf("long escaped value: %v, want ErrInvalid naming the limit", err)
	}
}

// failingCatalog fails chosen catalog calls once each while armed.
type failingCatalog struct {
	catalog.Catalog
	mu   sync.Mutex
	fail map[string]int // call name → failures left
	skip map[string]int // call name → calls to let through first
}

// armAfter lets skip calls through, then fails the next n.
func (c *failingCatalog) armAfter(call string, skip, n int) {
	c.arm(call, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.skip == nil {
		c.skip = map[string]int{}
	}
	c.skip[call] = skip
}

func (c *failingCatalog) arm(call string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail == nil {
		c.fail = map[string]int{}
	}
	c.fail[call] = n
}

func (c *failingCatalog) hit(call string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.skip[call] > 0 {
		c.skip[call]--
		return nil
	}
	if c.fail[call] > 0 {
		c.fail[call]--
		return fmt.Errorf("catalog %s: killed here", call)
	}
	return nil
}

func (c *failingCatalog) AddPartitions(ctx context.Context, db, t string, parts []catalog.Partition) error {
	if err := c.hit("AddPartitions"); err != nil {
		return err
	}
	return c.Catalog.AddPartitions(ctx, db, t, parts)
}

func (c *failingCatalog) UpdatePartitionLocations(ctx context.Context, db, t string, parts []catalog.Partition) error {
	if err := c.hit("UpdatePartitionLocations"); err != nil {
		return err
	}
	return c.Catalog.UpdatePartitionLocations(ctx, db, t, parts)
}

func (c *failingCatalog) GetTable(ctx context.Context, db, t string) (*catalog.Table, error) {
	if err := c.hit("GetTable"); err != nil {
		return nil, err
	}
	return c.Catalog.GetTable(ctx, db, t)
}

func (c *failingCatalog) UpdateTable(ctx context.Context, t *catalog.Table, o *catalog.UpdateOptions) error {
	if err := c.hit("UpdateTable"); err != nil {
		return err
	}
	return c.Catalog.UpdateTable(ctx, t, o)
}

// TestSameKeyDeadAttemptStagingVacuumed: files a dead writer left in the
// staging folder are orphans Vacuum removes after the retention; a
// committed file still waiting there for its move is moved, never deleted.
func TestSameKeyDeadAttemptStagingVacuumed(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 10})
	writeCommit(t, ds, makeEvents(0, 30, 1), nil)
	dead := writeOnly(t, ds, makeEvents(100, 50, 1), nil) // uploads 5 files, never commits
	_ = dead
	snap, _ := ds.Snapshot(ctx, 0)
	f := snap.Files[0]
	if err := lk.MustZone(lake.Curated).Store().Move(ctx, f.Key, f.Staged); err != nil { // its move "never happened"
		t.Fatal(err)
	}
	staged := func() int {
		n := 0
		for e, err := range lk.MustZone(lake.Curated).Store().List(ctx, "sales/events/_lakekit/staging/", nil) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(e.Key, ".parquet") {
				n++
			}
		}
		return n
	}
	if n := staged(); n != 5+1 {
		t.Fatalf("%d staged files, want 6", n)
	}
	res, err := ds.Vacuum(ctx, time.Hour)
	if err != nil || len(res.Deleted) != 0 {
		t.Fatalf("vacuum within the retention: %+v %v", res, err)
	}
	if n := staged(); n != 5 {
		t.Fatalf("after vacuum: %d staged files, want the dead attempt's 5 (the committed one moved)", n)
	}
	res, err = ds.Vacuum(ctx, 0)
	if err != nil || len(res.Deleted) != 5 {
		t.Fatalf("vacuum past the retention: %+v %v", res, err)
	}
	if n := staged(); n != 0 {
		t.Fatalf("%d staged files left", n)
	}
	wantRows(t, newEvents(t, lk, nil), 30, 0)
}

// TestWideningFollowsAthena: int → bigint is taken by a partitioned table
// (Athena reads it) and refused for an unpartitioned one (it does not).
func TestWideningFollowsAthena(t *testing.T) {
	type narrowP struct {
		N   int32  `parquet:"n"`
		Day string `parquet:"day" lakekit:"partition"`
	}
	type wideP struct {
		N   int64  `parquet:"n"`
		Day string `parquet:"day" lakekit:"partition"`
	}
	type narrow struct {
		N int32 `parquet:"n"`
	}
	type wide struct {
		N int64 `parquet:"n"`
	}
	ctx := context.Background()
	lk := memLake(t)
	np, _ := zones.NewDataset[narrowP](lk, lake.Curated, "s", "p", nil)
	w, _ := np.NewWriter(ctx, nil)
	w.Write(ctx, []narrowP{{1, "d"}})
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wp, _ := zones.NewDataset[wideP](lk, lake.Curated, "s", "p", nil)
	if _, err := wp.NewWriter(ctx, nil); err != nil {
		t.Fatalf("int → bigint in a partitioned table: %v", err)
	}
	nu, _ := zones.NewDataset[narrow](lk, lake.Curated, "s", "u", nil)
	w2, _ := nu.NewWriter(ctx, nil)
	w2.Write(ctx, []narrow{{1}})
	if _, err := w2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wu, _ := zones.NewDataset[wide](lk, lake.Curated, "s", "u", nil)
	if _, err := wu.NewWriter(ctx, nil); !errors.Is(err, zones.ErrSchema) {
		t.Fatalf("int → bigint in an unpartitioned table: %v, want ErrSchema", err)
	}
}

// TestVacuumZoneRetention: Vacuum(ZoneRetention) applies the zone's
// configured retention — a replaced file younger than it stays, and with a
// zone retention of a nanosecond it goes.
func TestVacuumZoneRetention(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		retention time.Duration
		deleted   int
	}{{0, 0}, {time.Nanosecond, 1}} { // 0: lake.DefaultRetention, 7 days
		lk, err := lake.New(lake.NewStore(memstore.New()), &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{lake.Curated: {Retention: tc.retention}}})
		if err != nil {
			t.Fatal(err)
		}
		ds := newEvents(t, lk, nil)
		writeCommit(t, ds, makeEvents(0, 10, 1), nil)
		writeCommit(t, ds, makeEvents(10, 10, 1), &zones.WriterOptions{Mode: zones.Overwrite})
		time.Sleep(time.Millisecond)
		res, err := ds.Vacuum(ctx, zones.ZoneRetention)
		if err != nil || len(res.Deleted) != tc.deleted {
			t.Fatalf("zone retention %v: %+v %v, want %d deleted", tc.retention, res, err, tc.deleted)
		}
	}
}
