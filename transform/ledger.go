package transform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lakekit/lakekit/internal/objlog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Metadata keys a transform stores in each output commit
// (zones.WriterOptions.Metadata). Together they are the ledger: the commit
// that makes the output visible is the same commit that records the input
// it consumed, so the two can never disagree.
const (
	// MetaTransform names the transform that made the commit.
	MetaTransform = "lakekit.transform"
	// MetaLedger holds the JSON LedgerEntry of the commit.
	MetaLedger = "lakekit.transform.ledger"
	// MetaRewind marks a commit made by Rewind: its value is the output
	// table version the transform's ledger was rewound to. Entries of
	// later commits before it no longer count.
	MetaRewind = "lakekit.transform.rewind"
	// MetaLedgerBatch holds a JSON array of LedgerEntry: the entries of
	// every unit a fan-out committed at once (FanOut.Commit).
	MetaLedgerBatch = "lakekit.transform.ledger.batch"
)

// InputFile is one input a transform consumed: a raw object (Key relative
// to the raw zone, with its ETag) or a data file of an input dataset (Key
// relative to its zone; data files never change, so Size and Key identify
// them).
type InputFile struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

func (f InputFile) same(o InputFile) bool {
	return f.Key == o.Key && f.Size == o.Size && f.ETag == o.ETag
}

// LedgerEntry is what one output commit of a transform consumed and
// produced: the transform's bookmark for that unit of work.
type LedgerEntry struct {
	Transform string `json:"transform"`
	// Epoch counts the rewinds before this entry; it is part of the
	// commit's idempotency key, so a replay writes anew.
	Epoch int `json:"epoch"`
	// Unit names the unit of work: "file:<key>" for a raw object,
	// "partition:<hive path>" for an input partition, "files:<hash>" for a
	// group of files.
	Unit string `json:"unit"`
	// Partition is the input partition's Hive path ("" for none).
	Partition string      `json:"partition,omitempty"`
	Inputs    []InputFile `json:"inputs"`
	// InputVersion is the input dataset's version the unit was read at (0
	// for raw input).
	InputVersion int64 `json:"input_version,omitempty"`
	RowsIn       int64 `json:"rows_in"`
	RowsOut      int64 `json:"rows_out"`
	Rejected     int64 `json:"rejected"`
	// Version is the output table version whose commit holds the entry;
	// CommitTime its time. Both are filled in when read back.
	Version    int64     `json:"-"`
	CommitTime time.Time `json:"-"`
}

// idempotencyKey derives the output commit's key from the transform name,
// the epoch, the unit and the exact input set: a retry of the same work
// gets the same key, and zones returns the commit the first try made.
func (e *LedgerEntry) idempotencyKey() string {
	in := append([]InputFile(nil), e.Inputs...)
	sort.Slice(in, func(i, j int) bool { return in[i].Key < in[j].Key })
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00", e.Transform, e.Epoch, e.Unit)
	for _, f := range in {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", f.Key, f.Size, f.ETag)
	}
	name := e.Transform
	if len(name) > 120 {
		name = name[:120]
	}
	return "transform-" + name + "-" + hex.EncodeToString(h.Sum(nil)[:20])
}

func (e *LedgerEntry) metadata() (map[string]string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return map[string]string{MetaTransform: e.Transform, MetaLedger: string(b)}, nil
}

// Ledger is a transform's record of what it consumed and produced, read
// back from the output table's commit history.
type Ledger struct {
	Transform string
	// Entries are the live entries, oldest first: those on the path from
	// the newest version back through the history, where a rewind to
	// version v continues at v (entries it undid are gone).
	Entries []LedgerEntry
	// Epoch counts rewinds.
	Epoch int
	// Version is the output table version the ledger was read up to.
	Version int64

	// nodes holds the versions that matter (a ledger entry or a rewind);
	// any other version's parent is the version before it.
	nodes map[int64]*ledgerNode
	// consumed is the newest live entry's input per key.
	consumed map[string]InputFile
	// parts is the newest live entry per input partition unit.
	parts map[string]*LedgerEntry
}

// ledgerNode is one commit of the transform: an entry (Parent is the
// version before) or a rewind (Parent is the version rewound to).
type ledgerNode struct {
	Version int64        `json:"version"`
	Parent  int64        `json:"parent"`
	Rewind  bool         `json:"rewind,omitempty"`
	Entry   *LedgerEntry `json:"entry,omitempty"`
	// Entries are the units of a fan-out commit (MetaLedgerBatch).
	Entries []*LedgerEntry `json:"entries,omitempty"`
	Time    time.Time      `json:"time"`
}

func newLedger(name string) *Ledger {
	return &Ledger{Transform: name, nodes: map[int64]*ledgerNode{}, consumed: map[string]InputFile{}, parts: map[string]*LedgerEntry{}}
}

// apply moves the ledger forward by one commit of the output table.
// finish must be called after the last one.
func (l *Ledger) apply(c *zones.Commit) error {
	l.Version = c.Version
	if c.Metadata == nil || c.Metadata[MetaTransform] != l.Transform {
		return nil
	}
	if v, ok := c.Metadata[MetaRewind]; ok {
		to, err := strconv.ParseInt(v, 10, 64)
		if err != nil || to < 0 || to >= c.Version {
			return fmt.Errorf("transform %s: commit %d: rewind marker %q: %w", l.Transform, c.Version, v, ErrLedger)
		}
		l.nodes[c.Version] = &ledgerNode{Version: c.Version, Parent: to, Rewind: true, Time: c.Timestamp}
		l.Epoch++
		return nil
	}
	if raw, ok := c.Metadata[MetaLedgerBatch]; ok {
		var es []*LedgerEntry
		if err := json.Unmarshal([]byte(raw), &es); err != nil {
			return fmt.Errorf("transform %s: commit %d: ledger batch: %v: %w", l.Transform, c.Version, err, ErrLedger)
		}
		for _, e := range es {
			e.Version, e.CommitTime = c.Version, c.Timestamp
		}
		l.nodes[c.Version] = &ledgerNode{Version: c.Version, Parent: c.Version - 1, Entries: es, Time: c.Timestamp}
		return nil
	}
	raw, ok := c.Metadata[MetaLedger]
	if !ok {
		return nil
	}
	var e LedgerEntry
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return fmt.Errorf("transform %s: commit %d: ledger entry: %v: %w", l.Transform, c.Version, err, ErrLedger)
	}
	e.Version, e.CommitTime = c.Version, c.Timestamp
	l.nodes[c.Version] = &ledgerNode{Version: c.Version, Parent: c.Version - 1, Entry: &e, Time: c.Timestamp}
	return nil
}

// finish computes the live entries: the path from Version back to 0.
func (l *Ledger) finish() {
	l.Entries = nil
	l.consumed = map[string]InputFile{}
	l.parts = map[string]*LedgerEntry{}
	versions := make([]int64, 0, len(l.nodes))
	for v := range l.nodes {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	var path []*LedgerEntry
	for v := l.Version; v > 0; {
		n, ok := l.nodes[v]
		if !ok {
			// not the transform's commit: go down to the nearest one
			i := sort.Search(len(versions), func(i int) bool { return versions[i] > v })
			if i == 0 {
				break
			}
			v = versions[i-1]
			continue
		}
		if n.Entry != nil {
			path = append(path, n.Entry)
		}
		for i := len(n.Entries) - 1; i >= 0; i-- { // path is newest first
			path = append(path, n.Entries[i])
		}
		v = n.Parent
	}
	for i := len(path) - 1; i >= 0; i-- {
		l.Entries = append(l.Entries, *path[i])
	}
	for i := range l.Entries {
		e := &l.Entries[i]
		for _, f := range e.Inputs {
			l.consumed[f.Key] = f
		}
		if strings.HasPrefix(e.Unit, "partition:") {
			l.parts[e.Unit] = e
		}
	}
}

// Consumed reports whether f was consumed as it is now (same key, size and
// ETag).
func (l *Ledger) Consumed(f InputFile) bool {
	c, ok := l.consumed[f.Key]
	return ok && c.same(f)
}

// partitionDone reports whether the newest entry for an input partition
// consumed exactly files.
func (l *Ledger) partitionDone(unit string, files []InputFile) bool {
	e, ok := l.parts[unit]
	if !ok || len(e.Inputs) != len(files) {
		return false
	}
	m := make(map[string]InputFile, len(files))
	for _, f := range e.Inputs {
		m[f.Key] = f
	}
	for _, f := range files {
		if c, ok := m[f.Key]; !ok || !c.same(f) {
			return false
		}
	}
	return true
}

// ledgerCache is a checkpoint of the ledger: its nodes as of a version of
// the output table, so a run reads only the commits after it. It is kept
// as an internal/objlog checkpoint in the transform's system store (see
// ledgerLog) and checked against the commit it names: one that does not
// match (the table was deleted and rebuilt) is passed over for an older
// one, or for reading the whole history.
type ledgerCache struct {
	Transform string        `json:"transform"`
	Table     string        `json:"table"`
	Version   int64         `json:"version"`
	CommitKey string        `json:"commit_key"` // idempotency key of that version
	CommitAt  time.Time     `json:"commit_at"`
	Epoch     int           `json:"epoch"`
	Nodes     []*ledgerNode `json:"nodes"`
}

// ledgerCheckpoints is how many ledger checkpoints are kept: the newest
// and one to fall back to.
const ledgerCheckpoints = 2

// ledgerLog is the log folder whose checkpoints hold a transform's ledger
// cache: "<transform>/ledger/_lakekit/checkpoint/<version>.json". Only its
// checkpoints are used: the log it checkpoints is the output table's.
func ledgerLog(sys *lake.Store, name string) *objlog.Log { return objlog.New(sys, name+"/ledger") }

// loadLedger reads a transform's ledger from the output table's commits,
// starting from the newest ledger checkpoint in sys that is still valid.
// It reads commit log entries only, never data files.
func loadLedger(ctx context.Context, name string, table *zones.Table, sys *lake.Store) (*Ledger, error) {
	l := newLedger(name)
	snap, err := table.Snapshot(ctx, 0)
	if errors.Is(err, zones.ErrNoSuchTable) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	from := int64(1)
	if c := readLedgerCache(ctx, name, table, sys, snap.Version); c != nil {
		for _, n := range c.Nodes {
			if n.Entry != nil {
				n.Entry.Version, n.Entry.CommitTime = n.Version, n.Time
			}
			for _, e := range n.Entries {
				e.Version, e.CommitTime = n.Version, n.Time
			}
			l.nodes[n.Version] = n
		}
		l.Epoch = c.Epoch
		l.Version = c.Version
		from = c.Version + 1
	}
	for v := from; v <= snap.Version; v++ {
		cm, err := table.Commit(ctx, v)
		if err != nil {
			return nil, err
		}
		if err := l.apply(cm); err != nil {
			return nil, err
		}
	}
	l.Version = snap.Version
	l.finish()
	if from <= snap.Version {
		writeLedgerCache(ctx, l, table, sys)
	}
	return l, nil
}

func tableID(table *zones.Table) string { return string(table.Zone().Name()) + "/" + table.Prefix() }

// readLedgerCache returns the newest ledger checkpoint at or below version
// that matches the output table, or nil when there is none. A checkpoint
// that does not decode or names another commit is passed over; one that
// cannot be read is no checkpoint (it is only a cache).
func readLedgerCache(ctx context.Context, name string, table *zones.Table, sys *lake.Store, version int64) *ledgerCache {
	if sys == nil {
		return nil
	}
	cp, ok, _, err := objlog.LoadCheckpoint(ctx, ledgerLog(sys, name), version, func(b []byte) (*ledgerCache, int64, error) {
		var c ledgerCache
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, 0, err
		}
		if c.Transform != name || c.Table != tableID(table) {
			return nil, 0, fmt.Errorf("the ledger of %s over %s, not %s over %s", c.Transform, c.Table, name, tableID(table))
		}
		cm, err := table.Commit(ctx, c.Version)
		if err != nil {
			return nil, 0, err
		}
		if cm.IdempotencyKey != c.CommitKey || !cm.Timestamp.Equal(c.CommitAt) {
			return nil, 0, fmt.Errorf("version %d is another commit than the one cached", c.Version)
		}
		return &c, c.Version, nil
	})
	if err != nil || !ok {
		return nil
	}
	return cp.State
}

// writeLedgerCache stores the ledger as a checkpoint at its version and
// drops the older ones but one (best effort: without a checkpoint a run
// reads more commits).
func writeLedgerCache(ctx context.Context, l *Ledger, table *zones.Table, sys *lake.Store) {
	if sys == nil || l.Version == 0 {
		return
	}
	cm, err := table.Commit(ctx, l.Version)
	if err != nil {
		return
	}
	c := ledgerCache{Transform: l.Transform, Table: tableID(table), Version: l.Version,
		CommitKey: cm.IdempotencyKey, CommitAt: cm.Timestamp, Epoch: l.Epoch}
	for _, n := range l.nodes {
		c.Nodes = append(c.Nodes, n)
	}
	sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].Version < c.Nodes[j].Version })
	b, err := json.Marshal(&c)
	if err != nil {
		return
	}
	cl := ledgerLog(sys, l.Transform)
	if cl.WriteCheckpoint(ctx, l.Version, b) == nil {
		_ = cl.PruneCheckpoints(ctx, ledgerCheckpoints)
	}
}
