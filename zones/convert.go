package zones

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
)

// ConvertOptions configure Convert. A nil *ConvertOptions means defaults.
type ConvertOptions struct {
	// Caller names who converts (see WriterOptions.Caller).
	Caller string
	// Metadata is recorded in version 1 (Commit.Metadata).
	Metadata map[string]string
}

// Convert makes an existing Hive-style table a lakekit table in place, as
// Delta Lake's CONVERT TO DELTA and Iceberg's migrate do: a table a Glue
// crawler, a Glue or Spark job or Athena CTAS made, or folders DuckDB's
// COPY … PARTITION_BY wrote. Nothing is copied or rewritten.
//
// With Options.Catalog holding the table, version 1 names exactly the files
// its partition locations (the table's location when unpartitioned) hold —
// what Athena reads: every object below a location with no folder or name
// starting with "_" or "." — and each partition keeps its location. The
// catalog entry keeps its location (which must be this dataset's,
// Table.Location), is checked against the dataset's schema by the
// evolution rules, and is then owned by lakekit like any table it writes.
// Without a catalog entry the table's prefix is read as Hive folders
// (k1=v1/k2=v2/ for the dataset's partition keys), as catalog.Discover
// does, and the catalog entry is created when Options.Catalog is set.
//
// Every file is checked as AddFiles checks it; one that does not fit is
// refused naming the file and the column, and nothing is committed. A table
// that already has a commit log is refused with lake.ErrExists. Later
// commits, Vacuum (which deletes a converted file only after a commit has
// removed it) and the catalog projection work as for any lakekit table.
func (d *Dataset[T]) Convert(ctx context.Context, opts *ConvertOptions) (*CommitResult, error) {
	if err := d.unsupported("Convert"); err != nil {
		return nil, err
	}
	var o ConvertOptions
	if opts != nil {
		o = *opts
	}
	t := d.table
	st, err := t.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if st.Version > 0 {
		return nil, fmt.Errorf("zones: convert %s: already a lakekit table (version %d): %w", t.prefix, st.Version, lake.ErrExists)
	}
	parts, err := d.convertLocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("zones: convert %s: %w", t.prefix, err)
	}
	tx, err := t.Begin(ctx, &TxOptions{Mode: Append, IdempotencyKey: "convert", Caller: o.Caller, Metadata: o.Metadata,
		PartitionKeys: d.partKeys, Schema: d.columns})
	if err != nil {
		return nil, err
	}
	for _, pl := range parts {
		tx.placeAt(pl.Partition, pl.Prefix)
		files, err := d.filesUnder(ctx, pl)
		if err != nil {
			tx.Abort(ctx)
			return nil, fmt.Errorf("zones: convert %s: nothing committed: %w", t.prefix, err)
		}
		tx.Add(files...)
	}
	var publish func(context.Context) error
	if d.opts.Catalog != nil {
		publish = func(ctx context.Context) error { return d.converge(ctx, true) }
	}
	return tx.Commit(ctx, publish)
}

// convertLocations returns the partitions of the table to convert with
// their folders: from the catalog entry when there is one, else from the
// Hive folders under the table's prefix.
func (d *Dataset[T]) convertLocations(ctx context.Context) ([]PartitionLocation, error) {
	t := d.table
	if d.opts.Catalog != nil {
		ct, err := d.opts.Catalog.GetTable(ctx, t.database, t.name)
		switch {
		case errors.Is(err, catalog.ErrNoSuchTable), errors.Is(err, catalog.ErrNoSuchDatabase):
		case err != nil:
			return nil, fmt.Errorf("catalog: %w", err)
		default:
			return d.catalogPartitionLocations(ctx, ct)
		}
	}
	return d.hiveLocations(ctx)
}

// catalogPartitionLocations reads the partition locations of an existing catalog
// table, each as a prefix in the zone's store.
func (d *Dataset[T]) catalogPartitionLocations(ctx context.Context, ct *catalog.Table) ([]PartitionLocation, error) {
	t := d.table
	if ensureSlash(ct.Location) != t.Location() {
		return nil, fmt.Errorf("the catalog table is located at %s, a lakekit table of this dataset at %s; move the data or open a dataset of that location: %w", ct.Location, t.Location(), ErrInvalid)
	}
	var keys []string
	for _, k := range ct.Schema.PartitionKeys {
		keys = append(keys, k.Name)
	}
	if !equalStrings(keys, d.partKeys) {
		return nil, fmt.Errorf("the catalog table is partitioned by %v, the dataset by %v: %w", keys, d.partKeys, ErrSchema)
	}
	// Glue entries a crawler or another engine made say nothing of NULLs
	// (every column nullable); a column the dataset requires is checked in
	// each file instead (no NULL may be there).
	old := ct.Schema
	old.Columns = append([]catalog.Column(nil), old.Columns...)
	for i := range old.Columns {
		for _, c := range d.columns {
			if c.Name == old.Columns[i].Name && c.Required {
				old.Columns[i].Required = true
			}
		}
	}
	if err := checkEvolution(old, d.catalogSchema()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if len(keys) == 0 {
		return []PartitionLocation{{Prefix: t.prefix}}, nil
	}
	var out []PartitionLocation
	for cp, err := range d.opts.Catalog.Partitions(ctx, t.database, t.name, "") {
		if err != nil {
			return nil, fmt.Errorf("catalog partitions: %w", err)
		}
		var p lake.Partition
		for i, k := range keys {
			p = append(p, lake.KV{Key: k, Value: cp.Values[i]})
		}
		prefix, ok := strings.CutPrefix(ensureSlash(cp.Location), t.store.Location(""))
		if !ok || prefix == "" {
			return nil, fmt.Errorf("partition %s is located at %s, outside the zone (%s): %w", p, cp.Location, t.store.Location(""), ErrInvalid)
		}
		out = append(out, PartitionLocation{Partition: p, Prefix: strings.TrimSuffix(prefix, "/")})
	}
	sort.Slice(out, func(i, j int) bool { return partPath(out[i].Partition) < partPath(out[j].Partition) })
	return out, nil
}

// hiveLocations reads the partitions from the Hive folders under the
// table's prefix.
func (d *Dataset[T]) hiveLocations(ctx context.Context) ([]PartitionLocation, error) {
	t := d.table
	if len(d.partKeys) == 0 {
		return []PartitionLocation{{Prefix: t.prefix}}, nil
	}
	seen := map[string]bool{}
	var out []PartitionLocation
	for e, err := range t.store.List(ctx, t.prefix+"/", nil) {
		if err != nil {
			return nil, err
		}
		if e.IsDir || !VisibleUnder(t.prefix+"/", e.Key) {
			continue
		}
		dir := path.Dir(e.Key)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		rel := strings.TrimPrefix(dir, t.prefix+"/")
		p, err := lake.ParsePartitionPath(rel)
		if err != nil || len(p) != len(d.partKeys) {
			return nil, fmt.Errorf("%s is not in a %s folder of the table: %w", e.Key, strings.Join(d.partKeys, "=…/")+"=…", ErrInvalid)
		}
		for i, k := range d.partKeys {
			if p[i].Key != k {
				return nil, fmt.Errorf("%s: the folders say %s, the dataset's partition keys are %v: %w", e.Key, rel, d.partKeys, ErrSchema)
			}
		}
		out = append(out, PartitionLocation{Partition: p, Prefix: dir})
	}
	sort.Slice(out, func(i, j int) bool { return partPath(out[i].Partition) < partPath(out[j].Partition) })
	return out, nil
}

// filesUnder checks and describes every object an engine reading the
// partition's location reads.
func (d *Dataset[T]) filesUnder(ctx context.Context, pl PartitionLocation) ([]DataFile, error) {
	t := d.table
	var out []DataFile
	for e, err := range t.store.List(ctx, pl.Prefix+"/", nil) {
		if err != nil {
			return nil, err
		}
		if e.IsDir || !VisibleUnder(pl.Prefix+"/", e.Key) {
			continue
		}
		if len(d.partKeys) == 0 && path.Dir(e.Key) != pl.Prefix {
			continue // an unpartitioned table reads its location's own files
		}
		a := &adoptee{loc: t.store.Location(e.Key), src: t.store, key: e.Key}
		a.df.Partition = pl.Partition
		if err := d.checkFile(ctx, a); err != nil {
			return nil, fmt.Errorf("file %s: %w", a.loc, err)
		}
		a.df.Key = e.Key
		out = append(out, a.df)
	}
	return out, nil
}
