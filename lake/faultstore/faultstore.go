// Package faultstore wraps a lake store driver and injects faults on a
// seeded schedule: failed calls, calls that succeed but report failure
// (ambiguous timeouts), delays, truncated reads and bodies, and S3-style
// throttling. lakekit's own tests use it to prove that commits, ledgers and
// buffers keep their promises under faults; users can wrap their stores with
// it to test their pipelines the same way.
//
//	d := faultstore.Wrap(memstore.New(), &faultstore.Options{Seed: 42, Rules: []faultstore.Rule{
//		{Op: faultstore.OpCreate, Probability: 0.1, Fault: faultstore.FailAfter},
//		{Op: faultstore.OpGet, Probability: 0.05, Fault: faultstore.Throttle},
//	}})
//	store := lake.NewStore(d)
//
// The same seed and the same sequence of calls give the same faults.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/lake/driver"
)

// Op names a driver call.
type Op string

// The driver calls a rule can match.
const (
	OpAny    Op = ""
	OpPut    Op = "put"    // Put without IfNotExists
	OpCreate Op = "create" // Put with IfNotExists
	OpGet    Op = "get"
	OpStat   Op = "stat"
	OpDelete Op = "delete"
	OpList   Op = "list"
	OpSync   Op = "sync" // driver.Syncer's Sync, passed on when the wrapped driver has it
)

// Fault is what happens to a matched call.
type Fault int

// The faults.
const (
	// Fail returns ErrInjected without performing the call.
	Fail Fault = iota + 1
	// FailAfter performs the call, then returns ErrInjected: the write
	// happened but the caller cannot know (an ambiguous timeout).
	FailAfter
	// Delay sleeps Rule.Delay (or until the context ends), then performs the call.
	Delay
	// Truncate cuts a Get's body or a Put's body in half and ends it with
	// io.ErrUnexpectedEOF.
	Truncate
	// Throttle returns an error wrapping driver.ErrThrottled, as S3 answers
	// 503 SlowDown.
	Throttle
	// Timeout waits for the context's deadline (at most Rule.Delay, default
	// 1s) and returns context.DeadlineExceeded without performing the call.
	Timeout
)

func (f Fault) String() string {
	switch f {
	case Fail:
		return "fail"
	case FailAfter:
		return "fail-after"
	case Delay:
		return "delay"
	case Truncate:
		return "truncate"
	case Throttle:
		return "throttle"
	case Timeout:
		return "timeout"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// ErrInjected is the error of Fail and FailAfter faults.
var ErrInjected = errors.New("faultstore: injected fault")

// Rule selects calls and the fault they get. A call matches when Op and
// KeyContains match; then it faults when it is the Nth match (Nth > 0), or
// with Probability (drawn from the seeded source). Times bounds how often a
// rule fires (0: no bound).
type Rule struct {
	Op          Op
	KeyContains string
	Nth         int
	Probability float64
	Fault       Fault
	Delay       time.Duration
	Times       int
}

// Options configure Wrap. A nil *Options injects nothing.
type Options struct {
	Seed  int64
	Rules []Rule
}

// Event records one injected fault.
type Event struct {
	Op    Op
	Key   string
	Fault Fault
}

// Driver is the fault-injecting wrapper.
type Driver struct {
	inner driver.Driver

	mu      sync.Mutex
	rng     *rand.Rand
	rules   []Rule
	matched []int // per rule: matching calls seen
	fired   []int // per rule: faults injected
	calls   map[Op]int
	events  []Event
	off     bool
}

var (
	_ driver.Driver = (*Driver)(nil)
	_ driver.Syncer = (*Driver)(nil)
)

// Wrap returns a driver that passes calls to inner and injects faults.
func Wrap(inner driver.Driver, opts *Options) *Driver {
	var o Options
	if opts != nil {
		o = *opts
	}
	return &Driver{
		inner: inner, rng: rand.New(rand.NewSource(o.Seed)), rules: o.Rules,
		matched: make([]int, len(o.Rules)), fired: make([]int, len(o.Rules)), calls: map[Op]int{},
	}
}

// SetRules replaces the rules and resets their counters.
func (d *Driver) SetRules(rules ...Rule) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rules = rules
	d.matched = make([]int, len(rules))
	d.fired = make([]int, len(rules))
}

// Disable stops (true) or resumes (false) injecting; calls are still counted.
func (d *Driver) Disable(off bool) {
	d.mu.Lock()
	d.off = off
	d.mu.Unlock()
}

// Calls returns how many calls of op reached the wrapper.
func (d *Driver) Calls(op Op) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if op == OpAny {
		n := 0
		for _, c := range d.calls {
			n += c
		}
		return n
	}
	return d.calls[op]
}

// Events returns the faults injected so far.
func (d *Driver) Events() []Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Event(nil), d.events...)
}

// ResetCounts forgets call counts and events (rules keep their counters).
func (d *Driver) ResetCounts() {
	d.mu.Lock()
	d.calls = map[Op]int{}
	d.events = nil
	d.mu.Unlock()
}

// decide counts the call and returns the rule that fires, if any.
func (d *Driver) decide(op Op, key string) (Rule, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[op]++
	if d.off {
		return Rule{}, false
	}
	for i, r := range d.rules {
		if r.Op != OpAny && r.Op != op || r.KeyContains != "" && !strings.Contains(key, r.KeyContains) {
			continue
		}
		if r.Times > 0 && d.fired[i] >= r.Times {
			continue
		}
		d.matched[i]++
		fire := false
		switch {
		case r.Nth > 0:
			fire = d.matched[i] == r.Nth
		case r.Probability > 0:
			fire = d.rng.Float64() < r.Probability
		}
		if fire {
			d.fired[i]++
			d.events = append(d.events, Event{Op: op, Key: key, Fault: r.Fault})
			return r, true
		}
	}
	return Rule{}, false
}

func injected(op Op, key string, f Fault) error {
	return fmt.Errorf("faultstore: %s %q: %s: %w", op, key, f, ErrInjected)
}

// before applies faults that act before the call; it returns a non-nil
// error to return instead of calling.
func before(ctx context.Context, op Op, key string, r Rule) error {
	switch r.Fault {
	case Fail:
		return injected(op, key, r.Fault)
	case Throttle:
		return fmt.Errorf("faultstore: %s %q: SlowDown: Please reduce your request rate (503): %w", op, key, driver.ErrThrottled)
	case Delay:
		t := time.NewTimer(r.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	case Timeout:
		wait := r.Delay
		if wait <= 0 {
			wait = time.Second
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return fmt.Errorf("faultstore: %s %q: %w", op, key, context.DeadlineExceeded)
	}
	return nil
}

// Put implements driver.Driver.
func (d *Driver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	op := OpPut
	if opts != nil && opts.IfNotExists {
		op = OpCreate
	}
	r, ok := d.decide(op, key)
	if !ok {
		return d.inner.Put(ctx, key, body, size, opts)
	}
	if err := before(ctx, op, key, r); err != nil {
		return err
	}
	if r.Fault == Truncate {
		half := size / 2
		if size < 0 {
			half = 1 << 10
		}
		body = io.MultiReader(io.LimitReader(body, half), errReader{io.ErrUnexpectedEOF})
	}
	err := d.inner.Put(ctx, key, body, size, opts)
	if err == nil && r.Fault == FailAfter {
		return injected(op, key, r.Fault)
	}
	return err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Get implements driver.Driver.
func (d *Driver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	r, ok := d.decide(OpGet, key)
	if !ok {
		return d.inner.Get(ctx, key, off, length)
	}
	if err := before(ctx, OpGet, key, r); err != nil {
		return nil, nil, err
	}
	rc, a, err := d.inner.Get(ctx, key, off, length)
	if err != nil {
		return nil, nil, err
	}
	switch r.Fault {
	case FailAfter:
		rc.Close()
		return nil, nil, injected(OpGet, key, r.Fault)
	case Truncate:
		n := a.Size / 2
		if length >= 0 {
			n = length / 2
		}
		return truncated{io.MultiReader(io.LimitReader(rc, n), errReader{io.ErrUnexpectedEOF}), rc}, a, nil
	}
	return rc, a, nil
}

type truncated struct {
	io.Reader
	c io.Closer
}

func (t truncated) Close() error { return t.c.Close() }

// Stat implements driver.Driver.
func (d *Driver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	r, ok := d.decide(OpStat, key)
	if ok {
		if err := before(ctx, OpStat, key, r); err != nil {
			return nil, err
		}
	}
	a, err := d.inner.Stat(ctx, key)
	if err == nil && ok && r.Fault == FailAfter {
		return nil, injected(OpStat, key, r.Fault)
	}
	return a, err
}

// Delete implements driver.Driver.
func (d *Driver) Delete(ctx context.Context, keys []string) error {
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	r, ok := d.decide(OpDelete, key)
	if ok {
		if err := before(ctx, OpDelete, key, r); err != nil {
			return err
		}
	}
	err := d.inner.Delete(ctx, keys)
	if err == nil && ok && r.Fault == FailAfter {
		return injected(OpDelete, key, r.Fault)
	}
	return err
}

// Sync implements driver.Syncer: it passes the call on to the wrapped
// driver when that one syncs (a file store) and otherwise does nothing;
// faults apply as to Delete (keyed by the first key).
func (d *Driver) Sync(ctx context.Context, keys []string) error {
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	r, ok := d.decide(OpSync, key)
	if ok {
		if err := before(ctx, OpSync, key, r); err != nil {
			return err
		}
	}
	var err error
	if s, has := d.inner.(driver.Syncer); has {
		err = s.Sync(ctx, keys)
	}
	if err == nil && ok && r.Fault == FailAfter {
		return injected(OpSync, key, r.Fault)
	}
	return err
}

// List implements driver.Driver. A fault on a listing ends it with the
// error after half of its entries (FailAfter, Truncate) or at once.
func (d *Driver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return func(yield func(driver.ListEntry, error) bool) {
		r, ok := d.decide(OpList, opts.Prefix)
		if ok {
			if err := before(ctx, OpList, opts.Prefix, r); err != nil {
				yield(driver.ListEntry{}, err)
				return
			}
		}
		n := 0
		for e, err := range d.inner.List(ctx, opts) {
			if err != nil {
				yield(e, err)
				return
			}
			if ok && (r.Fault == FailAfter || r.Fault == Truncate) && n > 0 && d.coin() {
				yield(driver.ListEntry{}, injected(OpList, opts.Prefix, r.Fault))
				return
			}
			n++
			if !yield(e, nil) {
				return
			}
		}
		if ok && (r.Fault == FailAfter || r.Fault == Truncate) {
			yield(driver.ListEntry{}, injected(OpList, opts.Prefix, r.Fault))
		}
	}
}

func (d *Driver) coin() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Intn(2) == 0
}

// As implements driver.Driver: *(*Driver) for the wrapper, else the inner driver's.
func (d *Driver) As(i any) bool {
	if p, ok := i.(**Driver); ok {
		*p = d
		return true
	}
	return d.inner.As(i)
}

// Close implements driver.Driver.
func (d *Driver) Close() error { return d.inner.Close() }

// Location implements driver.Locator when the inner driver does.
func (d *Driver) Location(key string) string {
	if l, ok := d.inner.(driver.Locator); ok {
		return l.Location(key)
	}
	return key
}
