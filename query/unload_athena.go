package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/query/sqltext"
)

var _ Unloader = (*Athena)(nil)

// UnloadTo runs
//
//	UNLOAD (<sql>) TO 's3://…/<prefix>' WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['k1', …])
//
// and returns the files Athena wrote (see Unloader). Parameters are bound
// as for Query (UNLOAD runs as a prepared statement with execution
// parameters). Athena requires the destination to be empty and the
// partition columns to be the last columns of the SELECT, in the order of
// partitioned_by; it writes each partition under key=value/ and names
// files without a ".parquet" extension. It does not remove what a failed
// UNLOAD wrote; UnloadTo does.
//
// The Parquet Athena writes (engine version 3, Trino's Hive writer): the
// columns are all OPTIONAL, named in lower case; varchar as BYTE_ARRAY
// (STRING), bigint INT64, integer INT32, smallint and tinyint INT32
// annotated INT(16) and INT(8), double DOUBLE, real FLOAT, boolean
// BOOLEAN, date INT32 (DATE), decimal DECIMAL, varbinary BYTE_ARRAY, and
// timestamp as the legacy INT96 (the Hive convention; Athena's
// documentation on timestamps only says it reads Parquet's built-in time
// types), which zones.AddFiles refuses — so a timestamp column is refused
// with ErrUnsupported before anything runs (transform.SQL then runs the
// statement as a plain query and takes its rows through the client).
func (a *Athena) UnloadTo(ctx context.Context, req UnloadRequest) (*Unloaded, error) {
	loc, err := req.validate()
	if err != nil {
		return nil, err
	}
	sql, err := req.projected(athenaUnloadCast)
	if err != nil {
		return nil, err
	}
	stmt, err := athenaUnloadSQL(sql, loc, req.Compression, req.PartitionBy)
	if err != nil {
		return nil, err
	}
	ex, err := a.Run(ctx, AthenaRequest{SQL: stmt, Params: req.Params, NoResultReuse: true})
	if err != nil {
		return nil, removeUnloaded(ctx, req.Store, req.Prefix, err)
	}
	keys, err := unloadedKeys(ctx, req.Store, req.Prefix)
	if err != nil {
		return nil, removeUnloaded(ctx, req.Store, req.Prefix, err)
	}
	return &Unloaded{Keys: keys, Stats: ex.Stats}, nil
}

// athenaUnloadCast is the Athena type whose Parquet encoding (see
// UnloadTo) a Glue type reads: a stored column is cast to it, so a SELECT
// computing an integer for a bigint column, say, writes INT64. Timestamps
// are refused: Athena writes them as INT96, which lakekit does not read
// (its time zone is a convention, not part of the file), and no cast makes
// Athena write another encoding. Nested types are selected as they are
// (Athena writes standard LIST, MAP and group shapes) and checked by the
// reader of the files.
func athenaUnloadCast(glueType string) (string, error) {
	t, err := catalog.ParseType(glueType)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	switch t.Kind {
	case catalog.KindString, catalog.KindVarchar, catalog.KindChar:
		return "varchar", nil
	case catalog.KindBigint, catalog.KindSmallint, catalog.KindTinyint, catalog.KindDouble, catalog.KindBoolean, catalog.KindDate:
		return t.Kind, nil
	case catalog.KindInt:
		return "integer", nil
	case catalog.KindFloat:
		return "real", nil
	case catalog.KindBinary:
		return "varbinary", nil
	case catalog.KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale), nil
	case catalog.KindTimestamp:
		return "", fmt.Errorf("Athena's UNLOAD writes timestamps as legacy INT96, which lakekit does not adopt, and no cast changes that; run this statement on another engine, or store the column as a string or as epoch microseconds in a bigint (to_unixtime): %w", ErrUnsupported)
	case catalog.KindArray, catalog.KindMap, catalog.KindStruct:
		return "", nil
	}
	return "", fmt.Errorf("no Athena type to unload it as: %w", ErrUnsupported)
}

// athenaUnloadSQL renders Athena's UNLOAD to Parquet.
func athenaUnloadSQL(sql, to, compression string, partitionBy []string) (string, error) {
	dst, err := sqltext.QuoteString(to)
	if err != nil {
		return "", err
	}
	with := []string{"format = 'PARQUET'", "compression = '" + compression + "'"}
	if len(partitionBy) > 0 {
		ks := make([]string, len(partitionBy))
		for i, k := range partitionBy {
			if ks[i], err = sqltext.QuoteString(k); err != nil {
				return "", fmt.Errorf("query: unload partition column: %w", err)
			}
		}
		with = append(with, "partitioned_by = ARRAY["+strings.Join(ks, ", ")+"]")
	}
	return "UNLOAD (" + sql + ") TO " + dst + " WITH (" + strings.Join(with, ", ") + ")", nil
}
