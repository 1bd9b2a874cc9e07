package torture

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

var (
	flagSeed      = flag.Int64("seed", 0, "replay the torture schedule with this seed")
	flagSchedules = flag.Int("schedules", 200, "torture schedules to run")
	flagLong      = flag.Bool("long", false, "longer torture schedules (more workers and operations)")
	flagProcEvery = flag.Int("proc-every", 10, "every Nth torture schedule also runs writer processes on a file store")
	flagFaults    = flag.Float64("faults", 1, "scale of the fault probabilities (0: no faults)")
	flagSyncOps   = flag.Bool("sync-ops", true, "schedules include SyncCatalog calls")
	flagFirstSeed = flag.Int64("first-seed", 0, "seed of the first schedule (default: from the clock)")
)

// retention is the vacuum retention inside schedules: longer than any write
// takes, so a vacuum never takes the files of a writer still running.
const retention = 300 * time.Millisecond

// mtimeSlack is how much earlier than time.Now a file's mtime may read.
const mtimeSlack = 10 * time.Millisecond

// totals over the run, reported at the end.
type totals struct {
	schedules, commits, ambiguous, conflicts, faults, reads, versionsChecked, vacuumDeletes, procCommits, transformRows atomic.Int64
	catalogDrift, unexcusedDrift                                                                                        atomic.Int64
}

func TestTorture(t *testing.T) {
	if os.Getenv("TORTURE_CHILD") != "" {
		os.Exit(tortureChild())
	}
	n, base := *flagSchedules, time.Now().UnixNano()%1e9
	if *flagFirstSeed != 0 {
		base = *flagFirstSeed
	}
	if *flagSeed != 0 {
		n, base = 1, *flagSeed
	}
	var tot totals
	start := time.Now()
	for i := 0; i < n; i++ {
		seed := base + int64(i)
		procs := *flagProcEvery > 0 && seed%int64(*flagProcEvery) == 0 // a function of the seed, so -seed replays it
		if i > 0 && i%500 == 0 {
			t.Logf("progress: %d schedules, %d commits, %d faults, %v", i, tot.commits.Load(), tot.faults.Load(), time.Since(start).Round(time.Second))
		}
		if err := runSchedule(t, seed, procs, &tot); err != nil {
			t.Errorf("after %d schedules: %d commits, %d faults", i, tot.commits.Load(), tot.faults.Load())
			t.Fatalf("schedule %d of %d, seed %d (processes: %v): %v\nreplay: go test ./internal/torture -run 'Torture$' -seed %d", i+1, n, seed, procs, err, seed)
		}
	}
	t.Logf("torture: %d schedules in %v (seeds %d..%d): %d commits (%d by child processes), %d ambiguous commits resolved by retry, %d conflicts refused, %d faults injected, %d full reads checked, %d versions replayed, %d files vacuumed, %d transform rows copied exactly once, %d catalog drifts after reported catalog errors repaired by SyncCatalog",
		tot.schedules.Load(), time.Since(start).Round(time.Millisecond), base, base+int64(n)-1, tot.commits.Load(), tot.procCommits.Load(), tot.ambiguous.Load(), tot.conflicts.Load(),
		tot.faults.Load(), tot.reads.Load(), tot.versionsChecked.Load(), tot.vacuumDeletes.Load(), tot.transformRows.Load(), tot.catalogDrift.Load())
}

// faultRules draws the schedule's faults.
func faultRules(rng *rand.Rand, scale float64) []faultstore.Rule {
	all := []faultstore.Rule{
		{Op: faultstore.OpCreate, Fault: faultstore.FailAfter},
		{Op: faultstore.OpCreate, Fault: faultstore.Fail},
		{Op: faultstore.OpCreate, Fault: faultstore.Throttle},
		{Op: faultstore.OpPut, Fault: faultstore.Fail},
		{Op: faultstore.OpPut, Fault: faultstore.FailAfter},
		{Op: faultstore.OpPut, Fault: faultstore.Truncate},
		{Op: faultstore.OpGet, Fault: faultstore.Throttle},
		{Op: faultstore.OpGet, Fault: faultstore.Truncate},
		{Op: faultstore.OpGet, Fault: faultstore.Fail},
		{Op: faultstore.OpList, Fault: faultstore.FailAfter},
		{Op: faultstore.OpStat, Fault: faultstore.Fail},
		{Op: faultstore.OpDelete, Fault: faultstore.FailAfter},
		{Op: faultstore.OpAny, Fault: faultstore.Delay, Delay: time.Millisecond},
		{Op: faultstore.OpAny, Fault: faultstore.Timeout, Delay: time.Millisecond},
	}
	var rules []faultstore.Rule
	for _, r := range all {
		if rng.Intn(3) == 0 {
			continue
		}
		r.Probability = (0.01 + rng.Float64()*0.06) * scale
		rules = append(rules, r)
	}
	rng.Shuffle(len(rules), func(i, j int) { rules[i], rules[j] = rules[j], rules[i] })
	return rules
}

// env is one schedule's lake.
type env struct {
	lk   *lake.Lake
	fd   *faultstore.Driver
	rec  *recorder
	cat  *catalog.Local
	main *zones.Dataset[Row]
	src  *zones.Dataset[Row]
	dst  *zones.Dataset[Row]
	tr   *transform.Transform[Row, Row]
}

func newEnv(base driver.Driver, rules []faultstore.Rule, seed int64) (*env, error) {
	e := &env{rec: newRecorder(base)}
	e.fd = faultstore.Wrap(e.rec, &faultstore.Options{Seed: seed, Rules: rules})
	var err error
	if e.lk, err = lake.New(lake.NewStore(e.fd), &lake.Options{Logger: quiet}); err != nil {
		return nil, err
	}
	if e.cat, err = catalog.OpenLocal(e.lk); err != nil {
		return nil, err
	}
	if e.main, err = zones.NewDataset[Row](e.lk, lake.Curated, "torture", "events", &zones.Options[Row]{Catalog: e.cat, InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	if e.src, err = zones.NewDataset[Row](e.lk, lake.Cleaned, "torture", "src", &zones.Options[Row]{InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	if e.dst, err = zones.NewDataset[Row](e.lk, lake.Curated, "torture", "copy", &zones.Options[Row]{InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	e.tr, err = transform.New("copy", transform.FromDataset(e.src), transform.Identity[Row](), e.dst,
		&transform.Options[Row]{FilesPerUnit: 2, Parallelism: 2, Logger: quiet})
	return e, err
}

// outcome of one write.
type outcome int

const (
	committed  outcome = iota
	ambiguous          // failed; it may or may not have committed
	conflicted         // refused: certainly not committed
)

// write tries a write up to attempts times with the same key.
func write(ctx context.Context, ds *zones.Dataset[Row], key string, mode zones.Mode, attempts int) (outcome, *zones.CommitResult, bool, error) {
	var last error
	catalogErr := false
	for a := 0; a < attempts; a++ {
		w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode, IdempotencyKey: key, Caller: "torture"})
		if err != nil {
			last = err
			continue
		}
		if err := w.Write(ctx, rowsFor(key)); err != nil {
			w.Abort(ctx)
			last = err
			continue
		}
		res, err := w.Commit(ctx)
		switch {
		case err == nil:
			return committed, res, catalogErr, nil
		case errors.Is(err, zones.ErrCatalog) && res != nil:
			return committed, res, true, nil
		case errors.Is(err, zones.ErrConflict):
			return conflicted, nil, catalogErr, err
		}
		last = err
	}
	return ambiguous, nil, catalogErr, last
}

type ledger struct {
	mu         sync.Mutex
	committed  map[string]bool // keys whose commit succeeded
	ambiguous  map[string]zones.Mode
	conflicted map[string]bool
	catalogErr bool
	syncs      int
}

func (l *ledger) record(key string, mode zones.Mode, o outcome, catErr bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch o {
	case committed:
		l.committed[key] = true
	case ambiguous:
		l.ambiguous[key] = mode
	case conflicted:
		l.conflicted[key] = true
	}
	l.catalogErr = l.catalogErr || catErr
}

func runSchedule(t *testing.T, seed int64, procs bool, tot *totals) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewSource(seed))
	workers, ops := 3, 6
	if *flagLong {
		workers, ops = 4, 12
	}
	rules := faultRules(rng, *flagFaults)
	var base driver.Driver = memstore.New()
	dir := ""
	if procs {
		dir = t.TempDir()
		fs, err := filestore.New(dir, &filestore.Options{NoSync: true})
		if err != nil {
			return err
		}
		base = fs
	}
	e, err := newEnv(base, rules, seed)
	if err != nil {
		return err
	}
	lg := &ledger{committed: map[string]bool{}, ambiguous: map[string]zones.Mode{}, conflicted: map[string]bool{}}
	var trMu sync.Mutex
	var wg sync.WaitGroup
	errc := make(chan error, workers+4)
	// child processes append to the same table on the file store
	var children []*exec.Cmd
	var childOut []*bufio.Scanner
	if procs {
		for p := 0; p < 2; p++ {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTorture$", "-test.count=1", fmt.Sprintf("-faults=%g", *flagFaults))
			cmd.Env = append(os.Environ(), "TORTURE_CHILD="+dir, fmt.Sprintf("TORTURE_SEED=%d", seed+int64(p)*7919), fmt.Sprintf("TORTURE_WHO=p%d", p))
			out, err := cmd.StdoutPipe()
			if err != nil {
				return err
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				return err
			}
			children = append(children, cmd)
			childOut = append(childOut, bufio.NewScanner(out))
		}
	}
	for w := 0; w < workers; w++ {
		wr := rand.New(rand.NewSource(seed*31 + int64(w)))
		who := fmt.Sprintf("g%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < ops; n++ {
				switch x := wr.Intn(100); {
				case x < 35:
					key := opKey(who, n, zones.Append, 1+wr.Intn(15))
					o, _, ce, err := write(ctx, e.main, key, zones.Append, 3)
					lg.record(key, zones.Append, o, ce)
					if o == ambiguous && os.Getenv("TORTURE_DEBUG") != "" {
						fmt.Println("AMBIGUOUS", key, err)
					}
				case x < 55:
					key := opKey(who, n, zones.OverwritePartitions, 1+wr.Intn(15))
					o, _, ce, _ := write(ctx, e.main, key, zones.OverwritePartitions, 3)
					lg.record(key, zones.OverwritePartitions, o, ce)
				case x < 70:
					key := opKey("s"+who, n, zones.Append, 1+wr.Intn(15))
					write(ctx, e.src, key, zones.Append, 3) // resolved at the end by the transform check
				case x < 78:
					trMu.Lock()
					e.tr.Run(ctx) // faults may fail it; the ledger must keep it exactly once
					trMu.Unlock()
				case x < 83 && *flagSyncOps:
					lg.mu.Lock()
					lg.syncs++
					lg.mu.Unlock()
					e.main.SyncCatalog(ctx)
				case x < 90:
					e.main.Vacuum(ctx, retention)
				default:
					rows, err := readAll(ctx, e.main, 0)
					if err == nil {
						tot.reads.Add(1)
						if err := wholeWrites(rows); err != nil {
							errc <- fmt.Errorf("concurrent read saw a partial snapshot: %w", err)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	for i, cmd := range children {
		for childOut[i].Scan() {
			f := strings.Fields(childOut[i].Text())
			if len(f) == 3 && f[0] == "PUT" {
				ns, _ := strconv.ParseInt(f[2], 10, 64)
				e.rec.mu.Lock()
				if at, ok := e.rec.putAt[f[1]]; !ok || at.UnixNano() > ns {
					e.rec.putAt[f[1]] = time.Unix(0, ns)
				}
				e.rec.mu.Unlock()
				continue
			}
			if len(f) != 2 {
				continue
			}
			switch f[0] {
			case "COMMITTED":
				lg.record(f[1], zones.Append, committed, false)
				tot.procCommits.Add(1)
			case "CATALOG":
				lg.record(f[1], zones.Append, committed, true)
				tot.procCommits.Add(1)
			case "AMBIGUOUS":
				lg.record(f[1], zones.Append, ambiguous, false)
			case "CONFLICT":
				lg.record(f[1], zones.Append, conflicted, false)
			}
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("writer process %d: %v", i, err)
		}
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	tot.faults.Add(int64(len(e.fd.Events())))
	e.fd.Disable(true)
	return check(ctx, e, lg, tot)
}

// check runs after a schedule, with faults off: retries settle the
// ambiguous writes, then every invariant is checked.
func check(ctx context.Context, e *env, lg *ledger, tot *totals) error {
	log, err := e.main.History(ctx)
	if err != nil && !errors.Is(err, zones.ErrNoSuchTable) {
		return fmt.Errorf("history: %w", err)
	}
	inLog := map[string]bool{}
	for _, c := range log {
		if inLog[c.IdempotencyKey] {
			return fmt.Errorf("idempotency key %s committed twice (version %d)", c.IdempotencyKey, c.Version)
		}
		inLog[c.IdempotencyKey] = true
	}
	// retries never duplicate: an ambiguous write retried gives its earlier commit back
	for key, mode := range lg.ambiguous {
		o, res, _, err := write(ctx, e.main, key, mode, 1)
		if o != committed {
			return fmt.Errorf("retry of ambiguous write %s with faults off: %v", key, err)
		}
		if inLog[key] && !res.Duplicate {
			return fmt.Errorf("retry of write %s, already committed in the log, committed again as version %d", key, res.Version)
		}
		if !inLog[key] && res.Duplicate {
			return fmt.Errorf("retry of write %s reported Duplicate but the key was not in the log", key)
		}
		tot.ambiguous.Add(1)
	}
	if log, err = e.main.History(ctx); err != nil && !errors.Is(err, zones.ErrNoSuchTable) {
		return fmt.Errorf("history: %w", err)
	}
	inLog = map[string]bool{}
	for _, c := range log {
		if inLog[c.IdempotencyKey] {
			return fmt.Errorf("idempotency key %s committed twice (version %d)", c.IdempotencyKey, c.Version)
		}
		inLog[c.IdempotencyKey] = true
		if c.Audit.Caller != "torture" || c.Audit.PID == 0 || c.Audit.Host == "" || c.Timestamp.IsZero() || c.Operation == "" {
			return fmt.Errorf("version %d has an incomplete audit record: %+v at %v op %q", c.Version, c.Audit, c.Timestamp, c.Operation)
		}
	}
	for key := range lg.committed {
		if !inLog[key] {
			return fmt.Errorf("write %s was reported committed but is not in the log", key)
		}
	}
	for key := range lg.conflicted {
		if inLog[key] {
			return fmt.Errorf("write %s was refused with ErrConflict but is in the log", key)
		}
	}
	tot.commits.Add(int64(len(log)))
	tot.conflicts.Add(int64(len(lg.conflicted)))
	// every version reads exactly its replay: no partial snapshot, nothing lost or doubled
	vacuumed := len(e.rec.parquetDeletes()) > 0
	for v := 1; v <= len(log); v++ {
		want, err := replay(log[:v])
		if err != nil {
			return err
		}
		got, err := readAll(ctx, e.main, int64(v))
		if err != nil {
			if v < len(log) && vacuumed && errors.Is(err, lake.ErrNotFound) {
				continue // an old version whose replaced files a vacuum removed
			}
			return fmt.Errorf("read version %d of %d: %w", v, len(log), err)
		}
		if err := checkRows(got, want); err != nil {
			return fmt.Errorf("version %d of %d: %w", v, len(log), err)
		}
		tot.versionsChecked.Add(1)
	}
	tot.reads.Add(1)
	// no orphan or replaced file deleted before its retention
	for _, d := range e.rec.parquetDeletes() {
		put, ok := e.rec.putTime(d.key)
		if !ok {
			return fmt.Errorf("vacuum deleted %s, which was never written", d.key)
		}
		// mtimes on disk come from the kernel's coarse clock, up to a tick
		// (a few ms) behind time.Now: allow that much
		if age := d.at.Sub(put); age < retention-mtimeSlack {
			return fmt.Errorf("vacuum deleted %s %v after it was written, inside the retention %v", d.key, age, retention)
		}
	}
	if len(log) > 0 {
		// the catalog follows the log; a drift without any reported catalog
		// failure or concurrent repair is a bug
		if err := catalogMatches(ctx, e.cat, e.main); err != nil {
			lg.mu.Lock()
			// excused: a commit reported ErrCatalog (the caller is told to
			// SyncCatalog), or a SyncCatalog ran concurrently with commits
			excused := lg.catalogErr || lg.syncs > 0
			lg.mu.Unlock()
			if !excused {
				// TestCatalogFollowsCommitOrder and TestRetriedCommitRepairsCatalog
				// are the deterministic cases of this
				return fmt.Errorf("catalog drifted from the commit log though every commit reported success: %w", err)
			}
			tot.catalogDrift.Add(1)
			if err := e.main.SyncCatalog(ctx); err != nil {
				return fmt.Errorf("sync catalog: %w", err)
			}
			if err := catalogMatches(ctx, e.cat, e.main); err != nil {
				return fmt.Errorf("after SyncCatalog: %w", err)
			}
		}
		// a vacuum with no retention, nothing running: only dead files go
		snap, err := e.main.Snapshot(ctx, 0)
		if err != nil {
			return err
		}
		res, err := e.main.Vacuum(ctx, 0)
		if err != nil {
			return fmt.Errorf("final vacuum: %w", err)
		}
		tot.vacuumDeletes.Add(int64(len(e.rec.parquetDeletes())))
		if res.Live != len(snap.Files) {
			return fmt.Errorf("final vacuum: %d live files, snapshot has %d", res.Live, len(snap.Files))
		}
		want, _ := replay(log)
		got, err := readAll(ctx, e.main, 0)
		if err != nil {
			return fmt.Errorf("read after the final vacuum: %w", err)
		}
		if err := checkRows(got, want); err != nil {
			return fmt.Errorf("after the final vacuum: %w", err)
		}
		n := 0
		for en, err := range e.main.Table().Zone().Store().List(ctx, e.main.Table().Prefix()+"/", nil) {
			if err != nil {
				return err
			}
			if strings.HasSuffix(en.Key, ".parquet") && !strings.Contains(en.Key, "/_lakekit/") {
				n++
			}
		}
		if n != len(snap.Files) {
			return fmt.Errorf("after a vacuum with no retention %d data files remain, the snapshot has %d", n, len(snap.Files))
		}
	}
	if err := checkAuditTrail(ctx, e, log); err != nil {
		return err
	}
	// the transform copied every committed source row exactly once
	if _, err := e.tr.Run(ctx); err != nil {
		return fmt.Errorf("final transform run: %w", err)
	}
	srcLog, err := e.src.History(ctx)
	if err != nil && !errors.Is(err, zones.ErrNoSuchTable) {
		return err
	}
	want, err := replay(srcLog)
	if err != nil {
		return err
	}
	got, err := e.dst.ReadAll(ctx, nil)
	if err != nil && !errors.Is(err, zones.ErrNoSuchTable) {
		return fmt.Errorf("read transform output: %w", err)
	}
	if err := checkRows(got, want); err != nil {
		return fmt.Errorf("transform output: %w", err)
	}
	tot.transformRows.Add(int64(len(got)))
	tot.schedules.Add(1)
	return nil
}

// tortureChild appends to the table of TORTURE_CHILD with its own faults
// and reports each write's outcome on stdout.
func tortureChild() int {
	ctx := context.Background()
	seed, _ := strconv.ParseInt(os.Getenv("TORTURE_SEED"), 10, 64)
	who := os.Getenv("TORTURE_WHO")
	fs, err := filestore.New(os.Getenv("TORTURE_CHILD"), &filestore.Options{NoSync: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rng := rand.New(rand.NewSource(seed))
	e, err := newEnv(fs, faultRules(rng, *flagFaults), seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for n := 0; n < 5; n++ {
		key := opKey(who, n, zones.Append, 1+rng.Intn(15))
		o, _, ce, _ := write(ctx, e.main, key, zones.Append, 3)
		switch {
		case o == committed && ce:
			fmt.Println("CATALOG", key)
		case o == committed:
			fmt.Println("COMMITTED", key)
		case o == ambiguous:
			fmt.Println("AMBIGUOUS", key)
		default:
			fmt.Println("CONFLICT", key)
		}
	}
	// when each object was first written, for the parent's retention check
	e.rec.mu.Lock()
	for k, at := range e.rec.putAt {
		fmt.Println("PUT", k, at.UnixNano())
	}
	e.rec.mu.Unlock()
	return 0
}

// checkAuditTrail: lake's own history listing shows the same versions as
// the commit log, with the same who and idempotency key, and every file a
// vacuum deleted is named by a vacuum event (recorded before deleting).
func checkAuditTrail(ctx context.Context, e *env, log []zones.Commit) error {
	hist, err := zones.History(ctx, e.lk, lake.Curated, "torture", "events")
	if errors.Is(err, lake.ErrNotFound) && len(log) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lake history: %w", err)
	}
	versions := 0
	audited := map[string]bool{}
	for _, h := range hist {
		if !h.IsVersion() {
			for _, k := range h.Keys {
				audited[k] = true
			}
			continue
		}
		if versions >= len(log) {
			return fmt.Errorf("lake history lists version %d; the log has %d", h.Version, len(log))
		}
		c := log[versions]
		if h.Version != c.Version || h.IdempotencyKey != c.IdempotencyKey || h.Audit != c.Audit || h.Operation != c.Operation {
			return fmt.Errorf("lake history entry %d (version %d, key %s, %+v) disagrees with the log's version %d (key %s, %+v)",
				versions, h.Version, h.IdempotencyKey, h.Audit, c.Version, c.IdempotencyKey, c.Audit)
		}
		versions++
	}
	if versions != len(log) {
		return fmt.Errorf("lake history lists %d versions; the log has %d", versions, len(log))
	}
	for _, d := range e.rec.parquetDeletes() {
		if !audited[strings.TrimPrefix(d.key, "curated/")] {
			return fmt.Errorf("vacuum deleted %s, which no vacuum event of the audit trail names", d.key)
		}
	}
	return nil
}
