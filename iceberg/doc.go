// Package iceberg stores typed rows as Apache Iceberg tables: the table
// format that Athena (engine v3) reads and writes with snapshot isolation,
// time travel and MERGE, that Glue registers as table_type=ICEBERG, and
// that Redshift and EMR read.
//
// A Table[T] has the feel of zones.Dataset[T]: one column per exported
// field of a flat struct T (named by its parquet tag), identity partitions
// on the fields tagged `lakekit:"partition"` and hidden partitioning of a
// time.Time field by `lakekit:"partition,day"` (year, month, day, hour:
// an Iceberg transform, no extra column), Read into []T of the current
// snapshot or of an older one (time travel by snapshot ID or time) with
// partition pruning from the manifests (ReadOptions.Partition, or
// ReadOptions.Range through the transform) and min/max pruning.
//
// Metadata, manifests, snapshots and catalog commits are iceberg-go's
// (github.com/apache/iceberg-go): nothing of the Iceberg spec is written by
// hand here. Data files are Parquet written with parquet-go, each column
// carrying the Iceberg field ID of its schema field, and read back by field
// ID. Catalogs: LocalCatalog (files only, for a file lake) and GlueCatalog.
//
// # Write modes
//
// Append adds a snapshot; Overwrite replaces every row; OverwritePartitions
// replaces only the partitions its rows fall in (dynamic partition
// overwrite; ErrConflict when another writer changed one of them
// meanwhile); Merge applies CDC changes by key, copy-on-write. Each is one
// snapshot. Vacuum expires old snapshots and deletes the files nothing
// references any more, including the orphans of writers that died before
// their commit.
//
// Writer (Table.NewWriter) is the same commit for rows that come in many
// batches, with bounded memory: rows are encoded into one data file per
// partition as they come, a file rolled at WriterOptions' limits is
// written to the table's data/ folder at once (uncommitted, invisible),
// and Commit commits them all in one snapshot. A zones.Dataset on the
// Iceberg format writes through it (DatasetTable.NewWriter), and its
// partition-filtered reads open only the selected partitions' files
// (DatasetTable.ReadPartitions: the filter is decided per data file from
// its manifest partition values).
//
// # Schema evolution
//
// Open with Options.Evolve brings an existing table to T by field ID with
// the Iceberg rules, not Glue's by-name rules:
//
//   - a field of T the table lacks is added as a new optional column
//     with a new field ID (older files read it as null: nil, or the zero
//     value for a non-pointer field);
//   - a field tagged `lakekit:"was=old_name"` whose old column exists is
//     a rename: same field ID, so every older file still reads it;
//   - int32 → int64 (int, long) and float32 → float64 widen the column
//     in place (older files are read with the narrower type and widened);
//   - a pointer field on a required column makes it optional;
//   - a column that no field of T stores is dropped (older files keep
//     their data; readers ignore the dropped field ID).
//
// Anything else (string → int, int64 → int32, a new or dropped partition
// column, another transform) is refused with ErrSchemaMismatch naming the
// column, and nothing is committed. Time travel still reads older
// snapshots, by field ID, into T.
//
// The package is behind its own import path, like query/duckdb: services
// that do not import it do not compile iceberg-go. iceberg-go v0.7.0 is
// why lakekit's go directive is 1.25.9 (Go 1.25, the previous release).
package iceberg
