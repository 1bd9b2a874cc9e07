// Package lakekit is a Go SDK for building data-lake pipelines in code, after
// the AWS whitepaper "AWS Serverless Data Analytics Pipeline".
//
// Data lands as-is in a raw zone, is validated into a cleaned zone (kept for
// replay), and is transformed into a curated zone of partitioned, cataloged
// Parquet that Athena, Redshift and BI tools read. The same program runs
// locally with nothing installed — a directory, a local catalog, DuckDB — and
// on AWS — S3, Glue, Step Functions, Athena, Redshift — when it outgrows one
// machine.
//
// The packages, each usable on its own, imports pointing down:
//
//   - lake: open a lake by URL (file://, mem://, s3://), the object store and
//     its drivers, zones, naming rules, sentinel errors.
//   - zones: typed writers and readers of Go structs as partitioned Parquet,
//     raw landing, the ingestion buffer, the commit protocol.
//   - catalog: schema registration in a local catalog or AWS Glue; versions,
//     evolution, partitions, business metadata, search, discovery.
//   - transform: incremental, partition-aware transforms with a ledger,
//     validation and quarantine, CDC merge, dedup, replay.
//   - orchestrate: pipelines run in-process or compiled to AWS Step
//     Functions; Glue jobs and crawlers; a worker for Fargate and Lambda.
//   - query: one Engine over DuckDB (local), Athena and Redshift; typed results.
//
// # Quick start
//
// Open a lake in a directory with lake.Open(ctx, "./lake", nil). Describe a
// dataset as a Go struct with parquet tags, make a zones.Dataset for it in the
// curated zone with a catalog attached, write rows with a Writer and Commit
// them: the files, the commit log and the catalog entry appear together.
// Query the table with the DuckDB engine from query/duckdb, or read it back
// typed with Dataset.Read. To move to AWS, open "s3://bucket/prefix" instead
// (import lake/s3store) and use the Glue catalog; nothing else changes.
//
// Runnable programs that use all of it are in examples/; start with
// `go run ./examples/quickstart`.
package lakekit
