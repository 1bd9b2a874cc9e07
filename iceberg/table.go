package iceberg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

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
}

// Table is a typed Iceberg table: rows of T, one Iceberg column per
// exported field of T (named by its parquet tag, else the field name),
// identity-partitioned by the fields tagged `lakekit:"partition"`. Data
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
// An existing table must store T's fields (ErrSchemaMismatch otherwise).
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
	tbl, err := t.cat.CreateTable(ctx, t.ident, sc, copts...)
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		// Another process created it first: use theirs (Open checks it).
		return t.cat.LoadTable(ctx, t.ident)
	}
	return tbl, err
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

// Append commits rows as a new snapshot (operation "append"): one data
// file per partition. Appending no rows is refused (ErrInvalid).
func (t *Table[T]) Append(ctx context.Context, rows []T) (*Commit, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: append of no rows to %s", ErrInvalid, t.Name())
	}
	return t.write(ctx, rows, false)
}

// Overwrite replaces every row of the table with rows in one snapshot
// (operation "overwrite"); no rows empties the table.
func (t *Table[T]) Overwrite(ctx context.Context, rows []T) (*Commit, error) {
	return t.write(ctx, rows, true)
}

func (t *Table[T]) write(ctx context.Context, rows []T, overwrite bool) (*Commit, error) {
	ctx = t.Context(ctx)
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	b, err := bind(t.rt, tbl.Schema(), tbl.Spec())
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: file IO: %w", t.Name(), err)
	}
	wfs, ok := fs.(icebergio.WriteFileIO)
	if !ok {
		return nil, fmt.Errorf("iceberg: %s: file IO %T cannot write", t.Name(), fs)
	}
	paths, err := t.writeFiles(wfs, b, strings.TrimRight(tbl.Location(), "/"), rows)
	if err != nil {
		return nil, err
	}
	files := make([]ice.DataFile, 0, len(paths))
	for _, p := range paths {
		df, err := table.FileToDataFile(ctx, fs, p, tbl.Schema(), tbl.Spec(), 0, tbl.Properties())
		if err != nil {
			removeAll(wfs, paths)
			return nil, fmt.Errorf("iceberg: %s: data file %s: %w", t.Name(), p, err)
		}
		files = append(files, df)
	}
	c, err := t.commitFiles(ctx, files, overwrite)
	if err != nil {
		removeAll(wfs, paths)
		return nil, err
	}
	c.Rows = int64(len(rows))
	return c, nil
}

func removeAll(wfs icebergio.WriteFileIO, paths []string) {
	for _, p := range paths {
		_ = wfs.Remove(p)
	}
}

// writeFiles writes rows as Parquet data files, one per partition, under
// location/data, and returns their paths.
func (t *Table[T]) writeFiles(wfs icebergio.WriteFileIO, b *binding, location string, rows []T) ([]string, error) {
	groups := map[string][]int{}
	for i := range rows {
		k := b.partitionKey(reflect.ValueOf(&rows[i]).Elem())
		groups[k] = append(groups[k], i)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var paths []string
	for _, k := range keys {
		dir := location + "/data"
		if k != "" {
			dir += "/" + k
		}
		p := dir + "/" + uuid.NewString() + ".parquet"
		var buf bytes.Buffer
		w := parquet.NewWriter(&buf, b.pschema, parquet.Compression(&zstd.Codec{}),
			parquet.MaxRowsPerRowGroup(t.opts.RowGroupSize))
		batch := make([]parquet.Row, 0, 256)
		idx := groups[k]
		for n, i := range idx {
			batch = append(batch, b.encode(nil, reflect.ValueOf(&rows[i]).Elem()))
			if len(batch) == cap(batch) || n == len(idx)-1 {
				if _, err := w.WriteRows(batch); err != nil {
					return nil, fmt.Errorf("iceberg: %s: encode rows: %w", t.Name(), err)
				}
				batch = batch[:0]
			}
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("iceberg: %s: encode rows: %w", t.Name(), err)
		}
		if err := writeFile(wfs, p, buf.Bytes()); err != nil {
			removeAll(wfs, paths)
			return nil, fmt.Errorf("iceberg: %s: write %s: %w", t.Name(), p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeFile(wfs icebergio.WriteFileIO, path string, data []byte) error {
	return wfs.WriteFile(path, data)
}

// commitFiles commits data files as an append, or as an overwrite that
// removes every data file current at commit time. A conflict with another
// writer (or an error after which the table moved on) is planned again on
// the new state, up to MaxCommitAttempts; whether an attempt whose
// outcome is unknown landed is told by its CommitIDProperty.
func (t *Table[T]) commitFiles(ctx context.Context, files []ice.DataFile, overwrite bool) (*Commit, error) {
	commitID := uuid.NewString()
	props := ice.Properties{CommitIDProperty: commitID}
	var lastErr error
	for attempt := 1; attempt <= t.opts.MaxCommitAttempts; attempt++ {
		if attempt > 1 {
			// the jittered backoff lakekit's own commits use
			if err := backoff.Sleep(ctx, backoff.Full(attempt, time.Millisecond, 64*time.Millisecond)); err != nil {
				return nil, fmt.Errorf("iceberg: commit to %s: %w (last conflict: %v)", t.Name(), err, lastErr)
			}
		}
		base, err := t.cat.LoadTable(ctx, t.ident)
		if err != nil {
			return nil, fmt.Errorf("iceberg: commit to %s: %w", t.Name(), err)
		}
		if s := findCommit(base, commitID); s != nil {
			return t.result(base, s, len(files), attempt-1), nil
		}
		if _, err := bind(t.rt, base.Schema(), base.Spec()); err != nil {
			return nil, fmt.Errorf("iceberg: commit to %s: %w", t.Name(), err)
		}
		tx := base.NewTransaction()
		if overwrite {
			var current []ice.DataFile
			if base.CurrentSnapshot() != nil {
				tasks, err := base.Scan().PlanFiles(ctx)
				if err != nil {
					return nil, fmt.Errorf("iceberg: commit to %s: list current files: %w", t.Name(), err)
				}
				for _, task := range tasks {
					current = append(current, task.File)
				}
			}
			switch {
			case len(current) == 0 && len(files) == 0:
				return nil, fmt.Errorf("%w: overwrite of the empty table %s with no rows", ErrInvalid, t.Name())
			case len(current) == 0:
				err = tx.AddDataFiles(ctx, files, props)
			default:
				err = tx.ReplaceDataFilesWithDataFiles(ctx, current, files, props)
			}
		} else {
			err = tx.AddDataFiles(ctx, files, props)
		}
		if err != nil {
			return nil, fmt.Errorf("iceberg: commit to %s: %w", t.Name(), err)
		}
		committed, err := tx.Commit(ctx)
		if err == nil {
			s := findCommit(committed, commitID)
			if s == nil {
				return nil, fmt.Errorf("iceberg: commit to %s: the committed table has no snapshot with %s=%s", t.Name(), CommitIDProperty, commitID)
			}
			return t.result(committed, s, len(files), attempt), nil
		}
		lastErr = err
		if errors.Is(err, table.ErrCommitFailed) {
			continue
		}
		// Another error: the commit may or may not have landed, and the
		// table may have moved under it (iceberg-go's local catalog says
		// "requirement failed" without ErrCommitFailed). Look again.
		now, lerr := t.cat.LoadTable(ctx, t.ident)
		if lerr != nil {
			return nil, fmt.Errorf("iceberg: commit to %s: %w (and reloading: %v)", t.Name(), err, lerr)
		}
		if s := findCommit(now, commitID); s != nil {
			return t.result(now, s, len(files), attempt), nil
		}
		if now.MetadataLocation() == base.MetadataLocation() {
			return nil, fmt.Errorf("iceberg: commit to %s: %w", t.Name(), err)
		}
	}
	return nil, fmt.Errorf("iceberg: commit to %s: %w: gave up after %d attempts: %v", t.Name(), table.ErrCommitFailed, t.opts.MaxCommitAttempts, lastErr)
}

func findCommit(tbl *table.Table, commitID string) *table.Snapshot {
	snaps := tbl.Metadata().Snapshots()
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if s.Summary != nil && s.Summary.Properties[CommitIDProperty] == commitID {
			return &s
		}
	}
	return nil
}

func (t *Table[T]) result(tbl *table.Table, s *table.Snapshot, files, attempts int) *Commit {
	return &Commit{SnapshotID: s.SnapshotID, MetadataLocation: tbl.MetadataLocation(), Files: files, Attempts: attempts}
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
