package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// ErrCorrupt: the local catalog's stored objects are damaged — a table
// version or partition-log entry that was committed is missing, or one
// does not decode. The message names the object. It is lake.ErrCorrupt
// (internal/objlog's sentinel), so one errors.Is covers every log.
var ErrCorrupt = lake.ErrCorrupt

// Local is the catalog kept inside the lake, as JSON objects in a lake
// store (normally <root>/_lakekit/catalog/, see OpenLocal), so it works the
// same on file, memory and S3 stores and needs nothing else to run.
//
// Layout under its store:
//
//	databases/<db>.json                      a database
//	tables/<db>/<table>/_lakekit/...         the table's versions: a log (internal/objlog)
//	                                         whose every version is the whole table and its
//	                                         schema history; a deleted table's last version is
//	                                         a tombstone
//	tables/<db>/<table>/p/<id>/_lakekit/...  partition changes: a log of one batch per
//	                                         version, checkpointed every 32 versions
//
// Both logs are internal/objlog logs: every change creates the next
// numbered object with lake.Store.Create (create-if-absent, atomic across
// processes: an O_EXCL link on files, If-None-Match on S3). Of two writers
// racing for one number exactly one wins; the other re-reads and, when its
// change still applies (an append of partitions, an update whose VersionID
// still matches), retries with objlog's budget and backoff, so no update is
// ever lost. UpdateTable with a stale VersionID fails with ErrConflict.
//
// Reads are cheap: the newest-version hint says where to start and a probe
// finds anything newer, so reading a table costs about three requests
// however many versions it has; partitions are read from the newest
// checkpoint plus the entries after it. Damage is never read as an older
// state: a table version or log entry that was committed but is missing or
// does not decode is ErrCorrupt naming the object, and a damaged
// checkpoint falls back to an older one and the log (the next change
// writes a good one).
//
// DeleteDatabase and concurrent CreateTable in the same database may race;
// everything else is safe for concurrent use by many goroutines and
// processes.
type Local struct {
	store *lake.Store
	now   func() time.Time

	// parts caches the partition state last read per partition log.
	// Log entries never change once created and a re-created table gets a
	// new log, so a cached state only ever needs the entries after it.
	mu    sync.Mutex
	parts map[string]*partState
}

var _ Catalog = (*Local)(nil)

// NewLocal returns a local catalog kept in store (all keys relative to it).
func NewLocal(store *lake.Store) *Local {
	return &Local{store: store, now: func() time.Time { return time.Now().UTC() }, parts: map[string]*partState{}}
}

// OpenLocal returns the local catalog of a lake, kept under
// <root>/_lakekit/catalog/.
func OpenLocal(lk *lake.Lake) (*Local, error) {
	s, err := lk.System("catalog")
	if err != nil {
		return nil, err
	}
	return NewLocal(s), nil
}

// As exposes the catalog's store: pass a **lake.Store.
func (l *Local) As(i any) bool {
	if p, ok := i.(**lake.Store); ok {
		*p = l.store
		return true
	}
	return false
}

func dbKey(db string) string { return "databases/" + db + ".json" }

func isNotFound(err error) bool { return errors.Is(err, lake.ErrNotFound) }
func isExists(err error) bool   { return errors.Is(err, lake.ErrExists) }

// ---- databases ----

// CreateDatabase implements Catalog.
func (l *Local) CreateDatabase(ctx context.Context, db Database) error {
	if err := ValidateDatabase(db); err != nil {
		return err
	}
	b, err := json.Marshal(db)
	if err != nil {
		return err
	}
	if err := l.store.Create(ctx, dbKey(db.Name), b, nil); err != nil {
		if isExists(err) {
			return fmt.Errorf("catalog: database %q: %w", db.Name, ErrExists)
		}
		return err
	}
	return nil
}

// GetDatabase implements Catalog.
func (l *Local) GetDatabase(ctx context.Context, name string) (*Database, error) {
	if err := nameErr(lake.KindDatabase, name); err != nil {
		return nil, err
	}
	b, err := l.store.ReadAll(ctx, dbKey(name))
	if isNotFound(err) {
		return nil, fmt.Errorf("catalog: database %q: %w", name, ErrNoSuchDatabase)
	}
	if err != nil {
		return nil, err
	}
	var db Database
	if err := json.Unmarshal(b, &db); err != nil {
		return nil, fmt.Errorf("catalog: database %q: object %s does not decode: %w: %v", name, dbKey(name), ErrCorrupt, err)
	}
	return &db, nil
}

// ListDatabases implements Catalog; databases come sorted by name.
func (l *Local) ListDatabases(ctx context.Context) iter.Seq2[*Database, error] {
	return func(yield func(*Database, error) bool) {
		ents, err := l.store.ListAll(ctx, "databases/", nil)
		if err != nil {
			yield(nil, err)
			return
		}
		var names []string
		for _, e := range ents {
			name, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, "databases/"), ".json")
			if ok && !strings.Contains(name, "/") {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			db, err := l.GetDatabase(ctx, n)
			if errors.Is(err, ErrNoSuchDatabase) {
				continue // deleted meanwhile
			}
			if !yield(db, err) || err != nil {
				return
			}
		}
	}
}

// DeleteDatabase implements Catalog: a database that still has tables is
// refused with ErrInvalid.
func (l *Local) DeleteDatabase(ctx context.Context, name string) error {
	if _, err := l.GetDatabase(ctx, name); err != nil {
		return err
	}
	var tables []string
	for t, err := range l.ListTables(ctx, name) {
		if err != nil {
			return err
		}
		tables = append(tables, t.Name)
	}
	if len(tables) > 0 {
		return invalidf("database %q still has %d tables (%s); delete them first", name, len(tables), strings.Join(tables, ", "))
	}
	if err := l.deletePrefix(ctx, "tables/"+name+"/"); err != nil {
		return err
	}
	return l.store.Delete(ctx, dbKey(name))
}

func (l *Local) deletePrefix(ctx context.Context, prefix string) error {
	var keys []string
	for e, err := range l.store.List(ctx, prefix, nil) {
		if err != nil {
			return err
		}
		keys = append(keys, e.Key)
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := l.store.DeleteMany(ctx, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
