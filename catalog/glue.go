package catalog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// glueAPI lists the Glue calls the catalog makes; *glue.Client has them.
type glueAPI interface {
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

var _ glueAPI = (*glue.Client)(nil)

// Glue batch limits.
const (
	glueCreateBatch = 100 // BatchCreatePartition
	glueUpdateBatch = 100 // BatchUpdatePartition
	glueGetBatch    = 1000
	glueDeleteBatch = 25 // BatchDeletePartition
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
	// LakeFormation enables the Permissions interface: a
	// *lakeformation.Client (NewGlueFromConfig makes one).
	LakeFormation lakeFormationAPI
	// Segments > 1 reads partitions with that many parallel GetPartitions
	// segments (Glue allows up to 10).
	Segments int
	// Concurrency bounds parallel batch calls (partitions). Default 4.
	Concurrency int
	// TableCacheTTL is how long partition calls reuse a table this catalog
	// read (its partition keys and storage descriptor) instead of calling
	// GetTable again: registering a commit's partitions then costs only the
	// batch calls. Default 30s; negative disables the cache. UpdateTable and
	// DeleteTable through this catalog drop the cached table.
	TableCacheTTL time.Duration
}

// Glue is the AWS Glue Data Catalog as a Catalog. See the package doc for
// how tables map to Glue. It also implements Permissions (when a Lake
// Formation client is configured), Crawlers and PartitionIndexer.
type Glue struct {
	c          glueAPI
	lf         lakeFormationAPI
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

// NewGlue returns a Glue catalog over client, normally a *glue.Client (any
// value with the same methods works, for tests and wrappers).
func NewGlue(client glueAPI, opts *GlueOptions) *Glue {
	g := &Glue{c: client}
	if opts != nil {
		g.opts = *opts
	}
	g.lf = g.opts.LakeFormation
	if g.opts.Concurrency <= 0 {
		g.opts.Concurrency = 4
	}
	return g
}

// NewGlueFromConfig makes Glue and Lake Formation clients from cfg.
func NewGlueFromConfig(cfg aws.Config, opts *GlueOptions) *Glue {
	var o GlueOptions
	if opts != nil {
		o = *opts
	}
	if o.LakeFormation == nil {
		o.LakeFormation = lakeformation.NewFromConfig(cfg)
	}
	return NewGlue(glue.NewFromConfig(cfg), &o)
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

// ---- conversions ----

func toGlueColumns(cs []Column) []types.Column {
	out := make([]types.Column, len(cs))
	for i, c := range cs {
		params := maps.Clone(c.Parameters)
		if c.Required || c.Classification != "" {
			if params == nil {
				params = map[string]string{}
			}
			if c.Required {
				params[ParamRequired] = "true"
			}
			if c.Classification != "" {
				params[ParamClassification] = c.Classification
			}
		}
		out[i] = types.Column{Name: aws.String(c.Name), Type: aws.String(c.Type), Parameters: params}
		if c.Comment != "" {
			out[i].Comment = aws.String(c.Comment)
		}
	}
	return out
}

func fromGlueColumns(cs []types.Column) []Column {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Column, len(cs))
	for i, c := range cs {
		col := Column{Name: aws.ToString(c.Name), Type: aws.ToString(c.Type), Comment: aws.ToString(c.Comment)}
		if canon, err := CanonicalType(col.Type); err == nil {
			col.Type = canon
		}
		for k, v := range c.Parameters {
			switch k {
			case ParamRequired:
				col.Required = v == "true"
			case ParamClassification:
				col.Classification = v
			default:
				if !strings.HasPrefix(k, reservedPrefix) {
					if col.Parameters == nil {
						col.Parameters = map[string]string{}
					}
					col.Parameters[k] = v
				}
			}
		}
		out[i] = col
	}
	return out
}

func storageDescriptor(t *Table, location string) *types.StorageDescriptor {
	return &types.StorageDescriptor{
		Columns:      toGlueColumns(t.Schema.Columns),
		Location:     aws.String(location),
		InputFormat:  aws.String(ParquetInputFormat),
		OutputFormat: aws.String(ParquetOutputFormat),
		SerdeInfo: &types.SerDeInfo{
			SerializationLibrary: aws.String(ParquetSerDe),
			Parameters:           map[string]string{"serialization.format": "1"},
		},
	}
}

func toTableInput(t *Table) *types.TableInput {
	params := maps.Clone(t.Parameters)
	if params == nil {
		params = map[string]string{}
	}
	params["classification"] = FormatParquet
	params["EXTERNAL"] = "TRUE"
	params[ParamSchemaVersion] = strconv.Itoa(t.Schema.Version)
	if !t.Schema.CreatedAt.IsZero() {
		params[ParamSchemaCreatedAt] = t.Schema.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	if !t.CreatedAt.IsZero() {
		params[ParamCreatedAt] = t.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	if t.Steward != "" {
		params[ParamSteward] = t.Steward
	}
	in := &types.TableInput{
		Name:              aws.String(t.Name),
		TableType:         aws.String("EXTERNAL_TABLE"),
		Parameters:        params,
		PartitionKeys:     toGlueColumns(t.Schema.PartitionKeys),
		StorageDescriptor: storageDescriptor(t, t.Location),
	}
	if in.PartitionKeys == nil {
		in.PartitionKeys = []types.Column{}
	}
	if t.Description != "" {
		in.Description = aws.String(t.Description)
	}
	if t.Owner != "" {
		in.Owner = aws.String(t.Owner)
	}
	return in
}

func fromGlueTable(gt *types.Table) *Table {
	t := &Table{
		Database:    aws.ToString(gt.DatabaseName),
		Name:        aws.ToString(gt.Name),
		Format:      FormatParquet,
		Description: aws.ToString(gt.Description),
		Owner:       aws.ToString(gt.Owner),
		VersionID:   aws.ToString(gt.VersionId),
		Schema:      Schema{Version: 1, PartitionKeys: fromGlueColumns(gt.PartitionKeys)},
	}
	if gt.CreateTime != nil {
		t.CreatedAt = gt.CreateTime.UTC()
	}
	if gt.UpdateTime != nil {
		t.UpdatedAt = gt.UpdateTime.UTC()
	}
	if sd := gt.StorageDescriptor; sd != nil {
		t.Location = aws.ToString(sd.Location)
		t.Schema.Columns = fromGlueColumns(sd.Columns)
	}
	for k, v := range gt.Parameters {
		switch k {
		case ParamSchemaVersion:
			if n, err := strconv.Atoi(v); err == nil {
				t.Schema.Version = n
			}
		case ParamSchemaCreatedAt:
			t.Schema.CreatedAt, _ = time.Parse(time.RFC3339Nano, v)
		case ParamCreatedAt:
			t.CreatedAt, _ = time.Parse(time.RFC3339Nano, v)
		case ParamSteward:
			t.Steward = v
		case "EXTERNAL":
		case "classification":
			t.Format = strings.ToLower(v)
		default:
			if !strings.HasPrefix(k, reservedPrefix) {
				if t.Parameters == nil {
					t.Parameters = map[string]string{}
				}
				t.Parameters[k] = v
			}
		}
	}
	return t
}

func fromGluePartition(p types.Partition) Partition {
	out := Partition{Values: slices.Clone(p.Values), Parameters: maps.Clone(p.Parameters)}
	if p.StorageDescriptor != nil {
		out.Location = aws.ToString(p.StorageDescriptor.Location)
	}
	if len(out.Parameters) == 0 {
		out.Parameters = nil
	}
	return out
}

// ---- databases ----

// CreateDatabase implements Catalog.
func (g *Glue) CreateDatabase(ctx context.Context, db Database) error {
	if err := ValidateDatabase(db); err != nil {
		return err
	}
	in := &types.DatabaseInput{Name: aws.String(db.Name), Parameters: db.Parameters}
	if db.Description != "" {
		in.Description = aws.String(db.Description)
	}
	if db.LocationURI != "" {
		in.LocationUri = aws.String(db.LocationURI)
	}
	_, err := g.c.CreateDatabase(ctx, &glue.CreateDatabaseInput{CatalogId: g.catalogID(), DatabaseInput: in})
	return glueErr(err, "create database "+db.Name, ErrNoSuchDatabase)
}

func fromGlueDatabase(d *types.Database) *Database {
	out := &Database{Name: aws.ToString(d.Name), Description: aws.ToString(d.Description), LocationURI: aws.ToString(d.LocationUri)}
	if len(d.Parameters) > 0 {
		out.Parameters = maps.Clone(d.Parameters)
	}
	return out
}

// GetDatabase implements Catalog.
func (g *Glue) GetDatabase(ctx context.Context, name string) (*Database, error) {
	if err := nameErr("database name", name); err != nil {
		return nil, err
	}
	out, err := g.c.GetDatabase(ctx, &glue.GetDatabaseInput{CatalogId: g.catalogID(), Name: aws.String(name)})
	if err != nil {
		return nil, glueErr(err, "get database "+name, ErrNoSuchDatabase)
	}
	return fromGlueDatabase(out.Database), nil
}

// ListDatabases implements Catalog; databases come sorted by name.
func (g *Glue) ListDatabases(ctx context.Context) iter.Seq2[*Database, error] {
	return func(yield func(*Database, error) bool) {
		var dbs []*Database
		p := glue.NewGetDatabasesPaginator(g.c, &glue.GetDatabasesInput{CatalogId: g.catalogID()})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(nil, glueErr(err, "get databases", nil))
				return
			}
			for i := range page.DatabaseList {
				dbs = append(dbs, fromGlueDatabase(&page.DatabaseList[i]))
			}
		}
		slices.SortFunc(dbs, func(a, b *Database) int { return strings.Compare(a.Name, b.Name) })
		for _, d := range dbs {
			if !yield(d, nil) {
				return
			}
		}
	}
}

// DeleteDatabase implements Catalog. Glue would delete the tables too;
// lakekit refuses a database that has tables with ErrInvalid.
func (g *Glue) DeleteDatabase(ctx context.Context, name string) error {
	if _, err := g.GetDatabase(ctx, name); err != nil {
		return err
	}
	out, err := g.c.GetTables(ctx, &glue.GetTablesInput{CatalogId: g.catalogID(), DatabaseName: aws.String(name), MaxResults: aws.Int32(1)})
	if err != nil {
		return glueErr(err, "get tables of "+name, ErrNoSuchDatabase)
	}
	if len(out.TableList) > 0 {
		return invalidf("database %q still has tables (%s, ...); delete them first", name, aws.ToString(out.TableList[0].Name))
	}
	_, err = g.c.DeleteDatabase(ctx, &glue.DeleteDatabaseInput{CatalogId: g.catalogID(), Name: aws.String(name)})
	return glueErr(err, "delete database "+name, ErrNoSuchDatabase)
}

// ---- tables ----

func (g *Glue) getGlueTable(ctx context.Context, database, name string) (*types.Table, error) {
	if err := nameErr("database name", database); err != nil {
		return nil, err
	}
	if err := nameErr("table name", name); err != nil {
		return nil, err
	}
	out, err := g.c.GetTable(ctx, &glue.GetTableInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(name)})
	if err != nil {
		return nil, glueErr(err, "get table "+database+"."+name, ErrNoSuchTable)
	}
	return out.Table, nil
}

// CreateTable implements Catalog.
func (g *Glue) CreateTable(ctx context.Context, t *Table) error {
	if err := ValidateTable(t); err != nil {
		return err
	}
	nt := normalizeTable(t)
	now := time.Now().UTC()
	nt.Schema.Version, nt.Schema.CreatedAt, nt.CreatedAt = 1, now, now
	_, err := g.c.CreateTable(ctx, &glue.CreateTableInput{
		CatalogId:    g.catalogID(),
		DatabaseName: aws.String(t.Database),
		TableInput:   toTableInput(nt),
	})
	if err != nil {
		return glueErr(err, "create table "+t.Database+"."+t.Name, ErrNoSuchDatabase)
	}
	got, err := g.GetTable(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	*t = *got
	return nil
}

// GetTable implements Catalog.
func (g *Glue) GetTable(ctx context.Context, database, name string) (*Table, error) {
	gt, err := g.getGlueTable(ctx, database, name)
	if err != nil {
		g.tableCache.Delete(database + "." + name)
		return nil, err
	}
	t := fromGlueTable(gt)
	g.tableCache.Store(database+"."+name, cachedTable{t: t, at: time.Now()})
	return t, nil
}

// UpdateTable implements Catalog. The VersionID check happens twice: here
// against the table just read, and in Glue (UpdateTable's VersionId), which
// answers ConcurrentModificationException (ErrConflict) when another
// writer got in between. SkipArchive is false, so Glue keeps the previous
// version for GetTableVersions.
func (g *Glue) UpdateTable(ctx context.Context, t *Table, opts *UpdateOptions) error {
	if t != nil {
		defer g.tableCache.Delete(t.Database + "." + t.Name)
	}
	if err := ValidateTable(t); err != nil {
		return err
	}
	cur, err := g.GetTable(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	if cur.VersionID != t.VersionID {
		return fmt.Errorf("catalog: table %s.%s: version %q was read, the table is now at %q: %w",
			t.Database, t.Name, t.VersionID, cur.VersionID, ErrConflict)
	}
	nt := normalizeTable(t)
	nt.CreatedAt = cur.CreatedAt
	if sameSchema(cur.Schema, nt.Schema) {
		nt.Schema.Version, nt.Schema.CreatedAt = cur.Schema.Version, cur.Schema.CreatedAt
	} else {
		if err := CheckEvolution(cur.Schema, nt.Schema, opts != nil && opts.Force); err != nil {
			return fmt.Errorf("catalog: table %s.%s: %w", t.Database, t.Name, err)
		}
		nt.Schema.Version, nt.Schema.CreatedAt = cur.Schema.Version+1, time.Now().UTC()
	}
	in := &glue.UpdateTableInput{
		CatalogId:    g.catalogID(),
		DatabaseName: aws.String(t.Database),
		TableInput:   toTableInput(nt),
		SkipArchive:  aws.Bool(false),
	}
	if cur.VersionID != "" {
		in.VersionId = aws.String(cur.VersionID)
	}
	if _, err := g.c.UpdateTable(ctx, in); err != nil {
		return glueErr(err, "update table "+t.Database+"."+t.Name, ErrNoSuchTable)
	}
	got, err := g.GetTable(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	*t = *got
	return nil
}

// ListTables implements Catalog; tables come sorted by name.
func (g *Glue) ListTables(ctx context.Context, database string) iter.Seq2[*Table, error] {
	return func(yield func(*Table, error) bool) {
		if err := nameErr("database name", database); err != nil {
			yield(nil, err)
			return
		}
		ts, err := g.tables(ctx, database)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}

func (g *Glue) tables(ctx context.Context, database string) ([]*Table, error) {
	var ts []*Table
	p := glue.NewGetTablesPaginator(g.c, &glue.GetTablesInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, glueErr(err, "get tables of "+database, ErrNoSuchDatabase)
		}
		for i := range page.TableList {
			ts = append(ts, fromGlueTable(&page.TableList[i]))
		}
	}
	slices.SortFunc(ts, func(a, b *Table) int { return strings.Compare(a.Name, b.Name) })
	return ts, nil
}

// DeleteTable implements Catalog.
func (g *Glue) DeleteTable(ctx context.Context, database, name string) error {
	defer g.tableCache.Delete(database + "." + name)
	if _, err := g.getGlueTable(ctx, database, name); err != nil {
		return err
	}
	_, err := g.c.DeleteTable(ctx, &glue.DeleteTableInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(name)})
	return glueErr(err, "delete table "+database+"."+name, ErrNoSuchTable)
}

// SchemaVersions implements Catalog from GetTableVersions: each Glue
// table version carries lakekit's schema version in its parameters.
func (g *Glue) SchemaVersions(ctx context.Context, database, table string) ([]Schema, error) {
	if _, err := g.getGlueTable(ctx, database, table); err != nil {
		return nil, err
	}
	byVersion := map[int]Schema{}
	p := glue.NewGetTableVersionsPaginator(g.c, &glue.GetTableVersionsInput{
		CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, glueErr(err, "get table versions of "+database+"."+table, ErrNoSuchTable)
		}
		for _, v := range page.TableVersions {
			if v.Table == nil {
				continue
			}
			s := fromGlueTable(v.Table).Schema
			if _, ok := byVersion[s.Version]; !ok {
				byVersion[s.Version] = s
			}
		}
	}
	out := make([]Schema, 0, len(byVersion))
	for _, s := range byVersion {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Schema) int { return a.Version - b.Version })
	return out, nil
}

// SchemaVersion implements Catalog.
func (g *Glue) SchemaVersion(ctx context.Context, database, table string, version int) (*Schema, error) {
	ss, err := g.SchemaVersions(ctx, database, table)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.Version == version {
			return &s, nil
		}
	}
	return nil, fmt.Errorf("catalog: table %s.%s has no schema version %d: %w", database, table, version, ErrNoSuchVersion)
}

// ---- partitions ----

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > 0 {
		k := min(n, len(s))
		out = append(out, s[:k])
		s = s[k:]
	}
	return out
}

func valueLists(ps []Partition) []types.PartitionValueList {
	out := make([]types.PartitionValueList, len(ps))
	for i, p := range ps {
		out[i] = types.PartitionValueList{Values: p.Values}
	}
	return out
}

func describeEntryErrors(n int, first string) string {
	if n == 1 {
		return first
	}
	return fmt.Sprintf("%s (and %d more)", first, n-1)
}

// AddPartitions implements Catalog with BatchCreatePartition, 100
// partitions per call (Glue's limit), several calls in parallel.
// AlreadyExistsException entries are partitions that exist: not an error.
func (g *Glue) AddPartitions(ctx context.Context, database, table string, parts []Partition) error {
	t, err := g.partitionTable(ctx, database, table)
	if err != nil {
		return err
	}
	ps, err := preparePartitions(t, parts, false)
	if err != nil {
		return err
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueCreateBatch) {
		eg.Go(func() error {
			in := &glue.BatchCreatePartitionInput{
				CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
				PartitionInputList: make([]types.PartitionInput, len(chunk)),
			}
			for i, p := range chunk {
				in.PartitionInputList[i] = types.PartitionInput{Values: p.Values, Parameters: p.Parameters, StorageDescriptor: storageDescriptor(t, p.Location)}
			}
			out, err := g.c.BatchCreatePartition(ectx, in)
			if err != nil {
				return glueErr(err, "batch create partition in "+database+"."+table, ErrNoSuchTable)
			}
			var bad []string
			for _, e := range out.Errors {
				code := ""
				msg := ""
				if e.ErrorDetail != nil {
					code, msg = aws.ToString(e.ErrorDetail.ErrorCode), aws.ToString(e.ErrorDetail.ErrorMessage)
				}
				if code == "AlreadyExistsException" {
					continue
				}
				bad = append(bad, fmt.Sprintf("%v: %s: %s", e.PartitionValues, code, msg))
			}
			if len(bad) > 0 {
				return fmt.Errorf("catalog: glue batch create partition in %s.%s: %s", database, table, describeEntryErrors(len(bad), bad[0]))
			}
			return nil
		})
	}
	return eg.Wait()
}

func (g *Glue) getPartitions(ctx context.Context, database, table string, ps []Partition) (map[string]types.Partition, error) {
	found := map[string]types.Partition{}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueGetBatch) {
		eg.Go(func() error {
			keys := valueLists(chunk)
			for len(keys) > 0 {
				out, err := g.c.BatchGetPartition(ectx, &glue.BatchGetPartitionInput{
					CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table), PartitionsToGet: keys,
				})
				if err != nil {
					return glueErr(err, "batch get partition in "+database+"."+table, ErrNoSuchTable)
				}
				mu.Lock()
				for _, p := range out.Partitions {
					found[partitionKey(p.Values)] = p
				}
				mu.Unlock()
				if len(out.UnprocessedKeys) == len(keys) && len(out.Partitions) == 0 {
					return fmt.Errorf("catalog: glue batch get partition in %s.%s: no progress on %d partitions", database, table, len(keys))
				}
				keys = out.UnprocessedKeys
			}
			return nil
		})
	}
	return found, eg.Wait()
}

// UpdatePartitionLocations implements Catalog: BatchGetPartition checks
// that every partition exists (else ErrNoSuchPartition and nothing
// changes), then BatchUpdatePartition, 100 per call, points them at their
// new locations, keeping their parameters unless new ones are given.
func (g *Glue) UpdatePartitionLocations(ctx context.Context, database, table string, parts []Partition) error {
	t, err := g.partitionTable(ctx, database, table)
	if err != nil {
		return err
	}
	ps, err := preparePartitions(t, parts, true)
	if err != nil {
		return err
	}
	existing, err := g.getPartitions(ctx, database, table, ps)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, ok := existing[partitionKey(p.Values)]; !ok {
			return fmt.Errorf("catalog: table %s.%s: partition %v: %w", database, table, p.Values, ErrNoSuchPartition)
		}
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueUpdateBatch) {
		eg.Go(func() error {
			in := &glue.BatchUpdatePartitionInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table)}
			for _, p := range chunk {
				params := p.Parameters
				if params == nil {
					params = existing[partitionKey(p.Values)].Parameters
				}
				in.Entries = append(in.Entries, types.BatchUpdatePartitionRequestEntry{
					PartitionValueList: p.Values,
					PartitionInput:     &types.PartitionInput{Values: p.Values, Parameters: params, StorageDescriptor: storageDescriptor(t, p.Location)},
				})
			}
			out, err := g.c.BatchUpdatePartition(ectx, in)
			if err != nil {
				return glueErr(err, "batch update partition in "+database+"."+table, ErrNoSuchTable)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				var code, msg string
				if e.ErrorDetail != nil {
					code, msg = aws.ToString(e.ErrorDetail.ErrorCode), aws.ToString(e.ErrorDetail.ErrorMessage)
				}
				err := fmt.Errorf("catalog: glue batch update partition in %s.%s: %s", database, table,
					describeEntryErrors(len(out.Errors), fmt.Sprintf("%v: %s: %s", e.PartitionValueList, code, msg)))
				if code == "EntityNotFoundException" {
					err = fmt.Errorf("%w: %w", err, ErrNoSuchPartition)
				}
				return err
			}
			return nil
		})
	}
	return eg.Wait()
}

// DeletePartitions implements Catalog with BatchDeletePartition, 25 per
// call (Glue's limit); missing partitions are ignored.
func (g *Glue) DeletePartitions(ctx context.Context, database, table string, values [][]string) error {
	t, err := g.GetTable(ctx, database, table)
	if err != nil {
		return err
	}
	var ps []Partition
	seen := map[string]bool{}
	for _, v := range values {
		if err := ValidatePartitionValues(t.Schema.PartitionKeys, v); err != nil {
			return fmt.Errorf("table %s.%s: %w", database, table, err)
		}
		if !seen[partitionKey(v)] {
			seen[partitionKey(v)] = true
			ps = append(ps, Partition{Values: v})
		}
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(g.opts.Concurrency)
	for _, chunk := range chunks(ps, glueDeleteBatch) {
		eg.Go(func() error {
			out, err := g.c.BatchDeletePartition(ectx, &glue.BatchDeletePartitionInput{
				CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table), PartitionsToDelete: valueLists(chunk),
			})
			if err != nil {
				return glueErr(err, "batch delete partition in "+database+"."+table, ErrNoSuchTable)
			}
			for _, e := range out.Errors {
				if e.ErrorDetail != nil && aws.ToString(e.ErrorDetail.ErrorCode) == "EntityNotFoundException" {
					continue
				}
				var code, msg string
				if e.ErrorDetail != nil {
					code, msg = aws.ToString(e.ErrorDetail.ErrorCode), aws.ToString(e.ErrorDetail.ErrorMessage)
				}
				return fmt.Errorf("catalog: glue batch delete partition in %s.%s: %v: %s: %s", database, table, e.PartitionValues, code, msg)
			}
			return nil
		})
	}
	return eg.Wait()
}

// Partitions implements Catalog with GetPartitions. The filter is checked
// locally first (bad expressions fail with ErrInvalid before any call),
// sent to Glue in canonical form (Filter.Expression) so Glue prunes
// server-side, and applied again to the results, so the answer is exact
// even where the service's expression support differs; if the service
// refuses an expression lakekit accepts (InvalidInputException), the
// partitions are listed without it and filtered here. With GlueOptions.Segments > 1 the segments
// are read in parallel.
func (g *Glue) Partitions(ctx context.Context, database, table, filter string) iter.Seq2[Partition, error] {
	return func(yield func(Partition, error) bool) {
		t, err := g.GetTable(ctx, database, table)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		f, err := CompileFilter(filter, t.Schema.PartitionKeys)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		ps, err := g.listPartitions(ctx, database, table, f, false)
		if err != nil && errors.Is(err, ErrInvalid) && f.Expression() != "" {
			// The service refused an expression lakekit understands (an
			// emulator with partial support): list everything and filter
			// here instead.
			ps, err = g.listPartitions(ctx, database, table, f, true)
		}
		if err != nil {
			yield(Partition{}, err)
			return
		}
		sortPartitions(t.Schema.PartitionKeys, ps)
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func (g *Glue) listPartitions(ctx context.Context, database, table string, f *Filter, noExpr bool) ([]Partition, error) {
	segments := max(1, min(g.opts.Segments, 10))
	results := make([][]Partition, segments)
	eg, ectx := errgroup.WithContext(ctx)
	for seg := range segments {
		eg.Go(func() error {
			in := &glue.GetPartitionsInput{
				CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
				ExcludeColumnSchema: aws.Bool(true),
			}
			if expr := f.Expression(); expr != "" && !noExpr {
				in.Expression = aws.String(expr)
			}
			if segments > 1 {
				in.Segment = &types.Segment{SegmentNumber: int32(seg), TotalSegments: aws.Int32(int32(segments))}
			}
			p := glue.NewGetPartitionsPaginator(g.c, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ectx)
				if err != nil {
					return glueErr(err, "get partitions of "+database+"."+table, ErrNoSuchTable)
				}
				for _, gp := range page.Partitions {
					results[seg] = append(results[seg], fromGluePartition(gp))
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ps []Partition
	for _, r := range results {
		for _, p := range r {
			k := partitionKey(p.Values)
			if seen[k] || !f.Match(p.Values) {
				continue
			}
			seen[k] = true
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// ---- search ----

// searchUnsupported reports whether err says the service cannot run
// SearchTables: an HTTP 500/501 or an unknown-operation error (moto 5.2.1
// answers 500).
func searchUnsupported(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() == 500 || re.HTTPStatusCode() == 501) {
		return true
	}
	switch apiCode(err) {
	case "UnknownOperationException", "NotImplemented", "InternalFailure", "InternalServerError":
		return true
	}
	return false
}

// Search implements Catalog. It lists candidate tables with Glue's
// SearchTables (filtered by database when the query names one) and keeps
// those matching every field of q exactly as MatchSearch defines. Where
// the service does not support SearchTables (moto answers HTTP 500) it
// falls back, once and for the catalog's lifetime, to GetDatabases and
// GetTables.
func (g *Glue) Search(ctx context.Context, q SearchQuery) iter.Seq2[*Table, error] {
	return func(yield func(*Table, error) bool) {
		ts, err := g.searchCandidates(ctx, q)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, t := range ts {
			if MatchSearch(q, t) && !yield(t, nil) {
				return
			}
		}
	}
}

func (g *Glue) searchCandidates(ctx context.Context, q SearchQuery) ([]*Table, error) {
	if !g.noSrch.Load() {
		in := &glue.SearchTablesInput{CatalogId: g.catalogID()}
		if q.Database != "" {
			in.Filters = []types.PropertyPredicate{{Key: aws.String("DatabaseName"), Value: aws.String(q.Database), Comparator: types.ComparatorEquals}}
		}
		var ts []*Table
		p := glue.NewSearchTablesPaginator(g.c, in)
		var err error
		for p.HasMorePages() {
			var page *glue.SearchTablesOutput
			page, err = p.NextPage(ctx, func(o *glue.Options) { o.RetryMaxAttempts = 1 })
			if err != nil {
				break
			}
			for i := range page.TableList {
				ts = append(ts, fromGlueTable(&page.TableList[i]))
			}
		}
		if err == nil {
			slices.SortFunc(ts, func(a, b *Table) int {
				return strings.Compare(a.Database+"."+a.Name, b.Database+"."+b.Name)
			})
			return ts, nil
		}
		if !searchUnsupported(err) {
			return nil, glueErr(err, "search tables", nil)
		}
		g.noSrch.Store(true)
	}
	var dbs []string
	if q.Database != "" {
		dbs = []string{q.Database}
	} else {
		for d, err := range g.ListDatabases(ctx) {
			if err != nil {
				return nil, err
			}
			dbs = append(dbs, d.Name)
		}
	}
	var ts []*Table
	for _, d := range dbs {
		dts, err := g.tables(ctx, d)
		if err != nil {
			if q.Database == "" && errors.Is(err, ErrNoSuchDatabase) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		ts = append(ts, dts...)
	}
	return ts, nil
}

// PartitionIndexer is implemented by catalogs that index partitions (Glue
// partition indexes speed up GetPartitions with expressions on the keys).
type PartitionIndexer interface {
	// CreatePartitionIndex indexes a table's partitions on keys (a prefix
	// of its partition keys, in order).
	CreatePartitionIndex(ctx context.Context, database, table, index string, keys []string) error
}

// CreatePartitionIndex implements PartitionIndexer with Glue's
// CreatePartitionIndex. Glue allows three indexes per table.
func (g *Glue) CreatePartitionIndex(ctx context.Context, database, table, index string, keys []string) error {
	t, err := g.GetTable(ctx, database, table)
	if err != nil {
		return err
	}
	if err := nameErr("partition index name", index); err != nil {
		return err
	}
	if len(keys) == 0 {
		return invalidf("partition index %q needs at least one key", index)
	}
	for _, k := range keys {
		if !slices.ContainsFunc(t.Schema.PartitionKeys, func(c Column) bool { return c.Name == k }) {
			return invalidf("partition index %q: %q is not a partition key of %s.%s", index, k, database, table)
		}
	}
	_, err = g.c.CreatePartitionIndex(ctx, &glue.CreatePartitionIndexInput{
		CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
		PartitionIndex: &types.PartitionIndex{IndexName: aws.String(index), Keys: keys},
	})
	return glueErr(err, "create partition index "+index+" on "+database+"."+table, ErrNoSuchTable)
}
