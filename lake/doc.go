// Package lake opens a data lake and gives every other lakekit package its
// storage: a portable object Store over small drivers (a directory, memory,
// Amazon S3), the lake's zones (raw, cleaned, curated) with per-zone
// settings, and the naming rules that keep names valid for Glue and Athena
// and keys inside the lake.
//
// # Opening a lake
//
//	lk, err := lake.Open(ctx, "file:///var/data/lake", nil) // a directory
//	lk, err := lake.Open(ctx, "./lake", nil)                // a path works too
//	lk, err := lake.Open(ctx, "mem://", nil)                // memory, for tests
//	lk, err := lake.Open(ctx, "s3://bucket/prefix?region=eu-west-1", nil)
//
// The s3 scheme is registered by importing the S3 driver:
//
//	import _ "github.com/lakekit/lakekit/lake/s3store"
//
// Opening a URL whose scheme nobody registered fails with an error matching
// ErrUnknownScheme that names the import to add.
//
// Opening a lake that is not there catches typos instead of writing
// somewhere unexpected: a directory lake's folder is made when its parent
// exists, but a missing parent is an error matching ErrNotFound that names
// it (add ?create=true to make the parents too, ?create=false to refuse
// even a missing lake folder); an s3:// lake's bucket is checked once at
// open (HeadBucket), and a missing bucket is an error matching ErrNotFound.
// Nothing is written at open.
//
// # Layout
//
// Keys follow the Hive layout that Athena, Glue, Redshift Spectrum, Spark and
// DuckDB read directly:
//
//	<zone>/<database>/<table>/<key1>=<value1>/.../part-<commit>-<n>.parquet
//	<zone>/<database>/<table>/_lakekit/...   commit log (hidden from Hive readers)
//	<zone>/<database>/<table>/_lakekit/audit/...    audit events (vacuum runs)
//	_lakekit/...                             catalog, ledgers, run history
//
// Lake.Zone returns a zone whose Store is scoped to <zone>/ and encrypts
// every write with the zone's KMS key (SSE-KMS on S3); a zone that requires
// encryption refuses an unencrypted write before sending it.
//
// # Audit trail
//
// Every commit of a table (written by package zones) records who made it —
// an Audit: host, process id, OS user and the caller's identity — when,
// the operation and mode, and the idempotency key. zones.History lists a
// table's audit trail, read through the table's one commit log: one
// HistoryEntry per table version (Kind HistoryCommit) with the rows, files
// and bytes added and removed, and, placed among them by time, the events
// that are not versions (Kind HistoryVacuum: a vacuum that deleted files,
// with the keys and bytes; HistoryRepair; see Zone.RecordEvent, which
// writes them).
//
// The caller's identity is what the application gives (per write in
// zones, or Options.Caller for the whole lake); otherwise Lake.Caller asks
// the store's driver once, if it implements CallerIdentifier. The S3
// driver does: it asks STS GetCallerIdentity with the S3 client's
// credentials and endpoint and reports the principal's ARN
// ("arn:aws:sts::123456789012:assumed-role/ingest/task-1"). The lookup is
// bounded by CallerLookupTimeout; a failure (no STS reachable, an S3
// emulator without STS) is cached as unknown, so only the first commit
// can be slowed and never fails for it.
//
// # Names
//
// Database, table, column and partition key names follow Glue's rule: 1 to
// 255 lower case letters, digits and underscores (ValidateName). Partition
// values are escaped as Hive escapes them (EscapePartitionValue), so a value
// can never leave its table's prefix; empty values and control characters
// are refused. Object keys are checked by ValidateKey: no "..", no absolute
// keys, no empty segments, no control characters. Nothing is renamed
// silently; SanitizeName rewrites a name when the caller asks for it.
//
// # Errors
//
// Errors wrap the sentinel errors of this package — ErrNotFound, ErrExists,
// ErrInvalidName, ErrEncryptionRequired, ErrUnknownScheme, ErrInvalidURL,
// ErrThrottled — and the backend's own error, so both errors.Is(err,
// lake.ErrNotFound) and errors.As(err, &smithyAPIError) work.
//
// # As
//
// Store.As reaches the driver's client: **s3.Client for the S3 driver,
// *string (the root directory) for the file driver, **memstore.Driver for
// the memory driver.
//
// # Writing a driver
//
// Implement lake/driver.Driver and run lake/storetest.RunConformance against
// it; register a URL scheme with DefaultURLMux().Register.
package lake
