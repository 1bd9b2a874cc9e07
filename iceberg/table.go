package iceberg

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lakekit/lakekit/internal/backoff"
)

// Defaults of Options.
const (
	// DefaultMaxCommitAttempts is how many times a commit that lost a race
	// to another writer is planned again on the new table state.
	DefaultMaxCommitAttempts = 100
	// DefaultRowGroupSize is the most rows per Parquet row group.
	DefaultRowGroupSize = 1 << 20
)

// CommitIDProperty is the snapshot summary property every commit of this
// package carries: a random ID that tells, after an error whose outcome is
// unknown (a catalog call that failed after it may have been applied),
// whether the commit landed.
const CommitIDProperty = "lakekit.commit-id"

// Options configure Open. A nil *Options means defaults.
type Options struct {
	// Location is where a new table's metadata and data go ("" = the
	// catalog's default for the identifier). Ignored when the table exists.
	Location string
	// Properties are set on a new table (e.g. "write.metadata.compression-codec").
	Properties map[string]string
	// MaxCommitAttempts bounds the attempts of one commit (default
	// DefaultMaxCommitAttempts).
	MaxCommitAttempts int
	// RowGroupSize is the most rows per Parquet row group (default
	// DefaultRowGroupSize).
	RowGroupSize int64
	// Evolve lets Open bring an existing table's schema to T's, by field
	// ID with the Iceberg rules (see the package documentation): add, rename (tag
	// `lakekit:"was=old_name"`), widen, make optional, drop. Without it
	// Open only checks that the table stores T (ErrSchemaMismatch). Set it
	// only in the program that owns the table's schema: a field missing
	// from T drops its column, so an older build opening with Evolve would
	// drop the columns a newer one added.
	Evolve bool
}

// Table is a typed Iceberg table: rows of T, one Iceberg column per
// exported field of T (named by its parquet tag, else the field name),
// partitioned by the fields tagged `lakekit:"partition"` (identity) or
// `lakekit:"partition,day"` (hidden partitioning of a time.Time by year,
// month, day or hour: an Iceberg transform, no extra column). Data
// files are Parquet whose column field IDs are the table schema's.
// Metadata, manifests and commits are iceberg-go's, through any
// iceberg-go catalog (LocalCatalog, GlueCatalog). A Table is safe for
// concurrent use.
type Table[T any] struct {
	cat   catalog.Catalog
	ident table.Identifier
	rt    *rowType
	opts  Options
}

// Commit describes one committed snapshot.
type Commit struct {
	SnapshotID       int64
	MetadataLocation string
	Files            int
	Rows             int64
	// Attempts is how many times the commit was tried (more than 1 when
	// other writers committed first).
	Attempts int
}

// Open returns the table ident (namespace..., name) of catalog cat,
// creating it (and its namespace) with T's schema when it does not exist.
// An existing table must store T's fields (ErrSchemaMismatch otherwise),
// unless opts.Evolve, which first evolves its schema to T's.
func Open[T any](ctx context.Context, cat catalog.Catalog, ident []string, opts *Options) (*Table[T], error) {
	if cat == nil {
		return nil, fmt.Errorf("%w: nil catalog", ErrInvalid)
	}
	if len(ident) < 2 {
		return nil, fmt.Errorf("%w: table identifier %q needs a namespace and a name", ErrInvalid, strings.Join(ident, "."))
	}
	for _, p := range ident {
		if p == "" {
			return nil, fmt.Errorf("%w: table identifier %q has an empty part", ErrInvalid, strings.Join(ident, "."))
		}
	}
	rt, err := describe(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	t := &Table[T]{cat: cat, ident: append(table.Identifier(nil), ident...), rt: rt}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.MaxCommitAttempts <= 0 {
		t.opts.MaxCommitAttempts = DefaultMaxCommitAttempts
	}
	if t.opts.RowGroupSize <= 0 {
		t.opts.RowGroupSize = DefaultRowGroupSize
	}
	ctx = t.Context(ctx)
	tbl, err := cat.LoadTable(ctx, t.ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		tbl, err = t.create(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("iceberg: open %s: %w", t.Name(), err)
	}
	if t.opts.Evolve {
		if tbl, _, err = t.evolve(ctx, tbl); err != nil {
			return nil, err
		}
	}
	if _, err := bind(rt, tbl.Schema(), tbl.Spec()); err != nil {
		return nil, fmt.Errorf("iceberg: open %s: %w", t.Name(), err)
	}
	return t, nil
}

func (t *Table[T]) create(ctx context.Context) (*table.Table, error) {
	ns := t.ident[:len(t.ident)-1]
	if ok, err := t.cat.CheckNamespaceExists(ctx, ns); err != nil {
		return nil, err
	} else if !ok {
		err := t.cat.CreateNamespace(ctx, ns, nil)
		if err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			return nil, err
		}
	}
	sc := t.rt.icebergSchema()
	spec, err := t.rt.partitionSpec(sc)
	if err != nil {
		return nil, err
	}
	props := ice.Properties{
		// Conflicts come back to commitFiles, which plans the commit
		// again on the new table state (an overwrite then replaces what
		// is current at that moment, not what it first saw).
		"commit.retry.num-retries": "0",
		"write.format.default":     "parquet",
	}
	for k, v := range t.opts.Properties {
		props[k] = v
	}
	copts := []catalog.CreateTableOpt{catalog.WithPartitionSpec(spec), catalog.WithProperties(props)}
	if t.opts.Location != "" {
		copts = append(copts, catalog.WithLocation(strings.TrimRight(t.opts.Location, "/")))
	}
	return t.createOrLoad(ctx, sc, copts)
}

// createPatience bounds how long Open waits for another writer that is
// creating the same table at that moment.
const createPatience = 30 * time.Second

// createOrLoad creates the table, or loads the one another writer created
// first (Open then checks its schema). The hadoop catalog reports "already
// exists" as soon as another creator has claimed version 1, before that
// version's metadata file is in place, so a load right after it can still
// find no table: wait for that creator to finish (or, if it gave up, for
// the claim to be free) instead of failing an Open that raced it.
func (t *Table[T]) createOrLoad(ctx context.Context, sc *ice.Schema, copts []catalog.CreateTableOpt) (*table.Table, error) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		tbl, err := t.cat.CreateTable(ctx, t.ident, sc, copts...)
		if !errors.Is(err, catalog.ErrTableAlreadyExists) {
			return tbl, err
		}
		tbl, err = t.cat.LoadTable(ctx, t.ident)
		if !errors.Is(err, catalog.ErrNoSuchTable) {
			return tbl, err
		}
		if time.Since(start) > createPatience {
			return nil, fmt.Errorf("another writer's create of %s has not finished after %s: %w", t.Name(), createPatience, err)
		}
		if err := backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 100*time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

// Context returns ctx with what the catalog's file IO needs for every
// call (the Glue catalog's aws.Config): pass it to iceberg-go calls on the
// table Iceberg returns, such as Scan().ToArrowTable.
func (t *Table[T]) Context(ctx context.Context) context.Context {
	if c, ok := t.cat.(catalogContext); ok {
		return c.withContext(ctx)
	}
	return ctx
}

// Name is the table identifier joined with dots.
func (t *Table[T]) Name() string { return strings.Join(t.ident, ".") }

// Iceberg loads the current state of the table as iceberg-go sees it: for
// scans, metadata and maintenance this package does not wrap.
func (t *Table[T]) Iceberg(ctx context.Context) (*table.Table, error) {
	return t.cat.LoadTable(t.Context(ctx), t.ident)
}

// Snapshot is one snapshot of the table, oldest first in Snapshots.
type Snapshot struct {
	ID        int64
	ParentID  int64 // 0 for the first
	Time      time.Time
	Operation string // "append", "overwrite", ...
	Summary   map[string]string
}

// Snapshots lists the table's snapshots, oldest first.
func (t *Table[T]) Snapshots(ctx context.Context) ([]Snapshot, error) {
	ctx = t.Context(ctx)
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	var out []Snapshot
	for _, s := range tbl.Metadata().Snapshots() {
		sn := Snapshot{ID: s.SnapshotID, Time: time.UnixMilli(s.TimestampMs).UTC()}
		if s.ParentSnapshotID != nil {
			sn.ParentID = *s.ParentSnapshotID
		}
		if s.Summary != nil {
			sn.Operation = string(s.Summary.Operation)
			sn.Summary = map[string]string(s.Summary.Properties)
		}
		out = append(out, sn)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
