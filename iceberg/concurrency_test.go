package iceberg_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
)

// appendsPerWriter scales TestIcebergConcurrentAppendsLocal: 8 writers
// each commit this many appends of one row. The default, 10 (80 commits,
// most of them retried after a conflict), keeps the test near a minute on a
// loaded 2-core machine: every commit rewrites the manifest list and the
// metadata JSON, which grow with the snapshots, so the cost is quadratic in
// the count. The 8 x 100 = 800 is -iceberg.appends=100. The retry
// path is also proven deterministically by TestIcebergCommitConflictRetried.
var appendsPerWriter = flag.Int("iceberg.appends", 10, "appends per writer in TestIcebergConcurrentAppendsLocal (8 writers)")

// racingCatalog runs before, once, just before the first commit that
// goes through it: another writer commits first, so that commit is
// planned on a table that has moved on (a deterministic conflict).
type racingCatalog struct {
	catalog.Catalog
	mu     sync.Mutex
	before func()
	commit int
}

func (r *racingCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	t, err := r.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), t.FS, r), nil
}

func (r *racingCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	r.mu.Lock()
	f := r.before
	r.before = nil
	r.commit++
	r.mu.Unlock()
	if f != nil {
		f()
	}
	return r.Catalog.CommitTable(ctx, ident, reqs, updates)
}

// TestIcebergCommitConflictRetried: an append whose first attempt loses
// the race to another writer's append is planned again on the new state
// (Attempts 2) and both appends' rows are in the table; the same for an
// overwrite, which then replaces the other writer's rows too (it replaces
// what is current when it commits).
func TestIcebergCommitConflictRetried(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ident := []string{"curated", "events"}
	other, err := iceberg.Open[Event](ctx, cat, ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	race := &racingCatalog{Catalog: cat}
	tbl, err := iceberg.Open[Event](ctx, race, ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	theirs := events(0, 3, "a")
	race.before = func() {
		if _, err := other.Append(ctx, theirs); err != nil {
			t.Error(err)
		}
	}
	ours := events(3, 2, "b")
	c, err := tbl.Append(ctx, ours)
	if err != nil {
		t.Fatal(err)
	}
	if c.Attempts != 2 || race.commit != 2 {
		t.Errorf("append that lost a race: %d attempts, %d catalog commits; want 2 and 2", c.Attempts, race.commit)
	}
	if diff := cmp.Diff(sortByID(append(theirs, ours...)), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the race (-want +got):\n%s", diff)
	}

	late := events(50, 2, "c")
	race.before = func() {
		if _, err := other.Append(ctx, late); err != nil {
			t.Error(err)
		}
	}
	race.commit = 0
	repl := events(90, 1, "z")
	c, err = tbl.Overwrite(ctx, repl)
	if err != nil {
		t.Fatal(err)
	}
	if c.Attempts != 2 {
		t.Errorf("overwrite that lost a race: %d attempts, want 2", c.Attempts)
	}
	if diff := cmp.Diff(repl, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the overwrite (-want +got):\n%s", diff)
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 4 {
		t.Errorf("%d snapshots, want 4 (append, append, append, overwrite)", len(snaps))
	}
}

// runConcurrentAppends has writers goroutines each append perWriter
// one-row batches through its own Table handle, then checks that every
// row is there exactly once, one snapshot per commit, and that iceberg-go's
// scan agrees. It returns the commits that needed more than one attempt.
func runConcurrentAppends(t *testing.T, cat catalog.Catalog, ident []string, opts *iceberg.Options, writers, perWriter int) int {
	t.Helper()
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		retried int
		want    []Event
	)
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		tbl, err := iceberg.Open[Event](ctx, cat, ident, opts)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				rows := events(w*perWriter+i, 1, fmt.Sprintf("w%d", w))
				c, err := tbl.Append(ctx, rows)
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				mu.Lock()
				want = append(want, rows...)
				if c.Attempts > 1 {
					retried++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	tbl, err := iceberg.Open[Event](ctx, cat, ident, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, tbl, nil)
	if len(got) != writers*perWriter {
		t.Errorf("read %d rows, want %d/%d", len(got), writers*perWriter, writers*perWriter)
	}
	if diff := cmp.Diff(sortByID(want), got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != writers*perWriter {
		t.Errorf("%d snapshots, want %d", len(snaps), writers*perWriter)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys(want), scanIDs(tbl.Context(ctx), t, it, it.CurrentSnapshot().SnapshotID)); diff != "" {
		t.Errorf("iceberg-go scan (-want +got):\n%s", diff)
	}
	t.Logf("%d writers x %d appends: %d/%d rows, %d snapshots, %d commits retried after a conflict",
		writers, perWriter, len(got), writers*perWriter, len(snaps), retried)
	return retried
}

// TestIcebergConcurrentAppendsLocal: 8 writers x -iceberg.appends appends
// on the local catalog end with every row there exactly once (8 x 100 =
// 800/800 with -iceberg.appends=100).
func TestIcebergConcurrentAppendsLocal(t *testing.T) {
	if *appendsPerWriter < 1 {
		t.Fatalf("-iceberg.appends=%d: want at least 1", *appendsPerWriter)
	}
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	runConcurrentAppends(t, cat, []string{"curated", "events"}, nil, 8, *appendsPerWriter)
}

// claimingCatalog answers the first CreateTable as the hadoop catalog does
// while another writer holds the claim on version 1 but has not yet put
// its metadata file in place: "already exists", with no table to load
// yet. That writer finishes the create a little later.
type claimingCatalog struct {
	catalog.Catalog
	once sync.Once
	held sync.Mutex // held while the other writer's create runs
	done chan error
}

func (c *claimingCatalog) CreateTable(ctx context.Context, ident table.Identifier, sc *ice.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	c.once.Do(func() {
		c.held.Lock()
		go func() {
			defer c.held.Unlock()
			time.Sleep(50 * time.Millisecond)
			_, err := c.Catalog.CreateTable(context.Background(), ident, sc, opts...)
			c.done <- err
		}()
	})
	if !c.held.TryLock() {
		return nil, fmt.Errorf("%w: metadata version already claimed for table %v", catalog.ErrTableAlreadyExists, ident)
	}
	defer c.held.Unlock()
	return c.Catalog.CreateTable(ctx, ident, sc, opts...)
}

// TestIcebergOpenWaitsForConcurrentCreate: an Open that loses the race to
// create a new table, while the winner is between claiming version 1 and
// writing it, waits for the winner and opens its table instead of failing
// with "table does not exist" (a flake of the concurrent-writers test).
func TestIcebergOpenWaitsForConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	local, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cat := &claimingCatalog{Catalog: local, done: make(chan error, 1)}
	tbl, err := iceberg.Open[Event](ctx, cat, []string{"db", "events"}, nil)
	if err != nil {
		t.Fatalf("Open racing a create in progress: %v", err)
	}
	if err := <-cat.done; err != nil {
		t.Fatalf("the other writer's create: %v", err)
	}
	if _, err := tbl.Append(ctx, events(0, 3, "2026-01-01")); err != nil {
		t.Fatal(err)
	}
}

// TestIcebergConcurrentOpenOfNewTable: 8 Opens of each of 10 new tables
// at once all succeed on the local (hadoop) catalog, whose create claims
// version 1 before it writes it.
func TestIcebergConcurrentOpenOfNewTable(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for tb := 0; tb < 10; tb++ {
		for o := 0; o < 8; o++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := iceberg.Open[Event](ctx, cat, []string{"db", fmt.Sprintf("t%d", tb)}, nil); err != nil {
					errs <- fmt.Errorf("table t%d, opener %d: %w", tb, o, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
