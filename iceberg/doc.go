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
// The package is its own Go module (github.com/lakekit/lakekit/iceberg):
// iceberg-go needs a newer go directive (1.25.9) than lakekit's own module
// (1.24.9), and services that do not use Iceberg do not download or
// compile it.
package iceberg
