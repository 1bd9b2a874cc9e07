package zones_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/zones"
)

// syncingDriver records puts (deferred or not) and Syncs in order, fails
// Sync with failSync, and otherwise passes it on to the file store.
type syncingDriver struct {
	*filestore.Driver
	mu       sync.Mutex
	events   []string
	failSync error
}

func (s *syncingDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	s.mu.Lock()
	ev := "put " + key
	if opts != nil && opts.Deferred {
		ev = "put-deferred " + key
	}
	s.events = append(s.events, ev)
	s.mu.Unlock()
	return s.Driver.Put(ctx, key, body, size, opts)
}

func (s *syncingDriver) Sync(ctx context.Context, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.events = append(s.events, "sync "+k)
	}
	if s.failSync != nil {
		return s.failSync
	}
	return s.Driver.Sync(ctx, keys)
}

// TestCommitSyncsDataFilesBeforeTheLog: the writer's data files are put
// Deferred, and Commit syncs every one of them before it writes the log
// object that names them; when that Sync fails nothing is committed.
func TestCommitSyncsDataFilesBeforeTheLog(t *testing.T) {
	ctx := context.Background()
	fd, err := filestore.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sd := &syncingDriver{Driver: fd}
	lk, err := lake.New(lake.NewStore(sd), nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 300, Catalog: cat})
	res := writeCommit(t, ds, makeEvents(0, 2000, 4), nil)
	sameViews(t, "after the commit", cat, ds)
	logPut := slices.IndexFunc(sd.events, func(e string) bool {
		return strings.HasPrefix(e, "put ") && strings.Contains(e, "/_lakekit/log/") && strings.HasSuffix(e, "1.json")
	})
	if logPut < 0 {
		t.Fatalf("no put of version 1's log object in %v", sd.events)
	}
	for _, f := range res.Files {
		up := "curated/" + f.Key // the driver's keys carry the zone
		if f.Staged != "" {
			up = "curated/" + f.Staged
		}
		if !slices.Contains(sd.events, "put-deferred "+up) {
			t.Errorf("%s was not put Deferred", up)
		}
		if i := slices.Index(sd.events, "sync "+up); i < 0 || i > logPut {
			t.Errorf("%s synced at event %d, the log object written at %d", up, i, logPut)
		}
	}

	boom := errors.New("disk gone")
	sd.failSync = boom
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, makeEvents(5000, 100, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); !errors.Is(err, boom) || !strings.Contains(err.Error(), "not durable") {
		t.Fatalf("Commit with a failing Sync: %v, want the sync error", err)
	}
	if snap, err := ds.Snapshot(ctx, 0); err != nil || snap.Version != 1 || snap.Rows() != 2000 {
		t.Fatalf("after a failed Sync: %+v %v, want version 1 unchanged", snap, err)
	}
	sameViews(t, "after a failed Sync", cat, ds)
}

// TestPipelinedWriteKeepsNoCallerRows: with a row type of values only,
// Write returns before its rows are encoded; the caller then overwrites
// the batch it passed, and the table still holds what was written.
func TestPipelinedWriteKeepsNoCallerRows(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	cat := localCatalog(t, lk)
	ds := newEvents(t, lk, &zones.Options[event]{Catalog: cat})
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []event
	batch := make([]event, 500)
	for b := int64(0); b < 8; b++ {
		for i := range batch {
			batch[i] = makeEvent(b*500+int64(i), 7)
		}
		want = append(want, batch...)
		if err := w.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for i := range batch { // the caller reuses its batch at once
			batch[i] = event{ID: -1, Note: "overwritten", Bucket: "b000"}
		}
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, ds, nil)
	slices.SortFunc(got, func(a, b event) int { return int(a.ID - b.ID) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("rows read back (-want +got):\n%s", diff)
	}
	sameViews(t, "after a pipelined write", cat, ds)
}

// blob holds a slice, so its rows are encoded before Write returns.
type blob struct {
	ID      int64  `parquet:"id"`
	Payload []byte `parquet:"payload"`
	Part    string `parquet:"part" lakekit:"partition"`
}

// TestWriteOfRowsWithSlicesIsNotPipelined: a caller that reuses the bytes
// its rows point to as soon as Write returns does not change what was
// written.
func TestWriteOfRowsWithSlicesIsNotPipelined(t *testing.T) {
	ctx := context.Background()
	ds, err := zones.NewDataset[blob](memLake(t), lake.Raw, "sales", "blobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 300*8) // one buffer the caller reuses for every batch
	var want []blob
	for b := 0; b < 6; b++ {
		batch := make([]blob, 300)
		for i := range batch {
			payload := buf[i*8 : (i+1)*8]
			for j := range payload {
				payload[j] = byte('a' + (b+i+j)%26)
			}
			batch[i] = blob{ID: int64(b*300 + i), Payload: payload, Part: []string{"x", "y", "z"}[i%3]}
			want = append(want, blob{ID: batch[i].ID, Payload: slices.Clone(payload), Part: batch[i].Part})
		}
		if err := w.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		clear(buf) // the caller reuses its buffer at once
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := ds.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b blob) int { return int(a.ID - b.ID) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("rows read back (-want +got):\n%s", diff)
	}
}
