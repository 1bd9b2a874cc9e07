package transform

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// rewindOutput makes the output table what it was at version to (0: empty)
// with one Overwrite commit marked as the transform's rewind, so the ledger
// read back from the history forgets every entry after to. The rows of
// version to are copied from that snapshot (time travel); the commit's
// idempotency key includes the epoch, so a crashed rewind retried is not
// applied twice. The commit goes through commitWriter: when it is
// committed but the catalog was not updated, the version comes with an
// error wrapping zones.ErrCatalog.
func rewindOutput[T any](ctx context.Context, name string, out *zones.Dataset[T], sys *lake.Store, to int64, caller string) (int64, error) {
	if to < 0 {
		return 0, invalidf("rewind %s: negative version %d", name, to)
	}
	l, err := loadLedger(ctx, name, out.Table(), sys)
	if err != nil {
		return 0, err
	}
	if l.Version == 0 {
		if to > 0 {
			return 0, fmt.Errorf("transform: rewind %s to version %d: the output table has no commits: %w", name, to, zones.ErrNoSuchVersion)
		}
		return 0, nil // nothing was ever written: nothing to undo
	}
	if to > l.Version {
		return 0, fmt.Errorf("transform: rewind %s to version %d: the output table is at %d: %w", name, to, l.Version, zones.ErrNoSuchVersion)
	}
	key := fmt.Sprintf("transform-%s-rewind-%d-to-%d", name, l.Epoch, to)
	w, err := out.NewWriter(ctx, &zones.WriterOptions{
		Mode:           zones.Overwrite,
		IdempotencyKey: key,
		Metadata:       map[string]string{MetaTransform: name, MetaRewind: strconv.FormatInt(to, 10)},
		Caller:         caller,
	})
	if err != nil {
		return 0, err
	}
	if to > 0 {
		err := out.ReadBatches(ctx, &zones.ReadOptions{Version: to, Parallelism: 1}, func(rows []T) error {
			return w.Write(ctx, rows)
		})
		if err != nil {
			w.Abort(context.WithoutCancel(ctx))
			return 0, fmt.Errorf("transform: rewind %s: read version %d: %w", name, to, err)
		}
	}
	c, err := commitWriter(ctx, w, out.Table(), key)
	if err != nil {
		return 0, err
	}
	if _, err := loadLedger(ctx, name, out.Table(), sys); err != nil {
		return c.version, errors.Join(err, c.catalogErr)
	}
	if c.catalogErr != nil {
		return c.version, fmt.Errorf("transform: rewind %s to version %d is committed as version %d, but the catalog was not brought up to date (the next commit, Dataset.SyncCatalog or Vacuum does it): %w", name, to, c.version, c.catalogErr)
	}
	return c.version, nil
}

// Rewind undoes the transform's output after output table version to (0:
// all of it): the table is overwritten with its content as of that version
// in one commit, and the ledger forgets what it consumed after it, so the
// next Run processes that input again — from the cleaned zone, which keeps
// it. Rewind assumes the transform owns its output table (other writers'
// commits after to are undone as well). It returns the rewind commit's
// version (0 when the output was never written). An error wrapping
// zones.ErrCatalog comes with the version: the rewind is committed, only
// the catalog lags (the next commit, Dataset.SyncCatalog or Vacuum
// updates it).
func (t *Transform[In, Out]) Rewind(ctx context.Context, to int64) (int64, error) {
	v, err := rewindOutput(ctx, t.name, t.out, t.sys, to, t.opts.Caller)
	if err == nil || errors.Is(err, zones.ErrCatalog) {
		t.logger.Info("transform: rewound", "to", to, "version", v)
	}
	return v, err
}

// Replay rebuilds the output from scratch: Rewind(ctx, 0), then Run. To
// reprocess a range of input partitions as one commit — and on AWS as one
// state machine execution with a Distributed Map — use FanOut.Replay and
// FanOut.ReplayJob.
func (t *Transform[In, Out]) Replay(ctx context.Context) (*Result, error) {
	return replay(ctx, t.name, t.Rewind, t.Run)
}

// replay rewinds to 0 and runs. A rewind committed with a catalog error
// goes on: the run's own commits bring the catalog up to date, and when
// the run commits nothing the rewind's catalog error is the run's.
func replay(ctx context.Context, name string, rewind func(context.Context, int64) (int64, error), run func(context.Context) (*Result, error)) (*Result, error) {
	_, rerr := rewind(ctx, 0)
	if rerr != nil && !errors.Is(rerr, zones.ErrCatalog) {
		return nil, rerr
	}
	res, err := run(ctx)
	if rerr == nil || res == nil || res.Units > 0 {
		return res, err
	}
	res.CatalogErr = errors.Join(rerr, res.CatalogErr)
	if err == nil {
		err = catalogOutcome(name, res)
	}
	return res, err
}

// Rewind undoes the merge's output after output table version to (see
// Transform.Rewind). Rewinding to 0 also forgets the merge's tombstones.
func (m *Merger[C, T, K, O]) Rewind(ctx context.Context, to int64) (int64, error) {
	v, err := rewindOutput(ctx, m.name, m.out, m.sys, to, m.opts.Caller)
	if err != nil && !errors.Is(err, zones.ErrCatalog) {
		return v, err
	}
	catErr := err
	if to == 0 {
		var keys []string
		for e, err := range m.sys.List(ctx, m.name+"/tombstones/", nil) {
			if err != nil {
				return v, err
			}
			keys = append(keys, e.Key)
		}
		if err := m.sys.DeleteMany(ctx, keys); err != nil {
			return v, err
		}
	}
	m.logger.Info("transform: rewound", "to", to, "version", v)
	return v, catErr
}

// Replay rebuilds the merged state from all change files: Rewind(ctx, 0),
// then Run.
func (m *Merger[C, T, K, O]) Replay(ctx context.Context) (*Result, error) {
	return replay(ctx, m.name, m.Rewind, m.Run)
}
