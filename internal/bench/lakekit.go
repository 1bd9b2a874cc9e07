package main

import (
	"context"
	"fmt"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// The table every scenario writes: curated/bench/events, partitioned by dt.
const (
	benchDB    = "bench"
	benchTable = "events"
)

// writeBatch is how many rows each Write call gets, on every side: rows
// arrive in batches in a pipeline, and one batch spans every partition.
const writeBatch = 10_000

// datasetOptions are the zone dataset's options in every scenario: dt from
// the event's timestamp, everything else default (zstd from the zone,
// pages spilled to temporary files under tmp).
func datasetOptions(tmp string) *zones.Options[eventgen.Event] {
	return &zones.Options[eventgen.Event]{
		PartitionBy:   eventgen.PartitionByDay,
		PartitionKeys: []string{"dt"},
		TempDir:       tmp,
	}
}

// openFileLake opens the default file lake (fsync on, as users get it) in dir.
func openFileLake(ctx context.Context, dir string) (*lake.Lake, error) {
	return lake.Open(ctx, "file://"+dir, nil)
}

// writeEvents writes rows into ds in batches and commits them.
func writeEvents(ctx context.Context, ds *zones.Dataset[eventgen.Event], rows []eventgen.Event) (*zones.CommitResult, error) {
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(rows); i += writeBatch {
		j := min(i+writeBatch, len(rows))
		if err := w.Write(ctx, rows[i:j]); err != nil {
			w.Abort(ctx)
			return nil, err
		}
	}
	res, err := w.Commit(ctx)
	if err != nil {
		return nil, err
	}
	if res.Rows != int64(len(rows)) {
		return nil, fmt.Errorf("commit holds %d rows, wrote %d", res.Rows, len(rows))
	}
	return res, nil
}

// writeLakekitTable writes rows as curated/bench/events into a new file
// lake in dir and returns the commit.
func writeLakekitTable(ctx context.Context, c *config, dir string, rows []eventgen.Event) (*zones.CommitResult, error) {
	return writeLakekitTableWith(ctx, dir, rows, datasetOptions(c.tmp))
}

func writeLakekitTableWith(ctx context.Context, dir string, rows []eventgen.Event, opts *zones.Options[eventgen.Event]) (*zones.CommitResult, error) {
	lk, err := openFileLake(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, opts)
	if err != nil {
		return nil, err
	}
	return writeEvents(ctx, ds, rows)
}
