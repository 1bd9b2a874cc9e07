package zones_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

// entryOf is what lake's History must say about a commit zones wrote.
func entryOf(c zones.Commit) lake.HistoryEntry {
	e := lake.HistoryEntry{Kind: lake.HistoryCommit, Version: c.Version, Time: c.Timestamp, Operation: c.Operation,
		Mode: c.Mode.String(), IdempotencyKey: c.IdempotencyKey, Audit: c.Audit, Metadata: c.Metadata,
		FilesAdded: len(c.Added), FilesRemoved: len(c.Removed), RowsAdded: c.Rows(), BytesAdded: c.Bytes()}
	for _, f := range c.Removed {
		e.RowsRemoved += f.Rows
		e.BytesRemoved += f.Size
	}
	return e
}

// TestLakeHistoryMatchesTableHistory: lake reads the commit log zones
// writes — plain and zstd objects — to the same who/when/what as
// Table.History, and lists a vacuum that deleted files as an event after
// the versions, with the keys it deleted.
func TestLakeHistoryMatchesTableHistory(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 50, InMemoryBuffers: true})
	writeCommit(t, ds, makeEvents(0, 200, 4), &zones.WriterOptions{IdempotencyKey: "day-1", Caller: "ingest", Metadata: map[string]string{"source": "a.json"}})
	writeCommit(t, ds, makeEvents(200, 3000, 60), &zones.WriterOptions{IdempotencyKey: "day-2"}) // 60 files with stats: > 4 KiB, compressed
	writeCommit(t, ds, makeEvents(5000, 40, 2), &zones.WriterOptions{Mode: zones.OverwritePartitions, IdempotencyKey: "fix-b000-b001", Caller: "repair"})

	raw, err := lk.MustZone(lake.Curated).Store().ReadAll(ctx, "sales/events/_lakekit/log/00000000000000000002.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatal("version 2's log object is not zstd: the test does not cover compressed objects")
	}

	commits, err := ds.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if commits[2].Audit.Caller != "repair" || len(commits[2].Removed) == 0 {
		t.Fatalf("version 3 should be an overwrite by repair removing files: %+v", commits[2])
	}
	before := time.Now()
	vac, err := ds.Vacuum(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(vac.Deleted) != len(commits[2].Removed) || vac.AuditID == "" {
		t.Fatalf("vacuum deleted %d files (audit %q), version 3 removed %d", len(vac.Deleted), vac.AuditID, len(commits[2].Removed))
	}
	// nothing left to delete: no second record
	if again, err := ds.Vacuum(ctx, 0); err != nil || len(again.Deleted) != 0 || again.AuditID != "" {
		t.Fatalf("second vacuum: %+v %v", again, err)
	}

	h, err := zones.History(ctx, lk, lake.Curated, "sales", "events")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != len(commits)+1 {
		t.Fatalf("lake History has %d entries, want %d commits and one vacuum", len(h), len(commits))
	}
	for i, c := range commits {
		if diff := cmp.Diff(entryOf(c), h[i]); diff != "" {
			t.Fatalf("version %d: lake History differs from Table.History (-zones +lake):\n%s", c.Version, diff)
		}
	}
	v := h[len(h)-1]
	var bytesDeleted int64
	for _, f := range commits[2].Removed {
		bytesDeleted += f.Size
	}
	host, _ := os.Hostname()
	switch {
	case v.Kind != lake.HistoryVacuum || v.IsVersion() || v.Operation != "vacuum" || v.ID != vac.AuditID:
		t.Fatalf("last entry is not the vacuum: %+v", v)
	case v.Status != lake.EventDone || v.Error != "" || v.Version != 3:
		t.Fatalf("vacuum event status %q error %q version %d", v.Status, v.Error, v.Version)
	case v.Time.Before(before.Add(-time.Second)) || v.Finished.Before(v.Time):
		t.Fatalf("vacuum event times: started %v finished %v (vacuum called at %v)", v.Time, v.Finished, before)
	case v.Audit.PID != os.Getpid() || v.Audit.Host != host:
		t.Fatalf("vacuum event audit %+v", v.Audit)
	case v.FilesRemoved != len(vac.Deleted) || v.BytesRemoved != bytesDeleted || v.Metadata["retention"] != "0s":
		t.Fatalf("vacuum event counts: %d files %d bytes (want %d, %d), metadata %v", v.FilesRemoved, v.BytesRemoved, len(vac.Deleted), bytesDeleted, v.Metadata)
	}
	if diff := cmp.Diff(vac.Deleted, v.Keys); diff != "" {
		t.Fatalf("vacuum event keys (-deleted +recorded):\n%s", diff)
	}
	// the vacuum made no version
	if snap, err := ds.Snapshot(ctx, 0); err != nil || snap.Version != 3 {
		t.Fatalf("after vacuum the table is at version %v (%v), want 3", snap, err)
	}
}

// deleteFailDriver fails every delete of a .parquet key after the first n.
type deleteFailDriver struct {
	driver.Driver
	allow int
}

// errInjectedDelete is the failure deleteFailDriver injects.
var errInjectedDelete = errors.New("injected delete failure")

func (d *deleteFailDriver) Delete(ctx context.Context, keys []string) error {
	if d.allow <= 0 {
		return errInjectedDelete
	}
	d.allow--
	return d.Driver.Delete(ctx, keys)
}

// TestVacuumAuditFirst: no file is deleted without a record naming it —
// when the record cannot be written nothing is deleted, and a vacuum that
// fails part way says so in its record.
func TestVacuumAuditFirst(t *testing.T) {
	ctx := context.Background()
	lk, cd := countingLake(t, memstore.New())
	ds := newEvents(t, lk, &zones.Options[event]{InMemoryBuffers: true})
	writeCommit(t, ds, makeEvents(0, 100, 2), nil)
	writeCommit(t, ds, makeEvents(100, 100, 2), &zones.WriterOptions{Mode: zones.Overwrite})
	countData := func() int {
		n := 0
		for e, err := range lk.MustZone(lake.Curated).Store().List(ctx, "sales/events/", nil) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(e.Key, ".parquet") {
				n++
			}
		}
		return n
	}
	before := countData()
	injected := errors.New("injected: audit area read-only")
	cd.failPut = func(key string, _ *driver.PutOptions) (error, error) {
		if strings.Contains(key, "/_lakekit/audit/") {
			return injected, nil
		}
		return nil, nil
	}
	res, err := ds.Vacuum(ctx, 0)
	if !errors.Is(err, injected) || len(res.Deleted) != 0 {
		t.Fatalf("vacuum without an audit record: deleted %v, err %v; want nothing deleted and the error", res.Deleted, err)
	}
	if n := countData(); n != before {
		t.Fatalf("%d data files before, %d after a vacuum that could not record", before, n)
	}
	if _, err := zones.History(ctx, lk, lake.Curated, "sales", "events"); err != nil {
		t.Fatal(err)
	}

	// deletes fail: the record says failed, lists nothing deleted
	cd.failPut = nil
	lk2, err := lake.New(lake.NewStore(&deleteFailDriver{Driver: cd}), nil)
	if err != nil {
		t.Fatal(err)
	}
	ds2 := newEvents(t, lk2, nil)
	if _, err := ds2.Vacuum(ctx, 0); !errors.Is(err, errInjectedDelete) {
		t.Fatalf("vacuum with failing deletes: %v, want the store's delete error", err)
	}
	h, err := zones.History(ctx, lk2, lake.Curated, "sales", "events")
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if last.Kind != lake.HistoryVacuum || last.Status != lake.EventFailed || !strings.Contains(last.Error, "injected delete failure") ||
		last.FilesRemoved != 0 || len(last.Keys) != 0 {
		t.Fatalf("failed vacuum's record: %+v", last)
	}
	// and a vacuum that works records done
	res, err = ds.Vacuum(ctx, 0)
	if err != nil || len(res.Deleted) == 0 {
		t.Fatalf("vacuum: %+v %v", res, err)
	}
	h, _ = zones.History(ctx, lk, lake.Curated, "sales", "events")
	if last := h[len(h)-1]; last.Status != lake.EventDone || last.FilesRemoved != len(res.Deleted) || last.ID != res.AuditID {
		t.Fatalf("vacuum's record: %+v", last)
	}
	if n := countData(); n != before-len(res.Deleted) {
		t.Fatalf("%d data files after deleting %d of %d", n, len(res.Deleted), before)
	}
}

// motoBucketLake opens a lake on a fresh bucket of the S3 behind cfg.
func motoBucketLake(t *testing.T, cfg aws.Config, bucket string) *lake.Lake {
	t.Helper()
	ctx := context.Background()
	st, err := s3store.OpenStore(ctx, cfg, bucket, "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	var c *s3.Client
	st.As(&c)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

// TestCommitCallerFromSTS: on S3 a commit whose writer names no caller
// records the principal STS reports (moto's), and the vacuum record too; a
// caller the writer names wins.
func TestCommitCallerFromSTS(t *testing.T) {
	ctx := context.Background()
	moto := testaws.StartMoto(t)
	cfg := moto.Config(t)
	arn := moto.CallerARN(t)
	t.Logf("moto STS GetCallerIdentity: %s", arn)
	lk := motoBucketLake(t, cfg, "audit-sts")
	ds := newEvents(t, lk, &zones.Options[event]{InMemoryBuffers: true})
	r1 := writeCommit(t, ds, makeEvents(0, 20, 2), nil)
	r2 := writeCommit(t, ds, makeEvents(20, 20, 2), &zones.WriterOptions{Mode: zones.Overwrite, Caller: "nightly-job"})
	if r1.Commit.Audit.Caller != arn || r2.Commit.Audit.Caller != "nightly-job" {
		t.Fatalf("callers %q and %q, want %q and nightly-job", r1.Commit.Audit.Caller, r2.Commit.Audit.Caller, arn)
	}
	if _, err := ds.Vacuum(ctx, 0); err != nil {
		t.Fatal(err)
	}
	h, err := zones.History(ctx, lk, lake.Curated, "sales", "events")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, fmt.Sprintf("%s %d %s", e.Kind, e.Version, e.Audit.Caller))
	}
	want := []string{"commit 1 " + arn, "commit 2 nightly-job", "vacuum 2 " + arn}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("history on S3 (-want +got):\n%s", diff)
	}
}

// TestCommitCallerWithoutSTS: gofakes3 has no STS; commits still succeed,
// promptly, with the caller unknown.
func TestCommitCallerWithoutSTS(t *testing.T) {
	lk := s3Lake(t)
	ds := newEvents(t, lk, &zones.Options[event]{InMemoryBuffers: true})
	start := time.Now()
	r := writeCommit(t, ds, makeEvents(0, 20, 2), nil)
	if d := time.Since(start); d > lake.CallerLookupTimeout+5*time.Second {
		t.Fatalf("the first commit took %v: the failed identity lookup was not bounded", d)
	}
	if r.Commit.Audit.Caller != "" || r.Commit.Audit.Host == "" {
		t.Fatalf("audit without STS: %+v", r.Commit.Audit)
	}
}

// The audit trail of a table, listed by lake: every version with who,
// when, what and the idempotency key, and the vacuum that deleted the
// files an overwrite replaced (an event, not a version).
func Example_history() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", &lake.Options{Caller: "sales-ingest"})
	if err != nil {
		log.Fatal(err)
	}
	defer lk.Close()
	sales, _ := zones.NewDataset[Sale](lk, lake.Curated, "shop", "sales", nil)
	write := func(mode zones.Mode, key, caller string, rows ...Sale) {
		w, _ := sales.NewWriter(ctx, &zones.WriterOptions{Mode: mode, IdempotencyKey: key, Caller: caller})
		w.Write(ctx, rows)
		if _, err := w.Commit(ctx); err != nil {
			log.Fatal(err)
		}
	}
	write(zones.Append, "batch-1", "", Sale{ID: 1, Amount: 10, Region: "eu"}, Sale{ID: 2, Amount: 5, Region: "us"})
	write(zones.OverwritePartitions, "fix-eu", "analyst@example.com", Sale{ID: 3, Amount: 11, Region: "eu"})
	if _, err := sales.Vacuum(ctx, 0); err != nil {
		log.Fatal(err)
	}

	h, err := zones.History(ctx, lk, lake.Curated, "shop", "sales")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range h {
		if e.IsVersion() {
			fmt.Printf("v%d %s %s key=%s by %s: +%d rows, -%d files\n", e.Version, e.Operation, e.Mode, e.IdempotencyKey, e.Audit.Caller, e.RowsAdded, e.FilesRemoved)
			continue
		}
		fmt.Printf("%s (%s) at v%d by %s: deleted %d files in %v\n", e.Kind, e.Status, e.Version, e.Audit.Caller, e.FilesRemoved, folders(e.Keys))
	}
	// Output:
	// v1 write append key=batch-1 by sales-ingest: +2 rows, -0 files
	// v2 write overwrite_partitions key=fix-eu by analyst@example.com: +1 rows, -1 files
	// vacuum (done) at v2 by sales-ingest: deleted 1 files in [shop/sales/region=eu]
}

// folders returns the folders of keys (file names carry a random attempt id).
func folders(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = path.Dir(k)
	}
	return out
}

// checkingDriver, at every delete, asks lake's History whether a vacuum
// record already names each key being deleted.
type checkingDriver struct {
	driver.Driver
	lk      *lake.Lake
	checked int
	errs    []string
}

func (d *checkingDriver) Delete(ctx context.Context, keys []string) error {
	named := map[string]string{}
	if h, err := zones.History(ctx, d.lk, lake.Curated, "sales", "events"); err == nil {
		for _, e := range h {
			for _, k := range e.Keys {
				named["curated/"+k] = e.Status
			}
		}
	}
	for _, k := range keys {
		if strings.Contains(k, "/_lakekit/staging/") {
			continue // a commit moving its staged file into place, not a vacuum
		}
		d.checked++
		if st, ok := named[k]; !ok || st != lake.EventStarted {
			d.errs = append(d.errs, fmt.Sprintf("%s deleted while its record says %q", k, st))
		}
	}
	return d.Driver.Delete(ctx, keys)
}

// TestVacuumRecordsBeforeDeleting: when a vacuum deletes a file, a record
// naming it (status started) is already in the table's audit trail, so a
// vacuum killed mid-way has still recorded what it deleted.
func TestVacuumRecordsBeforeDeleting(t *testing.T) {
	ctx := context.Background()
	cd := &checkingDriver{Driver: memstore.New()}
	lk, err := lake.New(lake.NewStore(cd), nil)
	if err != nil {
		t.Fatal(err)
	}
	cd.lk = lk
	ds := newEvents(t, lk, &zones.Options[event]{InMemoryBuffers: true})
	writeCommit(t, ds, makeEvents(0, 100, 3), nil)
	writeCommit(t, ds, makeEvents(100, 100, 3), &zones.WriterOptions{Mode: zones.Overwrite})
	res, err := ds.Vacuum(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 3 || cd.checked != 3 || len(cd.errs) > 0 {
		t.Fatalf("deleted %d, checked %d: %v", len(res.Deleted), cd.checked, cd.errs)
	}
}
