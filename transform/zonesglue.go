package transform

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func isNoTable(err error) bool { return errors.Is(err, zones.ErrNoSuchTable) }

// readFile yields the rows of one data file of ds, in file order.
func readFile[T any](ctx context.Context, ds *zones.Dataset[T], version int64, f zones.DataFile) iter.Seq2[T, error] {
	return ds.Read(ctx, &zones.ReadOptions{
		Version:     version,
		Parallelism: 1,
		Partitions:  func(p lake.Partition) bool { return slices.Equal(p, f.Partition) },
		Files:       func(d zones.DataFile) bool { return d.Key == f.Key },
	})
}

// readPartition yields the rows of one partition of ds at version.
func readPartition[T any](ctx context.Context, ds *zones.Dataset[T], version int64, path string) iter.Seq2[T, error] {
	return ds.Read(ctx, &zones.ReadOptions{
		Version:     version,
		Parallelism: 1,
		Partitions:  func(p lake.Partition) bool { return partitionPath(p) == path },
	})
}

// dedupState is the set of output keys seen by one run, loaded lazily per
// output partition from the output table.
type dedupState[T any] struct {
	ds      *zones.Dataset[T]
	key     func(T) string
	mu      sync.Mutex
	loaded  bool
	version int64
	seen    map[string]map[string]struct{} // partition path → keys
	spec    dedupSpec[T, string]
}

func newDedupState[T any](ds *zones.Dataset[T], key func(T) string) *dedupState[T] {
	return &dedupState[T]{ds: ds, key: key, seen: map[string]map[string]struct{}{}, spec: dedupSpec[T, string]{Key: key}}
}

// filter drops rows whose key was seen, in this run or in the output.
func (d *dedupState[T]) filter(ctx context.Context, rows []T) ([]T, int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded {
		snap, err := d.ds.Snapshot(ctx, 0)
		switch {
		case err == nil:
			d.version = snap.Version
		case isNoTable(err):
		default:
			return nil, 0, err
		}
		d.loaded = true
	}
	byPart := map[string][]T{}
	var order []string
	for i, r := range rows {
		p, err := d.ds.PartitionOf(&rows[i])
		if err != nil {
			return nil, 0, err
		}
		path := partitionPath(p)
		if _, ok := byPart[path]; !ok {
			order = append(order, path)
		}
		byPart[path] = append(byPart[path], r)
	}
	var out []T
	var dropped int64
	for _, path := range order {
		seen, ok := d.seen[path]
		if !ok {
			seen = map[string]struct{}{}
			if d.version > 0 {
				for r, err := range readPartition(ctx, d.ds, d.version, path) {
					if err != nil {
						return nil, 0, err
					}
					seen[d.key(r)] = struct{}{}
				}
			}
			d.seen[path] = seen
		}
		kept, n := dedupRows(&d.spec, byPart[path], seen)
		out = append(out, kept...)
		dropped += n
	}
	return out, dropped, nil
}
