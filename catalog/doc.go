// Package catalog is lakekit's catalog layer: the technical and business
// metadata of every dataset in the lake — databases, tables, versioned
// schemas, partitions, owners, stewards, column classifications — behind
// one small Catalog interface with two implementations that pass the same
// conformance suite (catalog/catalogtest):
//
//   - Local keeps the catalog inside the lake, as JSON objects under
//     <root>/_lakekit/catalog/, through the lake's store: it works the same
//     on file, memory and S3 stores, needs nothing else, and is safe for
//     many concurrent writers (create-if-absent versioned objects, see
//     Local). Open it with OpenLocal(lake).
//   - Glue is the AWS Glue Data Catalog (aws-sdk-go-v2 service/glue), with
//     Lake Formation permissions. Make it with NewGlue(cfg, nil), or with
//     NewGlueFromClient over any GlueAPI (an instrumented client, a stub).
//
// Extra abilities are separate interfaces, found by type assertion:
// Permissions (Lake Formation SELECT grants), Crawlers (Glue crawlers),
// PartitionIndexer (Glue partition indexes).
//
// # Schemas from Go types
//
// SchemaOf[T] derives a table schema from the struct a zone writes with
// parquet-go, reading the same "parquet" struct tags, so the catalog always
// describes the files as they are written; SchemaOf's doc has the type
// table. The "lakekit" tag (see TagName) adds partition keys, column
// comments and classifications:
//
//	type Order struct {
//		ID     int64     `parquet:"id"`
//		Amount int64     `parquet:"amount,decimal(2:12)"`
//		Email  *string   `parquet:"email" lakekit:"pii,comment=customer e-mail"`
//		Day    time.Time `parquet:"-" lakekit:"partition,name=dt"`
//	}
//
// PartitionFields and PartitionField.Value give zone writers the partition
// keys of a row.
//
// # For zone writers
//
// A zone writer with a catalog attached derives the table's schema with
// SchemaOf (or SchemaOfType), routes rows with PartitionFields and
// PartitionField.Value (the same `lakekit:"partition"` tag), and at commit
// calls CheckEvolution(current, next, force) before UpdateTable (which
// checks again), AddPartitions for new partitions and
// UpdatePartitionLocations for the location swap of an overwrite.
// UpdateTable fails with ErrConflict when another writer updated the table
// since it was read: re-read with GetTable and retry.
//
// # Evolution
//
// UpdateTable checks a changed schema with CheckEvolution, which follows
// Athena's rules for Parquet: adding nullable columns and, in partitioned
// tables only, widening primitive types (tinyint→smallint→int→bigint,
// float→double) are recorded as a new schema version; dropping, renaming,
// narrowing or otherwise changing a column (decimal precision, any change
// in an unpartitioned table or to an array, map or struct column), adding
// a required column and changing partition keys
// fail with ErrIncompatibleSchema naming the column, unless
// UpdateOptions.Force is set. SchemaVersions lists the history. Zone
// writers call CheckEvolution on commit.
//
// # Partitions
//
// AddPartitions is idempotent (existing partitions are left alone) and
// fills a missing Location with the table location plus the Hive path.
// UpdatePartitionLocations is the swap of an atomic overwrite: it changes
// nothing if any partition is missing. Partitions takes a Glue-style filter
// expression (see Filter: =, <>, <, IN, BETWEEN, LIKE, AND, OR, NOT); bad
// expressions fail with ErrInvalid naming the position. Partition values
// are checked against the keys' types (integers, dates YYYY-MM-DD, ...).
//
// # Glue mapping
//
// A table is an EXTERNAL_TABLE with the Parquet SerDe and input/output
// formats Athena expects and classification=parquet. Business metadata
// maps to Glue fields where Glue has them (Description, Owner, column
// Comment) and to reserved parameters otherwise: lakekit.steward,
// lakekit.schema_version (lakekit's schema version, so that
// GetTableVersions yields the schema history), lakekit.schema_created_at,
// lakekit.created_at, and per column lakekit.required and
// lakekit.classification. UpdateTable sends VersionId for optimistic
// concurrency and SkipArchive=false so Glue keeps versions.
// BatchCreatePartition is called with 100 partitions per call,
// BatchUpdatePartition with 100, BatchDeletePartition with 25, several in
// parallel (GlueOptions.Concurrency). Search uses SearchTables and falls
// back to GetTables where the service does not support it (moto answers
// HTTP 500).
//
// # Athena
//
// CreateTableDDL renders CREATE EXTERNAL TABLE for a table; Projection
// and ApplyProjection configure Athena partition projection
// (enum/integer/date/injected, storage.location.template);
// DDLOptions.PartitionFiltering and PartitionIndexer set up Glue partition
// indexes.
//
// # Discovery
//
// Discover does what a Glue crawler does, locally: it infers a table's
// schema from the footers of the Parquet files under a prefix and its
// partitions from Hive "key=value" paths; Discovered.Register records the
// result in any Catalog. On AWS, Crawlers starts and waits for real Glue
// crawlers.
//
// # Errors
//
// Every error wraps one of the sentinels (ErrNoSuchDatabase,
// ErrNoSuchTable, ErrNoSuchPartition, ErrNoSuchVersion, ErrExists,
// ErrConflict, ErrIncompatibleSchema, ErrInvalid) where one applies, so
// errors.Is works; the Glue implementation also wraps the AWS error, so
// errors.As(err, &smithy.APIError) still reaches it. Glue's
// EntityNotFoundException becomes ErrNoSuchTable or ErrNoSuchDatabase,
// AlreadyExistsException ErrExists, ConcurrentModificationException
// ErrConflict, InvalidInputException ErrInvalid. Bad input (names, types,
// duplicate columns, partition values that do not match the keys, filter
// expressions) is refused with ErrInvalid before anything is written.
//
// # AWS clients
//
// NewGlue(cfg, opts) builds the Glue and Lake Formation clients from an
// aws.Config (GlueOptions.ClientOptions adjust the Glue client: an HTTP
// client, a retryer). NewGlueFromClient takes any GlueAPI, the Glue calls
// the catalog makes, which *glue.Client has, and GlueOptions.LakeFormation
// any LakeFormationAPI: a service can hand in an instrumented client, a
// unit test a small stub. Both constructors refuse a nil client and
// out-of-range options with ErrInvalid.
//
// # As
//
// Local.As: **lake.Store (the catalog's store). Glue.As: **glue.Client,
// **lakeformation.Client.
package catalog
