// Package iceberg stores typed rows as Apache Iceberg tables: the table
// format that Athena (engine v3) reads and writes with snapshot isolation,
// time travel and MERGE, that Glue registers as table_type=ICEBERG, and
// that Redshift and EMR read.
//
// A Table[T] has the feel of zones.Dataset[T]: one column per exported
// field of a flat struct T (named by its parquet tag), identity partitions
// on the fields tagged `lakekit:"partition"`, Append and Overwrite of []T,
// Read into []T of the current snapshot or of an older one (time travel by
// snapshot ID or time) with partition pruning from the manifests.
//
// Metadata, manifests, snapshots and catalog commits are iceberg-go's
// (github.com/apache/iceberg-go): nothing of the Iceberg spec is written by
// hand here. Data files are Parquet written with parquet-go, each column
// carrying the Iceberg field ID of its schema field, and read back by field
// ID. Catalogs: LocalCatalog (files only, for a file lake) and GlueCatalog.
//
// The package is behind its own import path, like query/duckdb: services
// that do not import it do not compile iceberg-go. iceberg-go v0.7.0 is
// why lakekit's go directive is 1.25.9 (Go 1.25, the previous release).
package iceberg
