package query

import (
	"context"
	"fmt"
	"iter"
	"math/big"
	"reflect"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query/sqltext"
)

// QueryUnload is the fast path for large results: it runs
//
//	UNLOAD (<sql>) TO 's3://.../unload/<token>/' WITH (format = 'PARQUET')
//
// (no CTAS permissions needed), then reads the Parquet files Athena wrote
// back through Options.UnloadStore with parquet-go, file by file, instead
// of paging through GetQueryResults 1000 rows at a time. Parameters are
// bound as for Query. The output is deleted once the rows are consumed
// unless Options.KeepUnloaded, and removed at once when the UNLOAD fails
// or its output cannot be read. Columns must be flat (no arrays, maps,
// rows); their types come from the Parquet schema.
func (a *Athena) QueryUnload(ctx context.Context, sql string, params ...any) (*Result, error) {
	st := a.opts.UnloadStore
	if st == nil {
		return nil, fmt.Errorf("query: QueryUnload needs AthenaOptions.UnloadStore: %w", ErrInvalid)
	}
	token := NewToken()
	prefix := "unload/" + token + "/"
	loc := st.Location(prefix)
	if !strings.HasPrefix(loc, "s3://") {
		return nil, fmt.Errorf("query: UnloadStore location %q is not on S3: %w", loc, ErrInvalid)
	}
	to, err := sqltext.QuoteString(loc)
	if err != nil {
		return nil, err
	}
	stmt := "UNLOAD (" + sql + ") TO " + to + " WITH (format = 'PARQUET')"
	// removeOutput deletes what a failed UNLOAD left under its prefix
	// (Athena may have written files before it failed or was stopped).
	removeOutput := func(cause error) error { return removeUnloadOutput(ctx, st, prefix, loc, cause) }
	ex, err := a.Run(ctx, AthenaRequest{SQL: stmt, Params: params, Token: token, NoResultReuse: true})
	if err != nil {
		return nil, removeOutput(err)
	}
	entries, err := st.ListAll(ctx, prefix, nil)
	if err != nil {
		return nil, removeOutput(fmt.Errorf("query: listing the UNLOAD output: %w", err))
	}
	var keys []string
	for _, e := range entries {
		if !e.IsDir && e.Size > 0 {
			keys = append(keys, e.Key)
		}
	}
	cleanup := func() error {
		if a.opts.KeepUnloaded || len(entries) == 0 {
			return nil
		}
		all := make([]string, 0, len(entries))
		for _, e := range entries {
			if !e.IsDir {
				all = append(all, e.Key)
			}
		}
		return st.DeleteMany(context.WithoutCancel(ctx), all)
	}
	var cols []Column
	if len(keys) > 0 {
		f, _, err := openParquet(ctx, st, keys[0])
		if err != nil {
			return nil, removeOutput(err)
		}
		cols, _, err = parquetColumns(f.Schema())
		if err != nil {
			return nil, removeOutput(fmt.Errorf("query: UNLOAD output %s: %w", keys[0], err))
		}
	}
	seq := func(yield func([]any, error) bool) {
		for _, k := range keys {
			if !yieldUnloadFile(ctx, st, k, cols, yield) {
				return
			}
		}
	}
	return NewResult(cols, ex.Stats, iter.Seq2[[]any, error](seq), cleanup, nil), nil
}

// removeUnloadOutput deletes the objects under prefix (at loc) and returns
// cause, saying so when the deletion failed too.
func removeUnloadOutput(ctx context.Context, st *lake.Store, prefix, loc string, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	left, lerr := st.ListAll(dctx, prefix, nil)
	var keys []string
	for _, e := range left {
		if !e.IsDir {
			keys = append(keys, e.Key)
		}
	}
	if lerr == nil && len(keys) > 0 {
		lerr = st.DeleteMany(dctx, keys)
	}
	if lerr != nil {
		return fmt.Errorf("%w (and removing the output under %s failed: %v)", cause, loc, lerr)
	}
	return cause
}

// yieldUnloadFile yields the rows of one UNLOAD output file k, whose
// columns must match cols (the first file's). It returns false when the
// iteration ends here: an error was yielded, or yield asked to stop.
func yieldUnloadFile(ctx context.Context, st *lake.Store, k string, cols []Column, yield func([]any, error) bool) bool {
	f, _, err := openParquet(ctx, st, k)
	if err != nil {
		yield(nil, err)
		return false
	}
	fc, fconv, err := parquetColumns(f.Schema())
	if err == nil && len(fc) != len(cols) {
		err = fmt.Errorf("has %d columns, the first file %d", len(fc), len(cols))
	}
	if err != nil {
		yield(nil, fmt.Errorf("query: UNLOAD output %s: %w", k, err))
		return false
	}
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 256)
		for {
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				vals := make([]any, len(cols))
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(vals) || v.IsNull() {
						continue
					}
					vals[c], err = fconv[c](v)
					if err != nil {
						rows.Close()
						yield(nil, fmt.Errorf("query: UNLOAD output %s column %q: %w", k, cols[c].Name, err))
						return false
					}
				}
				if !yield(vals, nil) {
					rows.Close()
					return false
				}
			}
			if rerr != nil {
				break
			}
		}
		rows.Close()
	}
	return true
}

func openParquet(ctx context.Context, st *lake.Store, key string) (*parquet.File, *lake.ObjectReader, error) {
	r, err := st.OpenReader(ctx, key, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("query: open UNLOAD output: %w", err)
	}
	f, err := parquet.OpenFile(r, r.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("query: UNLOAD output %s is not Parquet: %w", key, err)
	}
	return f, r, nil
}

type pqConverter func(parquet.Value) (any, error)

// parquetColumns maps a flat Parquet schema to columns and converters.
func parquetColumns(s *parquet.Schema) ([]Column, []pqConverter, error) {
	var cols []Column
	var conv []pqConverter
	for _, f := range s.Fields() {
		if !f.Leaf() {
			return nil, nil, fmt.Errorf("column %q is nested; QueryUnload reads flat columns only (use Query): %w", f.Name(), ErrUnsupported)
		}
		c, fn := parquetColumn(f)
		cols = append(cols, c)
		conv = append(conv, fn)
	}
	return cols, conv, nil
}

const julianUnixEpoch = 2440588

func int96Time(v deprecated.Int96) time.Time {
	nanos := uint64(v[1])<<32 | uint64(v[0])
	days := int64(v[2]) - julianUnixEpoch
	return time.Unix(days*86400, int64(nanos)).UTC()
}

func parquetColumn(f parquet.Field) (Column, pqConverter) {
	c := Column{Name: f.Name(), Nullable: f.Optional()}
	t := f.Type()
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch x := lt.(type) {
	case *format.StringType, *format.EnumType:
		c.DatabaseType, c.GoType = "varchar", typeString
		return c, func(v parquet.Value) (any, error) { return string(v.ByteArray()), nil }
	case *format.DateType:
		c.DatabaseType, c.GoType = "date", typeTime
		return c, func(v parquet.Value) (any, error) { return time.Unix(int64(v.Int32())*86400, 0).UTC(), nil }
	case *format.TimestampType:
		c.DatabaseType, c.GoType = "timestamp", typeTime
		unit := time.Microsecond
		switch x.Unit.Value.(type) {
		case *format.MilliSeconds:
			unit = time.Millisecond
		case *format.NanoSeconds:
			unit = time.Nanosecond
		}
		return c, func(v parquet.Value) (any, error) {
			n := v.Int64()
			return time.Unix(0, 0).Add(time.Duration(n) * unit).UTC(), nil
		}
	case *format.DecimalType:
		c.DatabaseType, c.GoType = fmt.Sprintf("decimal(%d,%d)", x.Precision, x.Scale), typeDecimal
		scale := x.Scale
		return c, func(v parquet.Value) (any, error) {
			switch v.Kind() {
			case parquet.Int32:
				return Decimal{Unscaled: big.NewInt(int64(v.Int32())), Scale: scale}, nil
			case parquet.Int64:
				return Decimal{Unscaled: big.NewInt(v.Int64()), Scale: scale}, nil
			}
			b := v.ByteArray()
			u := new(big.Int).SetBytes(b)
			if len(b) > 0 && b[0]&0x80 != 0 { // two's complement
				u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
			}
			return Decimal{Unscaled: u, Scale: scale}, nil
		}
	case *format.IntType:
		switch x.BitWidth {
		case 8:
			c.DatabaseType, c.GoType = "tinyint", reflect.TypeFor[int8]()
			return c, func(v parquet.Value) (any, error) { return int8(v.Int32()), nil }
		case 16:
			c.DatabaseType, c.GoType = "smallint", reflect.TypeFor[int16]()
			return c, func(v parquet.Value) (any, error) { return int16(v.Int32()), nil }
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		c.DatabaseType, c.GoType = "boolean", typeBool
		return c, func(v parquet.Value) (any, error) { return v.Boolean(), nil }
	case parquet.Int32:
		c.DatabaseType, c.GoType = "integer", typeInt32
		return c, func(v parquet.Value) (any, error) { return v.Int32(), nil }
	case parquet.Int64:
		c.DatabaseType, c.GoType = "bigint", typeInt64
		return c, func(v parquet.Value) (any, error) { return v.Int64(), nil }
	case parquet.Int96:
		c.DatabaseType, c.GoType = "timestamp", typeTime
		return c, func(v parquet.Value) (any, error) { return int96Time(v.Int96()), nil }
	case parquet.Float:
		c.DatabaseType, c.GoType = "real", typeFloat32
		return c, func(v parquet.Value) (any, error) { return v.Float(), nil }
	case parquet.Double:
		c.DatabaseType, c.GoType = "double", typeFloat64
		return c, func(v parquet.Value) (any, error) { return v.Double(), nil }
	}
	c.DatabaseType, c.GoType = "varbinary", typeBytes
	return c, func(v parquet.Value) (any, error) { return append([]byte(nil), v.ByteArray()...), nil }
}
