package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	"github.com/aws/smithy-go"
)

// GlueAPI is the part of the AWS Glue client the Glue catalog calls: a
// *glue.Client has these methods. NewGlueFromClient takes any value that
// has them, so a service can hand in an instrumented client or a test can
// hand in a stub. Listings go through the SDK's paginators, which take the
// same client. The crawler calls are those of Crawlers.
type GlueAPI interface {
	CreateDatabase(context.Context, *glue.CreateDatabaseInput, ...func(*glue.Options)) (*glue.CreateDatabaseOutput, error)
	GetDatabase(context.Context, *glue.GetDatabaseInput, ...func(*glue.Options)) (*glue.GetDatabaseOutput, error)
	GetDatabases(context.Context, *glue.GetDatabasesInput, ...func(*glue.Options)) (*glue.GetDatabasesOutput, error)
	DeleteDatabase(context.Context, *glue.DeleteDatabaseInput, ...func(*glue.Options)) (*glue.DeleteDatabaseOutput, error)
	CreateTable(context.Context, *glue.CreateTableInput, ...func(*glue.Options)) (*glue.CreateTableOutput, error)
	GetTable(context.Context, *glue.GetTableInput, ...func(*glue.Options)) (*glue.GetTableOutput, error)
	UpdateTable(context.Context, *glue.UpdateTableInput, ...func(*glue.Options)) (*glue.UpdateTableOutput, error)
	GetTables(context.Context, *glue.GetTablesInput, ...func(*glue.Options)) (*glue.GetTablesOutput, error)
	DeleteTable(context.Context, *glue.DeleteTableInput, ...func(*glue.Options)) (*glue.DeleteTableOutput, error)
	GetTableVersions(context.Context, *glue.GetTableVersionsInput, ...func(*glue.Options)) (*glue.GetTableVersionsOutput, error)
	BatchCreatePartition(context.Context, *glue.BatchCreatePartitionInput, ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
	BatchUpdatePartition(context.Context, *glue.BatchUpdatePartitionInput, ...func(*glue.Options)) (*glue.BatchUpdatePartitionOutput, error)
	BatchGetPartition(context.Context, *glue.BatchGetPartitionInput, ...func(*glue.Options)) (*glue.BatchGetPartitionOutput, error)
	GetPartitions(context.Context, *glue.GetPartitionsInput, ...func(*glue.Options)) (*glue.GetPartitionsOutput, error)
	BatchDeletePartition(context.Context, *glue.BatchDeletePartitionInput, ...func(*glue.Options)) (*glue.BatchDeletePartitionOutput, error)
	SearchTables(context.Context, *glue.SearchTablesInput, ...func(*glue.Options)) (*glue.SearchTablesOutput, error)
	CreatePartitionIndex(context.Context, *glue.CreatePartitionIndexInput, ...func(*glue.Options)) (*glue.CreatePartitionIndexOutput, error)
	StartCrawler(context.Context, *glue.StartCrawlerInput, ...func(*glue.Options)) (*glue.StartCrawlerOutput, error)
	GetCrawler(context.Context, *glue.GetCrawlerInput, ...func(*glue.Options)) (*glue.GetCrawlerOutput, error)
}

// Glue batch limits.
const (
	glueCreateBatch = 100 // BatchCreatePartition
	glueUpdateBatch = 100 // BatchUpdatePartition
	glueGetBatch    = 1000
	glueDeleteBatch = 25 // BatchDeletePartition
	maxGlueSegments = 10 // GetPartitions segments
)

// Parquet storage as Athena expects it.
const (
	ParquetInputFormat  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
	ParquetOutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
	ParquetSerDe        = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
)

// Table and column parameters lakekit keeps in Glue beside the user's.
// Keys starting with "lakekit." are reserved.
const (
	ParamSchemaVersion   = "lakekit.schema_version"
	ParamSchemaCreatedAt = "lakekit.schema_created_at"
	ParamSteward         = "lakekit.steward"
	ParamCreatedAt       = "lakekit.created_at"
	ParamRequired        = "lakekit.required"
	ParamClassification  = "lakekit.classification"
	reservedPrefix       = "lakekit."
)

// GlueOptions configure a Glue catalog. A nil *GlueOptions means defaults.
type GlueOptions struct {
	// CatalogID is the AWS account of the Data Catalog; "" means the
	// caller's.
	CatalogID string
	// LakeFormation is the client of the Permissions methods (a
	// *lakeformation.Client, or a stub). NewGlue makes one from its
	// aws.Config when this is nil; NewGlueFromClient leaves permissions
	// off then (they fail with ErrNoLakeFormation).
	LakeFormation LakeFormationAPI
	// Segments > 1 reads partitions with that many parallel GetPartitions
	// segments; Glue allows up to 10. 0 or 1 reads them in one sequence.
	Segments int
	// Concurrency bounds parallel batch calls (partitions). Default 4.
	Concurrency int
	// TableCacheTTL is how long partition calls reuse a table this catalog
	// read (its partition keys and storage descriptor) instead of calling
	// GetTable again: registering a commit's partitions then costs only the
	// batch calls. Default 30s; negative disables the cache. UpdateTable and
	// DeleteTable through this catalog drop the cached table.
	TableCacheTTL time.Duration
	// ClientOptions are applied to the glue.Options of the client NewGlue
	// builds, after the aws.Config: a custom HTTP client, a retryer or an
	// endpoint. NewGlueFromClient ignores them.
	ClientOptions []func(*glue.Options)
}

// Glue is the AWS Glue Data Catalog as a Catalog. See the package doc for
// how tables map to Glue. It also implements Permissions (when a Lake
// Formation client is configured), Crawlers and PartitionIndexer.
type Glue struct {
	c          GlueAPI
	lf         LakeFormationAPI
	opts       GlueOptions
	noSrch     atomic.Bool // SearchTables answered "unsupported": use GetTables
	tableCache sync.Map    // "db.table" → cachedTable, for partition calls
}

type cachedTable struct {
	t  *Table
	at time.Time
}

// partitionTable returns the table for a partition call: the cached one
// when fresh (see GlueOptions.TableCacheTTL), else GetTable.
func (g *Glue) partitionTable(ctx context.Context, database, name string) (*Table, error) {
	ttl := g.opts.TableCacheTTL
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	if ttl > 0 {
		if c, ok := g.tableCache.Load(database + "." + name); ok && time.Since(c.(cachedTable).at) < ttl {
			return c.(cachedTable).t, nil
		}
	}
	return g.GetTable(ctx, database, name)
}

var (
	_ Catalog          = (*Glue)(nil)
	_ Permissions      = (*Glue)(nil)
	_ Crawlers         = (*Glue)(nil)
	_ PartitionIndexer = (*Glue)(nil)
)

// NewGlue returns a Glue catalog over Glue and Lake Formation clients
// built from cfg (region, credentials, endpoint) and opts.ClientOptions;
// a Lake Formation client given in opts is used as it is. It fails with
// ErrInvalid when an option is out of range.
func NewGlue(cfg aws.Config, opts *GlueOptions) (*Glue, error) {
	var o GlueOptions
	if opts != nil {
		o = *opts
	}
	if o.LakeFormation == nil {
		o.LakeFormation = lakeformation.NewFromConfig(cfg)
	}
	return NewGlueFromClient(glue.NewFromConfig(cfg, o.ClientOptions...), &o)
}

// NewGlueFromClient returns a Glue catalog over client: a *glue.Client, or
// any GlueAPI (an instrumented client, a stub in a test). Permissions need
// opts.LakeFormation. It fails with ErrInvalid when client is nil or an
// option is out of range.
func NewGlueFromClient(client GlueAPI, opts *GlueOptions) (*Glue, error) {
	if client == nil {
		return nil, invalidf("NewGlueFromClient: the Glue client is nil")
	}
	g := &Glue{c: client}
	if opts != nil {
		g.opts = *opts
	}
	switch {
	case g.opts.Segments < 0 || g.opts.Segments > maxGlueSegments:
		return nil, invalidf("GlueOptions.Segments %d is outside 0 to %d (Glue's limit)", g.opts.Segments, maxGlueSegments)
	case g.opts.Concurrency < 0:
		return nil, invalidf("GlueOptions.Concurrency %d is negative", g.opts.Concurrency)
	}
	g.lf = g.opts.LakeFormation
	if g.opts.Concurrency == 0 {
		g.opts.Concurrency = 4
	}
	return g, nil
}

// As exposes the clients: **glue.Client, **lakeformation.Client.
func (g *Glue) As(i any) bool {
	switch p := i.(type) {
	case **glue.Client:
		c, ok := g.c.(*glue.Client)
		if ok {
			*p = c
		}
		return ok
	case **lakeformation.Client:
		c, ok := g.lf.(*lakeformation.Client)
		if ok {
			*p = c
		}
		return ok
	}
	return false
}

func (g *Glue) catalogID() *string {
	if g.opts.CatalogID == "" {
		return nil
	}
	return aws.String(g.opts.CatalogID)
}

// glueErr maps a Glue error to the catalog's sentinels, keeping the AWS
// error reachable with errors.As.
func glueErr(err error, what string, notFound error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		var s error
		switch ae.ErrorCode() {
		case "EntityNotFoundException":
			s = notFound
			if s == nil || (s == ErrNoSuchTable || s == ErrNoSuchPartition) && strings.Contains(strings.ToLower(ae.ErrorMessage()), "database") {
				s = ErrNoSuchDatabase
			}
		case "AlreadyExistsException":
			s = ErrExists
		case "ConcurrentModificationException":
			s = ErrConflict
		case "InvalidInputException", "ValidationException":
			s = ErrInvalid
		}
		if s != nil {
			return fmt.Errorf("catalog: glue %s: %w: %w", what, s, err)
		}
	}
	return fmt.Errorf("catalog: glue %s: %w", what, err)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
