package zones

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake"
)

// rollForward moves every committed file still in the staging folder to
// its key, up to adoptParallelism at once: the files of the commit just
// made, and those of earlier commits whose writer died between its commit
// and its moves. It lists the staging
// folder (one request when nothing waits) and moves what a committed
// version names; staged files no version names belong to attempts still
// running or dead, which Vacuum handles. Moves are idempotent, so
// concurrent writers may roll the same file forward.
func (t *Table) rollForward(ctx context.Context) error {
	var staged []string
	for e, err := range t.store.List(ctx, t.prefix+"/"+StagingDir, nil) {
		if err != nil {
			return err
		}
		if !e.IsDir {
			staged = append(staged, e.Key)
		}
	}
	if len(staged) == 0 {
		return nil
	}
	st, err := t.refresh(ctx)
	if err != nil {
		return err
	}
	byStaged := make(map[string]string)
	for _, f := range st.files {
		if f.Staged != "" {
			byStaged[f.Staged] = f.Key
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		g    errgroup.Group
	)
	g.SetLimit(adoptParallelism)
	for _, k := range staged {
		key, ok := byStaged[k]
		if !ok {
			continue
		}
		g.Go(func() error {
			if err := t.store.Move(ctx, k, key); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("move %s to %s: %w", k, key, err))
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

// isStaging is whether a key lies in the table's staging folder.
func (t *Table) isStaging(key string) bool {
	return strings.HasPrefix(key, t.prefix+"/"+StagingDir)
}

// openData opens a committed data file for reading: at its key, or, while
// its commit's move is still to come, in the staging folder. A file that is
// missing from both, or whose size is not the one the log recorded, is
// corruption (ErrCorrupt naming the key), never other bytes read in silence.
func (t *Table) openData(ctx context.Context, df DataFile) (*lake.ObjectReader, error) {
	r, err := t.store.OpenReader(ctx, df.Key, nil)
	if errors.Is(err, lake.ErrNotFound) && df.Staged != "" {
		r, err = t.store.OpenReader(ctx, df.Staged, nil)
		if errors.Is(err, lake.ErrNotFound) { // moved in between
			r, err = t.store.OpenReader(ctx, df.Key, nil)
		}
	}
	if errors.Is(err, lake.ErrNotFound) {
		return nil, fmt.Errorf("zones: read %s: data file of version %d is missing: %w: %w", df.Key, df.AddedIn, ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
	if df.Size > 0 && r.Size() != df.Size {
		r.Close()
		return nil, fmt.Errorf("zones: read %s: the object has %d bytes, the log says %d (replaced or damaged): %w", df.Key, r.Size(), df.Size, ErrCorrupt)
	}
	return r, nil
}
