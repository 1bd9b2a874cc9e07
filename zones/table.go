package zones

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakekit/lakekit/internal/objlog"
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

	log *objlog.Log

	mu     sync.Mutex
	latest *state // newest state seen; never mutated once published
	// needCheckpoint: a damaged checkpoint was skipped; the next commit
	// writes a good one whatever its version.
	needCheckpoint atomic.Bool
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
		log:    objlog.New(z.Store(), prefix),
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
	t.locate(files)
	locs := make(map[string]string, len(st.Locations))
	for k, v := range st.Locations {
		locs[k] = v
	}
	return &Snapshot{Version: st.Version, Timestamp: st.Timestamp, PartitionKeys: append([]string(nil), st.PartitionKeys...),
		SchemaVersion: st.SchemaVersion, Schema: append([]Column(nil), st.Schema...), Files: files, Locations: locs}
}

// locate fills in the files' locations. A driver's Location costs a
// microsecond or two (the file driver cleans a path and renders a URL),
// which a table of many files would pay on every snapshot; for a key that
// is the table's prefix and plain characters, the location is the
// prefix's location and the rest of the key — checked against the driver
// on the first such file, so a driver that renders keys otherwise is
// asked for each.
func (t *Table) locate(files []DataFile) {
	dir := t.prefix + "/"
	var base string
	var concat []int // the files located by concatenation
	size := 0        // their locations' bytes
	for i := range files {
		rest, ok := strings.CutPrefix(files[i].Key, dir)
		plain := ok && plainKey(rest)
		if plain && base == "" && concat == nil {
			base = t.store.Location(dir)
			if t.store.Location(files[i].Key) != base+rest {
				base = "" // the driver renders keys otherwise: ask it for each
				concat = []int{}
			}
		}
		if !plain || base == "" {
			files[i].Location = t.store.Location(files[i].Key)
			continue
		}
		concat = append(concat, i)
		size += len(base) + len(rest)
	}
	if len(concat) == 0 || base == "" {
		return
	}
	var b strings.Builder
	b.Grow(size)
	for _, i := range concat {
		b.WriteString(base)
		b.WriteString(files[i].Key[len(dir):])
	}
	all, off := b.String(), 0
	for _, i := range concat {
		l := len(base) + len(files[i].Key) - len(dir)
		files[i].Location, off = all[off:off+l], off+l
	}
}

// plainKey is whether a relative key is clean segments of letters, digits
// and "._-=" (no escapes, no "." or ".." segments, no empty segment).
func plainKey(k string) bool {
	seg := 0 // length of the current segment
	dots := 0
	for i := 0; i < len(k); i++ {
		switch keyClass[k[i]] {
		case keySlash:
			if seg == 0 || seg == dots && dots <= 2 {
				return false
			}
			seg, dots = 0, 0
			continue
		case keyDot:
			dots++
		case keyBad:
			return false
		}
		seg++
	}
	return seg > 0 && !(seg == dots && dots <= 2)
}

// keyClass sorts the bytes of a key for plainKey, which runs once per
// live file on every snapshot: a table lookup instead of a chain of range
// comparisons per byte.
var keyClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == '/':
			t[c] = keySlash
		case c == '.':
			t[c] = keyDot
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '=':
			t[c] = keyPlain
		}
	}
	return t
}()

const (
	keyBad = iota
	keyPlain
	keyDot
	keySlash
)

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
		if errors.Is(err, ErrCorrupt) {
			// damage after the version asked for does not stop time
			// travel to it: read forward from a checkpoint below it
			return t.travel(ctx, version)
		}
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
	return t.travel(ctx, version)
}

// travel reads the state at version from the newest checkpoint at or
// below it and the commits after that.
func (t *Table) travel(ctx context.Context, version int64) (*state, error) {
	st, err := t.loadCheckpointBelow(ctx, version)
	if err != nil {
		return nil, err
	}
	if st.Version >= version {
		return st, nil
	}
	if st.shared {
		st = st.clone()
	}
	// the end of the log before version, or a version lost below the
	// newest (ErrCorrupt), ends the read early
	last, err := objlog.Replay(ctx, t.log, st.Version, commitVersion, func(v int64, c *Commit) error {
		if err := st.apply(c); err != nil {
			return err
		}
		if v >= version {
			return objlog.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, t.logErr(err)
	}
	if last < version {
		return nil, fmt.Errorf("zones: table %s has no version %d: %w: %w", t.prefix, last+1, ErrNoSuchVersion, lake.ErrNotFound)
	}
	return st, nil
}

// refresh brings the cached newest state up to date: from the cache (or the
// newest checkpoint on first use) it reads version+1, +2, ... until a
// version does not exist, and then checks that no later version exists (a
// gap is corruption, never the end of the log).
func (t *Table) refresh(ctx context.Context) (*state, error) {
	t.mu.Lock()
	cur := t.latest
	t.mu.Unlock()
	owned := false // a state just decoded is no one else's: apply to it
	if cur == nil {
		var err error
		cur, err = t.loadCheckpointBelow(ctx, 1<<62)
		if err != nil {
			return nil, err
		}
		owned = !cur.shared
	}
	next := cur
	_, err := objlog.Replay(ctx, t.log, cur.Version, commitVersion, func(_ int64, c *Commit) error {
		if next == cur && !owned {
			next = cur.clone()
		}
		return next.apply(c)
	})
	if err != nil {
		return nil, t.logErr(err)
	}
	t.publish(next)
	return next, nil
}

func commitVersion(c *Commit) int64 { return c.Version }

// logErr names the table in an error of its log (objlog's name the
// object, not the table).
func (t *Table) logErr(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("zones: table %s: %w", t.prefix, err)
	}
	return err
}

// publish makes st the cached newest state unless a newer one is cached.
func (t *Table) publish(st *state) {
	t.mu.Lock()
	if t.latest == nil || st.Version > t.latest.Version {
		t.latest = st
	}
	t.mu.Unlock()
}

// readCommit reads one log entry; a missing one wraps lake.ErrNotFound, a
// damaged one ErrCorrupt naming the object.
func (t *Table) readCommit(ctx context.Context, v int64) (*Commit, error) {
	var c Commit
	if err := t.log.Decode(ctx, v, &c, func() int64 { return c.Version }); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("zones: table %s: %w", t.prefix, err)
		}
		return nil, err
	}
	return &c, nil
}

// loadCheckpointBelow returns the newest usable checkpoint at or below
// version, or the empty state. A damaged checkpoint is skipped (an older
// one and the log give the same state), logged, and replaced by a good one
// at the next commit.
func (t *Table) loadCheckpointBelow(ctx context.Context, version int64) (*state, error) {
	if version < CheckpointInterval {
		return newState(), nil
	}
	cp, ok, damaged, err := objlog.LoadCheckpoint(ctx, t.log, version, func(b []byte) (*state, int64, error) {
		st, err := cachedCheckpoint(b)
		if err != nil {
			return nil, 0, err
		}
		return st, st.Version, nil
	})
	if err != nil {
		return nil, err
	}
	if len(damaged) > 0 {
		t.needCheckpoint.Store(true)
		t.logger.Warn("zones: damaged checkpoint skipped; reading the log from an older one", "damaged", damaged)
	}
	if !ok {
		return newState(), nil
	}
	return cp.State, nil
}

// writeCheckpoint stores st as a checkpoint and points the hint at it. Both
// are best effort: a missing checkpoint only costs readers more reads.
func (t *Table) writeCheckpoint(ctx context.Context, st *state) {
	b, err := st.marshal()
	if err == nil {
		err = t.log.WriteCheckpoint(ctx, st.Version, b)
	}
	if err != nil {
		t.logger.Warn("zones: checkpoint not written", "version", st.Version, "err", err)
		return
	}
	t.needCheckpoint.Store(false)
}

// History returns the table's commits, oldest first (the audit trail). It
// reads every log entry; use Snapshot for the current state. A damaged log
// (a missing or undecodable entry) gives the commits before the damage
// together with an error matching ErrCorrupt that names the object.
func (t *Table) History(ctx context.Context) ([]Commit, error) {
	var out []Commit
	_, err := objlog.Replay(ctx, t.log, 0, commitVersion, func(_ int64, c *Commit) error {
		out = append(out, *c)
		return nil
	})
	if err != nil {
		// the versions before the damage are returned with the error
		return out, t.logErr(err)
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
