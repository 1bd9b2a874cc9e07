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
	// Entries are the live entries, oldest first (entries undone by a
	// rewind are gone).
	Entries []LedgerEntry
	// Epoch counts rewinds.
	Epoch int
	// Version is the output table version the ledger was read up to.
	Version int64
	// consumed is the newest entry's input per key.
	consumed map[string]InputFile
	// parts is the newest entry per input partition unit.
	parts map[string]*LedgerEntry
}

func newLedger(name string) *Ledger {
	return &Ledger{Transform: name, consumed: map[string]InputFile{}, parts: map[string]*LedgerEntry{}}
}

// apply moves the ledger forward by one commit of the output table.
func (l *Ledger) apply(c *zones.Commit) error {
	l.Version = c.Version
	if c.Metadata == nil {
		return nil
	}
	if v, ok := c.Metadata[MetaRewind]; ok && c.Metadata[MetaTransform] == l.Transform {
		to, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("transform %s: commit %d: rewind marker %q: %w", l.Transform, c.Version, v, ErrLedger)
		}
		l.rewind(to)
		l.Epoch++
		return nil
	}
	if c.Metadata[MetaTransform] != l.Transform {
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
	l.add(e)
	return nil
}

func (l *Ledger) add(e LedgerEntry) {
	l.Entries = append(l.Entries, e)
	for _, f := range e.Inputs {
		l.consumed[f.Key] = f
	}
	if strings.HasPrefix(e.Unit, "partition:") {
		l.parts[e.Unit] = &l.Entries[len(l.Entries)-1]
	}
}

// rewind drops entries of commits after version to.
func (l *Ledger) rewind(to int64) {
	old := l.Entries
	l.Entries = nil
	l.consumed = map[string]InputFile{}
	l.parts = map[string]*LedgerEntry{}
	for _, e := range old {
		if e.Version <= to {
			l.add(e)
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

// ledgerCache is the hint object: the ledger as of a version of the output
// table, so a run reads only the commits after it. It is checked against
// the commit it names and ignored when it does not match.
type ledgerCache struct {
	Transform string        `json:"transform"`
	Table     string        `json:"table"`
	Version   int64         `json:"version"`
	CommitKey string        `json:"commit_key"` // idempotency key of that version
	CommitAt  time.Time     `json:"commit_at"`
	Epoch     int           `json:"epoch"`
	Entries   []cachedEntry `json:"entries"`
}

type cachedEntry struct {
	LedgerEntry
	Version    int64     `json:"version"`
	CommitTime time.Time `json:"commit_time"`
}

func ledgerCacheKey(name string) string { return name + "/ledger.json" }

// loadLedger reads a transform's ledger from the output table's commits,
// starting from the cache object in sys when it is still valid.
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
	if c := readLedgerCache(ctx, name, table, sys); c != nil && c.Version <= snap.Version {
		if cm, err := table.Commit(ctx, c.Version); err == nil && cm.IdempotencyKey == c.CommitKey && cm.Timestamp.Equal(c.CommitAt) {
			for _, ce := range c.Entries {
				e := ce.LedgerEntry
				e.Version, e.CommitTime = ce.Version, ce.CommitTime
				l.add(e)
			}
			l.Epoch = c.Epoch
			l.Version = c.Version
			from = c.Version + 1
		}
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
	if from <= snap.Version {
		writeLedgerCache(ctx, l, table, sys)
	}
	return l, nil
}

func readLedgerCache(ctx context.Context, name string, table *zones.Table, sys *lake.Store) *ledgerCache {
	if sys == nil {
		return nil
	}
	b, err := sys.ReadAll(ctx, ledgerCacheKey(name))
	if err != nil {
		return nil
	}
	var c ledgerCache
	if json.Unmarshal(b, &c) != nil || c.Transform != name || c.Table != string(table.Zone().Name())+"/"+table.Prefix() {
		return nil
	}
	return &c
}

func writeLedgerCache(ctx context.Context, l *Ledger, table *zones.Table, sys *lake.Store) {
	if sys == nil || l.Version == 0 {
		return
	}
	cm, err := table.Commit(ctx, l.Version)
	if err != nil {
		return
	}
	c := ledgerCache{Transform: l.Transform, Table: string(table.Zone().Name()) + "/" + table.Prefix(),
		Version: l.Version, CommitKey: cm.IdempotencyKey, CommitAt: cm.Timestamp, Epoch: l.Epoch}
	for _, e := range l.Entries {
		c.Entries = append(c.Entries, cachedEntry{LedgerEntry: e, Version: e.Version, CommitTime: e.CommitTime})
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return
	}
	_ = sys.PutBytes(ctx, ledgerCacheKey(l.Transform), b, &lake.PutOptions{ContentType: "application/json"})
}
