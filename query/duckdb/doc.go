// Package duckdb is lakekit's local query engine: embedded DuckDB
// (github.com/duckdb/duckdb-go/v2) over a lake. It is the only lakekit
// package that needs cgo, so programs that import only lake, zones and
// catalog build with CGO_ENABLED=0.
//
// Open exposes each table as a view "<database>"."<table>" over exactly the
// files of one snapshot from the table's commit log, so queries are
// snapshot-consistent (a concurrent append is seen whole or not at all)
// and partition-pruned: partition columns come from the file paths, typed
// as the catalog says, and DuckDB skips the files of partitions a filter
// (literal or bound parameter) rules out. Views stay on their snapshot
// until Refresh; Pin holds a table at an older version. With a catalog,
// a table is found through its catalog location, which an overwrite moves
// to a generation folder inside the table's folder. A statement whose
// placeholders do not match the number of values is refused with
// query.ErrInvalidParam, as on Athena and Redshift.
//
// # Safety
//
// The engine never touches the network and only reads the lake: extension
// autoloading and autoinstalling are off, external access is disabled
// except for the lake's directory and the cache (allowed_directories), the
// configuration is locked, and by default only reading statements run
// (others fail with query.ErrReadOnly; see Options.Writable). One statement
// per call; parameters are bound by DuckDB.
//
// # Stores
//
// A lake on the file store is read in place. For other stores (mem://,
// s3://) the snapshot's files are copied to Options.CacheDir first, keyed by
// the lake, the file's key and its ETag, so each file is fetched once. For
// large lakes on S3, use the Athena engine instead. A committed file that
// still waits in its table's staging folder for the commit's move is read
// from a copy in the cache on every store.
//
// # Profiling
//
// With Options.Profile, each query's DuckDB profile is kept (LastProfile):
// Stats.BytesScanned is DuckDB's bytes read, and Profile.FilesRead counts
// the Parquet files the scans opened.
package duckdb
