package zones

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/structtag"
	"github.com/lakekit/lakekit/lake"
)

// Defaults of Options.
const (
	DefaultRowGroupSize      = 1 << 20   // rows per row group
	DefaultTargetFileSize    = 256 << 20 // bytes (estimated) before a file is rolled
	DefaultMaxOpenPartitions = 128
)

// Progress reports what a writer has done so far (cumulative counts).
type Progress struct {
	Table string // "<zone>/<db>/<table>"
	// Rows accepted by Write; Files and Bytes uploaded so far.
	Rows, Files, Bytes int64
}

// Options configure a Dataset. A nil *Options means defaults.
type Options[T any] struct {
	// PartitionBy derives a row's partition (ordered keys and values, e.g.
	// dt from a timestamp). When nil, the fields tagged `lakekit:"partition"`
	// are the partition columns, in field order; they are not stored in the
	// files and readers fill them back in. With PartitionBy every field is
	// stored and PartitionKeys must name the keys it returns.
	PartitionBy   func(T) (lake.Partition, error)
	PartitionKeys []string

	// Catalog, when set, is kept up to date by every commit: the table is
	// created (or its schema evolved, checked before the commit), new
	// partitions are added, and overwritten partitions are pointed at their
	// new location after the commit.
	Catalog catalog.Catalog
	// AdoptCatalogTable lets a commit take over a catalog table of the same
	// name located outside this dataset's prefix (and repoint it). Without
	// it such a table is refused with an error matching lake.ErrExists that
	// names both locations: it may be another team's.
	AdoptCatalogTable bool
	// Description and Owner go to the catalog table when it is created.
	Description, Owner string

	// Compression is the codec; "" means the zone's (zstd by default).
	Compression lake.Compression
	// RowGroupSize is the most rows per row group (default 1Mi).
	RowGroupSize int64
	// TargetFileSize rolls a partition's file when its estimated size
	// reaches it (default 256 MiB).
	TargetFileSize int64
	// MaxRowsPerFile rolls a file at this many rows (0: no limit).
	MaxRowsPerFile int64
	// MaxOpenPartitions bounds the partitions with an open file; writing to
	// one more closes (uploads) the least recently used (default 128).
	MaxOpenPartitions int
	// MemoryBudget bounds the memory each writer keeps Parquet pages and
	// unfinished files in (0: DefaultMemoryBudget, 32 MiB). A page buffer
	// or file that would push the writer over it moves to a temporary file
	// (removed from TempDir at once, so a killed writer leaves nothing) and
	// stays there until it is released; released buffers give their memory
	// back. Negative: every page and file goes to a temporary file (the
	// least memory, the slowest). Memory stays flat either way: the budget
	// does not grow with the rows written. Buffers are on the Go heap, so
	// with the default GOGC the process may hold up to about twice the
	// budget. Ignored with InMemoryBuffers.
	MemoryBudget int64
	// InMemoryBuffers keeps Parquet pages, and each file until it is
	// uploaded, in memory with no budget: nothing is spilled, but memory
	// grows with the file size times the open partitions.
	InMemoryBuffers bool
	// TempDir holds spilled pages and files before upload ("" = os.TempDir).
	TempDir string

	// Logger receives the dataset's logs; nil means the lake's logger.
	Logger *slog.Logger
	// Progress, when set, is called after each Write and each uploaded file.
	Progress func(Progress)

	// Format, when set, stores the rows in that table format (e.g.
	// iceberg.Format) instead of lakekit's own Hive-style layout and commit
	// log, behind the same Dataset API; see TableFormat. Catalog and
	// PartitionBy are lakekit's own format's and refused with it.
	Format TableFormat[T]
}

// Dataset is a typed table: rows of T stored as partitioned Parquet in one
// zone, committed through the table's commit log. Get one with NewDataset.
// A Dataset is safe for concurrent use; each Writer is not.
type Dataset[T any] struct {
	table *Table
	opts  Options[T]

	partKeys   []string
	partFields []partField            // tagged partition fields (nil with PartitionBy)
	tagOpts    []parquet.SchemaOption // StructTag replacements: partition fields, timestamps
	schema     *parquet.Schema        // of the stored columns
	columns    []Column
	catSchema  catalog.Schema
	codec      compress.Codec
	logger     *slog.Logger
	format     FormatTable[T] // Options.Format's table; nil: lakekit's own
	retainable bool           // writers may keep copies of rows (writer_async.go)
}

type partField struct {
	key    string // partition key (column name)
	goName string
	index  []int
	typ    reflect.Type
	cat    catalog.PartitionField
}

// NewDataset describes the table database.table in zone, holding rows of T.
// T must be a struct; its schema comes from its parquet struct tags. Names
// must follow the Glue rule (lake.ValidateName); every time.Time, at any
// depth, is stored as timestamp(microsecond) adjusted to UTC (read by DuckDB
// as TIMESTAMPTZ, by Athena as timestamp) — a field tagged with another
// unit, :local or date is refused, so one table never mixes encodings;
// slices are stored as three-level LISTs, uint8/16/32 as the next wider
// signed integer, uuid strings as text (see catalog.SchemaOf for the
// types). Nothing is written until a Writer commits.
func NewDataset[T any](lk *lake.Lake, zone lake.ZoneName, database, table string, opts *Options[T]) (*Dataset[T], error) {
	t, err := OpenTable(lk, zone, database, table)
	if err != nil {
		return nil, err
	}
	d := &Dataset[T]{table: t, retainable: retainable(reflect.TypeFor[T]())}
	if opts != nil {
		d.opts = *opts
	}
	o := &d.opts
	if o.RowGroupSize <= 0 {
		o.RowGroupSize = DefaultRowGroupSize
	}
	if o.TargetFileSize <= 0 {
		o.TargetFileSize = DefaultTargetFileSize
	}
	if o.MaxOpenPartitions <= 0 {
		o.MaxOpenPartitions = DefaultMaxOpenPartitions
	}
	if o.MaxRowsPerFile < 0 {
		return nil, fmt.Errorf("zones: dataset %s: negative MaxRowsPerFile: %w", t.prefix, ErrInvalid)
	}
	d.logger = o.Logger
	if d.logger == nil {
		d.logger = t.logger
	}
	comp := o.Compression
	if comp == "" {
		comp = t.zone.Config().Compression
	}
	switch comp {
	case lake.Zstd, "":
		d.codec = &zstd.Codec{}
	case lake.Snappy:
		d.codec = &snappy.Codec{}
	case lake.Uncompressed:
		d.codec = &uncompressed.Codec{}
	default:
		return nil, fmt.Errorf("zones: dataset %s: unknown compression %q (want zstd, snappy or none): %w", t.prefix, comp, ErrInvalid)
	}
	if err := d.deriveSchema(); err != nil {
		return nil, fmt.Errorf("zones: dataset %s: %w", t.prefix, err)
	}
	if err := d.bindFormat(); err != nil {
		return nil, err
	}
	return d, nil
}

// Table returns the untyped table under the dataset.
func (d *Dataset[T]) Table() *Table { return d.table }

// PartitionKeys returns the partition keys in order.
func (d *Dataset[T]) PartitionKeys() []string { return append([]string(nil), d.partKeys...) }

// Schema returns the Parquet schema of the stored columns (partition
// columns excluded).
func (d *Dataset[T]) Schema() *parquet.Schema { return d.schema }

// Columns returns the stored columns as the commit log records them.
func (d *Dataset[T]) Columns() []Column { return append([]Column(nil), d.columns...) }

// Snapshot returns the table at version (0: newest). See Table.Snapshot.
func (d *Dataset[T]) Snapshot(ctx context.Context, version int64) (*Snapshot, error) {
	if d.format != nil {
		return d.format.Snapshot(ctx, version)
	}
	return d.table.Snapshot(ctx, version)
}

// History returns the table's commits, oldest first. See Table.History.
func (d *Dataset[T]) History(ctx context.Context) ([]Commit, error) {
	if d.format != nil {
		return d.format.History(ctx)
	}
	return d.table.History(ctx)
}

// deriveSchema reads T's tags: partition fields, timestamp encoding, column
// names; and builds the stored Parquet schema. Bad tags are ErrInvalid.
func (d *Dataset[T]) deriveSchema() (err error) {
	rt := reflect.TypeOf((*T)(nil)).Elem()
	if rt.Kind() != reflect.Struct {
		return fmt.Errorf("row type %v is not a struct: %w", rt, ErrInvalid)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("row type %v: parquet tags do not parse: %v: %w", rt, r, ErrInvalid)
		}
	}()
	cs, err := catalogSchemaOf(rt)
	if err != nil {
		return fmt.Errorf("row type %v: %w: %w", rt, ErrInvalid, err)
	}
	pfs, err := catalog.PartitionFields(rt)
	if err != nil {
		return fmt.Errorf("row type %v: %w: %w", rt, ErrInvalid, err)
	}
	if d.opts.PartitionBy != nil && len(pfs) > 0 {
		return fmt.Errorf("row type %v tags partition fields but Options.PartitionBy is set; use one or the other: %w", rt, ErrInvalid)
	}
	// How T is stored: every time.Time a microsecond timestamp, slices as
	// LISTs, unsigned integers widened, uuid strings as text (one grammar,
	// internal/structtag, shared with the catalog, readers and scans).
	storage, err := structtag.StorageOptions(rt)
	if err != nil {
		return fmt.Errorf("row type %v: %w: %w", rt, ErrInvalid, err)
	}
	d.tagOpts = append(d.tagOpts, storage...)
	for _, pf := range pfs {
		f := rt.FieldByIndex(pf.Index)
		d.partFields = append(d.partFields, partField{key: pf.Name, goName: f.Name, index: pf.Index, typ: f.Type, cat: pf})
		d.partKeys = append(d.partKeys, pf.Name)
		// After the storage options: the last replacement for a path wins.
		d.tagOpts = append(d.tagOpts, parquet.StructTag(`parquet:"-"`, f.Name))
	}
	if d.opts.PartitionBy != nil {
		if len(d.opts.PartitionKeys) == 0 {
			return fmt.Errorf("Options.PartitionBy needs Options.PartitionKeys naming the keys it returns: %w", ErrInvalid)
		}
		for _, k := range d.opts.PartitionKeys {
			if err := lake.ValidateName(lake.KindPartition, k); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
			cs.PartitionKeys = append(cs.PartitionKeys, catalog.Column{Name: k, Type: "string", Required: true})
		}
		d.partKeys = append([]string(nil), d.opts.PartitionKeys...)
	} else if len(d.opts.PartitionKeys) > 0 {
		return fmt.Errorf("Options.PartitionKeys is only used with Options.PartitionBy (tag fields with `lakekit:\"partition\"` instead): %w", ErrInvalid)
	}
	var zero T
	d.schema = parquet.SchemaOf(zero, d.tagOpts...)
	if len(d.schema.Fields()) == 0 {
		return fmt.Errorf("row type %v has no stored columns: %w", rt, ErrInvalid)
	}
	// Build a writer once, so tag errors surface now and not at Write.
	_ = parquet.NewGenericWriter[T](discard{}, d.writerOptions(nil)...)
	d.catSchema = cs
	for _, c := range cs.Columns {
		d.columns = append(d.columns, Column{Name: c.Name, Type: c.Type, Required: c.Required})
	}
	return nil
}

// catalogSchemaOf is the one place the dataset's schema is derived for the
// catalog (and the commit log's column list).
func catalogSchemaOf(rt reflect.Type) (catalog.Schema, error) {
	return catalog.SchemaOfType(rt, nil)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// memoryBudget is a writer's budget for pages and files in memory (see
// Options.MemoryBudget).
func (d *Dataset[T]) memoryBudget() int64 {
	switch b := d.opts.MemoryBudget; {
	case b == 0:
		return DefaultMemoryBudget
	case b < 0:
		return 0
	default:
		return b
	}
}

// pageBufferSize is the size of the spilled page buffers, and so of the
// pages, of the files a dataset writes. 64 KiB pages wrote 4.4-5.5% fewer
// bytes but raised the peak RSS of 10M rows into 100 partitions from 203
// to 305 MiB (memory_10m), so pages stay at 16 KiB.
const pageBufferSize = 16 << 10

// writerOptions are the parquet-go options of every file the dataset writes.
func (d *Dataset[T]) writerOptions(pool parquet.BufferPool) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		parquet.Compression(d.codec),
		parquet.MaxRowsPerRowGroup(d.opts.RowGroupSize),
		parquet.CreatedBy("lakekit", "", ""),
	}
	if pool != nil {
		opts = append(opts, parquet.ColumnPageBuffers(pool), parquet.PageBufferSize(pageBufferSize))
	}
	for _, o := range d.tagOpts {
		opts = append(opts, o)
	}
	return opts
}

// logical returns a node's logical type value (*format.StringType, ...) or nil.
func logical(n parquet.Node) format.LogicalTypeValue {
	if lt := n.Type().LogicalType(); lt != nil {
		return lt.Value
	}
	return nil
}

// catalogSchema is the table's schema as the catalog wants it.
func (d *Dataset[T]) catalogSchema() catalog.Schema {
	s := d.catSchema
	s.Columns = append([]catalog.Column(nil), s.Columns...)
	s.PartitionKeys = append([]catalog.Column(nil), s.PartitionKeys...)
	return s
}

// partitionOf returns the partition of a row (not validated).
func (d *Dataset[T]) partitionOf(row *T) (lake.Partition, error) {
	if d.opts.PartitionBy != nil {
		return d.opts.PartitionBy(*row)
	}
	if len(d.partFields) == 0 {
		return nil, nil
	}
	v := reflect.ValueOf(row).Elem()
	p := make(lake.Partition, len(d.partFields))
	for i, pf := range d.partFields {
		s, err := pf.cat.Value(v)
		if err != nil {
			return nil, err
		}
		p[i] = lake.KV{Key: pf.key, Value: s}
	}
	return p, nil
}

// parsePartitionValue turns a partition value back into a field's type.
func parsePartitionValue(t reflect.Type, s string) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	if s == lake.NullPartitionValue {
		return v, nil // NULL: a nil pointer (the zero value of other types)
	}
	if t.Kind() == reflect.Pointer {
		e, err := parsePartitionValue(t.Elem(), s)
		if err != nil {
			return v, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(e)
		v.Set(p)
		return v, nil
	}
	if t == reflect.TypeOf(time.Time{}) {
		tm, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
		if err != nil {
			return v, err
		}
		v.Set(reflect.ValueOf(tm))
		return v, nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return v, err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return v, err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return v, err
		}
		v.SetUint(n)
	default:
		return v, fmt.Errorf("unsupported partition field type %v", t)
	}
	return v, nil
}
