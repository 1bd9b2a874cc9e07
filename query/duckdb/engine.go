package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
)

// Options configure the engine. A nil *Options means defaults.
type Options struct {
	// Zones are searched, in order, for tables when no catalog is given
	// (with a catalog, each table's location says its zone). Default:
	// curated, then cleaned.
	Zones []lake.ZoneName
	// CacheDir holds local copies of the files of lakes that are not on
	// the file store (mem://, s3://), and of committed files still waiting
	// in a staging folder for their move. Default:
	// <os.UserCacheDir>/lakekit/duckdb.
	CacheDir string
	// Writable allows statements that change state (CREATE, INSERT,
	// COPY, ATTACH, SET, ...). By default only reads run (SELECT, EXPLAIN,
	// DESCRIBE, SHOW, PRAGMA) and anything else fails with
	// query.ErrReadOnly. Writes can never reach the lake: DuckDB may only
	// touch the lake's directory and the cache, and the views only list
	// snapshot files.
	Writable bool
	// Threads and MemoryLimit ("4GB") tune DuckDB; zero values keep its
	// defaults.
	Threads     int
	MemoryLimit string
	// Profile collects DuckDB's profile of every query, which gives
	// Stats.BytesScanned and LastProfile. It costs a little per query, and
	// leaves DuckDB's configuration unlocked (profiling is switched on per
	// query); a read-only engine still refuses SET, and external access
	// cannot be switched back on.
	Profile bool
}

// Engine is the DuckDB engine over a lake: every table is a view over
// exactly the files of one snapshot of it. It is safe for concurrent use.
type Engine struct {
	db   *sql.DB
	conn *duck.Connector
	lk   *lake.Lake
	cat  catalog.Catalog
	opts Options

	local    string // the lake's root directory on the file store, or ""
	cacheDir string

	mu     sync.Mutex // serialises Refresh and Pin
	tables map[string]*tableView
	// attached are the views over other formats' snapshots (iceberg.go)
	attached map[string]*attachedView
	profMu   sync.Mutex
	profile  *Profile
	// checked holds what check learnt of the SQL texts it prepared
	checkMu sync.Mutex
	checked map[string]stmtShape
}

var _ query.Engine = (*Engine)(nil)

// OpenMemory opens an engine without a lake: DuckDB in memory, no network,
// reading only files under the given directories. It is the engine the
// other constructor builds on, and is handy to query loose Parquet files.
func OpenMemory(ctx context.Context, dirs []string, opts *Options) (*Engine, error) {
	e, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	if err := e.init(ctx, dirs); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func newEngine(opts *Options) (*Engine, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Zones) == 0 {
		o.Zones = []lake.ZoneName{lake.Curated, lake.Cleaned}
	}
	if o.Threads < 0 {
		return nil, fmt.Errorf("duckdb: Threads %d is negative: %w", o.Threads, query.ErrInvalid)
	}
	if strings.ContainsAny(o.MemoryLimit, "'\x00") {
		return nil, fmt.Errorf("duckdb: bad MemoryLimit %q: %w", o.MemoryLimit, query.ErrInvalid)
	}
	e := &Engine{opts: o, tables: map[string]*tableView{}}
	dsn := "?autoinstall_known_extensions=false&autoload_known_extensions=false"
	if o.Threads > 0 {
		dsn += "&threads=" + strconv.Itoa(o.Threads)
	}
	c, err := duck.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open: %w", err)
	}
	e.conn = c
	e.db = sql.OpenDB(c)
	return e, nil
}

// init applies the no-network, local-files-only settings and locks them.
func (e *Engine) init(ctx context.Context, dirs []string) error {
	stmts := []string{
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
	}
	if e.opts.MemoryLimit != "" {
		stmts = append(stmts, "SET memory_limit = '"+e.opts.MemoryLimit+"'")
	}
	// Keep parsed Parquet footers between queries. A lake's data files
	// are never rewritten in place (every write has new names), and the
	// cache checks a file's modification time anyway. Measured on the
	// bench table (100 files, 1M rows, the 3 queries of internal/bench
	// query_vs_read_parquet): the sandbox below (allowed_directories
	// with external access off) made them 5-60% slower than plain DuckDB;
	// with the cache 113 ms against plain DuckDB's 127.
	stmts = append(stmts, "SET parquet_metadata_cache = true")
	var allowed []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return fmt.Errorf("duckdb: %w", err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		allowed = append(allowed, sqlString(strings.TrimSuffix(abs, "/")+"/"))
	}
	if len(allowed) > 0 {
		stmts = append(stmts, "SET allowed_directories = ["+strings.Join(allowed, ", ")+"]")
	}
	// no file or network access beyond allowed_directories (a one-way
	// switch: DuckDB refuses to turn it back on while running)
	stmts = append(stmts, "SET enable_external_access = false")
	if !e.opts.Profile {
		// profiling is switched per query, which a locked configuration
		// refuses; without it, nothing may change a setting
		stmts = append(stmts, "SET lock_configuration = true")
	}
	for _, s := range stmts {
		if _, err := e.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("duckdb: %s: %w", s, err)
		}
	}
	// one connection per query would re-run nothing: settings are global
	return nil
}

// sqlString quotes a string literal for DuckDB (only for paths and names
// the engine itself generates; user values are always bound).
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DB returns the underlying *sql.DB (settings are locked; views are managed
// by the engine).
func (e *Engine) DB() *sql.DB { return e.db }

// As exposes the *sql.DB (pass a **sql.DB).
func (e *Engine) As(i any) bool {
	p, ok := i.(**sql.DB)
	if ok {
		*p = e.db
	}
	return ok
}

// Close closes the database.
func (e *Engine) Close() error {
	var errs []error
	if e.db != nil {
		errs = append(errs, e.db.Close())
	}
	if e.conn != nil {
		errs = append(errs, e.conn.Close())
	}
	return errors.Join(errs...)
}

var readOnlyTypes = map[duck.StmtType]bool{
	duck.STATEMENT_TYPE_SELECT:   true,
	duck.STATEMENT_TYPE_EXPLAIN:  true,
	duck.STATEMENT_TYPE_PRAGMA:   true, // PRAGMA table_info, show_tables
	duck.STATEMENT_TYPE_RELATION: true,
}

// check prepares sql on conn (which refuses more than one statement),
// refuses a mismatch between its placeholders and nparams values with
// query.ErrInvalidParam (as Athena and Redshift do, before anything runs),
// and refuses a writing statement on a read-only engine.
//
// What it checks is decided by DuckDB's parser from the text alone, so a
// text that was prepared once is checked from memory (e.checked) the next
// times: preparing binds the views, which reads a Parquet footer and plans
// the scan, and the query's own prepare does all of that again.
func (e *Engine) check(ctx context.Context, conn *sql.Conn, sqlText string, nparams int) error {
	if sh, ok := e.checkedShape(sqlText); ok {
		return e.checkShape(sh, sqlText, nparams)
	}
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duck.Conn)
		if !ok {
			return fmt.Errorf("duckdb: unexpected driver connection %T", dc)
		}
		st, err := c.Prepare(sqlText)
		if err != nil {
			return fmt.Errorf("duckdb: %w: %w", query.ErrQueryFailed, err)
		}
		defer st.Close()
		typ, err := st.(*duck.Stmt).StatementType()
		if err != nil {
			return err
		}
		sh := stmtShape{params: st.NumInput(), typ: typ}
		e.rememberShape(sqlText, sh)
		return e.checkShape(sh, sqlText, nparams)
	})
}

// stmtShape is what check learns of a SQL text by preparing it.
type stmtShape struct {
	params int
	typ    duck.StmtType
}

// maxCheckedTexts bounds e.checked; when full it starts over.
const maxCheckedTexts = 1024

func (e *Engine) checkedShape(sqlText string) (stmtShape, bool) {
	e.checkMu.Lock()
	defer e.checkMu.Unlock()
	sh, ok := e.checked[sqlText]
	return sh, ok
}

func (e *Engine) rememberShape(sqlText string, sh stmtShape) {
	e.checkMu.Lock()
	defer e.checkMu.Unlock()
	if e.checked == nil || len(e.checked) >= maxCheckedTexts {
		e.checked = map[string]stmtShape{}
	}
	e.checked[sqlText] = sh
}

func (e *Engine) checkShape(sh stmtShape, sqlText string, nparams int) error {
	if sh.params != nparams {
		return fmt.Errorf("duckdb: the SQL has %d parameter placeholders but %d values were given: %w", sh.params, nparams, query.ErrInvalidParam)
	}
	if !e.opts.Writable && !readOnlyTypes[sh.typ] {
		return readOnlyRefusal(sh.typ, sqlText)
	}
	return nil
}

func bindArgs(params []any) ([]any, error) {
	ps, err := query.NormalizeParams(params)
	if err != nil {
		return nil, err
	}
	for i, p := range ps {
		switch x := p.(type) {
		case query.Date:
			ps[i] = x.Time()
		case query.Decimal:
			u := x.Unscaled
			if u == nil {
				u = new(big.Int)
			}
			if x.Scale < 0 || x.Scale > 38 {
				return nil, fmt.Errorf("duckdb: parameter %d: decimal scale %d out of range: %w", i+1, x.Scale, query.ErrInvalidParam)
			}
			ps[i] = duck.Decimal{Width: 38, Scale: uint8(x.Scale), Value: u}
		}
	}
	return ps, nil
}

// Exec implements query.Engine.
func (e *Engine) Exec(ctx context.Context, sqlText string, params ...any) (*query.Stats, error) {
	args, err := bindArgs(params)
	if err != nil {
		return nil, err
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, wrapErr(ctx, err)
	}
	defer conn.Close()
	if err := e.check(ctx, conn, sqlText, len(args)); err != nil {
		return nil, err
	}
	start := time.Now()
	r, err := conn.ExecContext(ctx, sqlText, args...)
	if err != nil {
		return nil, wrapErr(ctx, err)
	}
	st := &query.Stats{BytesScanned: -1, RowsAffected: -1, ExecutionTime: time.Since(start)}
	if n, err := r.RowsAffected(); err == nil {
		st.RowsAffected = n
	}
	return st, nil
}

func wrapErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("duckdb: %w: %w", query.ErrCancelled, ctx.Err())
	}
	return fmt.Errorf("duckdb: %w: %w", query.ErrQueryFailed, err)
}

// Query implements query.Engine. The statement is prepared and its
// parameters bound by DuckDB (? placeholders).
func (e *Engine) Query(ctx context.Context, sqlText string, params ...any) (*query.Result, error) {
	args, err := bindArgs(params)
	if err != nil {
		return nil, err
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, wrapErr(ctx, err)
	}
	if err := e.check(ctx, conn, sqlText, len(args)); err != nil {
		conn.Close()
		return nil, err
	}
	if e.opts.Profile {
		if _, err := conn.ExecContext(ctx, "PRAGMA enable_profiling = 'no_output'"); err != nil {
			conn.Close()
			return nil, fmt.Errorf("duckdb: enable profiling: %w", err)
		}
	}
	start := time.Now()
	rows, err := conn.QueryContext(ctx, sqlText, args...)
	if err != nil {
		conn.Close()
		return nil, wrapErr(ctx, err)
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		conn.Close()
		return nil, err
	}
	cols := make([]query.Column, len(cts))
	for i, ct := range cts {
		cols[i] = column(ct)
	}
	var once sync.Once
	release := func() error {
		var err error
		once.Do(func() {
			err = errors.Join(rows.Close(), conn.Close())
		})
		return err
	}
	seq := func(yield func([]any, error) bool) {
		n := len(cols)
		for rows.Next() {
			dest := make([]any, n)
			ptrs := make([]any, n)
			for i := range dest {
				ptrs[i] = &dest[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				yield(nil, fmt.Errorf("duckdb: scan: %w", err))
				return
			}
			for i := range dest {
				dest[i] = normalize(dest[i], cols[i])
				if b, ok := dest[i].(bigOverflow); ok {
					yield(nil, fmt.Errorf("duckdb: column %q (%s): %s does not fit in int64 (CAST it to DECIMAL(38,0)): %w", cols[i].Name, cols[i].DatabaseType, b.v, query.ErrUnsupported))
					return
				}
			}
			if !yield(dest, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, wrapErr(ctx, err))
		}
	}
	finalize := func(st *query.Stats) {
		st.ExecutionTime = time.Since(start)
		rows.Close()
		if e.opts.Profile {
			if info, err := duck.GetProfilingInfo(conn); err == nil {
				p := newProfile(info)
				st.BytesScanned = p.BytesRead
				e.profMu.Lock()
				e.profile = p
				e.profMu.Unlock()
			}
			conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA disable_profiling")
		}
		release()
	}
	return query.NewResult(cols, query.Stats{BytesScanned: -1, RowsAffected: -1}, iter.Seq2[[]any, error](seq), release, finalize), nil
}

var (
	typeDecimal = reflect.TypeFor[query.Decimal]()
	typeMapAny  = reflect.TypeFor[map[any]any]()
	typeString  = reflect.TypeFor[string]()
	typeRaw     = reflect.TypeFor[json.RawMessage]()
	typeTime    = reflect.TypeFor[time.Time]()
)

func column(ct *sql.ColumnType) query.Column {
	c := query.Column{Name: ct.Name(), DatabaseType: strings.ToLower(ct.DatabaseTypeName()), GoType: ct.ScanType(), Nullable: true}
	if nullable, ok := ct.Nullable(); ok {
		c.Nullable = nullable
	}
	switch {
	case strings.HasPrefix(c.DatabaseType, "decimal"):
		c.GoType = typeDecimal
		if p, s, ok := ct.DecimalSize(); ok && !strings.Contains(c.DatabaseType, "(") {
			c.DatabaseType = fmt.Sprintf("decimal(%d,%d)", p, s)
		}
	case strings.HasPrefix(c.DatabaseType, "map"):
		c.GoType = typeMapAny
	case c.DatabaseType == "json":
		c.GoType = typeRaw
	case c.DatabaseType == "hugeint" || c.DatabaseType == "uhugeint":
		// SUM(BIGINT) is a HUGEINT in DuckDB; other engines say bigint
		c.GoType = reflect.TypeFor[int64]()
	case c.DatabaseType == "uuid" || c.DatabaseType == "interval" || strings.HasPrefix(c.DatabaseType, "union") || c.DatabaseType == "bit":
		c.GoType = typeString
	case c.DatabaseType == "date" || strings.HasPrefix(c.DatabaseType, "timestamp"):
		c.GoType = typeTime
	}
	if c.GoType == nil {
		c.GoType = reflect.TypeFor[any]()
	}
	return c
}

// normalize converts duckdb-go's values to the engine-neutral ones.
func normalize(v any, c query.Column) any {
	switch x := v.(type) {
	case nil:
		return nil
	case duck.Decimal:
		return query.NewDecimal(x.Value, int32(x.Scale))
	case duck.OrderedMap:
		m := make(map[any]any, x.Len())
		keys, vals := x.Keys(), x.Values()
		for i := range keys {
			m[normalize(keys[i], query.Column{})] = normalize(vals[i], query.Column{})
		}
		return m
	case duck.Map:
		m := make(map[any]any, len(x))
		for k, val := range x {
			m[normalize(k, query.Column{})] = normalize(val, query.Column{})
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e, query.Column{})
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e, query.Column{})
		}
		return out
	case duck.UUID:
		return x.String()
	case duck.Interval:
		return fmt.Sprintf("%d months %d days %d us", x.Months, x.Days, x.Micros)
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return bigOverflow{x}
	case time.Time:
		if c.DatabaseType == "date" || c.DatabaseType == "timestamp" {
			return x.UTC()
		}
		return x
	case string:
		if c.GoType == typeRaw {
			return json.RawMessage(x)
		}
	case []byte:
		if c.GoType == typeRaw {
			return json.RawMessage(x)
		}
	case driver.Valuer:
		if dv, err := x.Value(); err == nil {
			return dv
		}
	}
	return v
}

type bigOverflow struct{ v *big.Int }

// CacheDirDefault returns the default CacheDir.
func CacheDirDefault() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "lakekit", "duckdb")
}
