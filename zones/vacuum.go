package zones

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// VacuumResult says what Vacuum deleted and kept.
type VacuumResult struct {
	// Deleted are the keys removed: files replaced by overwrites whose
	// removal is older than the retention, and orphans (files no commit
	// references, left by crashed or losing writers) older than it.
	Deleted []string
	// Kept counts unreferenced files still inside the retention.
	Kept int
	// Live counts the files of the newest snapshot (never deleted).
	Live int
}

// Vacuum deletes data files no longer needed: files an overwrite replaced,
// once retention has passed since the commit that removed them, and orphan
// files (written but never committed) whose age exceeds retention. It never
// deletes a file of the newest snapshot, nor anything younger than the
// retention, so a writer that is still running or a query still reading an
// older version is safe as long as it takes less than the retention.
// Reading versions older than a vacuum may then fail: their replaced files
// are gone.
func (d *Dataset[T]) Vacuum(ctx context.Context, retention time.Duration) (*VacuumResult, error) {
	return d.table.Vacuum(ctx, retention)
}

// Vacuum is Dataset.Vacuum for untyped tables.
func (t *Table) Vacuum(ctx context.Context, retention time.Duration) (*VacuumResult, error) {
	if retention < 0 {
		return nil, fmt.Errorf("zones: vacuum %s: negative retention %v: %w", t.prefix, retention, ErrInvalid)
	}
	now := time.Now()
	// List first, then read the newest state: a file committed in between
	// is then live in the state, never mistaken for an orphan.
	type obj struct {
		key string
		mod time.Time
	}
	var objs []obj
	for e, err := range t.store.List(ctx, t.prefix+"/", nil) {
		if err != nil {
			return nil, err
		}
		if e.IsDir || !strings.HasSuffix(e.Key, ".parquet") || strings.Contains(e.Key, "/_lakekit/") {
			continue
		}
		objs = append(objs, obj{e.Key, e.ModTime})
	}
	st, err := t.stateAt(ctx, 0)
	if err != nil {
		return nil, err
	}
	removedAt := map[string]time.Time{}
	for _, ts := range st.Tombstones {
		removedAt[ts.Key] = ts.RemovedAt
	}
	res := &VacuumResult{Live: len(st.files)}
	var del []string
	for _, o := range objs {
		if _, live := st.files[o.key]; live {
			continue
		}
		since := o.mod
		if at, ok := removedAt[o.key]; ok {
			since = at
		}
		if since.IsZero() || now.Sub(since) < retention {
			res.Kept++
			continue
		}
		del = append(del, o.key)
	}
	for len(del) > 0 {
		n := min(len(del), 1000)
		if err := t.store.DeleteMany(ctx, del[:n]); err != nil {
			return res, fmt.Errorf("zones: vacuum %s: %w", t.prefix, err)
		}
		res.Deleted = append(res.Deleted, del[:n]...)
		del = del[n:]
	}
	t.logger.Info("zones: vacuum", "deleted", len(res.Deleted), "kept", res.Kept, "live", res.Live)
	return res, nil
}
