// Package tabletest is the conformance suite of lakekit's table format —
// the contract of zones.Tx over a store — run against every store a lake
// can sit on (mem, file, S3 on gofakes3 and moto, faultstore): create-only
// per-attempt names, a duplicate key decided from the log by the data it
// commits, conflict versus nothing committed, Abort cleaning only its own
// attempt, staged files readable until their move and rolled forward by
// the next commit, gaps and damaged entries reported as ErrCorrupt, and a
// damaged checkpoint skipped.
//
// A store driver or table-format change runs it:
//
//	func TestTableFormat(t *testing.T) {
//		tabletest.Run(t, func(t *testing.T) *lake.Lake { return myLake(t) })
//	}
package tabletest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Row is the row type the suite writes.
type Row struct {
	ID  int64  `parquet:"id"`
	Day string `parquet:"day" lakekit:"partition"`
}

// Run runs the suite; newLake returns an empty lake for each case.
func Run(t *testing.T, newLake func(t *testing.T) *lake.Lake) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, lk *lake.Lake)
	}{
		{"CreateOnlyPerAttemptNames", testNames},
		{"SameKeySameDataIsDuplicate", testDuplicate},
		{"SameKeyOtherDataConflicts", testKeyConflict},
		{"OverwriteConflictCommitsNothing", testConflict},
		{"AbortCleansOnlyItsOwnAttempt", testAbort},
		{"StagedFilesRollForward", testRollForward},
		{"GapIsCorrupt", testGap},
		{"DamagedEntryIsCorrupt", testDamaged},
		{"DamagedCheckpointFallsBack", testCheckpoint},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newLake(t)) })
	}
}

const db, table = "suite", "t"

func dataset(t *testing.T, lk *lake.Lake) *zones.Dataset[Row] {
	t.Helper()
	ds, err := zones.NewDataset[Row](lk, lake.Curated, db, table, &zones.Options[Row]{InMemoryBuffers: true})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func rows(from, n int64, day string) []Row {
	out := make([]Row, n)
	for i := range out {
		out[i] = Row{ID: from + int64(i), Day: day}
	}
	return out
}

func write(t *testing.T, ds *zones.Dataset[Row], rs []Row, wo *zones.WriterOptions) *zones.Writer[Row] {
	t.Helper()
	ctx := context.Background()
	w, err := ds.NewWriter(ctx, wo)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	return w
}

func commit(t *testing.T, w *zones.Writer[Row]) *zones.CommitResult {
	t.Helper()
	res, err := w.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func count(t *testing.T, ds *zones.Dataset[Row]) int {
	t.Helper()
	rs, err := ds.ReadAll(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

func store(lk *lake.Lake) *lake.Store { return lk.MustZone(lake.Curated).Store() }

// parquetBytes encodes rows (without their partition column).
func parquetBytes(t *testing.T, rs []Row) []byte {
	t.Helper()
	type stored struct {
		ID int64 `parquet:"id"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[stored](&buf)
	for _, r := range rs {
		if _, err := w.Write([]stored{{r.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testNames: two attempts get disjoint names; an upload never replaces an
// object (create-only).
func testNames(t *testing.T, lk *lake.Lake) {
	ctx := context.Background()
	ds := dataset(t, lk)
	tb := ds.Table()
	a, err := tb.Begin(ctx, &zones.TxOptions{IdempotencyKey: "k", PartitionKeys: []string{"day"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tb.Begin(ctx, &zones.TxOptions{IdempotencyKey: "k", PartitionKeys: []string{"day"}})
	if err != nil {
		t.Fatal(err)
	}
	p := lake.Partition{{Key: "day", Value: "d1"}}
	ka, ua := a.FileKey(p)
	kb, ub := b.FileKey(p)
	if ka == kb || ua == ub || a.Attempt() == b.Attempt() {
		t.Fatalf("two attempts with one key share names: %s %s", ka, kb)
	}
	if !strings.HasPrefix(ua, a.StagingPrefix()+"/") || !strings.Contains(ua, "/_lakekit/staging/") {
		t.Fatalf("an append uploads to %s, not into its staging folder %s", ua, a.StagingPrefix())
	}
	body := parquetBytes(t, rows(0, 3, "d1"))
	if _, err := a.Upload(ctx, p, ka, ua, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Upload(ctx, p, ka, ua, bytes.NewReader(body), int64(len(body))); !errors.Is(err, lake.ErrExists) {
		t.Fatalf("second upload to one name: %v, want ErrExists", err)
	}
	a.Abort(ctx)
	b.Abort(ctx)
}

func testDuplicate(t *testing.T, lk *lake.Lake) {
	ds := dataset(t, lk)
	wo := &zones.WriterOptions{IdempotencyKey: "batch-1"}
	w1, w2 := write(t, ds, rows(0, 10, "d1"), wo), write(t, ds, rows(0, 10, "d1"), wo)
	r1 := commit(t, w1)
	r2 := commit(t, w2)
	if r1.Duplicate || !r2.Duplicate || r2.Version != r1.Version {
		t.Fatalf("same key, same data: %+v then %+v", r1, r2)
	}
	if n := count(t, ds); n != 10 {
		t.Fatalf("%d rows, want 10", n)
	}
}

func testKeyConflict(t *testing.T, lk *lake.Lake) {
	ds := dataset(t, lk)
	wo := &zones.WriterOptions{IdempotencyKey: "batch-1"}
	w1, w2 := write(t, ds, rows(0, 10, "d1"), wo), write(t, ds, rows(0, 11, "d1"), wo)
	commit(t, w1)
	if _, err := w2.Commit(context.Background()); !errors.Is(err, zones.ErrConflict) || !strings.Contains(err.Error(), "batch-1") {
		t.Fatalf("same key, other data: %v, want ErrConflict naming the key", err)
	}
	if n := count(t, ds); n != 10 {
		t.Fatalf("%d rows, want the first attempt's 10", n)
	}
}

func testConflict(t *testing.T, lk *lake.Lake) {
	ds := dataset(t, lk)
	commit(t, write(t, ds, rows(0, 5, "d1"), nil))
	wo := &zones.WriterOptions{Mode: zones.OverwritePartitions}
	w1, w2 := write(t, ds, rows(100, 5, "d1"), wo), write(t, ds, rows(200, 7, "d1"), wo)
	commit(t, w1)
	if _, err := w2.Commit(context.Background()); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("overwrite racing an overwrite of its partition: %v, want ErrConflict", err)
	}
	if n := count(t, ds); n != 5 {
		t.Fatalf("%d rows, want 5", n)
	}
	// the loser's files are gone
	for e, err := range store(lk).List(context.Background(), db+"/"+table+"/", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Key, ".parquet") && strings.Contains(e.Key, "_g") && !strings.Contains(e.Key, w1Gen(t, ds)) {
			t.Fatalf("the losing attempt left %s", e.Key)
		}
	}
}

// w1Gen returns the generation folder of the newest version's files.
func w1Gen(t *testing.T, ds *zones.Dataset[Row]) string {
	snap, err := ds.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range strings.Split(snap.Files[0].Key, "/") {
		if strings.HasPrefix(seg, "_g") {
			return seg
		}
	}
	return "\x00"
}

func testAbort(t *testing.T, lk *lake.Lake) {
	ctx := context.Background()
	ds := dataset(t, lk)
	wo := &zones.WriterOptions{IdempotencyKey: "job-1"}
	a, b := write(t, ds, rows(0, 10, "d1"), wo), write(t, ds, rows(0, 10, "d1"), wo)
	commit(t, a)
	if err := b.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dataset(t, lk)); n != 10 {
		t.Fatalf("after the other attempt aborted: %d rows, want 10", n)
	}
}

// testRollForward: a committed file still in the staging folder (its
// writer died before moving it) is read from there and moved by the next
// commit.
func testRollForward(t *testing.T, lk *lake.Lake) {
	ctx := context.Background()
	ds := dataset(t, lk)
	commit(t, write(t, ds, rows(0, 10, "d1"), nil))
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := snap.Files[0]
	if f.Staged == "" {
		t.Fatal("an appended file has no staging key")
	}
	if err := store(lk).Move(ctx, f.Key, f.Staged); err != nil { // as if the move never happened
		t.Fatal(err)
	}
	if n := count(t, dataset(t, lk)); n != 10 {
		t.Fatalf("reading a committed, unmoved file: %d rows, want 10", n)
	}
	commit(t, write(t, ds, rows(10, 5, "d2"), nil))
	if ok, err := store(lk).Exists(ctx, f.Key); err != nil || !ok {
		t.Fatalf("the next commit did not move %s into place (%v)", f.Key, err)
	}
	if n := count(t, dataset(t, lk)); n != 15 {
		t.Fatalf("%d rows, want 15", n)
	}
}

func testGap(t *testing.T, lk *lake.Lake) {
	ctx := context.Background()
	ds := dataset(t, lk)
	for i := range 4 {
		commit(t, write(t, ds, rows(int64(i)*10, 10, "d1"), nil))
	}
	for _, v := range []int64{2, 3} { // one version, then a run of two
		if err := store(lk).Delete(ctx, logcodec.CommitKey(db+"/"+table, v)); err != nil {
			t.Fatal(err)
		}
		if _, err := dataset(t, lk).ReadAll(ctx, nil); !errors.Is(err, zones.ErrCorrupt) {
			t.Fatalf("read with version(s) up to %d missing: %v, want ErrCorrupt", v, err)
		}
	}
	if snap, err := dataset(t, lk).Snapshot(ctx, 1); err != nil || snap.Rows() != 10 {
		t.Fatalf("version 1 before the gap: %v", err)
	}
}

func testDamaged(t *testing.T, lk *lake.Lake) {
	ctx := context.Background()
	ds := dataset(t, lk)
	for i := range 3 {
		commit(t, write(t, ds, rows(int64(i)*10, 10, "d1"), nil))
	}
	key := logcodec.CommitKey(db+"/"+table, 2)
	if err := store(lk).PutBytes(ctx, key, []byte("{not json"), nil); err != nil {
		t.Fatal(err)
	}
	_, err := dataset(t, lk).ReadAll(ctx, nil)
	if !errors.Is(err, zones.ErrCorrupt) || !strings.Contains(err.Error(), key) {
		t.Fatalf("read over a damaged entry: %v, want ErrCorrupt naming %s", err, key)
	}
	if snap, err := dataset(t, lk).Snapshot(ctx, 1); err != nil || snap.Rows() != 10 {
		t.Fatalf("version 1 before the damage: %v", err)
	}
}

func testCheckpoint(t *testing.T, lk *lake.Lake) {
	ctx := context.Background()
	ds := dataset(t, lk)
	tb := ds.Table()
	for range zones.CheckpointInterval { // empty commits: only the log grows
		tx, err := tb.Begin(ctx, &zones.TxOptions{PartitionKeys: []string{"day"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, write(t, ds, rows(0, 10, "d1"), nil))
	cp := logcodec.CheckpointKey(db+"/"+table, zones.CheckpointInterval)
	if ok, _ := store(lk).Exists(ctx, cp); !ok {
		t.Fatal("no checkpoint was written")
	}
	if err := store(lk).PutBytes(ctx, cp, []byte("damaged"), nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dataset(t, lk)); n != 10 {
		t.Fatalf("with a damaged checkpoint: %d rows, want 10", n)
	}
	commit(t, write(t, dataset(t, lk), rows(10, 1, "d1"), nil))
	if b, err := store(lk).ReadAll(ctx, db+"/"+table+"/"+logcodec.LastCheckpoint); err != nil || string(b) != fmt.Sprint(zones.CheckpointInterval+2) {
		t.Fatalf("checkpoint hint after the next commit: %q %v", b, err)
	}
}
