package torture

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"iter"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/zones"
)

// Row is the torture table's row. Every row is derived from the
// idempotency key of the write that made it (rowsFor), so the expected
// table content can be replayed from the commit log alone.
type Row struct {
	ID  string `parquet:"id"`
	Key string `parquet:"key"`
	Day string `parquet:"day" lakekit:"partition"`
}

var days = []string{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}

// opKey names a write: who-n-mode-mask, mask selecting the days it writes.
func opKey(who string, n int, mode zones.Mode, mask int) string {
	return fmt.Sprintf("%s-%d-%d-%d", who, n, int(mode), mask)
}

// rowsFor returns the rows a write with this key writes.
func rowsFor(key string) []Row {
	parts := strings.Split(key, "-")
	mask, _ := strconv.Atoi(parts[len(parts)-1])
	h := fnv.New64a()
	h.Write([]byte(key))
	per := 1 + int(h.Sum64()%3)
	var rows []Row
	for d := range days {
		if mask&(1<<d) == 0 {
			continue
		}
		for i := 0; i < per; i++ {
			rows = append(rows, Row{ID: fmt.Sprintf("%s#%s#%d", key, days[d], i), Key: key, Day: days[d]})
		}
	}
	return rows
}

// replay computes the table's rows after the commits of log (in order).
func replay(log []zones.Commit) (map[string]Row, error) {
	rows := map[string]Row{}
	for _, c := range log {
		add := rowsFor(c.IdempotencyKey)
		if int64(len(add)) != c.Rows() {
			return nil, fmt.Errorf("version %d (key %s) records %d rows, its key writes %d", c.Version, c.IdempotencyKey, c.Rows(), len(add))
		}
		switch c.Mode {
		case zones.OverwritePartitions, zones.Overwrite:
			parts := map[string]bool{}
			for _, r := range add {
				parts[r.Day] = true
			}
			for id, r := range rows {
				if c.Mode == zones.Overwrite || parts[r.Day] {
					delete(rows, id)
				}
			}
		}
		for _, r := range add {
			rows[r.ID] = r
		}
	}
	return rows, nil
}

// checkRows compares a read with the expected rows: each exactly once.
func checkRows(got []Row, want map[string]Row) error {
	seen := map[string]int{}
	for _, r := range got {
		seen[r.ID]++
		if w, ok := want[r.ID]; !ok {
			return fmt.Errorf("row %s (day %s) is not in the replayed log", r.ID, r.Day)
		} else if w != r {
			return fmt.Errorf("row %s read as %+v, written as %+v", r.ID, r, w)
		}
	}
	for id, n := range seen {
		if n != 1 {
			return fmt.Errorf("row %s read %d times", id, n)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			return fmt.Errorf("committed row %s missing (read %d rows, want %d)", id, len(got), len(want))
		}
	}
	return nil
}

// wholeWrites checks that a read holds, per write key and day, either all
// of the write's rows of that day or none: no partial snapshot.
func wholeWrites(got []Row) error {
	type kd struct{ key, day string }
	n := map[kd]int{}
	for _, r := range got {
		n[kd{r.Key, r.Day}]++
	}
	for k, c := range n {
		want := 0
		for _, r := range rowsFor(k.key) {
			if r.Day == k.day {
				want++
			}
		}
		if c != want {
			return fmt.Errorf("write %s day %s: read %d of its %d rows", k.key, k.day, c, want)
		}
	}
	return nil
}

// recorder sits under the fault injector and remembers when each key was
// last put and what was deleted when, for the retention invariant.
type recorder struct {
	driver.Driver
	mu      sync.Mutex
	putAt   map[string]time.Time
	deletes []deletion
}

type deletion struct {
	key    string
	at     time.Time
	vacuum bool // made by Vacuum (not by an attempt deleting its own files, nor by a move)
}

// byVacuum reports whether the calling goroutine is inside zones' vacuum:
// the deletes the retention and audit checks are about. An attempt's
// cleanup of its own uploads and the delete half of a staged file's move
// (the recorder has no server-side move) happen at once by design.
func byVacuum() bool {
	pc := make([]uintptr, 64)
	frames := runtime.CallersFrames(pc[:runtime.Callers(3, pc)])
	for {
		f, more := frames.Next()
		if strings.Contains(f.Function, "zones.(*Table).vacuum") {
			return true
		}
		if !more {
			return false
		}
	}
}

func newRecorder(d driver.Driver) *recorder {
	return &recorder{Driver: d, putAt: map[string]time.Time{}}
}

func (r *recorder) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	r.mu.Lock()
	if _, ok := r.putAt[key]; !ok {
		r.putAt[key] = time.Now() // before the object exists: a lower bound of its ModTime
	}
	r.mu.Unlock()
	return r.Driver.Put(ctx, key, body, size, opts)
}

func (r *recorder) Delete(ctx context.Context, keys []string) error {
	now := time.Now()
	vac := byVacuum()
	err := r.Driver.Delete(ctx, keys)
	r.mu.Lock()
	for _, k := range keys {
		r.deletes = append(r.deletes, deletion{k, now, vac})
	}
	r.mu.Unlock()
	return err
}

func (r *recorder) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return r.Driver.List(ctx, opts)
}

func (r *recorder) Location(key string) string {
	if l, ok := r.Driver.(driver.Locator); ok {
		return l.Location(key)
	}
	return key
}

func (r *recorder) OpenReaderAt(ctx context.Context, key string) (driver.ReaderAtCloser, *driver.Attributes, error) {
	if o, ok := r.Driver.(driver.ReaderAtOpener); ok {
		return o.OpenReaderAt(ctx, key)
	}
	return nil, nil, fmt.Errorf("no reader-at: %w", errors.ErrUnsupported)
}

// parquetDeletes returns the data-file deletions Vacuum made.
func (r *recorder) parquetDeletes() []deletion {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []deletion
	for _, d := range r.deletes {
		if d.vacuum && strings.HasSuffix(d.key, ".parquet") {
			out = append(out, d)
		}
	}
	return out
}

func (r *recorder) putTime(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.putAt[key]
	return t, ok
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// readAll reads a version of the dataset into rows.
func readAll(ctx context.Context, ds *zones.Dataset[Row], version int64) ([]Row, error) {
	return ds.ReadAll(ctx, &zones.ReadOptions{Version: version, Parallelism: 1, BatchSize: 64})
}

// catalogMatches compares the catalog's partitions of the table with the
// newest snapshot's partition locations.
func catalogMatches(ctx context.Context, cat catalog.Catalog, ds *zones.Dataset[Row]) error {
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		return err
	}
	zs := ds.Table().Zone().Store()
	want := map[string]string{}
	for path, prefix := range snap.Locations {
		want[strings.TrimPrefix(path, "day=")] = zs.Location(prefix + "/")
	}
	got := map[string]string{}
	for p, err := range cat.Partitions(ctx, ds.Table().Database(), ds.Table().Name(), "") {
		if err != nil {
			return err
		}
		got[p.Values[0]] = p.Location
	}
	var diffs []string
	for d, loc := range want {
		if got[d] != loc {
			diffs = append(diffs, fmt.Sprintf("partition day=%s: catalog %q, commit log %q", d, got[d], loc))
		}
	}
	for d, loc := range got {
		if _, ok := want[d]; !ok {
			diffs = append(diffs, fmt.Sprintf("partition day=%s registered at %q, absent from the commit log", d, loc))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}
