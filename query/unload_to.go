package query

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query/sqltext"
)

// Unloader is implemented by engines that write a statement's result as
// Parquet files to storage themselves, so no row passes through the
// client: Athena (UNLOAD … WITH (format = 'PARQUET')) and Redshift
// (UNLOAD … FORMAT AS PARQUET, its "data lake export"). transform.SQL
// detects it and adopts the files into the output table in one commit
// (zones.Dataset.AddFiles).
type Unloader interface {
	// UnloadTo runs req.SQL and writes its result under req.Prefix of
	// req.Store, partition columns as Hive key=value folders. It returns
	// the keys (in req.Store) of the Parquet files written. When the
	// statement fails, what it left under the prefix is removed (best
	// effort; the error says when that failed too).
	UnloadTo(ctx context.Context, req UnloadRequest) (*Unloaded, error)
}

// UnloadRequest is one UnloadTo.
type UnloadRequest struct {
	// SQL is a SELECT. With PartitionBy, the partition columns must be its
	// last columns, in PartitionBy's order (Athena requires it; Redshift
	// does not mind).
	SQL    string
	Params []any
	// Store and Prefix say where the files go: Prefix is a key prefix
	// ending in "/" that holds nothing yet (Athena refuses a destination
	// that holds objects), and Store.Location(Prefix) must be an s3://
	// URL: both engines write to S3 only.
	Store  *lake.Store
	Prefix string
	// PartitionBy names result columns written as key=value folders
	// instead of as columns of the files.
	PartitionBy []string
	// Columns, when set, are the columns the files must hold as Glue
	// types (catalog.Column: name and type), partition columns included:
	// the engine then selects exactly these from SQL's result (SELECT …
	// FROM (<sql>) AS lakekit_unload), each stored column cast to the type
	// it writes as that Glue type and the partition columns last, and it
	// refuses, before running anything, a column whose type it cannot
	// write so (an error wrapping ErrUnsupported naming the column).
	Columns []catalog.Column
	// Compression of the Parquet pages: "SNAPPY" (the default), "GZIP" or
	// "ZSTD". Athena takes it as the UNLOAD's compression property;
	// Redshift's Parquet output is always Snappy-compressed.
	Compression string
}

// Unloaded is what UnloadTo wrote.
type Unloaded struct {
	// Keys are the written Parquet files, keys in the request's Store,
	// sorted.
	Keys  []string
	Stats Stats
}

// validate checks what both engines need and returns the destination URL.
func (req *UnloadRequest) validate() (string, error) {
	if strings.TrimSpace(req.SQL) == "" {
		return "", fmt.Errorf("query: unload: empty SQL: %w", ErrInvalid)
	}
	if req.Store == nil {
		return "", fmt.Errorf("query: unload: no Store: %w", ErrInvalid)
	}
	if !strings.HasSuffix(req.Prefix, "/") || req.Prefix == "/" {
		return "", fmt.Errorf("query: unload: prefix %q must be a folder ending in /: %w", req.Prefix, ErrInvalid)
	}
	loc := req.Store.Location(req.Prefix)
	if !strings.HasPrefix(loc, "s3://") {
		return "", fmt.Errorf("query: unload: destination %q is not on S3; Athena and Redshift UNLOAD write to s3:// locations only: %w", loc, ErrUnsupported)
	}
	switch strings.ToUpper(req.Compression) {
	case "":
		req.Compression = "SNAPPY"
	case "SNAPPY", "GZIP", "ZSTD":
		req.Compression = strings.ToUpper(req.Compression)
	default:
		return "", fmt.Errorf("query: unload: compression %q (want SNAPPY, GZIP or ZSTD): %w", req.Compression, ErrInvalid)
	}
	seen := map[string]bool{}
	for _, k := range req.PartitionBy {
		if k == "" || seen[k] {
			return "", fmt.Errorf("query: unload: partition columns %q: empty or repeated name: %w", req.PartitionBy, ErrInvalid)
		}
		seen[k] = true
	}
	return loc, nil
}

// unloadedKeys lists the Parquet files an UNLOAD wrote under prefix: every
// object but empty ones and those whose name starts with "_" or "."
// (markers some writers leave; neither engine writes them to the
// destination, whose manifest goes to the query result location).
func unloadedKeys(ctx context.Context, st *lake.Store, prefix string) ([]string, error) {
	entries, err := st.ListAll(ctx, prefix, nil)
	if err != nil {
		return nil, fmt.Errorf("query: unload: listing the output under %s: %w", st.Location(prefix), err)
	}
	var keys []string
	for _, e := range entries {
		name := path.Base(e.Key)
		if e.IsDir || e.Size == 0 || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue
		}
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// removeUnloaded deletes what a failed UNLOAD left under prefix and
// returns cause, noting a failure to delete.
func removeUnloaded(ctx context.Context, st *lake.Store, prefix string, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	left, err := st.ListAll(dctx, prefix, nil)
	var keys []string
	for _, e := range left {
		if !e.IsDir {
			keys = append(keys, e.Key)
		}
	}
	if err == nil && len(keys) > 0 {
		err = st.DeleteMany(dctx, keys)
	}
	if err != nil {
		return fmt.Errorf("%w (and removing the output under %s failed: %v)", cause, st.Location(prefix), err)
	}
	return cause
}

// projected wraps req.SQL in a SELECT of req.Columns (stored columns first,
// cast by castTo, then the partition columns in PartitionBy's order). With
// no Columns it is req.SQL. castTo returns the SQL type to cast a Glue type
// to ("" to select the column as it is) or an error saying why the engine
// cannot write it.
func (req *UnloadRequest) projected(castTo func(glueType string) (string, error)) (string, error) {
	if len(req.Columns) == 0 {
		return req.SQL, nil
	}
	byName := map[string]catalog.Column{}
	for _, c := range req.Columns {
		byName[c.Name] = c
	}
	isPart := map[string]bool{}
	for _, k := range req.PartitionBy {
		if _, ok := byName[k]; !ok {
			return "", fmt.Errorf("query: unload: partition column %q is not among the columns: %w", k, ErrInvalid)
		}
		isPart[k] = true
	}
	var sel []string
	for _, c := range req.Columns {
		if isPart[c.Name] {
			continue
		}
		q, err := sqltext.QuoteIdent(c.Name)
		if err != nil {
			return "", err
		}
		t, err := castTo(c.Type)
		if err != nil {
			return "", fmt.Errorf("query: unload: column %q (%s): %w", c.Name, c.Type, err)
		}
		if t == "" {
			sel = append(sel, q)
		} else {
			sel = append(sel, "CAST("+q+" AS "+t+") AS "+q)
		}
	}
	for _, k := range req.PartitionBy {
		q, err := sqltext.QuoteIdent(k)
		if err != nil {
			return "", err
		}
		sel = append(sel, q) // written as folder text, not cast
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM (" + req.SQL + ") AS lakekit_unload", nil
}
