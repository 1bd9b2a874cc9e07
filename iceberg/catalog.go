package iceberg

import (
	"context"
	"fmt"
	"path/filepath"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/utils"
	"github.com/aws/aws-sdk-go-v2/aws"

	// The s3:// file IO for tables in S3 (Glue catalog).
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
)

// LocalCatalog is the catalog of a file lake: iceberg-go's file-system
// ("hadoop") catalog rooted at dir, with nothing to install or run. Each
// table is dir/<namespace>/<table>; a commit publishes metadata version
// N+1 as metadata/vN+1.metadata.json with a rename that fails when the
// version exists (create-only), so of two writers racing for one version
// exactly one wins and the other retries on the new state.
func LocalCatalog(dir string) (catalog.Catalog, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: local catalog needs a directory", ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: local catalog directory %q: %v", ErrInvalid, dir, err)
	}
	cat, err := hadoop.NewCatalog("lakekit", abs, ice.Properties{})
	if err != nil {
		return nil, fmt.Errorf("iceberg: local catalog at %s: %w", abs, err)
	}
	return cat, nil
}

// GlueOptions configure GlueCatalog.
type GlueOptions struct {
	// CatalogID is the Glue catalog (account) ID; "" means the caller's.
	CatalogID string
	// S3Endpoint, when set, is the S3 endpoint table files are read and
	// written through (path-style addressing), e.g. an emulator's URL.
	S3Endpoint string
	// Properties are further iceberg-go catalog and file IO properties.
	Properties map[string]string
}

// GlueCatalog is the AWS Glue Data Catalog through iceberg-go: tables are
// Glue tables with table_type=ICEBERG whose metadata_location parameter
// names the current metadata file; a commit writes the next metadata file
// to S3 and swaps metadata_location with UpdateTable conditioned on the
// Glue table's VersionId (optimistic concurrency: a writer that lost the
// race gets a conflict and retries). cfg is used for Glue and for S3 (the
// catalog's calls carry it to iceberg-go's S3 file IO; for iceberg-go
// calls of your own on a table it loaded, use Table.Context).
func GlueCatalog(cfg aws.Config, opts *GlueOptions) (catalog.Catalog, error) {
	if cfg.Region == "" {
		return nil, fmt.Errorf("%w: Glue catalog: aws.Config has no Region", ErrInvalid)
	}
	props := glue.AwsProperties{}
	if opts != nil {
		for k, v := range opts.Properties {
			props[k] = v
		}
		if opts.CatalogID != "" {
			props[glue.CatalogIdKey] = opts.CatalogID
		}
		if opts.S3Endpoint != "" {
			props["s3.endpoint"] = opts.S3Endpoint
		}
	}
	if _, ok := props["s3.region"]; !ok {
		props["s3.region"] = cfg.Region
	}
	cat, err := glue.NewCatalog(glue.WithAwsConfig(cfg), glue.WithAwsProperties(props))
	if err != nil {
		return nil, fmt.Errorf("iceberg: Glue catalog: %w", err)
	}
	return &glueCatalog{Catalog: cat, cfg: cfg}, nil
}

// glueCatalog hands cfg to iceberg-go's S3 file IO: without it in the
// context, iceberg-go builds the S3 client from the default credential
// chain (environment, profile, EC2 metadata), not from the caller's config.
type glueCatalog struct {
	*glue.Catalog
	cfg aws.Config
}

// catalogContext is implemented by catalogs whose file IO needs something
// in the context of every call (the Glue catalog's aws.Config).
type catalogContext interface {
	withContext(ctx context.Context) context.Context
}

func (g *glueCatalog) withContext(ctx context.Context) context.Context {
	return utils.WithAwsConfig(ctx, &g.cfg)
}

func (g *glueCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	return g.Catalog.LoadTable(g.withContext(ctx), ident)
}

func (g *glueCatalog) CreateTable(ctx context.Context, ident table.Identifier, sc *ice.Schema, opts ...catalog.CreateTableOpt) (*table.Table, error) {
	return g.Catalog.CreateTable(g.withContext(ctx), ident, sc, opts...)
}

func (g *glueCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	return g.Catalog.CommitTable(g.withContext(ctx), ident, reqs, updates)
}

func (g *glueCatalog) RegisterTable(ctx context.Context, ident table.Identifier, metadataLocation string) (*table.Table, error) {
	return g.Catalog.RegisterTable(g.withContext(ctx), ident, metadataLocation)
}

func (g *glueCatalog) PurgeTable(ctx context.Context, ident table.Identifier) error {
	return g.Catalog.PurgeTable(g.withContext(ctx), ident)
}
