// Package transform is lakekit's processing layer: it advances data from
// the raw zone to cleaned and from cleaned to curated — typed, validated,
// partition-aware, incremental, exactly once and replayable.
//
// # Transforms
//
// A transform reads a Source, applies a Func and writes a zones dataset:
//
//	clean, err := transform.New("clean_orders",
//		transform.FromRaw(lk, "shop", "orders", transform.JSONLines[Order](nil)),
//		transform.Map(func(ctx context.Context, o Order) (Order, error) { ... }),
//		cleanedOrders, &transform.Options[Order]{Rules: rules})
//	res, err := clean.Run(ctx)
//
// Sources: FromRaw decodes the objects in the raw zone with a Decoder —
// JSONLines (one record per line, or concatenated as Firehose delivers
// them), CSV and Parquet are provided (columns map to fields by csv, json
// or parquet tag), gzip and zstd objects (.jsonl.gz, .jsonl.zst) are
// decompressed by their magic bytes, and any format can be plugged in by
// implementing Decoder. The objects are those raw.Land and the ingestion
// buffer land, or, with WithLayout, what a service writes in its own
// layout (raw.FirehoseLayout, raw.DMSLayout, raw.PlainLayout), read in
// that layout's order; keys the layout does not accept are logged and
// counted in Result.Unaccepted. FromDataset reads a typed zone dataset.
//
// Functions: Map (a row, Skip, or an error), FlatMap (zero or more rows),
// PerPartition (a function over all rows of an input partition, for
// aggregations) and Identity.
//
// # Partitions, units of work and commits
//
// A run lists its input — object listings or the input table's commit log,
// never data — and splits the new input into units of work: up to
// Options.FilesPerUnit new files of one input partition (raw objects are
// partitioned by ingest_date), or, with zones.OverwritePartitions, a whole
// input partition that is recomputed when any of its files changed. Units
// run with bounded parallelism (errgroup, Options.Parallelism). Each unit's
// output is one atomic zones commit; the output partition of each row is
// the output dataset's (its partition fields or PartitionBy). With
// OverwritePartitions, recomputing a partition replaces its previous
// output.
//
// # The ledger
//
// What Glue job bookmarks do, plus outputs: per transform, the input files
// consumed (key, size, ETag) and the output commit they produced. The
// ledger entry of a unit is stored in the metadata of the very commit that
// makes the unit's output visible (MetaTransform, MetaLedger), so the
// output and the ledger can never disagree; it is read back from the output
// table's commit history, with a cache object under
// _lakekit/transform/<name>/ that is only a hint. Hence:
//
//   - a rerun processes only new or changed input (a new ETag), and a rerun
//     with nothing new reads no data file;
//   - a retry after a crash is idempotent: the commit's idempotency key is
//     derived from the transform's name and the exact input set, so a unit
//     whose commit landed is either skipped (the ledger has it) or, if run
//     again, gets zones' existing commit back;
//   - Rewind(ctx, version) overwrites the output with its content as of a
//     version in one commit marked as a rewind, and the ledger forgets what
//     was consumed after it; Replay rebuilds the output from scratch (from
//     the cleaned zone, which keeps its data). A transform is assumed to own
//     its output table.
//
// Two processes running the same transform at once stay exactly once as
// long as they are configured alike (their units, and so their commits'
// idempotency keys, are the same); DedupKey and Merge assume one run at a
// time.
//
// In Append mode a changed input file (same key, new ETag) is processed
// again and its new rows are appended; use OverwritePartitions where
// upstream files are rewritten in place.
//
// # Validation and quarantine
//
// Rules (Required, Range, Regexp, Enum, Custom, RowCheck) name fields by
// their json, csv or parquet tag or Go name, and are checked against the
// row type before anything runs. A record that does not decode, breaks a
// rule, or whose Map returns an error goes to the quarantine dataset
// <output table>_quarantine in the output's zone (the Quarantine type: the
// record's bytes, its source file, offset and line, the rule and the
// reason), and the batch goes on. Result counts rows in, out, rejected,
// skipped and deduplicated; every run logs them with slog. For Map and
// FlatMap every record read ends up written, skipped or quarantined.
//
// # CDC merge
//
// Merge applies change rows in the style of AWS DMS (an operation I, U or
// D, a primary key and an ordering column) to a curated table's current
// state: last write wins by the ordering column, so an update that arrives
// late never overwrites a newer one; deletes remove the row and keep a
// tombstone with their order, so an older change arriving after the
// delete does not bring the row back. Only the partitions the changes fall
// into are read and rewritten, in one OverwritePartitions commit carrying
// the ledger entry. A key must stay in one partition.
//
// # Dedup and SQL
//
// Options.DedupKey drops output rows whose key was already written, within
// a run and against the rows stored in the partitions new rows fall into.
// SQL runs one statement on a query.Engine (the DuckDB engine of
// query/duckdb locally; Athena through the query and orchestrate packages
// with INSERT INTO / CTAS) and writes its rows to a dataset; its ledger
// records the input tables' versions so an unchanged input is not
// recomputed.
//
// # Running transforms
//
// Transform, Merger and SQLTransform are all Runners (Name and Run), so
// transforms of different row types can be kept in one []Runner and run by
// code that does not know their types.
//
// # Errors
//
// Errors wrap the package's sentinels — ErrInvalid (bad names, rules or
// options; nothing ran), ErrLedger (a commit's ledger entry is unreadable),
// ErrFatal (a row function asked to stop) — and the errors of zones and
// lake (zones.ErrConflict, lake.ErrNotFound, ...), so errors.Is works for
// both. ErrDecode and ErrRejected describe records; they end up in
// quarantine, not in Run's error.
//
// Every commit a transform makes is read the same way, and Run's error
// says what is committed:
//
//   - nil: all the work planned is committed and in the ledger;
//   - wrapping zones.ErrCatalog (only when nothing else failed): all of it
//     is committed and in the ledger as well, and the Result counts it,
//     but publishing a commit to the catalog failed (Result.CatalogErr).
//     Never write the data again; the next commit, Dataset.SyncCatalog or
//     Vacuum updates the catalog;
//   - wrapping zones.ErrCommitUnknown (a *zones.CommitUnknownError): a
//     commit may or may not have landed. Rerun: a unit's idempotency key
//     is derived from the transform, the ledger epoch, the unit and its
//     exact inputs, so the rerun skips the unit if the commit landed and
//     commits it under the same key if not;
//   - anything else: what the Result counts is committed, nothing else.
package transform
