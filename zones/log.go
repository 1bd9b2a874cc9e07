package zones

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// Mode says what a commit does to the data already in the table.
type Mode int

const (
	// Append adds the new files; nothing is replaced.
	Append Mode = iota
	// Overwrite replaces the whole table with the new files.
	Overwrite
	// OverwritePartitions replaces only the partitions the new rows fall
	// into; other partitions are kept.
	OverwritePartitions
)

var modeNames = [...]string{"append", "overwrite", "overwrite_partitions"}

// String returns "append", "overwrite" or "overwrite_partitions".
func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("Mode(%d)", int(m))
	}
	return modeNames[m]
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(modeNames) {
		return nil, fmt.Errorf("zones: unknown mode %d: %w", int(m), ErrInvalid)
	}
	return []byte(modeNames[m]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mode) UnmarshalText(b []byte) error {
	for i, n := range modeNames {
		if string(b) == n {
			*m = Mode(i)
			return nil
		}
	}
	return fmt.Errorf("zones: unknown mode %q: %w", b, ErrInvalid)
}

// ColumnStats are the statistics of one column over a whole data file.
// Min and Max are rendered as text by Kind: "int" and "timestamp" (Unix
// microseconds, UTC) as decimal integers, "float" with strconv 'g', "string"
// as the string itself, "bool" as true/false; HasMinMax is false when the
// column holds only NULLs or its type keeps no statistics.
type ColumnStats struct {
	Column    string `json:"column"`
	Kind      string `json:"kind"`
	Min       string `json:"min,omitempty"`
	Max       string `json:"max,omitempty"`
	HasMinMax bool   `json:"has_min_max,omitempty"`
	Nulls     int64  `json:"nulls,omitempty"`
}

// DataFile is one Parquet file of a table snapshot.
type DataFile struct {
	// Key is the object key relative to the zone's store:
	// "<db>/<table>/<k>=<v>/part-<id>-<n>.parquet".
	Key string `json:"key"`
	// Location is where the file lives as a URL other engines read
	// ("s3://bucket/curated/db/t/dt=2024-01-01/part-....parquet"); filled in
	// by Snapshot, not stored in the log.
	Location string `json:"-"`
	// Partition holds the file's partition values in key order; nil for an
	// unpartitioned table.
	Partition lake.Partition `json:"partition,omitempty"`
	Rows      int64          `json:"rows"`
	Size      int64          `json:"size"`
	Stats     []ColumnStats  `json:"stats,omitempty"`
	// AddedIn is the table version whose commit added the file.
	AddedIn int64 `json:"added_in,omitempty"`
	// CRC32C is the Castagnoli CRC-32 of the file's bytes (0: unknown).
	CRC32C uint32 `json:"crc32c,omitempty"`
	// Staged is where an appended file waited for its commit
	// ("<db>/<t>/_lakekit/staging/<attempt>/part-....parquet"); the commit
	// then moves it to Key. Readers that find Key missing read Staged (the
	// move is still to come), and the next commit or Vacuum finishes it.
	Staged string `json:"staged,omitempty"`
}

// PartitionLocation is where a partition's files go: a key prefix relative
// to the zone's store ("db/t/dt=2024-01-01" or, after an overwrite,
// "db/t/_g7-1a2b.../dt=2024-01-01").
type PartitionLocation struct {
	Partition lake.Partition `json:"partition,omitempty"`
	Prefix    string         `json:"prefix"`
}

// Audit says who made a commit: host, process id, OS user and the caller's
// identity (WriterOptions.Caller, else the lake's: lake.Options.Caller or
// the identity the store's driver looks up, such as the AWS principal ARN
// from STS on S3). It is lake.Audit, so lake's History reads the same record.
type Audit = lake.Audit

// Column is one stored column of a table's schema as the commit log records
// it (partition columns are not stored in the files and not listed here).
type Column struct {
	Name string `json:"name"`
	// Type is the Glue/Hive type: bigint, double, string, timestamp, ...
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
}

// Commit is one entry of a table's commit log: one table version. The log
// is the audit trail of the table (Dataset.History).
type Commit struct {
	Version        int64     `json:"version"`
	Timestamp      time.Time `json:"timestamp"`
	Operation      string    `json:"operation"` // "write" (a vacuum is not a version: see zones.History)
	Mode           Mode      `json:"mode"`
	IdempotencyKey string    `json:"idempotency_key"`
	// Attempt names the attempt that made the commit (its objects' names);
	// two attempts with one key never share names.
	Attempt string `json:"attempt,omitempty"`
	// Digest is what the idempotency key commits to: a hash of the added
	// files' partitions, rows, sizes and checksums. A later write with the
	// same key and the same data is a Duplicate; with other data, ErrConflict.
	Digest string `json:"digest,omitempty"`
	// SchemaVersion is the table's schema version after this commit.
	SchemaVersion int `json:"schema_version"`
	// Schema is set when this commit created the table or changed its schema.
	Schema        []Column            `json:"schema,omitempty"`
	PartitionKeys []string            `json:"partition_keys,omitempty"`
	Added         []DataFile          `json:"added,omitempty"`
	Removed       []DataFile          `json:"removed,omitempty"`
	Locations     []PartitionLocation `json:"locations,omitempty"`
	// Dropped lists partitions a whole-table overwrite emptied.
	Dropped  []lake.Partition  `json:"dropped,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Audit    Audit             `json:"audit"`
}

// Rows is the number of rows the commit added.
func (c *Commit) Rows() int64 {
	var n int64
	for _, f := range c.Added {
		n += f.Rows
	}
	return n
}

// Bytes is the number of bytes the commit added.
func (c *Commit) Bytes() int64 {
	var n int64
	for _, f := range c.Added {
		n += f.Size
	}
	return n
}

// touched returns the partition paths a commit added to, removed from or
// relocated.
func (c *Commit) touched() map[string]bool {
	t := map[string]bool{}
	for _, f := range c.Added {
		t[partPath(f.Partition)] = true
	}
	for _, f := range c.Removed {
		t[partPath(f.Partition)] = true
	}
	for _, l := range c.Locations {
		t[partPath(l.Partition)] = true
	}
	for _, p := range c.Dropped {
		t[partPath(p)] = true
	}
	return t
}

// partPath renders a (validated) partition as its Hive path; "" for none.
func partPath(p lake.Partition) string { return p.HivePath() }

// Keys of the commit log, relative to the table prefix (internal/logcodec
// is the one layout lake and zones share).
const (
	checkpointDir  = logcodec.CheckpointDir
	lastCheckpoint = logcodec.LastCheckpoint
)

func logKey(table string, v int64) string { return logcodec.CommitKey(table, v) }

func checkpointKey(table string, v int64) string { return logcodec.CheckpointKey(table, v) }

// tombstone remembers a file a commit removed, for Vacuum.
type tombstone struct {
	Key       string    `json:"key"`
	RemovedIn int64     `json:"removed_in"`
	RemovedAt time.Time `json:"removed_at"`
}

// state is a table at one version: what a checkpoint stores.
type state struct {
	Version       int64             `json:"version"`
	PartitionKeys []string          `json:"partition_keys,omitempty"`
	SchemaVersion int               `json:"schema_version"`
	Schema        []Column          `json:"schema,omitempty"`
	FileList      []DataFile        `json:"files"`
	Locations     map[string]string `json:"locations,omitempty"` // partition path → prefix
	Keys          map[string]int64  `json:"idempotency_keys,omitempty"`
	Tombstones    []tombstone       `json:"tombstones,omitempty"`
	Timestamp     time.Time         `json:"timestamp"`

	files map[string]DataFile // by key; FileList is only used in JSON
	// sorted is an immutable list of files sorted by key (from a
	// checkpoint, or built by clone), shared by the states of a lineage;
	// since lists the keys added after it. sortedFiles merges the two
	// instead of sorting every live file.
	sorted []DataFile
	since  []string
	// shared: the state is in the checkpoint cache (checkpoint.go), read by
	// every table that loads the same checkpoint: never changed; clone
	// gives its copy a key index of its own.
	shared bool
	// dirty: a file of sorted was removed or replaced since it was made
	dirty bool
	// keys indexes idempotency keys; Keys is only used in JSON. The index is
	// shared by the states of one lineage (it only grows), so a commit does
	// not copy every key ever seen; lookups ignore versions past the state.
	keys *keyIndex
}

type keyIndex struct {
	mu sync.RWMutex
	m  map[string]int64
	// base is the index of a shared (cached, never changed) state this
	// lineage started from: read through, not copied, so opening a table
	// from a cached checkpoint costs no copy of every key the table saw.
	base *keyIndex
}

// get returns the version that committed key k in the lineage.
func (x *keyIndex) get(k string) (int64, bool) {
	x.mu.RLock()
	v, ok := x.m[k]
	x.mu.RUnlock()
	if !ok && x.base != nil {
		return x.base.get(k)
	}
	return v, ok
}

// note records that version v committed key k, unless an earlier version
// did.
func (x *keyIndex) note(k string, v int64) {
	if old, ok := x.base.lookup(k); ok && old <= v {
		return
	}
	x.mu.Lock()
	if old, ok := x.m[k]; !ok || old > v {
		x.m[k] = v
	}
	x.mu.Unlock()
}

// lookup is get on a possibly nil index.
func (x *keyIndex) lookup(k string) (int64, bool) {
	if x == nil {
		return 0, false
	}
	return x.get(k)
}

// each calls fn with every key of the lineage and its version.
func (x *keyIndex) each(fn func(string, int64)) {
	x.mu.RLock()
	for k, v := range x.m {
		fn(k, v)
	}
	x.mu.RUnlock()
	if x.base != nil {
		x.base.each(fn)
	}
}

func newState() *state {
	return &state{Locations: map[string]string{}, files: map[string]DataFile{}, sorted: []DataFile{}, keys: &keyIndex{m: map[string]int64{}}}
}

// key returns the version that committed an idempotency key, if it is at
// or below the state's version.
func (s *state) key(k string) (int64, bool) {
	v, ok := s.keys.get(k)
	return v, ok && v <= s.Version
}

func (s *state) clone() *state {
	c := *s
	c.files = maps.Clone(s.files)
	c.Locations = maps.Clone(s.Locations)
	if c.Locations == nil {
		c.Locations = map[string]string{}
	}
	c.Tombstones = append([]tombstone(nil), s.Tombstones...)
	c.FileList = nil
	if s.shared {
		// two tables may load one checkpoint (a copied lake): their
		// lineages must not see each other's keys
		c.shared = false
		c.keys = &keyIndex{m: map[string]int64{}, base: s.keys}
	}
	if len(s.since) > 64 && len(s.since) > len(s.sorted)/8 {
		// the merge would sort most files: start a new sorted list
		c.sorted, c.since, c.dirty = s.sortedFiles(), nil, false
	} else {
		c.since = slices.Clip(s.since) // appends to c.since copy
	}
	return &c
}

// apply moves the state forward by one commit, which must be the next version.
func (s *state) apply(c *Commit) error {
	if c.Version != s.Version+1 {
		return fmt.Errorf("zones: commit log gap: have version %d, next entry is %d", s.Version, c.Version)
	}
	s.Version = c.Version
	s.Timestamp = c.Timestamp
	if len(c.PartitionKeys) > 0 || s.Version == 1 {
		s.PartitionKeys = c.PartitionKeys
	}
	if c.Schema != nil {
		s.Schema = c.Schema
	}
	if c.SchemaVersion > 0 {
		s.SchemaVersion = c.SchemaVersion
	}
	for _, f := range c.Removed {
		s.dirty = true
		delete(s.files, f.Key)
		s.Tombstones = append(s.Tombstones, tombstone{Key: f.Key, RemovedIn: c.Version, RemovedAt: c.Timestamp})
	}
	for _, f := range c.Added {
		f.AddedIn = c.Version
		if _, ok := s.files[f.Key]; ok {
			s.dirty = true
		}
		s.files[f.Key] = f
		s.since = append(s.since, f.Key)
	}
	s.replaceOverwritten(c)
	for _, p := range c.Dropped {
		delete(s.Locations, partPath(p))
	}
	for _, l := range c.Locations {
		s.Locations[partPath(l.Partition)] = l.Prefix
	}
	if c.IdempotencyKey != "" {
		s.keys.note(c.IdempotencyKey, c.Version)
	}
	return nil
}

// replaceOverwritten makes an overwrite mean what it says even where the
// log lost an entry (Table.Repair): after an Overwrite the table holds
// only the commit's files and partitions; after an OverwritePartitions
// each partition it relocated holds only the commit's files. Its Removed
// and Dropped lists already name these files and partitions whenever the
// log is whole, so this changes nothing then. Without it a partition that
// only the lost entry dropped would keep its folder after the Overwrite,
// empty to lakekit, while an engine reading the folder (Athena through
// the catalog) would still see the files the Overwrite replaced.
func (s *state) replaceOverwritten(c *Commit) {
	if c.Mode == Append || c.Operation == "repair" && len(c.Locations) == 0 {
		return
	}
	moved := map[string]bool{}
	for _, l := range c.Locations {
		moved[partPath(l.Partition)] = true
	}
	if c.Mode == Overwrite {
		for p := range s.Locations {
			if !moved[p] {
				delete(s.Locations, p)
			}
		}
	}
	for k, f := range s.files {
		if f.AddedIn == c.Version || c.Mode != Overwrite && !moved[partPath(f.Partition)] {
			continue
		}
		delete(s.files, k)
		s.dirty = true
		s.Tombstones = append(s.Tombstones, tombstone{Key: k, RemovedIn: c.Version, RemovedAt: c.Timestamp})
	}
}

// marshal renders the state as a checkpoint (checkpoint.go).
func (s *state) marshal() ([]byte, error) {
	keys := map[string]int64{}
	s.keys.each(func(k string, v int64) {
		if old, ok := keys[k]; v <= s.Version && (!ok || v < old) {
			keys[k] = v
		}
	})
	return encodeCheckpoint(s, s.sortedFiles(), keys), nil
}

func unmarshalState(b []byte) (*state, error) {
	s := newState()
	if err := logcodec.Decode(b, s); err != nil {
		return nil, err
	}
	if s.Locations == nil {
		s.Locations = map[string]string{}
	}
	for k, v := range s.Keys {
		s.keys.m[k] = v
	}
	s.Keys = nil
	for _, f := range s.FileList {
		s.files[f.Key] = f
	}
	s.sorted = nil // FileList may hold one key twice: sortedFiles sorts the map
	s.FileList = nil
	return s, nil
}

// sortedFiles returns the live files sorted by key, in a new slice: the
// sorted list's files that are still live (the same key added by the same
// version) merged with the files added since.
func (s *state) sortedFiles() []DataFile {
	if s.sorted == nil {
		out := make([]DataFile, 0, len(s.files))
		for _, f := range s.files {
			out = append(out, f)
		}
		slices.SortFunc(out, func(a, b DataFile) int { return strings.Compare(a.Key, b.Key) })
		return out
	}
	if !s.dirty && len(s.since) == 0 {
		return slices.Clone(s.sorted)
	}
	base := s.sorted // every file of it still live, unchanged
	if s.dirty {
		base = make([]DataFile, 0, len(s.files))
		for _, f := range s.sorted {
			if cur, ok := s.files[f.Key]; ok && cur.AddedIn == f.AddedIn {
				base = append(base, cur)
			}
		}
	}
	added := make([]DataFile, 0, len(s.since))
	for _, k := range s.since {
		if f, ok := s.files[k]; ok {
			added = append(added, f)
		}
	}
	slices.SortFunc(added, func(a, b DataFile) int { return strings.Compare(a.Key, b.Key) })
	added = slices.CompactFunc(added, func(a, b DataFile) bool { return a.Key == b.Key })
	// a key added since and also in the sorted list with its old version
	// was skipped above; the merge never sees one key twice
	out := make([]DataFile, 0, len(base)+len(added))
	i, j := 0, 0
	for i < len(base) && j < len(added) {
		if base[i].Key < added[j].Key {
			out = append(out, base[i])
			i++
		} else {
			out = append(out, added[j])
			j++
		}
	}
	out = append(out, base[i:]...)
	return append(out, added[j:]...)
}
