package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakekit/lakekit/zones"
)

// unknownFaults are the faults TestTortureUnknownOutcome gives a commit,
// one each.
var unknownFaults = []string{
	"cancel_call",    // the commit's context is cancelled at its Nth store call
	"cancel_timer",   // the commit's context is cancelled by a short random timer
	"put_fails",      // the log put fails before landing (once)
	"lands_error",    // the log put lands but returns an error (once)
	"lands_unreach",  // the log put lands, returns an error, then the table's metadata is unreadable for the rest of the commit
	"fails_unreach",  // the log put fails, then the table's metadata is unreadable for the rest of the commit
	"cancel_unreach", // the context is cancelled at the log put, which lands, then the metadata is unreadable
}

// unknownFault arms one fault on the writer's hookDriver for one Commit.
type unknownFault struct {
	kind   string
	logDir string // the table's log folder (entries are created there), as in a store key
	meta   string // the table's metadata folder (_lakekit/), as in a store key

	mu          sync.Mutex
	calls       int  // store calls made during the commit
	n           int  // cancel_call: the call at which to cancel
	fired       bool // the fault happened
	unreachable bool
	cancel      context.CancelFunc
}

func (f *unknownFault) isLogPut(op, key string) bool {
	return op == "create" && strings.Contains(key, f.logDir)
}

func (f *unknownFault) before(ctx context.Context, op, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.unreachable && (op == "get" || op == "stat" || op == "list") && strings.Contains(key, f.meta) {
		return errHook
	}
	switch f.kind {
	case "cancel_call":
		if f.calls == f.n {
			f.fired = true
			f.cancel() // the call runs with a cancelled context
		}
	case "put_fails", "fails_unreach":
		if !f.fired && f.isLogPut(op, key) {
			f.fired = true
			f.unreachable = f.kind == "fails_unreach"
			return errHook
		}
	case "cancel_unreach":
		if !f.fired && f.isLogPut(op, key) {
			f.cancel()
		}
	}
	return nil
}

func (f *unknownFault) after(ctx context.Context, op, key string, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.kind {
	case "lands_error", "lands_unreach", "cancel_unreach":
		if !f.fired && f.isLogPut(op, key) {
			f.fired = true
			if err != nil {
				// it did not land after all (cancel_unreach on a store
				// that honours the cancellation): unreachable anyway
				f.unreachable = f.kind != "lands_error"
				return err
			}
			f.unreachable = f.kind != "lands_error"
			return errHook
		}
	}
	return err
}

// TestTortureUnknownOutcome (issue 23 defect 2): random commits, each
// with one fault — its context cancelled at a random store call or by a
// short random timer; the log put failing before it lands; landing and
// returning an error; landing or failing and then the table's metadata
// unreadable for the rest of the commit. Every outcome is one of three
// and is checked: committed (nil, or ErrCatalog: the key is in the log);
// not committed (the key is not in the log); ErrCommitUnknown (a
// *CommitUnknownError with the key), settled by a retry with the same
// key and rows once the fault is gone — Duplicate when the first attempt
// had landed, a commit otherwise. After each settled step the log's keys
// are exactly the committed ones (each once), lakekit's read equals a
// replay of the log, and the external view equals lakekit's read.
func TestTortureUnknownOutcome(t *testing.T) {
	c := newCounters()
	defer c.report(t)
	for _, f := range factories(t) {
		t.Run(f.kind, func(t *testing.T) {
			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewSource(seed))
			s := f.make(t)
			u := &unknownRun{s: s, x: s.mustOpen(t), rng: rng, c: c, want: map[string]Row{}, lastCalls: 20, lastDur: 20 * time.Millisecond}
			n := rounds(f.kind, 60)
			for round := 0; round < n; round++ {
				if err := u.round(round); err != nil {
					t.Fatalf("%s: round %d (seed %d): %v", f.kind, round, seed, err)
				}
				c.add("rounds", 1)
				if round%8 == 7 {
					// the files of unknown, failed and duplicate attempts
					// go; the committed ones stay
					if _, err := u.x.ds.Vacuum(context.Background(), 0); err != nil {
						t.Fatalf("%s: round %d (seed %d): vacuum: %v", f.kind, round, seed, err)
					}
					if err := u.check(context.Background()); err != nil {
						t.Fatalf("%s: round %d (seed %d): after vacuum: %v", f.kind, round, seed, err)
					}
					c.add("vacuums", 1)
				}
			}
		})
	}
}

type unknownRun struct {
	s         *lakeSpec
	x         *xenv
	rng       *rand.Rand
	c         *counters
	want      map[string]Row
	committed []string // keys reported committed, in order
	lastCalls int      // the store calls of the last whole commit
	lastDur   time.Duration
}

func (u *unknownRun) round(round int) error {
	ctx := context.Background()
	rng := u.rng
	mode := zones.Append
	switch r := rng.Intn(10); {
	case r == 0 && round > 0:
		mode = zones.Overwrite
	case r < 3:
		mode = zones.OverwritePartitions
	}
	key := opKey("uk", round, mode, 1+rng.Intn(15))
	rows := rowsFor(key)
	kind := unknownFaults[rng.Intn(len(unknownFaults))]
	desc := fmt.Sprintf("key %s mode %s fault %s", key, mode, kind)

	w, err := u.x.ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode, IdempotencyKey: key, Caller: "torture"})
	if err != nil {
		return fmt.Errorf("%s: new writer: %w", desc, err)
	}
	if err := w.Write(ctx, rows); err != nil {
		return fmt.Errorf("%s: write: %w", desc, err)
	}
	prefix := u.x.ds.Table().Prefix()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fl := &unknownFault{kind: kind, logDir: prefix + "/_lakekit/log/", meta: prefix + "/_lakekit/", cancel: cancel}
	if kind == "cancel_call" {
		fl.n = 1 + rng.Intn(u.lastCalls+1)
	}
	if kind == "cancel_timer" {
		d := time.Duration(rng.Int63n(int64(u.lastDur) + 1))
		tm := time.AfterFunc(d, func() {
			fl.mu.Lock()
			fl.fired = true
			fl.mu.Unlock()
			cancel()
		})
		defer tm.Stop()
	}
	u.x.hd.set(fl.before, fl.after)
	start := time.Now()
	res, err := w.Commit(cctx)
	dur := time.Since(start)
	u.x.hd.set(nil, nil)
	fl.mu.Lock()
	fired, calls := fl.fired, fl.calls
	fl.mu.Unlock()
	if !fired {
		// the fault never happened (a cancellation after the commit's last
		// call): a plain commit
		kind += "_not_fired"
	}
	if err == nil && (!fired || kind == "put_fails" || kind == "lands_error") {
		// a whole commit: learn how many calls and how long one takes
		u.lastCalls = calls
		u.lastDur = dur
	}
	u.c.add("commits", 1)
	u.c.add("fault_"+kind, 1)
	desc += fmt.Sprintf(" (fired %v after %d store calls)", fired, calls)

	inLog, nIn, lerr := keyInLog(ctx, u.s, key)
	if lerr != nil {
		return fmt.Errorf("%s: history: %w", desc, lerr)
	}
	outcome := classify(res, err)
	u.c.add(kind+"_"+outcome, 1)
	switch outcome {
	case "committed", "committed_catalog_error":
		if res.Duplicate {
			return fmt.Errorf("%s: a fresh key committed as a Duplicate: %+v %v", desc, res, err)
		}
		if !inLog || nIn != 1 {
			return fmt.Errorf("%s: reported committed (%v), the key is %d times in the log", desc, err, nIn)
		}
		u.commit(key, mode, rows)
		if outcome == "committed_catalog_error" {
			if err := u.x.ds.SyncCatalog(ctx); err != nil {
				return fmt.Errorf("%s: SyncCatalog after ErrCatalog: %w", desc, err)
			}
			u.c.add("catalog_syncs", 1)
		}
	case "not_committed":
		if inLog {
			return fmt.Errorf("%s: Commit returned a plain error (not ErrCommitUnknown) but the commit landed (%d times in the log): %v", desc, nIn, err)
		}
		if rng.Intn(2) == 0 {
			// a retry with the same key commits (it is not a Duplicate of
			// anything)
			res2, err2 := attemptWrite(ctx, u.x.ds, key, mode, rows)
			if err2 != nil || res2.Duplicate {
				return fmt.Errorf("%s: not committed (%v); the retry with the same key: %+v %v, want a commit", desc, err, res2, err2)
			}
			u.commit(key, mode, rows)
			u.c.add("not_committed_retried", 1)
		}
	case "unknown":
		var ue *zones.CommitUnknownError
		if !errors.As(err, &ue) || ue.Key != key {
			return fmt.Errorf("%s: ErrCommitUnknown without a *CommitUnknownError naming key %s: %v", desc, key, err)
		}
		if nIn > 1 {
			return fmt.Errorf("%s: unknown outcome, the key is %d times in the log", desc, nIn)
		}
		// the documented recipe: the same key, the same rows
		res2, err2 := attemptWrite(ctx, u.x.ds, key, mode, rows)
		switch {
		case err2 != nil && !(errors.Is(err2, zones.ErrCatalog) && res2 != nil):
			return fmt.Errorf("%s: unknown (landed %v); the retry with the same key: %v", desc, inLog, err2)
		case inLog && !res2.Duplicate:
			return fmt.Errorf("%s: unknown, landed; the retry with the same key committed again (version %d), want Duplicate", desc, res2.Version)
		case !inLog && res2.Duplicate:
			return fmt.Errorf("%s: unknown, not landed; the retry with the same key returned Duplicate of version %d", desc, res2.Version)
		}
		if inLog {
			u.c.add("unknown_settled_duplicate", 1)
		} else {
			u.c.add("unknown_settled_committed", 1)
		}
		if err2 != nil {
			if err := u.x.ds.SyncCatalog(ctx); err != nil {
				return fmt.Errorf("%s: SyncCatalog after the retry's ErrCatalog: %w", desc, err)
			}
		}
		u.commit(key, mode, rows)
	}
	if cerr := u.check(ctx); cerr != nil {
		return fmt.Errorf("%s: outcome %s (%v): %w", desc, outcome, err, cerr)
	}
	return nil
}

func (u *unknownRun) commit(key string, mode zones.Mode, rows []Row) {
	u.committed = append(u.committed, key)
	expect(u.want, mode, rows)
}

// check: the log's keys are the committed ones in order, each once;
// lakekit's read (fresh process) equals the replayed log and the expected
// rows; the external view equals lakekit's read.
func (u *unknownRun) check(ctx context.Context) error {
	y, err := u.s.open()
	if err != nil {
		return err
	}
	log, err := y.ds.History(ctx)
	if errors.Is(err, zones.ErrNoSuchTable) {
		log, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	keys := make([]string, len(log))
	for i, cm := range log {
		keys[i] = cm.IdempotencyKey
	}
	if strings.Join(keys, " ") != strings.Join(u.committed, " ") {
		return fmt.Errorf("the log's keys [%s] are not the keys reported committed [%s]", strings.Join(keys, " "), strings.Join(u.committed, " "))
	}
	if len(log) == 0 {
		return nil
	}
	replayed, err := replay(log)
	if err != nil {
		return err
	}
	got, err := readAll(ctx, y.ds, 0)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := checkRows(got, replayed); err != nil {
		return fmt.Errorf("lakekit's read against the replayed log: %w", err)
	}
	if err := checkRows(got, u.want); err != nil {
		return fmt.Errorf("lakekit's read against the outcomes: %w", err)
	}
	return externalMatches(ctx, u.s)
}
