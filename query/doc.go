// Package query is lakekit's consumption layer: one Engine interface to run
// SQL over the lake without moving it, with engines for DuckDB (local,
// package query/duckdb, the only one that needs cgo), Amazon Athena
// (NewAthena) and the Amazon Redshift Data API (NewRedshift).
//
// # Results
//
// Engine.Query returns a *Result: column metadata (name, the engine's type,
// the Go type of the values), the rows as an iter.Seq2[[]any, error] that
// streams once (Athena and Redshift page through their result APIs as you
// range), and Stats: bytes scanned and execution time where the engine
// reports them, and the cost where it is priced (Athena: DataScannedInBytes
// × AthenaOptions.PricePerTB, $5 per TB by default, billed as Athena bills,
// rounded up to the MB with a 10 MB minimum).
//
// Every engine decodes to the same Go types: bigint int64, integer int32,
// smallint int16, tinyint int8, double float64, real float32, boolean bool,
// varchar string, date and timestamp time.Time (UTC), decimal Decimal,
// varbinary []byte, array []any, map map[any]any, row map[string]any, json
// json.RawMessage, NULL nil.
//
// Rows[T] and All[T] scan rows into structs by `db` tag, lakekit partition
// key, `parquet` tag or field name (see ScanRows), with errors naming the
// column, its SQL type and the Go field on a mismatch.
//
// # Parameters
//
// Write `?` for each parameter; the engine binds the values, they never
// become SQL text. DuckDB binds its prepared-statement placeholders; Athena
// receives ExecutionParameters (each value rendered as a typed literal by
// SQLLiteral: quoted strings with inner quotes doubled, DOUBLE '1.5',
// TIMESTAMP '...', DATE '...'), and the
// Redshift engine rewrites ? as :p1, :p2 ... and sends Parameters.
// An engine written outside lakekit finds the placeholder scanner, the
// named-parameter rewrite and identifier quoting in package query/sqltext.
//
// # Athena
//
// Queries start with StartQueryExecution (workgroup, output location,
// encryption, a ClientRequestToken for idempotency, optional result reuse:
// up to 7 days, asked for only where Athena applies it, for SELECT and
// EXECUTE statements that leave the workgroup's result configuration
// alone; execution parameters of at most 1,024 characters each),
// poll GetQueryExecution with exponential backoff (Poll), stop the query
// with StopQueryExecution when the context ends or MaxWait passes, and
// decode GetQueryResults pages. A failed query returns an *AthenaError
// carrying Athena's StateChangeReason. QueryUnload is the fast path for
// large results (UNLOAD ... WITH (format = 'PARQUET'), read back with
// parquet-go through a lake store on S3, its output removed when the
// UNLOAD fails); Estimate prices a query before it
// runs from the catalog's partitions and the commit log's file sizes.
//
// # Redshift
//
// The Redshift engine runs statements on a cluster (DbUser or SecretArn) or
// a serverless workgroup with ExecuteStatement / BatchExecuteStatement,
// polls DescribeStatement, and pages GetStatementResult. Warehouse helpers
// render COPY (CopySQL; CopyTable loads one snapshot of a lakekit table
// through a manifest of its files), UNLOAD (UnloadSQL, Unload, which also
// registers the output in the catalog) and the Spectrum external schema DDL
// (ExternalSchemaSQL), with identifiers and literals quoted. Requests stay
// within the Data API's limits: no empty Parameters list or empty value,
// at most MaxBatchStatements statements per batch, MAXFILESIZE within
// UNLOAD's range.
//
// # Errors
//
// Errors wrap the sentinels of this package (ErrQueryFailed, ErrCancelled,
// ErrTimeout, ErrInvalidParam, ErrScan, ErrReadOnly, ...) with %w, and wrap
// the AWS error too, so errors.As reaches a smithy.APIError.
//
// # As
//
// Athena.As exposes the *athena.Client, Redshift.As the
// *redshiftdata.Client; the DuckDB engine's As the *sql.DB.
//
// Every engine passes the conformance suite in query/enginetest.
package query
