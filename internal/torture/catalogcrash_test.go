package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lakekit/lakekit/zones"
)

var errCrash = errors.New("torture: the process died here (injected)")

// catalogCommit is a commit whose catalog calls are crash points.
type catalogCommit struct {
	name    string
	prepare []catalogWrite // committed before, with a working catalog
	write   catalogWrite
}

type catalogWrite struct {
	key  string
	mode zones.Mode
}

func cw(who string, mode zones.Mode, mask int) catalogWrite {
	return catalogWrite{opKey(who, 0, mode, mask), mode}
}

// catalogCommits exercise every catalog call a commit makes: the first
// commit (CreateDatabase, CreateTable), an append adding partitions
// (AddPartitions), an overwrite of partitions (UpdatePartitionLocations)
// and a whole-table overwrite dropping partitions (DeletePartitions);
// GetTable and UpdateTable are in all of them.
var catalogCommits = []catalogCommit{
	{"first", nil, cw("c", zones.Append, 3)},
	{"append", []catalogWrite{cw("p", zones.Append, 3)}, cw("c", zones.Append, 14)},
	{"overwrite", []catalogWrite{cw("p", zones.Append, 3)}, cw("c", zones.OverwritePartitions, 3)},
	{"drop", []catalogWrite{cw("p", zones.Append, 15)}, cw("c", zones.Overwrite, 1)},
}

// catalogCalls runs the commit on a fresh lake with nothing failing and
// returns its catalog calls in order.
func catalogCalls(t *testing.T, f lakeFactory, cc catalogCommit) []string {
	ctx := context.Background()
	s := f.make(t)
	x := s.mustOpen(t)
	for _, p := range cc.prepare {
		if err := mustWrite(ctx, x.ds, p.key, p.mode); err != nil {
			t.Fatal(err)
		}
	}
	y := s.mustOpen(t)
	var mu sync.Mutex
	var calls []string
	y.hc.set(func(ctx context.Context, op string) error {
		mu.Lock()
		calls = append(calls, op)
		mu.Unlock()
		return nil
	}, nil)
	if res, err := attemptWrite(ctx, y.ds, cc.write.key, cc.write.mode, rowsFor(cc.write.key)); err != nil {
		t.Fatalf("%s: %+v %v", cc.name, res, err)
	}
	return calls
}

// crashPoint is one catalog call of one commit, crashed before or after.
type crashPoint struct {
	cc    catalogCommit
	at    int // index of the catalog call
	op    string
	after bool
	kill  bool // a real SIGKILL of a child process (else an injected death in-process)
}

func (p crashPoint) String() string {
	how := "injected"
	if p.kill {
		how = "SIGKILL"
	}
	when := "before"
	if p.after {
		when = "after"
	}
	return fmt.Sprintf("%s commit, %s %s catalog call #%d (%s)", p.cc.name, how, when, p.at+1, p.op)
}

// armCrash makes x die at catalog call number at (0-based): that call
// and every later store or catalog call fails with errCrash, or, with
// kill, the process is SIGKILLed there. fired reports whether it died.
func armCrash(x *xenv, at int, after, kill bool) (fired *atomic.Bool) {
	fired = new(atomic.Bool)
	var n atomic.Int64
	die := func() error {
		if kill {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
		fired.Store(true)
		return errCrash
	}
	x.hc.set(func(ctx context.Context, op string) error {
		if fired.Load() {
			return errCrash
		}
		if i := n.Add(1) - 1; int(i) == at && !after {
			return die()
		}
		return nil
	}, func(ctx context.Context, op string, err error) error {
		if fired.Load() {
			return errCrash
		}
		if int(n.Load()-1) == at && after {
			return die()
		}
		return err
	})
	x.hd.set(func(ctx context.Context, op, key string) error {
		if fired.Load() {
			return errCrash
		}
		return nil
	}, nil)
	return fired
}

// TestTortureCatalogCrash: a writer dies at every catalog call of a
// commit (GetTable, CreateDatabase, CreateTable, UpdateTable,
// AddPartitions, UpdatePartitionLocations, DeletePartitions, Partitions),
// before or after the call — in-process (the call and everything after it
// fails) and as a real SIGKILL of a child process. The outcome it reported
// (if any) matches the log; the external view is a whole version; then
// the next commit of another key, or Vacuum, or SyncCatalog (in turn)
// brings the external view to the newest version, Vacuum deleting no file
// a catalog location shows at that moment; a retry of the dead write with
// its key commits it once.
func TestTortureCatalogCrash(t *testing.T) {
	if os.Getenv("CATCRASH_AT") != "" {
		os.Exit(catalogCrashChild(t))
	}
	c := newCounters()
	defer c.report(t)
	for _, f := range factories(t) {
		t.Run(f.kind, func(t *testing.T) {
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			var points []crashPoint
			for _, cc := range catalogCommits {
				for i, op := range catalogCalls(t, f, cc) {
					for _, after := range []bool{false, true} {
						for _, kill := range []bool{false, true} {
							points = append(points, crashPoint{cc: cc, at: i, op: op, after: after, kill: kill})
						}
					}
				}
			}
			// every point on the file store; a random share on S3
			n := len(points)
			if f.kind != "file" {
				rng.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
				n = min(len(points), rounds(f.kind, 36))
			}
			failed := 0
			for i, p := range points[:n] {
				recovery := []string{"commit", "vacuum", "sync"}[i%3]
				if err := catalogCrashCase(t, f, p, recovery, c); err != nil {
					t.Errorf("%s: %s, recovered by %s: %v", f.kind, p, recovery, err)
					if failed++; failed == 3 {
						t.Fatalf("%s: 3 crash points failed; the other %d not run", f.kind, n-i-1)
					}
				}
			}
		})
	}
}

func catalogCrashCase(t *testing.T, f lakeFactory, p crashPoint, recovery string, c *counters) error {
	ctx := context.Background()
	s := f.make(t)
	x := s.mustOpen(t)
	for _, w := range p.cc.prepare {
		if err := mustWrite(ctx, x.ds, w.key, w.mode); err != nil {
			return err
		}
	}
	key, mode := p.cc.write.key, p.cc.write.mode
	outcome := "killed"
	if p.kill {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTortureCatalogCrash$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), s.env()...), fmt.Sprintf("CATCRASH_AT=%d", p.at),
			fmt.Sprintf("CATCRASH_AFTER=%v", p.after), "CATCRASH_KEY="+key, fmt.Sprintf("CATCRASH_MODE=%d", int(mode)))
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			c.add("points_not_reached", 1) // see above
			return nil
		}
		if !errors.As(err, &ee) {
			return fmt.Errorf("child not killed: %v; output: %s", err, out.String())
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			return fmt.Errorf("child not killed at the point: %v; output: %s", err, out.String())
		}
		c.add("catalog_kills", 1)
	} else {
		y := s.mustOpen(t)
		fired := armCrash(y, p.at, p.after, false)
		res, err := attemptWrite(ctx, y.ds, key, mode, rowsFor(key))
		if !fired.Load() {
			// the calls of a commit are not always the same number (a
			// retried catalog update): this run made fewer
			if err != nil {
				return fmt.Errorf("the crash point was not reached and the commit failed: %v", err)
			}
			c.add("points_not_reached", 1)
			return nil
		}
		outcome = classify(res, err)
		c.add("catalog_injected_deaths", 1)
		c.add("outcome_"+outcome, 1)
		in, _, lerr := keyInLog(ctx, s, key)
		if lerr != nil {
			return lerr
		}
		switch {
		case outcome == "committed":
			return fmt.Errorf("the commit reported success though its process died at a catalog call: %+v", res)
		case outcome == "committed_catalog_error" && !in:
			return fmt.Errorf("ErrCatalog (committed) but the key is not in the log: %v", err)
		case outcome == "not_committed" && in:
			return fmt.Errorf("reported not committed but the key is in the log: %v", err)
		}
	}
	c.add("crash_op_"+p.op, 1)
	c.add("crash_commit_"+p.cc.name, 1)
	// what the crash left: a whole version to an Athena-style reader
	var d driftTracker
	if err := d.observe(ctx, s, true); err != nil {
		return fmt.Errorf("after the crash: %w", err)
	}
	if d.open {
		c.add("catalog_crash_left_drift", 1)
	}
	in, _, err := keyInLog(ctx, s, key)
	if err != nil {
		return err
	}
	if in {
		c.add("crash_after_commit_point", 1)
	} else {
		c.add("crash_before_commit_point", 1)
	}
	// recovery by another process (a table with no version yet has
	// nothing to vacuum or sync: the next commit it is)
	z := s.mustOpen(t)
	if _, err := z.ds.Snapshot(ctx, 0); errors.Is(err, zones.ErrNoSuchTable) {
		recovery = "commit"
	}
	var vacErr error
	var vacMu sync.Mutex
	z.hd.onDelete = func(ctx context.Context, keys []string) error {
		shown, err := visibleFiles(ctx, s)
		if err != nil {
			return err
		}
		set := map[string]bool{}
		for _, k := range shown {
			set[k] = true
		}
		for _, k := range keys {
			if set[strings.TrimPrefix(k, "curated/")] {
				vacMu.Lock()
				vacErr = fmt.Errorf("%s deleted while a catalog location shows it", k)
				vacMu.Unlock()
			}
		}
		return nil
	}
	switch recovery {
	case "commit":
		k := opKey("next", p.at, zones.Append, 1+rand.Intn(15))
		if res, err := attemptWrite(ctx, z.ds, k, zones.Append, rowsFor(k)); err != nil {
			return fmt.Errorf("the next commit (key %s): %+v %v", k, res, err)
		}
	case "vacuum":
		if _, err := z.ds.Vacuum(ctx, 0); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
	case "sync":
		if err := z.ds.SyncCatalog(ctx); err != nil {
			return fmt.Errorf("SyncCatalog: %w", err)
		}
	}
	if vacErr != nil {
		return vacErr
	}
	if err := externalMatches(ctx, s); err != nil {
		return fmt.Errorf("after the %s: %w", recovery, err)
	}
	c.add("catalog_crashes_repaired", 1)
	c.add("repaired_by_"+recovery, 1)
	if d.open {
		c.add("drifts", 1)
		c.add("drift_len_1", 1)
	}
	// the dead write retried with its key: once in the log, rows exact
	res, err := attemptWrite(ctx, z.ds, key, mode, rowsFor(key))
	if err != nil || res.Duplicate != in {
		return fmt.Errorf("retry of the dead write with its key: %+v %v (it was in the log: %v)", res, err, in)
	}
	x = s.mustOpen(t)
	log := history(t, x.ds)
	seen := map[string]bool{}
	for _, cm := range log {
		if seen[cm.IdempotencyKey] {
			return fmt.Errorf("key %s committed twice", cm.IdempotencyKey)
		}
		seen[cm.IdempotencyKey] = true
	}
	if err := checkVersion(ctx, x.ds, log, len(log)); err != nil {
		return err
	}
	if vacErr != nil {
		return vacErr
	}
	if err := externalMatches(ctx, s); err != nil {
		return fmt.Errorf("after the retry: %w", err)
	}
	c.add("cases", 1)
	return nil
}

// catalogCrashChild makes the write and is SIGKILLed at the catalog call
// the parent named; exit 3 when the call is never reached.
func catalogCrashChild(t *testing.T) int {
	s := specFromEnv(t)
	at, _ := strconv.Atoi(os.Getenv("CATCRASH_AT"))
	after := os.Getenv("CATCRASH_AFTER") == "true"
	m, _ := strconv.Atoi(os.Getenv("CATCRASH_MODE"))
	key := os.Getenv("CATCRASH_KEY")
	x, err := s.open()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	armCrash(x, at, after, true)
	res, err := attemptWrite(context.Background(), x.ds, key, zones.Mode(m), rowsFor(key))
	fmt.Fprintf(os.Stderr, "the write finished without reaching catalog call %d: %+v %v\n", at+1, res, err)
	return 3
}
