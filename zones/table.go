package zones

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// CheckpointInterval is how many versions lie between two checkpoints of a
// table's commit log. Opening a table reads the newest checkpoint and the
// commits after it, so it costs a few reads however long the log is.
const CheckpointInterval = 50

// Table is untyped access to a lakekit table: its snapshots, history and
// files, for query and transform engines that bring their own reader. Get
// one from OpenTable or Dataset.Table. A Table is safe for concurrent use and
// caches the newest state it has seen, so refreshing costs one read when
// nothing changed.
type Table struct {
	lk       *lake.Lake
	zone     *lake.Zone
	store    *lake.Store // the zone's store
	database string
	name     string
	prefix   string // "<db>/<table>"
	logger   *slog.Logger

	mu     sync.Mutex
	latest *state // newest state seen; never mutated once published
}

// OpenTable opens the table database.table in a zone of lk. Nothing is read
// yet; a table that has no commit answers Snapshot with ErrNoSuchTable.
func OpenTable(lk *lake.Lake, zone lake.ZoneName, database, table string) (*Table, error) {
	if lk == nil {
		return nil, fmt.Errorf("zones: open table: nil lake: %w", ErrInvalid)
	}
	prefix, err := lake.TablePrefix(database, table)
	if err != nil {
		return nil, fmt.Errorf("zones: open table: %w: %w", ErrInvalid, err)
	}
	z, err := lk.Zone(zone)
	if err != nil {
		return nil, fmt.Errorf("zones: open table: %w: %w", ErrInvalid, err)
	}
	return &Table{lk: lk, zone: z, store: z.Store(), database: database, name: table, prefix: prefix,
		logger: lk.Logger().With("zone", string(zone), "table", prefix)}, nil
}

// Database returns the table's database name.
func (t *Table) Database() string { return t.database }

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Zone returns the table's zone.
func (t *Table) Zone() *lake.Zone { return t.zone }

// Prefix returns "<database>/<table>", the table's key prefix in its zone.
func (t *Table) Prefix() string { return t.prefix }

// Location returns the table's location as a URL other engines read
// ("s3://bucket/curated/db/t/"), for catalog registration.
func (t *Table) Location() string { return t.store.Location(t.prefix + "/") }

// Snapshot is a table at one version: the files a reader sees. It is
// immutable.
type Snapshot struct {
	Version       int64
	Timestamp     time.Time // of the commit that made the version
	PartitionKeys []string
	SchemaVersion int
	// Schema lists the stored columns (partition columns excluded).
	Schema []Column
	// Files are sorted by key.
	Files []DataFile
	// Locations maps each partition's Hive path ("dt=2024-01-01"; "" for an
	// unpartitioned table) to the key prefix its files go to now.
	Locations map[string]string
}

// Rows returns the total row count of the snapshot.
func (s *Snapshot) Rows() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.Rows
	}
	return n
}

// Partitions returns the distinct partitions of the snapshot's files, in
// path order.
func (s *Snapshot) Partitions() []lake.Partition {
	seen := map[string]lake.Partition{}
	for _, f := range s.Files {
		seen[partPath(f.Partition)] = f.Partition
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]lake.Partition, len(keys))
	for i, k := range keys {
		out[i] = seen[k]
	}
	return out
}

// Snapshot returns the table at version (0 or negative: the newest). It
// reads the newest checkpoint at or below the version and the commits after
// it, never listing data files. A table without commits gives an error
// matching ErrNoSuchTable; a version past the newest, ErrNoSuchVersion.
func (t *Table) Snapshot(ctx context.Context, version int64) (*Snapshot, error) {
	st, err := t.stateAt(ctx, version)
	if err != nil {
		return nil, err
	}
	return t.snapshotOf(st), nil
}

func (t *Table) snapshotOf(st *state) *Snapshot {
	files := st.sortedFiles()
	for i := range files {
		files[i].Location = t.store.Location(files[i].Key)
	}
	locs := make(map[string]string, len(st.Locations))
	for k, v := range st.Locations {
		locs[k] = v
	}
	return &Snapshot{Version: st.Version, Timestamp: st.Timestamp, PartitionKeys: append([]string(nil), st.PartitionKeys...),
		SchemaVersion: st.SchemaVersion, Schema: append([]Column(nil), st.Schema...), Files: files, Locations: locs}
}

// stateAt returns the state at version (<= 0: newest).
func (t *Table) stateAt(ctx context.Context, version int64) (*state, error) {
	if version <= 0 {
		st, err := t.refresh(ctx)
		if err != nil {
			return nil, err
		}
		if st.Version == 0 {
			return nil, fmt.Errorf("zones: table %s: %w", t.prefix, ErrNoSuchTable)
		}
		return st, nil
	}
	t.mu.Lock()
	cur := t.latest
	t.mu.Unlock()
	if cur != nil && cur.Version == version {
		return cur, nil
	}
	if cur == nil || version > cur.Version {
		st, err := t.refresh(ctx)
		if err != nil {
			return nil, err
		}
		if st.Version == version {
			return st, nil
		}
		if version > st.Version {
			if st.Version == 0 {
				return nil, fmt.Errorf("zones: table %s: %w", t.prefix, ErrNoSuchTable)
			}
			return nil, fmt.Errorf("zones: table %s has versions 1 to %d, not %d: %w", t.prefix, st.Version, version, ErrNoSuchVersion)
		}
	}
	// time travel: from the newest checkpoint at or below version
	st, err := t.loadCheckpointBelow(ctx, version)
	if err != nil {
		return nil, err
	}
	for st.Version < version {
		c, err := t.readCommit(ctx, st.Version+1)
		if err != nil {
			return nil, err
		}
		if err := st.apply(c); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// refresh brings the cached newest state up to date: from the cache (or the
// newest checkpoint on first use) it reads version+1, +2, ... until a
// version does not exist.
func (t *Table) refresh(ctx context.Context) (*state, error) {
	t.mu.Lock()
	cur := t.latest
	t.mu.Unlock()
	if cur == nil {
		var err error
		cur, err = t.loadNewestCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
	}
	next := cur
	for {
		c, err := t.readCommit(ctx, next.Version+1)
		if errors.Is(err, lake.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		if next == cur {
			next = cur.clone()
		}
		if err := next.apply(c); err != nil {
			return nil, err
		}
	}
	t.publish(next)
	return next, nil
}

// publish makes st the cached newest state unless a newer one is cached.
func (t *Table) publish(st *state) {
	t.mu.Lock()
	if t.latest == nil || st.Version > t.latest.Version {
		t.latest = st
	}
	t.mu.Unlock()
}

// readCommit reads one log entry; a missing one wraps lake.ErrNotFound.
func (t *Table) readCommit(ctx context.Context, v int64) (*Commit, error) {
	b, err := t.store.ReadAll(ctx, logKey(t.prefix, v))
	if err != nil {
		return nil, err
	}
	var c Commit
	if err := logcodec.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("zones: table %s: commit %d is not valid JSON: %w", t.prefix, v, err)
	}
	if c.Version != v {
		return nil, fmt.Errorf("zones: table %s: log entry %d claims version %d", t.prefix, v, c.Version)
	}
	return &c, nil
}

// loadNewestCheckpoint reads the _last_checkpoint hint and its checkpoint;
// without a usable hint it lists the checkpoint directory. No checkpoint at
// all gives the empty state (version 0).
func (t *Table) loadNewestCheckpoint(ctx context.Context) (*state, error) {
	b, err := t.store.ReadAll(ctx, t.prefix+"/"+lastCheckpoint)
	if err == nil {
		if v, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); perr == nil && v > 0 {
			if st, err := t.readCheckpoint(ctx, v); err == nil {
				return st, nil
			}
		}
	} else if !errors.Is(err, lake.ErrNotFound) {
		return nil, err
	}
	return t.listCheckpointBelow(ctx, 1<<62)
}

// loadCheckpointBelow returns the newest checkpoint at or below version, or
// the empty state.
func (t *Table) loadCheckpointBelow(ctx context.Context, version int64) (*state, error) {
	// The regular checkpoint is the first guess: one read.
	guess := version / CheckpointInterval * CheckpointInterval
	if guess == 0 {
		return newState(), nil
	}
	st, err := t.readCheckpoint(ctx, guess)
	if err == nil {
		return st, nil
	} else if !errors.Is(err, lake.ErrNotFound) {
		return nil, err
	}
	// Checkpoints are best effort: a writer may have died before writing it.
	return t.listCheckpointBelow(ctx, version)
}

// listCheckpointBelow lists the checkpoints and reads the newest at or
// below version (or returns the empty state).
func (t *Table) listCheckpointBelow(ctx context.Context, version int64) (*state, error) {
	var best int64
	dir := t.prefix + "/" + checkpointDir
	for e, err := range t.store.List(ctx, dir, nil) {
		if err != nil {
			return nil, err
		}
		v, perr := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(e.Key, dir), ".json"), 10, 64)
		if perr == nil && v <= version && v > best {
			best = v
		}
	}
	if best == 0 {
		return newState(), nil
	}
	return t.readCheckpoint(ctx, best)
}

func (t *Table) readCheckpoint(ctx context.Context, v int64) (*state, error) {
	b, err := t.store.ReadAll(ctx, checkpointKey(t.prefix, v))
	if err != nil {
		return nil, err
	}
	st, err := unmarshalState(b)
	if err != nil {
		return nil, fmt.Errorf("zones: table %s: checkpoint %d: %w", t.prefix, v, err)
	}
	if st.Version != v {
		return nil, fmt.Errorf("zones: table %s: checkpoint %d claims version %d", t.prefix, v, st.Version)
	}
	return st, nil
}

// writeCheckpoint stores st as a checkpoint and points the hint at it. Both
// are best effort: a missing checkpoint only costs readers more reads.
func (t *Table) writeCheckpoint(ctx context.Context, st *state) {
	b, err := st.marshal()
	if err == nil {
		err = t.store.PutBytes(ctx, checkpointKey(t.prefix, st.Version), b, &lake.PutOptions{ContentType: "application/json"})
	}
	if err == nil {
		err = t.store.PutBytes(ctx, t.prefix+"/"+lastCheckpoint, []byte(strconv.FormatInt(st.Version, 10)), nil)
	}
	if err != nil {
		t.logger.Warn("zones: checkpoint not written", "version", st.Version, "err", err)
	}
}

// History returns the table's commits, oldest first (the audit trail). It
// reads every log entry; use Snapshot for the current state.
func (t *Table) History(ctx context.Context) ([]Commit, error) {
	var out []Commit
	for v := int64(1); ; v++ {
		c, err := t.readCommit(ctx, v)
		if errors.Is(err, lake.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("zones: table %s: %w", t.prefix, ErrNoSuchTable)
	}
	return out, nil
}

// Commit returns the log entry of one version.
func (t *Table) Commit(ctx context.Context, version int64) (*Commit, error) {
	c, err := t.readCommit(ctx, version)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, fmt.Errorf("zones: table %s has no version %d: %w: %w", t.prefix, version, ErrNoSuchVersion, err)
	}
	return c, err
}
