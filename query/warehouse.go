package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query/sqltext"
	"github.com/lakekit/lakekit/zones"
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

// CopyTableOptions modify CopyTable. A nil *CopyTableOptions loads every
// file of the newest snapshot into all columns.
type CopyTableOptions struct {
	// Version is the table version to load; 0 means the newest.
	Version int64
	// Partitions selects the partitions whose files are loaded; nil loads
	// every partition.
	Partitions func(lake.Partition) bool
	// Copy sets the target columns and SERIALIZETOJSON.
	Copy *CopyOptions
}

// copyManifest is Redshift's COPY manifest. Parquet needs each entry's
// content_length.
type copyManifest struct {
	Entries []copyManifestEntry `json:"entries"`
}

type copyManifestEntry struct {
	URL       string `json:"url"`
	Mandatory bool   `json:"mandatory"`
	Meta      struct {
		ContentLength int64 `json:"content_length"`
	} `json:"meta"`
}

// copyManifestDir is where CopyTable writes its manifests, under the
// table's prefix: lakekit's own folder, which Hive readers and Vacuum skip.
const copyManifestDir = "_lakekit/redshift-copy/"

// CopyTable loads a lakekit table into the Redshift table target with one
// COPY (FORMAT AS PARQUET ... MANIFEST). The manifest lists exactly the
// files of the table's snapshot (opts.Version, default the newest),
// filtered by opts.Partitions, so COPY loads one committed version: not the
// commit log, nor files an overwrite replaced, nor an in-flight write's
// files, all of which can sit under the table's prefix. The manifest is
// written to <table>/_lakekit/redshift-copy/<token>.manifest in the
// table's zone, which must be on S3, and deleted once the COPY finished.
// Partition columns are not inside the files (see CopySQL): load them
// through Spectrum (ExternalSchemaSQL) where they are needed. A selection
// without files sends nothing and reports 0 rows.
func (r *Redshift) CopyTable(ctx context.Context, tbl *zones.Table, target, iamRole string, opts *CopyTableOptions) (*Stats, error) {
	if tbl == nil {
		return nil, fmt.Errorf("query: CopyTable: nil table: %w", ErrInvalid)
	}
	var o CopyTableOptions
	if opts != nil {
		o = *opts
	}
	name := tbl.Database() + "." + tbl.Name()
	snap, err := tbl.Snapshot(ctx, o.Version)
	if err != nil {
		return nil, fmt.Errorf("query: copy %s: %w", name, err)
	}
	store := tbl.Zone().Store()
	var m copyManifest
	for _, f := range snap.Files {
		if o.Partitions != nil && !o.Partitions(f.Partition) {
			continue
		}
		loc, err := committedLocation(ctx, store, f)
		if err != nil {
			return nil, fmt.Errorf("query: copy %s: %w", name, err)
		}
		if err := checkS3("COPY source file", loc); err != nil {
			return nil, fmt.Errorf("query: copy %s: Redshift reads from S3 only: %w", name, err)
		}
		e := copyManifestEntry{URL: loc, Mandatory: true}
		e.Meta.ContentLength = f.Size
		m.Entries = append(m.Entries, e)
	}
	if len(m.Entries) == 0 {
		return &Stats{BytesScanned: -1}, nil
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	key := tbl.Prefix() + "/" + copyManifestDir + NewToken() + ".manifest"
	from := store.Location(key)
	copyOpts := CopyOptions{Manifest: true}
	if o.Copy != nil {
		copyOpts.Columns, copyOpts.SerializeToJSON = o.Copy.Columns, o.Copy.SerializeToJSON
	}
	stmt, err := CopySQL(target, from, iamRole, &copyOpts)
	if err != nil {
		return nil, err
	}
	if err := store.PutBytes(ctx, key, body, nil); err != nil {
		return nil, fmt.Errorf("query: copy %s: writing the manifest: %w", name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := store.Delete(dctx, key); err != nil {
			tbl.Zone().Lake().Logger().Warn("query: CopyTable could not delete its manifest", "key", key, "err", err)
		}
	}()
	return r.Exec(ctx, stmt)
}

// committedLocation is where a committed file can be read now: at its
// key, or, while its commit's move out of the staging folder is still to
// come, at DataFile.Staged. (Should the move happen between this look and
// the COPY, the COPY fails on a missing mandatory file and can be retried.)
func committedLocation(ctx context.Context, store *lake.Store, f zones.DataFile) (string, error) {
	if f.Staged == "" {
		return f.Location, nil
	}
	ok, err := store.Exists(ctx, f.Key)
	if err != nil {
		return "", err
	}
	if ok {
		return f.Location, nil
	}
	if ok, err = store.Exists(ctx, f.Staged); err != nil {
		return "", err
	}
	if ok {
		return store.Location(f.Staged), nil
	}
	return f.Location, nil // moved in between
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
// exists), so Athena, Spectrum and the DuckDB engine can read it. With
// Options.PartitionBy it also registers each partition UNLOAD wrote
// (<location>/<col>=<value>/, learnt by a SELECT DISTINCT of the partition
// columns over the same query), because UNLOAD itself adds none to the
// catalog.
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
	// refused before anything is written: Spectrum must read what is
	// registered
	if err := CheckSpectrumTable(t); err != nil {
		return nil, err
	}
	if _, err := r.Exec(ctx, stmt); err != nil {
		return nil, err
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
	if len(partCols) > 0 {
		parts, err := r.unloadedPartitions(ctx, query, partCols, target.Location)
		if err != nil {
			return t, fmt.Errorf("query: unload: %s.%s is registered but its partitions are not: %w", target.Database, target.Table, err)
		}
		if err := target.Catalog.AddPartitions(ctx, target.Database, target.Table, parts); err != nil {
			return t, fmt.Errorf("query: unload: registering the partitions of %s.%s: %w", target.Database, target.Table, err)
		}
	}
	return t, nil
}

// hiveNull is the folder value Hive, Glue, Athena and Redshift's UNLOAD use
// for a NULL partition value.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// unloadedPartitions asks Redshift which partitions an UNLOAD ... PARTITION
// BY of query wrote: the distinct values of the partition columns, as text
// (what UNLOAD names the folders with), each under loc as
// <col>=<value>/... . UNLOAD makes no catalog calls, so without them
// Athena and Spectrum would see no rows.
func (r *Redshift) unloadedPartitions(ctx context.Context, query string, cols []string, loc string) ([]catalog.Partition, error) {
	quoted, err := redshiftIdents(cols...)
	if err != nil {
		return nil, err
	}
	sel := make([]string, len(cols))
	for i, q := range quoted {
		sel[i] = "CAST(" + q + " AS VARCHAR(MAX)) AS " + q
	}
	res, err := r.Query(ctx, "SELECT DISTINCT "+strings.Join(sel, ", ")+" FROM ("+query+") AS lakekit_unload")
	if err != nil {
		return nil, fmt.Errorf("listing the partitions written: %w", err)
	}
	rows, err := res.All()
	if err != nil {
		return nil, fmt.Errorf("listing the partitions written: %w", err)
	}
	parts := make([]catalog.Partition, 0, len(rows))
	for _, row := range rows {
		if len(row) != len(cols) {
			return nil, fmt.Errorf("partition row with %d values for %d columns: %w", len(row), len(cols), ErrQueryFailed)
		}
		p := catalog.Partition{Location: loc}
		for i, v := range row {
			s := hiveNull
			if v != nil {
				s = fmt.Sprint(v)
			}
			p.Values = append(p.Values, s)
			p.Location += cols[i] + "=" + s + "/"
		}
		parts = append(parts, p)
	}
	return parts, nil
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
