package catalog

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Sentinel errors. Implementations wrap them with %w (and wrap the AWS error
// too, so errors.As still reaches it).
var (
	ErrNoSuchDatabase  = errors.New("catalog: no such database")
	ErrNoSuchTable     = errors.New("catalog: no such table")
	ErrNoSuchPartition = errors.New("catalog: no such partition")
	ErrNoSuchVersion   = errors.New("catalog: no such schema version")
	// ErrExists: creating something that already exists.
	ErrExists = errors.New("catalog: already exists")
	// ErrConflict: an update lost an optimistic-concurrency race (the table's
	// VersionID changed since it was read). Re-read and retry.
	ErrConflict = errors.New("catalog: concurrent modification")
	// ErrIncompatibleSchema: a schema change breaks the evolution rules
	// (drop, rename, narrow or change a column's type) and was not forced.
	ErrIncompatibleSchema = errors.New("catalog: incompatible schema change")
	// ErrInvalid: bad input (names, types, partition values, expressions).
	ErrInvalid = errors.New("catalog: invalid input")
)

// Column is one column of a table, with its business metadata.
type Column struct {
	Name string `json:"name"`
	// Type is the Glue/Hive type: bigint, int, smallint, tinyint, double,
	// float, boolean, string, timestamp, date, decimal(p,s), binary,
	// array<T>, map<K,V>, struct<a:T,...>.
	Type    string `json:"type"`
	Comment string `json:"comment,omitempty"`
	// Required: the column never holds NULL. Adding a column later is only
	// allowed for nullable (not Required) columns.
	Required bool `json:"required,omitempty"`
	// Classification is the column's sensitivity: "PII", "confidential", ...
	Classification string            `json:"classification,omitempty"`
	Parameters     map[string]string `json:"parameters,omitempty"`
}

// Schema is a table's columns and partition keys at one version.
type Schema struct {
	// Version counts from 1 and grows by one with each schema change.
	Version       int       `json:"version"`
	Columns       []Column  `json:"columns"`
	PartitionKeys []Column  `json:"partition_keys,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
}

// Database groups tables.
type Database struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	LocationURI string            `json:"location_uri,omitempty"`
	Parameters  map[string]string `json:"parameters,omitempty"`
}

// Table is a cataloged dataset.
type Table struct {
	Database string `json:"database"`
	Name     string `json:"name"`
	// Location is where the table's data lives, as a URL other engines
	// understand (lake.Store.Location): "s3://bucket/curated/db/t/".
	Location string `json:"location"`
	// Format is the storage format; "parquet" for lakekit tables.
	Format string `json:"format"`
	Schema Schema `json:"schema"`

	// Business metadata.
	Description string            `json:"description,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Steward     string            `json:"steward,omitempty"`
	Parameters  map[string]string `json:"parameters,omitempty"`

	// VersionID is the optimistic-concurrency token: UpdateTable succeeds
	// only while the stored table still has this VersionID. Set by the
	// catalog; Glue's VersionId on AWS.
	VersionID string    `json:"version_id,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Partition is one partition of a table.
type Partition struct {
	// Values are in the order of the table's partition keys.
	Values     []string          `json:"values"`
	Location   string            `json:"location"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// UpdateOptions modify UpdateTable. A nil *UpdateOptions means defaults.
type UpdateOptions struct {
	// Force allows schema changes the evolution rules refuse (drop, rename,
	// narrow, change type). The change is still recorded as a new version.
	Force bool
}

// SearchQuery selects tables. Empty fields match everything; non-empty ones
// must all match. Text matches case-insensitively as a substring.
type SearchQuery struct {
	Database string // exact database, or "" for all
	Text     string // in table name, description, column names or comments
	Column   string // a column with this name (substring)
	// Parameters that must be present with these values (tags); an empty
	// value only requires the key.
	Parameters map[string]string
	// Classification: some column has this classification ("PII").
	Classification string
}

// Catalog is the schema registry of a lake. Implementations: the local
// catalog (kept inside the lake, see Local) and AWS Glue (see Glue). Both
// pass catalog/catalogtest. Extra abilities are separate interfaces
// (Permissions, Crawlers) found by type assertion.
type Catalog interface {
	CreateDatabase(ctx context.Context, db Database) error
	GetDatabase(ctx context.Context, name string) (*Database, error)
	ListDatabases(ctx context.Context) iter.Seq2[*Database, error]
	// DeleteDatabase removes an empty database; ErrInvalid if it has tables.
	DeleteDatabase(ctx context.Context, name string) error

	// CreateTable registers t with schema version 1 and sets t.VersionID.
	CreateTable(ctx context.Context, t *Table) error
	GetTable(ctx context.Context, database, name string) (*Table, error)
	// UpdateTable replaces the table's definition if t.VersionID still
	// matches (else ErrConflict). A changed schema is checked with
	// CheckEvolution and recorded as a new version. On success t.VersionID
	// and t.Schema.Version are updated.
	UpdateTable(ctx context.Context, t *Table, opts *UpdateOptions) error
	ListTables(ctx context.Context, database string) iter.Seq2[*Table, error]
	DeleteTable(ctx context.Context, database, name string) error

	// SchemaVersions lists a table's schema versions, oldest first.
	SchemaVersions(ctx context.Context, database, table string) ([]Schema, error)
	// SchemaVersion returns one version, or ErrNoSuchVersion.
	SchemaVersion(ctx context.Context, database, table string, version int) (*Schema, error)

	// AddPartitions registers partitions; ones that already exist are left
	// as they are (not an error). Values must match the partition keys.
	AddPartitions(ctx context.Context, database, table string, parts []Partition) error
	// UpdatePartitionLocations points existing partitions at new locations
	// (the atomic overwrite's swap); ErrNoSuchPartition if one is missing.
	UpdatePartitionLocations(ctx context.Context, database, table string, parts []Partition) error
	// Partitions yields the partitions matching a Glue-style filter
	// expression ("dt >= '2024-01-01' AND region IN ('eu','us')"; "" for
	// all), ordered by values.
	Partitions(ctx context.Context, database, table, filter string) iter.Seq2[Partition, error]
	// DeletePartitions removes partitions by values; missing ones are ignored.
	DeletePartitions(ctx context.Context, database, table string, values [][]string) error

	// Search finds tables by name, column, parameters (tags) or classification.
	Search(ctx context.Context, q SearchQuery) iter.Seq2[*Table, error]
}
