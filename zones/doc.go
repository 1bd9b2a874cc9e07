// Package zones stores typed data in the lake's zones: Go structs written as
// partitioned Parquet files and committed atomically through a per-table
// commit log, read back as a consistent snapshot.
//
// # Datasets
//
// A Dataset[T] is one table (zone, database, table) holding rows of the
// struct type T. Columns come from T's parquet struct tags (parquet-go);
// partition columns come either from fields tagged `lakekit:"partition"`
// (not stored inside the files; readers fill them back in from the
// partition values) or from Options.PartitionBy:
//
//	type Event struct {
//		ID     int64     `parquet:"id"`
//		At     time.Time `parquet:"at"`
//		Region string    `parquet:"region" lakekit:"partition"`
//	}
//	ds, err := zones.NewDataset[Event](lk, lake.Curated, "sales", "events", nil)
//	w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: zones.Append})
//	err = w.Write(ctx, events)
//	res, err := w.Commit(ctx)
//	for ev, err := range ds.Read(ctx, &zones.ReadOptions{Partitions: zones.PartitionIn("region", "eu")}) { ... }
//
// Every time.Time column is stored as timestamp(microsecond) adjusted to
// UTC (DuckDB reads TIMESTAMPTZ, Athena timestamp); sub-microsecond digits
// are dropped and values come back in UTC. A field tagged with another unit
// or with :local is refused, so no table mixes the two encodings.
//
// # Layout and commit log
//
//	<zone>/<db>/<table>/<k1>=<v1>/.../part-<id>-<n>.parquet   appended data
//	<zone>/<db>/<table>/_g<version>-<id>/<k1>=<v1>/...         overwritten partitions
//	<zone>/<db>/<table>/_<name>/<k1>=<v1>/...                  generation folders AddFiles commits in place (GenerationFolder)
//	<zone>/<db>/<table>/_lakekit/log/<20-digit version>.json   one object per version
//	<zone>/<db>/<table>/_lakekit/checkpoint/<version>.json     every 50 versions
//	<zone>/<db>/<table>/_lakekit/_last_checkpoint              hint to the newest checkpoint
//	<zone>/<db>/<table>/_lakekit/audit/<time>-vacuum-<id>.json audit records of vacuum runs
//
// A commit is one object created with create-if-absent (Store.Create) under
// the next version number; it lists added and removed files with rows,
// sizes, partition values and column min/max statistics, the schema
// version, the mode, the idempotency key, caller metadata and an audit
// record (time, host, pid, user, caller). Readers see a version fully or
// not at all. Opening a table reads the newest checkpoint and the few
// commits after it. <id> derives from the writer's idempotency key, so a
// retried write replaces its own objects, and a key already in the log is
// not committed twice.
//
// Concurrent writers race for the next version: the loser re-reads the
// commits it missed, rebases an append and retries with jittered backoff;
// overwrites that touch partitions changed meanwhile fail with ErrConflict.
//
// Overwrite and OverwritePartitions never write into a partition's current
// location: the new files go under _g<version>-<id>/, the commit records
// the partition's new location (later appends go there), and with a
// Catalog the partitions are pointed at it after the commit, so Athena
// never sees an empty or half-written partition. Replaced files stay until
// Vacuum runs after the retention; Vacuum also removes orphans of crashed
// writers once they are older than the retention.
//
// # Audit trail
//
// Every commit records who, when, what and under which key: Commit.Audit
// (a lake.Audit) holds the host, process id and OS user of the writer and
// the caller's identity — WriterOptions.Caller when the application names
// one, else the lake's (lake.Options.Caller, or what the store's driver
// reports: on S3 the principal ARN from STS GetCallerIdentity, asked once
// per lake with a 2-second bound; unknown where STS cannot be reached) —
// with the commit's Timestamp, Operation, Mode, IdempotencyKey, Metadata
// and the files, rows and bytes added and removed. Dataset.History and
// Table.History list the commits; History (and Table.AuditTrail) lists
// them as lake.HistoryEntry values together with the events that are not
// versions: vacuum runs and repairs.
//
// Vacuum does not commit (it makes no version), but each run that deletes
// files writes an audit record under the table's _lakekit/audit/ — who,
// when, the retention, the keys and bytes deleted — before the first
// delete (status "started") and completes it after ("done", or "failed"
// with the error), so no file is deleted without a record naming it; if
// the record cannot be written, nothing is deleted. VacuumResult.AuditID
// names the record. Example_history shows the listing.
//
// # Memory
//
// Writers keep one open file per partition (at most
// Options.MaxOpenPartitions; the least recently used is closed and
// uploaded when more are needed), keep Parquet pages and each unfinished
// file in memory up to Options.MemoryBudget (32 MiB by default) and spill
// what does not fit to unlinked temporary files (Options.InMemoryBuffers
// keeps everything in memory), and upload each file when it is finished. Readers stream row groups in batches. Memory depends
// on the open partitions, the row-group and batch sizes, not on the rows.
//
// # Reading
//
// Dataset.Read (an iter.Seq2) and ReadBatches read one fixed version (the
// newest, or ReadOptions.Version for time travel). Partitions are pruned
// from the commit log (PartitionIn, PartitionRange, or Where on a partition
// column) without listing the store; Where predicates (Eq, Lt, Le, Gt, Ge,
// In) filter rows and skip files and row groups by their min/max
// statistics; Columns projects. Files are read in parallel (Parallelism)
// through Store.OpenReader, prefetching the column chunks a row group
// needs, so an S3 read costs about one GET per file and row group.
//
// # Failures
//
// Write checks every row's partition before writing any row of the batch:
// a bad row fails the call (ErrInvalid, naming the row) and the writer
// stays usable. A Write that fails part way (an upload error) poisons the
// writer: later Write and Commit fail and its uploads are deleted, so a
// partial batch is never committed; retry the whole write with the same
// IdempotencyKey. A process killed at any point leaves the table at its
// last commit; what it uploaded is an orphan for Vacuum.
//
// # Untyped access
//
// OpenTable gives query and transform engines the snapshots, files,
// history and vacuum of a table without a Go type; Snapshot.Prune applies
// partition and min/max pruning to its files.
//
// # Errors
//
// ErrConflict, ErrNoSuchTable, ErrNoSuchVersion, ErrInvalid,
// ErrWriterClosed, ErrSchema, ErrCatalog and ErrTooManyAttempts, wrapped
// with %w together with the underlying store or catalog error.
//
// # Raw data
//
// The raw zone's input — landing (Land), listing (List), the ingestion
// buffer (Buffer) and the layouts of what managed services write there — is
// package github.com/lakekit/lakekit/zones/raw; zones holds the typed
// tables of the cleaned and curated zones.
//
// # Observability
//
// Logs go to Options.Logger (or the lake's logger) with log/slog;
// Options.Progress receives rows, files and bytes as a write proceeds.
package zones
