package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Estimate is a dry-run estimate of what an Athena query over one table
// would scan and cost, from the catalog and the table's commit log,
// without running anything.
type Estimate struct {
	Database, Table string
	// Partitions and Files that the filter keeps.
	Partitions int
	Files      int
	// Bytes is the size of those files: an upper bound of what Athena
	// scans (it reads only the columns and row groups a query needs).
	Bytes int64
	// Cost is Bytes priced as Athena bills (AthenaCost).
	Cost float64
	// Version is the table version the estimate was made from.
	Version int64
}

// Estimate returns the bytes and cost of reading the partitions of
// database.table that match filter (a Glue partition expression such as
// "dt >= '2024-01-01' AND region = 'eu'"; "" for all), using
// AthenaOptions.Catalog for the partitions and AthenaOptions.Lake for the
// sizes of their files in the table's current snapshot.
func (a *Athena) Estimate(ctx context.Context, database, table, filter string) (*Estimate, error) {
	cat, lk := a.opts.Catalog, a.opts.Lake
	if cat == nil || lk == nil {
		return nil, fmt.Errorf("query: Estimate needs AthenaOptions.Catalog and AthenaOptions.Lake: %w", ErrInvalid)
	}
	t, err := cat.GetTable(ctx, database, table)
	if err != nil {
		return nil, fmt.Errorf("query: estimate %s.%s: %w", database, table, err)
	}
	zone, ok := zoneOf(lk, database, table, t.Location)
	if !ok {
		return nil, fmt.Errorf("query: estimate %s.%s: its location %q is not a table of this lake: %w", database, table, t.Location, ErrInvalid)
	}
	zt, err := zones.OpenTable(lk, zone, database, table)
	if err != nil {
		return nil, fmt.Errorf("query: estimate %s.%s: %w", database, table, err)
	}
	snap, err := zt.Snapshot(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("query: estimate %s.%s: %w", database, table, err)
	}
	est := &Estimate{Database: database, Table: table, Version: snap.Version}
	keep := func(lake.Partition) bool { return true }
	if len(t.Schema.PartitionKeys) > 0 {
		matched := map[string]bool{}
		for p, err := range cat.Partitions(ctx, database, table, filter) {
			if err != nil {
				return nil, fmt.Errorf("query: estimate %s.%s: partitions matching %q: %w", database, table, filter, err)
			}
			matched[strings.Join(p.Values, "\x00")] = true
		}
		keep = func(p lake.Partition) bool { return matched[strings.Join(p.Values(), "\x00")] }
	} else if strings.TrimSpace(filter) != "" {
		return nil, fmt.Errorf("query: estimate %s.%s: a partition filter on an unpartitioned table: %w", database, table, ErrInvalid)
	}
	parts := map[string]bool{}
	for _, f := range snap.Files {
		if !keep(f.Partition) {
			continue
		}
		parts[f.Partition.String()] = true
		est.Files++
		est.Bytes += f.Size
	}
	est.Partitions = len(parts)
	est.Cost = AthenaCost(est.Bytes, a.opts.PricePerTB)
	return est, nil
}

// zoneOf finds the zone whose prefix for database/table is location.
func zoneOf(lk *lake.Lake, database, table, location string) (lake.ZoneName, bool) {
	want := strings.TrimSuffix(location, "/")
	for _, zn := range lk.ZoneNames() {
		z, err := lk.Zone(zn)
		if err != nil {
			continue
		}
		if strings.TrimSuffix(z.Store().Location(database+"/"+table+"/"), "/") == want {
			return zn, true
		}
	}
	return "", false
}
