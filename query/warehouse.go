package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lakekit/lakekit/catalog"
)

// redshiftString quotes s as a Redshift string literal. Redshift reads a
// backslash in a literal as an escape, so both ' and \ are escaped; the
// result is one literal whatever s holds.
func redshiftString(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("query: string %q holds a NUL byte: %w", s, ErrInvalid)
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

func checkS3(what, loc string) error {
	if !strings.HasPrefix(loc, "s3://") || len(loc) <= len("s3://") {
		return fmt.Errorf("query: %s %q must be an s3:// URL: %w", what, loc, ErrInvalid)
	}
	return nil
}

func checkRole(role string) error {
	if !strings.HasPrefix(role, "arn:") && role != "default" {
		return fmt.Errorf("query: IAM role %q must be a role ARN (or \"default\"): %w", role, ErrInvalid)
	}
	return nil
}

// qualified splits "schema.table" (or "table") and quotes each part.
func qualified(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("query: empty table name: %w", ErrInvalid)
	}
	return QuoteQualified(strings.Split(name, ".")...)
}

// CopyOptions modify CopySQL.
type CopyOptions struct {
	// Columns lists the target columns the Parquet columns load into, in
	// order; empty means all.
	Columns []string
	// SerializeToJSON loads nested Parquet columns into SUPER columns.
	SerializeToJSON bool
}

// CopySQL renders Redshift's COPY of Parquet files into a table:
//
//	COPY "sales"."orders" FROM 's3://lake/curated/sales/orders/' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS PARQUET
//
// table is "schema.table" or "table"; each part is quoted. Note that Hive
// partition columns are not inside Parquet files: COPY one partition's
// location at a time, or query the table through Spectrum
// (ExternalSchemaSQL) to load partition columns too.
func CopySQL(table, from, iamRole string, opts *CopyOptions) (string, error) {
	t, err := qualified(table)
	if err != nil {
		return "", err
	}
	if err := checkS3("COPY source", from); err != nil {
		return "", err
	}
	if err := checkRole(iamRole); err != nil {
		return "", err
	}
	if opts != nil && len(opts.Columns) > 0 {
		cols, err := QuoteQualifiedList(opts.Columns)
		if err != nil {
			return "", err
		}
		t += " (" + cols + ")"
	}
	src, err := redshiftString(from)
	if err != nil {
		return "", err
	}
	role, err := roleClause(iamRole)
	if err != nil {
		return "", err
	}
	s := "COPY " + t + " FROM " + src + " " + role + " FORMAT AS PARQUET"
	if opts != nil && opts.SerializeToJSON {
		s += " SERIALIZETOJSON"
	}
	return s, nil
}

func roleClause(iamRole string) (string, error) {
	if iamRole == "default" {
		return "IAM_ROLE default", nil
	}
	r, err := redshiftString(iamRole)
	if err != nil {
		return "", err
	}
	return "IAM_ROLE " + r, nil
}

// QuoteQualifiedList quotes identifiers and joins them with ", ".
func QuoteQualifiedList(names []string) (string, error) {
	q := make([]string, len(names))
	for i, n := range names {
		s, err := QuoteIdent(n)
		if err != nil {
			return "", err
		}
		q[i] = s
	}
	return strings.Join(q, ", "), nil
}

// UnloadOptions modify UnloadSQL.
type UnloadOptions struct {
	// PartitionBy writes Hive partitions by these columns.
	PartitionBy []string
	// KMSKeyID encrypts the output with SSE-KMS.
	KMSKeyID string
	// MaxFileSizeMB bounds each output file (Redshift's MAXFILESIZE).
	MaxFileSizeMB int
	// AllowOverwrite replaces files already at the location.
	AllowOverwrite bool
}

// UnloadSQL renders Redshift's UNLOAD of a query to Parquet files:
//
//	UNLOAD ('SELECT * FROM sales.orders WHERE region = ''eu''') TO 's3://lake/curated/sales/orders_eu/' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS PARQUET
//
// The query is quoted as a literal (quotes and backslashes escaped), so it
// cannot take parameters: it must be trusted SQL, not user input.
func UnloadSQL(query, to, iamRole string, opts *UnloadOptions) (string, error) {
	if strings.TrimSpace(query) == "" {
		return "", fmt.Errorf("query: empty UNLOAD query: %w", ErrInvalid)
	}
	if CountPlaceholders(query) > 0 {
		return "", fmt.Errorf("query: an UNLOAD query cannot take ? parameters (Redshift does not bind them inside UNLOAD): %w", ErrInvalidParam)
	}
	if err := checkS3("UNLOAD target", to); err != nil {
		return "", err
	}
	if err := checkRole(iamRole); err != nil {
		return "", err
	}
	q, err := redshiftString(query)
	if err != nil {
		return "", err
	}
	dst, err := redshiftString(to)
	if err != nil {
		return "", err
	}
	role, err := roleClause(iamRole)
	if err != nil {
		return "", err
	}
	s := "UNLOAD (" + q + ") TO " + dst + " " + role + " FORMAT AS PARQUET"
	if opts != nil {
		if len(opts.PartitionBy) > 0 {
			cols, err := QuoteQualifiedList(opts.PartitionBy)
			if err != nil {
				return "", err
			}
			s += " PARTITION BY (" + cols + ")"
		}
		if opts.KMSKeyID != "" {
			k, err := redshiftString(opts.KMSKeyID)
			if err != nil {
				return "", err
			}
			s += " KMS_KEY_ID " + k + " ENCRYPTED"
		}
		if opts.MaxFileSizeMB > 0 {
			s += fmt.Sprintf(" MAXFILESIZE %d MB", opts.MaxFileSizeMB)
		}
		if opts.AllowOverwrite {
			s += " ALLOWOVERWRITE"
		}
	}
	return s, nil
}

// ExternalSchemaSQL renders the Spectrum DDL that exposes a Glue database
// to Redshift as an external schema:
//
//	CREATE EXTERNAL SCHEMA IF NOT EXISTS "spectrum" FROM DATA CATALOG DATABASE 'sales' IAM_ROLE 'arn:aws:iam::1:role/r'
//
// createDatabase appends CREATE EXTERNAL DATABASE IF NOT EXISTS.
func ExternalSchemaSQL(schema, glueDatabase, iamRole string, createDatabase bool) (string, error) {
	s, err := QuoteIdent(schema)
	if err != nil {
		return "", err
	}
	if glueDatabase == "" {
		return "", fmt.Errorf("query: empty Glue database: %w", ErrInvalid)
	}
	if err := checkRole(iamRole); err != nil {
		return "", err
	}
	db, err := redshiftString(glueDatabase)
	if err != nil {
		return "", err
	}
	role, err := roleClause(iamRole)
	if err != nil {
		return "", err
	}
	out := "CREATE EXTERNAL SCHEMA IF NOT EXISTS " + s + " FROM DATA CATALOG DATABASE " + db + " " + role
	if createDatabase {
		out += " CREATE EXTERNAL DATABASE IF NOT EXISTS"
	}
	return out, nil
}

// CopyTable loads a cataloged lake table into a Redshift table with COPY
// (FORMAT AS PARQUET) from the table's location, or from each of the given
// partitions' locations (partition columns are not in the files; see
// CopySQL). The statements run as one batch, in one transaction.
func (r *Redshift) CopyTable(ctx context.Context, cat catalog.Catalog, database, table, target, iamRole string, partitions []catalog.Partition) (*Stats, error) {
	t, err := cat.GetTable(ctx, database, table)
	if err != nil {
		return nil, fmt.Errorf("query: copy %s.%s: %w", database, table, err)
	}
	var sqls []string
	locs := []string{t.Location}
	if len(partitions) > 0 {
		locs = locs[:0]
		for _, p := range partitions {
			locs = append(locs, p.Location)
		}
	}
	for _, loc := range locs {
		s, err := CopySQL(target, loc, iamRole, nil)
		if err != nil {
			return nil, err
		}
		sqls = append(sqls, s)
	}
	return r.ExecBatch(ctx, sqls...)
}

// UnloadTarget says where an unloaded query lands and how it is cataloged.
type UnloadTarget struct {
	// Location is the S3 prefix, ending in "/", that receives the files;
	// it becomes the cataloged table's location.
	Location string
	IAMRole  string
	// Catalog, Database and Table register the output as a Parquet table.
	Catalog  catalog.Catalog
	Database string
	Table    string
	// Columns are the table's columns; empty means: learn them from the
	// query's result metadata (a LIMIT 0 run).
	Columns     []catalog.Column
	Description string
	Options     *UnloadOptions
}

// Unload runs UNLOAD of query to target.Location as Parquet and registers
// the result in the catalog as database.table (created, or updated if it
// exists), so Athena, Spectrum and the DuckDB engine can read it.
func (r *Redshift) Unload(ctx context.Context, query string, target UnloadTarget) (*catalog.Table, error) {
	if target.Catalog == nil || target.Database == "" || target.Table == "" {
		return nil, fmt.Errorf("query: Unload needs a Catalog, Database and Table to register the output: %w", ErrInvalid)
	}
	if !strings.HasSuffix(target.Location, "/") {
		return nil, fmt.Errorf("query: Unload location %q must end in / (a prefix): %w", target.Location, ErrInvalid)
	}
	var partCols []string
	if target.Options != nil {
		partCols = target.Options.PartitionBy
	}
	cols := target.Columns
	if len(cols) == 0 {
		res, err := r.Query(ctx, "SELECT * FROM ("+query+") AS lakekit_unload LIMIT 0")
		if err != nil {
			return nil, fmt.Errorf("query: unload: learning the result's columns: %w", err)
		}
		res.Close()
		for _, c := range res.Columns {
			cols = append(cols, catalog.Column{Name: c.Name, Type: glueType(c)})
		}
	}
	stmt, err := UnloadSQL(query, target.Location, target.IAMRole, target.Options)
	if err != nil {
		return nil, err
	}
	if _, err := r.Exec(ctx, stmt); err != nil {
		return nil, err
	}
	t := &catalog.Table{
		Database: target.Database, Name: target.Table, Location: target.Location, Format: "parquet",
		Description: target.Description,
		Parameters:  map[string]string{"classification": "parquet", "lakekit.source": "redshift-unload"},
	}
	for _, c := range cols {
		isPart := false
		for _, p := range partCols {
			if p == c.Name {
				isPart = true
			}
		}
		if isPart {
			t.Schema.PartitionKeys = append(t.Schema.PartitionKeys, c)
		} else {
			t.Schema.Columns = append(t.Schema.Columns, c)
		}
	}
	err = target.Catalog.CreateTable(ctx, t)
	if errors.Is(err, catalog.ErrExists) {
		old, gerr := target.Catalog.GetTable(ctx, target.Database, target.Table)
		if gerr != nil {
			return nil, gerr
		}
		t.VersionID = old.VersionID
		err = target.Catalog.UpdateTable(ctx, t, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("query: unload: registering %s.%s: %w", target.Database, target.Table, err)
	}
	return t, nil
}

// glueType maps a result column to the Glue/Hive type of the catalog.
func glueType(c Column) string {
	switch c.GoType {
	case typeInt16:
		return "smallint"
	case typeInt32:
		return "int"
	case typeInt64:
		return "bigint"
	case typeFloat32:
		return "float"
	case typeFloat64:
		return "double"
	case typeBool:
		return "boolean"
	case typeBytes:
		return "binary"
	case typeDecimal:
		if i := strings.IndexByte(c.DatabaseType, '('); i >= 0 {
			return "decimal" + c.DatabaseType[i:]
		}
		return "decimal(38,10)"
	case typeTime:
		if c.DatabaseType == "date" {
			return "date"
		}
		return "timestamp"
	}
	return "string"
}
