package zones_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

var long = flag.Bool("long", false, "run the acceptance sizes (1,000,000-row round trips on every store)")

// event is the acceptance test's 6-column row (int64, timestamp µs, string,
// float64, low-cardinality string, ~60-char string) plus its partition.
type event struct {
	ID     int64     `parquet:"id"`
	At     time.Time `parquet:"at"`
	User   string    `parquet:"user"`
	Amount float64   `parquet:"amount"`
	Kind   string    `parquet:"kind"`
	Note   string    `parquet:"note"`
	Bucket string    `parquet:"bucket" lakekit:"partition"`
}

var kinds = []string{"click", "view", "buy", "refund", "signup"}

const noteAlphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func makeEvent(i int64, partitions int) event {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var note [60]byte
	x := uint64(i)*2654435761 + 12345
	for j := range note {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		note[j] = noteAlphabet[x%uint64(len(noteAlphabet))]
	}
	return event{
		ID:     i,
		At:     base.Add(time.Duration(i) * 1500 * time.Microsecond),
		User:   fmt.Sprintf("user-%06d", (i*7919)%100000),
		Amount: float64(i%10000) / 100,
		Kind:   kinds[i%int64(len(kinds))],
		Note:   string(note[:]),
		Bucket: fmt.Sprintf("b%03d", i%int64(partitions)),
	}
}

func makeEvents(from, n int64, partitions int) []event {
	out := make([]event, n)
	for i := range out {
		out[i] = makeEvent(from+int64(i), partitions)
	}
	return out
}

// memLake opens a fresh in-memory lake.
func memLake(t testing.TB) *lake.Lake {
	t.Helper()
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

// fileLake opens a lake in dir (a new temp dir when empty).
func fileLake(t testing.TB, dir string) *lake.Lake {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	lk, err := lake.Open(context.Background(), "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

// s3Lake opens a lake on gofakes3 served on loopback.
func s3Lake(t testing.TB) *lake.Lake {
	t.Helper()
	fake := testaws.StartFakeS3(t)
	st, err := s3store.OpenStore(context.Background(), fake.Config(t), "lake", "prefix", nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

func newEvents(t testing.TB, lk *lake.Lake, opts *zones.Options[event]) *zones.Dataset[event] {
	t.Helper()
	ds, err := zones.NewDataset[event](lk, lake.Curated, "sales", "events", opts)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// writeCommit writes rows in batches and commits them.
func writeCommit(t testing.TB, ds *zones.Dataset[event], rows []event, wo *zones.WriterOptions) *zones.CommitResult {
	t.Helper()
	ctx := context.Background()
	w, err := ds.NewWriter(ctx, wo)
	if err != nil {
		t.Fatal(err)
	}
	for len(rows) > 0 {
		n := min(len(rows), 10000)
		if err := w.Write(ctx, rows[:n]); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readAll(t testing.TB, ds *zones.Dataset[event], ro *zones.ReadOptions) []event {
	t.Helper()
	rows, err := ds.ReadAll(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	sortEvents(rows)
	return rows
}

func sortEvents(rows []event) {
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
}

func TestRoundTrip(t *testing.T) {
	n := int64(200_000)
	if *long {
		n = 1_000_000
	}
	stores := []struct {
		name string
		open func(testing.TB) *lake.Lake
	}{
		{"mem", memLake},
		{"file", func(t testing.TB) *lake.Lake { return fileLake(t, "") }},
		{"s3", s3Lake},
	}
	want := makeEvents(0, n, 100)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ds := newEvents(t, s.open(t), nil)
			var last atomic.Value
			ds2 := newEvents(t, lakeOf(ds), &zones.Options[event]{Progress: func(p zones.Progress) { last.Store(p) }})
			res := writeCommit(t, ds2, want, nil)
			if res.Version != 1 || res.Rows != n || len(res.Partitions) != 100 {
				t.Fatalf("commit: version %d rows %d partitions %d, want 1, %d, 100", res.Version, res.Rows, len(res.Partitions), n)
			}
			p := last.Load().(zones.Progress)
			if p.Rows != n || p.Files != int64(len(res.Files)) || p.Bytes != res.Bytes {
				t.Errorf("last progress %+v, want rows %d files %d bytes %d", p, n, len(res.Files), res.Bytes)
			}
			got := readAll(t, ds, nil)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("read back differs (-want +got):\n%.2000s", diff)
			}
			snap, err := ds.Snapshot(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Rows() != n || len(snap.Partitions()) != 100 {
				t.Errorf("snapshot: %d rows in %d partitions", snap.Rows(), len(snap.Partitions()))
			}
			for _, f := range snap.Files {
				if !strings.HasPrefix(f.Key, "sales/events/bucket=b") || !strings.Contains(f.Key, "/part-") {
					t.Fatalf("file key %q is not in the Hive layout", f.Key)
				}
			}
		})
	}
}

func lakeOf[T any](ds *zones.Dataset[T]) *lake.Lake { return ds.Table().Zone().Lake() }

// countingDriver counts calls per method and can fail chosen calls.
type countingDriver struct {
	driver.Driver
	gets, puts, lists atomic.Int64
	// failPut, when set, decides whether a put fails (before or after it
	// reaches the store).
	failPut func(key string, opts *driver.PutOptions) (before, after error)
}

func (c *countingDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	c.puts.Add(1)
	if c.failPut != nil {
		before, after := c.failPut(key, opts)
		if before != nil {
			return before
		}
		if err := c.Driver.Put(ctx, key, body, size, opts); err != nil {
			return err
		}
		return after
	}
	return c.Driver.Put(ctx, key, body, size, opts)
}

func (c *countingDriver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	c.gets.Add(1)
	return c.Driver.Get(ctx, key, off, length)
}

func (c *countingDriver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	c.lists.Add(1)
	return c.Driver.List(ctx, opts)
}

func countingLake(t testing.TB, d driver.Driver) (*lake.Lake, *countingDriver) {
	t.Helper()
	cd := &countingDriver{Driver: d}
	lk, err := lake.New(lake.NewStore(cd), nil)
	if err != nil {
		t.Fatal(err)
	}
	return lk, cd
}

func TestAtomicityPollingReader(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 7, InMemoryBuffers: true})
	// commit i adds 20+i rows over several partitions and files
	sums := map[int64]bool{0: true}
	var total int64
	sizes := make([]int64, 50)
	for i := range sizes {
		sizes[i] = int64(20 + i)
		total += sizes[i]
		sums[total] = true
	}
	reader := newEvents(t, lk, nil)
	done := make(chan struct{})
	var fullReads, snapshots atomic.Int64
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	poll := func(full bool) {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			var n int64
			var err error
			if full { // read every row of the snapshot
				err = reader.ReadBatches(ctx, nil, func(rows []event) error { n += int64(len(rows)); return nil })
			} else { // the snapshot's own row count
				var snap *zones.Snapshot
				if snap, err = reader.Snapshot(ctx, 0); err == nil {
					n = snap.Rows()
				}
			}
			if errors.Is(err, zones.ErrNoSuchTable) {
				continue
			}
			if err != nil {
				t.Error(err)
				return
			}
			if full {
				fullReads.Add(1)
				time.Sleep(5 * time.Millisecond)
			} else {
				snapshots.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
			if !sums[n] {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%d (full read %v)", n, full))
				mu.Unlock()
			}
		}
	}
	wg.Add(2)
	go poll(true)
	go poll(false)
	var next int64
	for i, n := range sizes {
		res := writeCommit(t, ds, makeEvents(next, n, 5), nil)
		next += n
		time.Sleep(10 * time.Millisecond)
		if len(res.Files) < 3 {
			t.Fatalf("commit %d wrote %d files; the test needs multi-file commits", i, len(res.Files))
		}
	}
	close(done)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("reader saw row counts that are not sums of whole commits: %v", bad)
	}
	if fullReads.Load() < 3 || snapshots.Load() < 50 {
		t.Fatalf("readers completed only %d full reads and %d snapshots during the commits", fullReads.Load(), snapshots.Load())
	}
	if got := readAll(t, reader, nil); int64(len(got)) != total {
		t.Fatalf("final read: %d rows, want %d", len(got), total)
	}
	t.Logf("%d full reads and %d snapshots during 50 commits, all whole", fullReads.Load(), snapshots.Load())
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const writers, commits, perCommit = 8, 25, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// each writer has its own lake and dataset, as separate services would
			lk := fileLake(t, dir)
			ds, err := zones.NewDataset[event](lk, lake.Curated, "sales", "events", &zones.Options[event]{InMemoryBuffers: true})
			if err != nil {
				errs <- err
				return
			}
			for c := 0; c < commits; c++ {
				from := int64((g*commits + c) * perCommit)
				w, err := ds.NewWriter(ctx, nil)
				if err == nil {
					err = w.Write(ctx, makeEvents(from, perCommit, 3))
				}
				if err == nil {
					_, err = w.Commit(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d commit %d: %w", g, c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkExactlyOnce(t, fileLake(t, dir), writers*commits, writers*commits*perCommit)
}

// checkExactlyOnce checks that the table has commits versions and IDs 0..rows-1 once each.
func checkExactlyOnce(t *testing.T, lk *lake.Lake, commits, rows int) {
	t.Helper()
	ds := newEvents(t, lk, nil)
	snap, err := ds.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version != int64(commits) {
		t.Errorf("table at version %d, want %d", snap.Version, commits)
	}
	got := readAll(t, ds, nil)
	if len(got) != rows {
		t.Errorf("%d rows, want %d", len(got), rows)
	}
	for i, e := range got {
		if e.ID != int64(i) {
			t.Fatalf("row %d has ID %d: rows lost or duplicated", i, e.ID)
		}
	}
	hist, err := ds.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, c := range hist {
		if keys[c.IdempotencyKey] {
			t.Fatalf("idempotency key %q committed twice", c.IdempotencyKey)
		}
		keys[c.IdempotencyKey] = true
	}
}

// The child processes of the multi-process tests run through TestMain.
func TestMain(m *testing.M) {
	switch os.Getenv("ZONES_CHILD") {
	case "":
		os.Exit(m.Run())
	case "append":
		os.Exit(childAppend())
	case "crash":
		os.Exit(childCrash())
	case "rss":
		os.Exit(childRSS())
	default:
		fmt.Fprintln(os.Stderr, "unknown ZONES_CHILD", os.Getenv("ZONES_CHILD"))
		os.Exit(2)
	}
}

func childAppend() int {
	ctx := context.Background()
	var g, commits, per int
	fmt.Sscan(os.Getenv("ZONES_ARGS"), &g, &commits, &per)
	lk, err := lake.Open(ctx, "file://"+os.Getenv("ZONES_DIR"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ds, err := zones.NewDataset[event](lk, lake.Curated, "sales", "events", &zones.Options[event]{InMemoryBuffers: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for c := 0; c < commits; c++ {
		from := int64((g*commits + c) * per)
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{Caller: fmt.Sprintf("process-%d", g)})
		if err == nil {
			err = w.Write(ctx, makeEvents(from, int64(per), 3))
		}
		if err == nil {
			_, err = w.Commit(ctx)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs, commits, per = 4, 25, 10
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]error, procs)
	for g := 0; g < procs; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := child(t, "append", dir, fmt.Sprint(g, " ", commits, " ", per)).CombinedOutput()
			outs[g], errs[g] = string(out), err
		}()
	}
	wg.Wait()
	for g := range errs {
		if errs[g] != nil {
			t.Fatalf("process %d: %v\n%s", g, errs[g], outs[g])
		}
	}
	checkExactlyOnce(t, fileLake(t, dir), procs*commits, procs*commits*per)
	hist, err := newEvents(t, fileLake(t, dir), nil).History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]bool{}
	for _, c := range hist {
		pids[c.Audit.PID] = true
		if c.Audit.Host == "" || !strings.HasPrefix(c.Audit.Caller, "process-") {
			t.Fatalf("commit %d audit record incomplete: %+v", c.Version, c.Audit)
		}
	}
	if len(pids) != procs {
		t.Errorf("commits came from %d pids, want %d", len(pids), procs)
	}
}

func childEnv(mode, dir, args string) []string {
	return append(os.Environ(), "ZONES_CHILD="+mode, "ZONES_DIR="+dir, "ZONES_ARGS="+args)
}

func TestRetrySameIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// fail the first commit-log create before it reaches the store, or
		// after it did (the caller sees an error, the commit exists)
		after bool
	}{{"lost request", false}, {"lost response", true}} {
		t.Run(tc.name, func(t *testing.T) {
			lk, cd := countingLake(t, memstore.New())
			var armed atomic.Bool
			injected := errors.New("injected network failure")
			cd.failPut = func(key string, opts *driver.PutOptions) (error, error) {
				if opts != nil && opts.IfNotExists && strings.Contains(key, "/_lakekit/log/") && armed.Swap(false) {
					if tc.after {
						return nil, injected
					}
					return injected, nil
				}
				return nil, nil
			}
			ds := newEvents(t, lk, &zones.Options[event]{MaxRowsPerFile: 300})
			writeCommit(t, ds, makeEvents(0, 500, 4), nil) // version 1, before the fault
			armed.Store(true)
			rows := makeEvents(500, 1000, 4)
			key := "batch-2024-01-01"
			w, err := ds.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: key})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(ctx, rows); err != nil {
				t.Fatal(err)
			}
			// The log put failed: Commit reads the version to find out
			// whether it landed (lost response) or writes it again (lost
			// request); either way the answer is definite: committed.
			first, err := w.Commit(ctx)
			if err != nil || first.Version != 2 || first.Duplicate || first.Rows != 1000 {
				t.Fatalf("first commit: %+v %v, want version 2 committed", first, err)
			}
			// an application that retries anyway, with the same key, gets
			// the first commit back
			res := writeCommit(t, ds, rows, &zones.WriterOptions{IdempotencyKey: key})
			if res.Version != 2 || res.Rows != 1000 || !res.Duplicate {
				t.Fatalf("retry: version %d rows %d duplicate %v", res.Version, res.Rows, res.Duplicate)
			}
			// a third attempt with the key is a duplicate too
			again := writeCommit(t, ds, rows, &zones.WriterOptions{IdempotencyKey: key})
			if !again.Duplicate || again.Version != 2 {
				t.Errorf("repeat: %+v", again)
			}
			got := readAll(t, newEvents(t, lk, nil), nil)
			if len(got) != 1500 {
				t.Fatalf("%d rows, want 1500", len(got))
			}
			for i, e := range got {
				if e.ID != int64(i) {
					t.Fatalf("row %d has ID %d: a row is missing or duplicated", i, e.ID)
				}
			}
			// the retry uploaded nothing: no extra parquet objects
			var objs int
			for e, err := range lk.MustZone(lake.Curated).Store().List(ctx, "sales/events/", nil) {
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(e.Key, ".parquet") {
					objs++
				}
			}
			snap, _ := ds.Snapshot(ctx, 0)
			if objs != len(snap.Files) {
				t.Errorf("%d parquet objects for %d live files: the retry made copies", objs, len(snap.Files))
			}
		})
	}
}

// child returns a command re-running this test binary in a child mode.
func child(t testing.TB, mode, dir, args string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = childEnv(mode, dir, args)
	return cmd
}

func TestCheckpointsBoundOpeningCost(t *testing.T) {
	ctx := context.Background()
	commits := 10_000
	if testing.Short() {
		commits = 1_000
	}
	mem := memstore.New()
	lk, _ := countingLake(t, mem)
	ds := newEvents(t, lk, nil)
	for i := 0; i < commits; i++ {
		w, err := ds.NewWriter(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 { // some commits carry data
			if err := w.Write(ctx, makeEvents(int64(i), 3, 2)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// a fresh process opening the table
	lk2, cd := countingLake(t, mem)
	ds2 := newEvents(t, lk2, nil)
	snap, err := ds2.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version != int64(commits) {
		t.Fatalf("version %d, want %d", snap.Version, commits)
	}
	if g, l := cd.gets.Load(), cd.lists.Load(); g > 4 || l > 0 {
		t.Fatalf("opening a table with %d commits took %d gets and %d lists; want ≤ 4 and 0", commits, g, l)
	}
	t.Logf("opening a table with %d commits: %d gets, %d lists", commits, cd.gets.Load(), cd.lists.Load())
	if got := readAll(t, ds2, nil); len(got) != 3*((commits+999)/1000) {
		t.Fatalf("%d rows", len(got))
	}
	// time travel to an old version reads its checkpoint and a few commits
	cd.gets.Store(0)
	tt := int64(commits)/10 + 34 // 34 commits past a checkpoint
	old, err := ds2.Snapshot(ctx, tt)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * ((tt-1)/1000 + 1); old.Version != tt || old.Rows() != want {
		t.Fatalf("version %d: got version %d with %d rows, want %d rows", tt, old.Version, old.Rows(), want)
	}
	if g := cd.gets.Load(); g > 40 {
		t.Fatalf("time travel to %d took %d gets", tt, g)
	}
	// without the hint, the checkpoint directory is listed once
	if err := lk2.MustZone(lake.Curated).Store().Delete(ctx, "sales/events/_lakekit/_last_checkpoint"); err != nil {
		t.Fatal(err)
	}
	lk3, cd3 := countingLake(t, mem)
	if snap, err := newEvents(t, lk3, nil).Snapshot(ctx, 0); err != nil || snap.Version != int64(commits) {
		t.Fatalf("without hint: %v %v", snap, err)
	}
	if g, l := cd3.gets.Load(), cd3.lists.Load(); g > 4 || l != 1 {
		t.Fatalf("without hint: %d gets, %d lists", g, l)
	}
}

func TestOverwritePartitionsAndVacuum(t *testing.T) {
	ctx := context.Background()
	lk := fileLake(t, "")
	ds := newEvents(t, lk, nil)
	v1 := writeCommit(t, ds, makeEvents(0, 300, 3), nil) // b000 b001 b002
	// replace b001 only
	repl := makeEvents(1000, 50, 3)
	var only []event
	for _, e := range repl {
		if e.Bucket == "b001" {
			only = append(only, e)
		}
	}
	v2 := writeCommit(t, ds, only, &zones.WriterOptions{Mode: zones.OverwritePartitions, Metadata: map[string]string{"reason": "restatement"}})
	if len(v2.Removed) == 0 {
		t.Fatal("overwrite removed nothing")
	}
	for _, f := range v2.Files {
		if !strings.Contains(f.Key, "/_g2-") {
			t.Fatalf("overwritten partition written to %s, not outside its old location", f.Key)
		}
	}
	got := readAll(t, ds, nil)
	var want []event
	for _, e := range makeEvents(0, 300, 3) {
		if e.Bucket != "b001" {
			want = append(want, e)
		}
	}
	want = append(want, only...)
	sortEvents(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after overwrite (-want +got):\n%.2000s", diff)
	}
	// an append to b001 goes to its new location
	v3 := writeCommit(t, ds, []event{makeEvent(5001, 3)}, nil) // 5001 % 3 == 0 → b000
	b1 := makeEvent(5002, 3)
	b1.Bucket = "b001"
	v4 := writeCommit(t, ds, []event{b1}, nil)
	if !strings.Contains(v4.Files[0].Key, "/_g2-") || strings.Contains(v3.Files[0].Key, "/_g") {
		t.Fatalf("appends went to %s and %s", v3.Files[0].Key, v4.Files[0].Key)
	}
	// time travel: version 1 still reads the old b001
	old := readAll(t, ds, &zones.ReadOptions{Version: 1})
	if diff := cmp.Diff(makeEvents(0, 300, 3), old); diff != "" {
		t.Fatalf("version 1 (-want +got):\n%.2000s", diff)
	}
	if v1.Version != 1 {
		t.Fatal(v1.Version)
	}
	hist, err := ds.History(ctx)
	if err != nil || len(hist) != 4 || hist[1].Metadata["reason"] != "restatement" || hist[1].Mode != zones.OverwritePartitions {
		t.Fatalf("history: %v %+v", err, hist)
	}
	// vacuum keeps the replaced files within the retention, deletes them after
	res, err := ds.Vacuum(ctx, time.Hour)
	if err != nil || len(res.Deleted) != 0 || res.Kept != len(v2.Removed) {
		t.Fatalf("vacuum within retention: %+v %v", res, err)
	}
	time.Sleep(20 * time.Millisecond)
	res, err = ds.Vacuum(ctx, 10*time.Millisecond)
	if err != nil || len(res.Deleted) != len(v2.Removed) {
		t.Fatalf("vacuum past retention: %+v %v", res, err)
	}
	for _, f := range v2.Removed {
		if ok, _ := lk.MustZone(lake.Curated).Store().Exists(ctx, f.Key); ok {
			t.Fatalf("replaced file %s survived vacuum", f.Key)
		}
	}
	if got2 := readAll(t, ds, nil); len(got2) != len(got)+2 {
		t.Fatalf("after vacuum %d rows, want %d", len(got2), len(got)+2)
	}
}

func TestConflictingOverwrites(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, nil)
	writeCommit(t, ds, makeEvents(0, 100, 2), nil)
	start := func(mode zones.Mode, rows []event) *zones.Writer[event] {
		w, err := newEvents(t, lk, nil).NewWriter(ctx, &zones.WriterOptions{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		return w
	}
	b0 := []event{makeEvent(1000, 2)} // b000
	b1 := []event{makeEvent(1001, 2)} // b001
	w1 := start(zones.OverwritePartitions, b0)
	w2 := start(zones.OverwritePartitions, b0)
	w3 := start(zones.OverwritePartitions, b1) // other partition: no conflict
	w4 := start(zones.Append, b1)              // append elsewhere: rebased
	w5 := start(zones.Append, b0)              // append into the partition w1 moves
	if _, err := w1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("second overwrite of b000: %v, want ErrConflict", err)
	}
	if _, err := w3.Commit(ctx); err != nil {
		t.Fatalf("overwrite of b001: %v", err)
	}
	if res, err := w4.Commit(ctx); err == nil {
		t.Fatalf("append into b001 after it was overwritten concurrently: %+v, want ErrConflict", res)
	} else if !errors.Is(err, zones.ErrConflict) {
		t.Fatal(err)
	}
	if _, err := w5.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("append into moved b000: %v, want ErrConflict", err)
	}
	w6 := start(zones.Overwrite, b0)
	w7 := start(zones.Append, b1)
	if _, err := w7.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w6.Commit(ctx); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("whole-table overwrite after a concurrent append: %v, want ErrConflict", err)
	}
	got := readAll(t, ds, nil)
	want := append(append([]event{}, b0...), b1...)
	want = append(want, b1...)
	sortEvents(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("table after the races (-want +got):\n%s", diff)
	}
	// a whole-table overwrite replaces everything, dropping other partitions
	res := writeCommit(t, ds, b0, &zones.WriterOptions{Mode: zones.Overwrite})
	if got := readAll(t, ds, nil); !cmp.Equal(got, b0) || len(res.Commit.Dropped) != 1 {
		t.Fatalf("after overwrite: %v dropped %v", got, res.Commit.Dropped)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	lk := memLake(t)
	ds := newEvents(t, lk, nil)
	writeCommit(t, ds, makeEvents(0, 10, 2), nil)
	unchanged := func(t *testing.T) {
		t.Helper()
		snap, err := ds.Snapshot(ctx, 0)
		if err != nil || snap.Version != 1 || snap.Rows() != 10 {
			t.Fatalf("table changed: %+v %v", snap, err)
		}
		n := 0
		for e, err := range lk.MustZone(lake.Curated).Store().List(ctx, "sales/events/", nil) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(e.Key, ".parquet") {
				n++
			}
		}
		if n != len(snap.Files) {
			t.Fatalf("%d parquet objects for %d files: bad input wrote data", n, len(snap.Files))
		}
	}
	rowsWith := func(bucket string) []event {
		rows := makeEvents(100, 5, 2)
		rows[3].Bucket = bucket
		return rows
	}
	for _, tc := range []struct {
		name string
		rows []event
		want string
	}{
		{"empty partition value", rowsWith(""), "must not be empty"},
		{"control character", rowsWith("eu\nrm -rf"), "control characters"},
		{"NUL", rowsWith("a\x00b"), "control characters"},
		{"too long", rowsWith(strings.Repeat("x", 300)), "at most 256 bytes"},
		{"invalid UTF-8", rowsWith("\xff\xfe"), "UTF-8"},
		{"nil slice", nil, "nil rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ds.NewWriter(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(ctx, tc.rows)
			if !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v, want ErrInvalid mentioning %q", err, tc.want)
			}
			if tc.rows != nil && !strings.Contains(err.Error(), "row 3") {
				t.Errorf("error does not name the row: %v", err)
			}
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			unchanged(t)
		})
	}
	t.Run("hostile values stay inside the table", func(t *testing.T) {
		w, _ := ds.NewWriter(ctx, nil)
		if err := w.Write(ctx, rowsWith("../../etc/passwd")); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		unchanged(t)
		// committed, the value is escaped into one path segment and reads back as is
		other := newEvents(t, memLake(t), nil)
		res := writeCommit(t, other, rowsWith("../../etc/passwd"), nil)
		for _, f := range res.Files {
			if !strings.HasPrefix(f.Key, "sales/events/bucket=") || strings.Count(f.Key, "/") != 3 {
				t.Fatalf("file %s escaped its partition directory", f.Key)
			}
		}
		if got := readAll(t, other, &zones.ReadOptions{Partitions: zones.PartitionIn("bucket", "../../etc/passwd")}); len(got) != 1 || got[0].Bucket != "../../etc/passwd" {
			t.Fatalf("read back %+v", got)
		}
		// a value that looks like a partition path is just a value
		look := makeEvents(500, 2, 1)
		look[0].Bucket, look[1].Bucket = "bucket=b001", "b001"
		fresh := newEvents(t, memLake(t), nil)
		writeCommit(t, fresh, look, nil)
		for _, b := range []string{"bucket=b001", "b001"} {
			got := readAll(t, fresh, &zones.ReadOptions{Partitions: zones.PartitionIn("bucket", b)})
			if len(got) != 1 || got[0].Bucket != b {
				t.Fatalf("partition %q holds %+v", b, got)
			}
		}
	})
	t.Run("write and commit after commit", func(t *testing.T) {
		w, _ := ds.NewWriter(ctx, nil)
		w.Write(ctx, makeEvents(200, 1, 2))
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, makeEvents(300, 1, 2)); !errors.Is(err, zones.ErrWriterClosed) {
			t.Fatalf("Write after Commit: %v", err)
		}
		if _, err := w.Commit(ctx); !errors.Is(err, zones.ErrWriterClosed) {
			t.Fatalf("Commit after Commit: %v", err)
		}
		if err := w.Abort(ctx); !errors.Is(err, zones.ErrWriterClosed) {
			t.Fatalf("Abort after Commit: %v", err)
		}
		w2, _ := ds.NewWriter(ctx, nil)
		w2.Abort(ctx)
		if _, err := w2.Commit(ctx); !errors.Is(err, zones.ErrWriterClosed) {
			t.Fatalf("Commit after Abort: %v", err)
		}
	})
	t.Run("types whose tags don't parse", func(t *testing.T) {
		type badTimestamp struct {
			At time.Time `parquet:"at,timestamp(micros)"`
		}
		type localTimestamp struct {
			At time.Time `parquet:"at,timestamp(microsecond:local)"`
		}
		type badLakekit struct {
			ID int64 `parquet:"id" lakekit:"partitoin"`
		}
		type upper struct {
			ID int64 // column "ID" breaks the naming rule
		}
		type badEnc struct {
			ID int64 `parquet:"id,delta,snappy,bogus"`
		}
		check := func(name string, err error) {
			if !errors.Is(err, zones.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			} else {
				t.Logf("%s: %v", name, err)
			}
		}
		_, err := zones.NewDataset[badTimestamp](lk, lake.Curated, "sales", "x", nil)
		check("timestamp(micros)", err)
		_, err = zones.NewDataset[localTimestamp](lk, lake.Curated, "sales", "x", nil)
		check("timestamp local", err)
		_, err = zones.NewDataset[badLakekit](lk, lake.Curated, "sales", "x", nil)
		check("lakekit tag", err)
		_, err = zones.NewDataset[upper](lk, lake.Curated, "sales", "x", nil)
		check("upper-case column", err)
		_, err = zones.NewDataset[badEnc](lk, lake.Curated, "sales", "x", nil)
		check("unknown parquet option", err)
		_, err = zones.NewDataset[int](lk, lake.Curated, "sales", "x", nil)
		check("not a struct", err)
	})
	t.Run("invalid names", func(t *testing.T) {
		for _, n := range [][3]string{{"curated", "Sales", "t"}, {"curated", "sales", "a-b"}, {"curated", "sales", ""}, {"nozone", "sales", "t"}, {"curated", "../x", "t"}} {
			if _, err := zones.NewDataset[event](lk, lake.ZoneName(n[0]), n[1], n[2], nil); !errors.Is(err, zones.ErrInvalid) || !errors.Is(err, lake.ErrInvalidName) {
				t.Errorf("%v: %v, want ErrInvalid and lake.ErrInvalidName", n, err)
			}
		}
	})
	t.Run("bad read options", func(t *testing.T) {
		for _, ro := range []*zones.ReadOptions{
			{Columns: []string{"nope"}},
			{Where: []zones.Predicate{zones.Eq("nope", 1)}},
			{Where: []zones.Predicate{zones.Eq("id", "text")}},
			{Where: []zones.Predicate{zones.In("id")}},
		} {
			if _, err := ds.ReadAll(ctx, ro); !errors.Is(err, zones.ErrInvalid) {
				t.Errorf("%+v: %v", ro, err)
			}
		}
		if _, err := ds.ReadAll(ctx, &zones.ReadOptions{Version: 99}); !errors.Is(err, zones.ErrNoSuchVersion) {
			t.Errorf("version 99: %v", err)
		}
	})
}

func TestReadPruningAndProjection(t *testing.T) {
	ctx := context.Background()
	lk, cd := countingLake(t, memstore.New())
	ds := newEvents(t, lk, &zones.Options[event]{RowGroupSize: 1000})
	all := makeEvents(0, 20_000, 4)
	// IDs ascend within files: row groups have narrow id ranges
	writeCommit(t, ds, all, nil)
	snap, _ := ds.Snapshot(ctx, 0)

	cd.gets.Store(0)
	got := readAll(t, ds, &zones.ReadOptions{Where: []zones.Predicate{zones.Ge("id", 5000), zones.Lt("id", 5100)}})
	if len(got) != 100 || got[0].ID != 5000 || got[99].ID != 5099 {
		t.Fatalf("id range: %d rows", len(got))
	}
	t.Logf("id range read: %d gets for %d files", cd.gets.Load(), len(snap.Files))

	// partition pruning opens only that partition's files and never lists
	cd.gets.Store(0)
	cd.lists.Store(0)
	got = readAll(t, ds, &zones.ReadOptions{Partitions: zones.PartitionIn("bucket", "b002")})
	if len(got) != 5000 {
		t.Fatalf("partition b002: %d rows", len(got))
	}
	for _, e := range got {
		if e.Bucket != "b002" {
			t.Fatalf("row of %s", e.Bucket)
		}
	}
	if cd.lists.Load() != 0 {
		t.Errorf("partition pruning listed the store")
	}
	got2 := readAll(t, ds, &zones.ReadOptions{Where: []zones.Predicate{zones.Eq("bucket", "b002")}})
	if !cmp.Equal(got, got2) {
		t.Errorf("Where on the partition column differs from Partitions")
	}
	files, _ := ds.Files(ctx, &zones.ReadOptions{Where: []zones.Predicate{zones.In("bucket", "b001", "b003")}})
	for _, f := range files {
		if b, _ := f.Partition.Get("bucket"); b != "b001" && b != "b003" {
			t.Fatalf("Files kept %s", f.Key)
		}
	}
	// statistics prune whole files
	files, _ = ds.Files(ctx, &zones.ReadOptions{Where: []zones.Predicate{zones.Gt("id", 1_000_000)}})
	if len(files) != 0 {
		t.Errorf("%d files may hold id > 1e6", len(files))
	}
	// timestamp predicates
	at := all[777].At
	got = readAll(t, ds, &zones.ReadOptions{Where: []zones.Predicate{zones.Eq("at", at)}})
	if len(got) != 1 || got[0].ID != 777 {
		t.Fatalf("at = %v: %v", at, got)
	}
	// projection: other columns stay zero, partition column filled on request
	got = readAll(t, ds, &zones.ReadOptions{Columns: []string{"id", "kind"}, Where: []zones.Predicate{zones.Lt("id", 3)}})
	want := []event{{ID: 0, Kind: kinds[0]}, {ID: 1, Kind: kinds[1]}, {ID: 2, Kind: kinds[2]}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("projection (-want +got):\n%s", diff)
	}
	// early stop of the iterator
	n := 0
	for _, err := range ds.Read(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 10 {
			break
		}
	}
}

func TestPartitionByFunctionAndProgressAndCatalogSchema(t *testing.T) {
	ctx := context.Background()
	type reading struct {
		Sensor string    `parquet:"sensor"`
		At     time.Time `parquet:"at"`
		Value  float64   `parquet:"value"`
	}
	lk := memLake(t)
	ds, err := zones.NewDataset[reading](lk, lake.Cleaned, "iot", "readings", &zones.Options[reading]{
		PartitionKeys: []string{"dt"},
		PartitionBy: func(r reading) (lake.Partition, error) {
			return lake.Partition{{Key: "dt", Value: r.At.UTC().Format(time.DateOnly)}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 3, 1, 23, 0, 0, 0, time.UTC)
	var rows []reading
	for i := 0; i < 48; i++ {
		rows = append(rows, reading{Sensor: "s1", At: base.Add(time.Duration(i) * time.Hour), Value: float64(i)})
	}
	w, _ := ds.NewWriter(ctx, nil)
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Partitions) != 3 {
		t.Fatalf("partitions %v", res.Partitions)
	}
	got, err := ds.ReadAll(ctx, &zones.ReadOptions{Partitions: zones.PartitionRange("dt", "2024-03-02", "2024-03-02"), Parallelism: 1})
	if err != nil || len(got) != 24 {
		t.Fatalf("dt=2024-03-02: %d rows, %v", len(got), err)
	}
	if !got[0].At.Equal(base.Add(time.Hour)) {
		t.Fatalf("first row at %v", got[0].At)
	}
	snap, _ := ds.Snapshot(ctx, 0)
	if snap.SchemaVersion != 1 || len(snap.Schema) != 3 || snap.Schema[1].Type != "timestamp" {
		t.Fatalf("schema in the log: v%d %+v", snap.SchemaVersion, snap.Schema)
	}
}

func TestHistoryAudit(t *testing.T) {
	ctx := context.Background()
	ds := newEvents(t, memLake(t), nil)
	if _, err := ds.History(ctx); !errors.Is(err, zones.ErrNoSuchTable) {
		t.Fatalf("history of a new table: %v", err)
	}
	if _, err := ds.Snapshot(ctx, 0); !errors.Is(err, zones.ErrNoSuchTable) {
		t.Fatalf("snapshot of a new table: %v", err)
	}
	writeCommit(t, ds, makeEvents(0, 10, 2), &zones.WriterOptions{Caller: "ingest-svc", IdempotencyKey: "k1", Metadata: map[string]string{"source": "s3://in/x.json"}})
	h, err := ds.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := h[0]
	host, _ := os.Hostname()
	if c.Audit.Caller != "ingest-svc" || c.Audit.PID != os.Getpid() || c.Audit.Host != host || c.Audit.User == "" ||
		c.IdempotencyKey != "k1" || c.Metadata["source"] != "s3://in/x.json" || c.Timestamp.IsZero() || c.Operation != "write" {
		t.Fatalf("audit record: %+v", c)
	}
	if len(c.Added) != 2 || c.Added[0].Stats == nil {
		t.Fatalf("added files without stats: %+v", c.Added)
	}
	var idStats *zones.ColumnStats
	for i := range c.Added[0].Stats {
		if c.Added[0].Stats[i].Column == "id" {
			idStats = &c.Added[0].Stats[i]
		}
	}
	if idStats == nil || idStats.Kind != "int" || idStats.Min != "0" || idStats.Max != "8" {
		t.Fatalf("id stats %+v", idStats)
	}
}
