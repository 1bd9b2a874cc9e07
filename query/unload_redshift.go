package query

import (
	"context"
	"fmt"

	"github.com/lakekit/lakekit/catalog"
)

var (
	_ Unloader = (*Redshift)(nil)
	_ Unloader = (*RedshiftUnload)(nil)
	_ Engine   = (*RedshiftUnload)(nil)
)

// UnloadTo runs Redshift's data lake export with the cluster's default
// IAM role (IAM_ROLE default); WithUnloadRole names another. See
// RedshiftUnload.UnloadTo.
func (r *Redshift) UnloadTo(ctx context.Context, req UnloadRequest) (*Unloaded, error) {
	return r.unloadTo(ctx, req, "default")
}

// RedshiftUnload is the Redshift engine whose UnloadTo writes with a given
// IAM role. It is an Engine (the embedded *Redshift) and an Unloader.
type RedshiftUnload struct {
	*Redshift
	// IAMRole is the role ARN UNLOAD writes to S3 with, or "default".
	IAMRole string
}

// WithUnloadRole returns the engine with UNLOAD writing as role (a role
// ARN, or "default" for the cluster's default role).
func (r *Redshift) WithUnloadRole(role string) *RedshiftUnload {
	return &RedshiftUnload{Redshift: r, IAMRole: role}
}

// UnloadTo runs
//
//	UNLOAD ('<sql>') TO 's3://…/<prefix>' IAM_ROLE … FORMAT AS PARQUET PARTITION BY ("k1", …)
//
// and returns the files Redshift wrote (see Unloader). The statement is
// quoted into the UNLOAD as a literal, so it takes no parameters (Redshift
// binds none inside UNLOAD): a request with Params is refused with
// ErrInvalidParam. Redshift writes "<slice>_part_<n>.parquet" files under
// the prefix, each partition under key=value/ (a NULL value as
// __HIVE_DEFAULT_PARTITION__), without the partition columns in the files;
// the partition columns may be anywhere in the SELECT. When the UNLOAD
// fails, what it wrote is removed.
//
// Types: UNLOAD's documentation lists no Parquet physical types (only that
// SUPER is written as JSON text), so lakekit assumes what Redshift's
// Parquet output is observed to hold — Snappy pages, VARCHAR as STRING,
// SMALLINT INT(16), INTEGER INT32, BIGINT INT64, REAL FLOAT, DOUBLE
// PRECISION DOUBLE, BOOLEAN, DATE, DECIMAL, TIMESTAMP as INT64
// microseconds — and relies on zones.AddFiles' footer check (types, no
// INT96, no NULLs in required columns) to refuse, naming file and column,
// whatever Redshift writes otherwise. Redshift has no tinyint.
func (r *RedshiftUnload) UnloadTo(ctx context.Context, req UnloadRequest) (*Unloaded, error) {
	role := r.IAMRole
	if role == "" {
		role = "default"
	}
	return r.unloadTo(ctx, req, role)
}

func (r *Redshift) unloadTo(ctx context.Context, req UnloadRequest, role string) (*Unloaded, error) {
	loc, err := req.validate()
	if err != nil {
		return nil, err
	}
	if len(req.Params) > 0 {
		return nil, fmt.Errorf("query: redshift unload: %d parameters given; an UNLOAD quotes its query as a literal and binds none: %w", len(req.Params), ErrInvalidParam)
	}
	sql, err := req.projected(redshiftUnloadCast)
	if err != nil {
		return nil, err
	}
	stmt, err := UnloadSQL(sql, loc, role, &UnloadOptions{PartitionBy: req.PartitionBy})
	if err != nil {
		return nil, err
	}
	st, err := r.Exec(ctx, stmt)
	if err != nil {
		return nil, removeUnloaded(ctx, req.Store, req.Prefix, err)
	}
	keys, err := unloadedKeys(ctx, req.Store, req.Prefix)
	if err != nil {
		return nil, removeUnloaded(ctx, req.Store, req.Prefix, err)
	}
	return &Unloaded{Keys: keys, Stats: *st}, nil
}

// redshiftUnloadCast is the Redshift type a stored column of a Glue type
// is cast to before UNLOAD writes it. Redshift has no tinyint (its
// smallest integer, SMALLINT, is written as INT(16), which a tinyint column
// does not read), and it writes no nested Parquet types (SUPER becomes JSON
// text), so both are refused.
func redshiftUnloadCast(glueType string) (string, error) {
	t, err := catalog.ParseType(glueType)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	switch t.Kind {
	case catalog.KindString, catalog.KindVarchar, catalog.KindChar:
		return "VARCHAR(65535)", nil
	case catalog.KindBigint:
		return "BIGINT", nil
	case catalog.KindInt:
		return "INTEGER", nil
	case catalog.KindSmallint:
		return "SMALLINT", nil
	case catalog.KindDouble:
		return "DOUBLE PRECISION", nil
	case catalog.KindFloat:
		return "REAL", nil
	case catalog.KindBoolean:
		return "BOOLEAN", nil
	case catalog.KindDate:
		return "DATE", nil
	case catalog.KindTimestamp:
		return "TIMESTAMP", nil
	case catalog.KindBinary:
		return "VARBYTE", nil
	case catalog.KindDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case catalog.KindTinyint:
		return "", fmt.Errorf("Redshift has no tinyint (SMALLINT is written as a 16-bit integer); declare the column int16: %w", ErrUnsupported)
	}
	return "", fmt.Errorf("Redshift's UNLOAD writes no nested Parquet types (SUPER becomes JSON text): %w", ErrUnsupported)
}
