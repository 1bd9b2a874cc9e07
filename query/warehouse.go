package query

import (
	"fmt"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/query/sqltext"
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

// MaxRedshiftNameBytes is the longest identifier Redshift keeps: it
// truncates longer names (of tables, columns, and of the columns of
// external tables it reads through Spectrum) to 127 bytes, so lakekit
// refuses them instead.
const MaxRedshiftNameBytes = 127

func checkRedshiftName(name string) error {
	if len(name) > MaxRedshiftNameBytes {
		return fmt.Errorf("query: name %q has %d bytes; Redshift truncates names to %d bytes: %w", name, len(name), MaxRedshiftNameBytes, ErrInvalid)
	}
	return nil
}

// redshiftIdents quotes Redshift identifiers, refusing names Redshift
// would truncate.
func redshiftIdents(names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		if err := checkRedshiftName(n); err != nil {
			return nil, err
		}
		q, err := sqltext.QuoteIdent(n)
		if err != nil {
			return nil, err
		}
		out[i] = q
	}
	return out, nil
}

// qualified splits "schema.table" (or "table") and quotes each part.
func qualified(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("query: empty table name: %w", ErrInvalid)
	}
	q, err := redshiftIdents(strings.Split(name, ".")...)
	if err != nil {
		return "", err
	}
	return strings.Join(q, "."), nil
}

// CheckSpectrumTable reports whether Redshift Spectrum reads the cataloged
// table t as it is declared: every column and partition key (and nested
// struct field) name fits in MaxRedshiftNameBytes, and no type uses
// tinyint, which is not a Redshift external table type (declare smallint;
// Parquet stores both as INT32). Unload checks the table it registers; call
// it on tables a Spectrum external schema (ExternalSchemaSQL) exposes.
func CheckSpectrumTable(t *catalog.Table) error {
	cols := append(append([]catalog.Column(nil), t.Schema.Columns...), t.Schema.PartitionKeys...)
	for _, c := range cols {
		if err := checkRedshiftName(c.Name); err != nil {
			return fmt.Errorf("query: %s.%s column: %w", t.Database, t.Name, err)
		}
		typ, err := catalog.ParseType(c.Type)
		if err != nil {
			return fmt.Errorf("query: %s.%s column %q: %v: %w", t.Database, t.Name, c.Name, err, ErrInvalid)
		}
		if err := checkSpectrumType(typ); err != nil {
			return fmt.Errorf("query: %s.%s column %q (%s): %w", t.Database, t.Name, c.Name, c.Type, err)
		}
	}
	return nil
}

func checkSpectrumType(t *catalog.Type) error {
	if t == nil {
		return nil
	}
	if t.Kind == catalog.KindTinyint {
		return fmt.Errorf("tinyint is not a Redshift external table type (declare smallint): %w", ErrInvalid)
	}
	for _, f := range t.Fields {
		if err := checkRedshiftName(f.Name); err != nil {
			return err
		}
		if err := checkSpectrumType(f.Type); err != nil {
			return err
		}
	}
	for _, e := range []*catalog.Type{t.Elem, t.Key, t.Value} {
		if err := checkSpectrumType(e); err != nil {
			return err
		}
	}
	return nil
}

// CopyOptions modify CopySQL.
type CopyOptions struct {
	// Columns lists the target columns the Parquet columns load into, in
	// order; empty means all.
	Columns []string
	// SerializeToJSON loads nested Parquet columns into SUPER columns.
	SerializeToJSON bool
	// Manifest says the source is a manifest file listing the objects to
	// load (COPY ... MANIFEST), not a prefix.
	Manifest bool
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
		cols, err := redshiftIdents(opts.Columns...)
		if err != nil {
			return "", err
		}
		t += " (" + strings.Join(cols, ", ") + ")"
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
	if opts != nil && opts.Manifest {
		s += " MANIFEST"
	}
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
		s, err := sqltext.QuoteIdent(n)
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
	// MaxFileSizeMB bounds each output file (Redshift's MAXFILESIZE): 0
	// leaves Redshift's default (6.2 GB), else MinUnloadFileSizeMB to
	// MaxUnloadFileSizeMB.
	MaxFileSizeMB int
	// AllowOverwrite replaces files already at the location.
	AllowOverwrite bool
}

// UNLOAD's MAXFILESIZE range: 5 MB to 6.2 GB. The upper bound is 6.2 GB
// read as decimal GB, which is valid whichever way Redshift counts a GB.
const (
	MinUnloadFileSizeMB = 5
	MaxUnloadFileSizeMB = 6200
)

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
	if sqltext.CountPlaceholders(query) > 0 {
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
	if opts != nil && opts.MaxFileSizeMB != 0 && (opts.MaxFileSizeMB < MinUnloadFileSizeMB || opts.MaxFileSizeMB > MaxUnloadFileSizeMB) {
		return "", fmt.Errorf("query: UNLOAD MaxFileSizeMB %d is outside Redshift's MAXFILESIZE range of %d MB to 6.2 GB (%d MB): %w",
			opts.MaxFileSizeMB, MinUnloadFileSizeMB, MaxUnloadFileSizeMB, ErrInvalid)
	}
	s := "UNLOAD (" + q + ") TO " + dst + " " + role + " FORMAT AS PARQUET"
	if opts != nil {
		if len(opts.PartitionBy) > 0 {
			cols, err := redshiftIdents(opts.PartitionBy...)
			if err != nil {
				return "", err
			}
			s += " PARTITION BY (" + strings.Join(cols, ", ") + ")"
		}
		if opts.KMSKeyID != "" {
			k, err := redshiftString(opts.KMSKeyID)
			if err != nil {
				return "", err
			}
			s += " KMS_KEY_ID " + k + " ENCRYPTED"
		}
		if opts.MaxFileSizeMB != 0 {
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
	q, err := redshiftIdents(schema)
	if err != nil {
		return "", err
	}
	s := q[0]
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
