package query

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"sync"
	"time"

	"github.com/lakekit/lakekit/query/sqltext"
)

// Sentinel errors. Engines wrap them with %w, and wrap the service's own
// error too, so errors.As still reaches a smithy.APIError.
var (
	// ErrQueryFailed: the engine ran the statement and it failed (Athena
	// FAILED, Redshift FAILED, a DuckDB error). The message carries the
	// engine's reason.
	ErrQueryFailed = errors.New("query: query failed")
	// ErrCancelled: the query was cancelled (by the context, or by someone
	// else on the service side).
	ErrCancelled = errors.New("query: query cancelled")
	// ErrTimeout: polling gave up after the engine's MaxWait.
	ErrTimeout = errors.New("query: gave up waiting for the query")
	// ErrInvalidParam: a parameter value cannot be bound by the engine.
	ErrInvalidParam = errors.New("query: invalid parameter")
	// ErrInvalid: bad input (options, identifiers, locations).
	ErrInvalid = sqltext.ErrInvalid
	// ErrScan: a result could not be scanned into the Go type asked for.
	ErrScan = errors.New("query: cannot scan result")
	// ErrReadOnly: a statement that would change data was refused by an
	// engine opened read-only.
	ErrReadOnly = errors.New("query: engine is read-only")
	// ErrConsumed: a Result's rows were already iterated (they stream once).
	ErrConsumed = errors.New("query: result rows already consumed")
	// ErrUnsupported: the engine cannot decode a value or run an operation.
	ErrUnsupported = errors.New("query: unsupported")
)

// Engine runs SQL. Implementations: the DuckDB engine (query/duckdb) over a
// local or staged lake, Athena (NewAthena) and the Redshift Data API
// (NewRedshift). All pass query/enginetest.
//
// Parameters are always bound by the engine, never spliced into the SQL
// text: write `?` for each one. Go values bind as: string, []byte, bool,
// every int and uint, float32/64, time.Time (a timestamp), query.Date (a
// date), query.Decimal, and nil (NULL, where the engine allows it).
type Engine interface {
	// Query runs a statement that returns rows.
	Query(ctx context.Context, sql string, params ...any) (*Result, error)
	// Exec runs a statement for its effect (DDL, COPY, INSERT, UNLOAD).
	Exec(ctx context.Context, sql string, params ...any) (*Stats, error)
	// Close releases the engine's resources.
	Close() error
}

// Column describes one result column.
type Column struct {
	Name string
	// DatabaseType is the engine's type name, lower case: "bigint",
	// "varchar", "decimal(10,2)", "array(integer)", "timestamp with time zone".
	DatabaseType string
	// GoType is the type of the values this column yields (nil values
	// aside): int64, int32, float64, string, bool, time.Time,
	// query.Decimal, []byte, []any, map[any]any, map[string]any,
	// json.RawMessage.
	GoType reflect.Type
	// Nullable is false only when the engine says the column holds no NULL.
	Nullable bool
}

// Stats is what an engine reports about a statement, where it reports it.
type Stats struct {
	// QueryID is the engine's id of the statement (Athena's
	// QueryExecutionId, Redshift's statement Id); "" for DuckDB.
	QueryID string
	// BytesScanned is the data the engine read (Athena DataScannedInBytes;
	// with duckdb.Options.Profile, the bytes DuckDB read from files, which
	// is 0 when its file cache served them); -1 when unknown.
	BytesScanned int64
	// ExecutionTime is the engine's own execution time (Athena engine
	// time, Redshift Duration), or the wall time for DuckDB.
	ExecutionTime time.Duration
	// Cost is the price of the statement in USD where the engine is priced
	// by data scanned (Athena); 0 otherwise.
	Cost float64
	// RowsAffected counts rows changed or returned, where known; -1 otherwise.
	RowsAffected int64
	// ReusedResult: Athena served the query from a previous result.
	ReusedResult bool
}

// Result is a statement's columns and rows. The rows stream once: range over
// Rows, or call Close to release them unread.
type Result struct {
	Columns []Column

	mu       sync.Mutex
	stats    Stats
	seq      iter.Seq2[[]any, error]
	used     bool
	closeFn  func() error
	closed   bool
	finalize func(*Stats)
}

// NewResult builds a Result. It is for engine implementations: seq yields
// each row (a fresh slice per row), closeFn (may be nil) releases what seq
// holds when it is not run to the end, and finalize (may be nil) updates the
// stats once the rows are consumed (DuckDB's wall time and bytes read).
func NewResult(cols []Column, stats Stats, seq iter.Seq2[[]any, error], closeFn func() error, finalize func(*Stats)) *Result {
	return &Result{Columns: cols, stats: stats, seq: seq, closeFn: closeFn, finalize: finalize}
}

// Stats returns the statement's statistics. Engines that learn them while
// rows stream (DuckDB) complete them once Rows has been consumed.
func (r *Result) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// ColumnNames returns the names of the columns in order.
func (r *Result) ColumnNames() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name
	}
	return out
}

// Rows yields each row as a slice of values, one per column, typed as the
// column's GoType (or nil for NULL). An error ends the sequence. The rows
// can be ranged over once; a second call yields ErrConsumed.
func (r *Result) Rows() iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		r.mu.Lock()
		if r.used || r.closed {
			r.mu.Unlock()
			yield(nil, ErrConsumed)
			return
		}
		r.used = true
		r.mu.Unlock()
		defer r.Close()
		for row, err := range r.seq {
			if !yield(row, err) || err != nil {
				return
			}
		}
		r.mu.Lock()
		if r.finalize != nil {
			r.finalize(&r.stats)
			r.finalize = nil
		}
		r.mu.Unlock()
	}
}

// All collects the rows.
func (r *Result) All() ([][]any, error) {
	var out [][]any
	for row, err := range r.Rows() {
		if err != nil {
			return out, err
		}
		out = append(out, row)
	}
	return out, nil
}

// Close releases the rows if they were not consumed. It is safe to call
// more than once.
func (r *Result) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	fn := r.closeFn
	r.mu.Unlock()
	if fn != nil {
		return fn()
	}
	return nil
}

// columnIndex finds a column by exact name, then case-insensitively.
func columnIndex(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	for i, c := range cols {
		if equalFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// errorf wraps a sentinel with a formatted message.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)
}
