package iceberg

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lakekit/lakekit/zones"
)

// FormatName is the name of the Iceberg table format in zones errors.
const FormatName = "iceberg"

// FormatOptions configure Format.
type FormatOptions struct {
	// Namespace is the Iceberg namespace of every dataset's table; empty
	// means the dataset's database (the table is <database>.<table>).
	Namespace []string
	// Table are the options of each table (Open). Table.Location "" means
	// the dataset's own folder when that is on S3 (s3://bucket/<zone
	// prefix>/<db>/<table>), else the catalog's default (LocalCatalog puts
	// a table at <dir>/<namespace>/<table> and allows no other place).
	Table Options
	// Writer bounds each dataset Writer's memory: rows are encoded into
	// data files as they come, rolled by these limits (nil: defaults).
	Writer *WriterOptions
}

// TableFormat is the Iceberg table format for zones datasets of rows T:
// set it as zones.Options.Format and the dataset's writes, reads, history
// and snapshots go to the Iceberg table <database>.<table> of a catalog
// (see Format). Build it with Format.
type TableFormat[T any] struct {
	cat  catalog.Catalog
	opts FormatOptions
}

// Format is the Iceberg format for zones.Options[T].Format: the dataset
// database.table becomes the Iceberg table of cat with that identifier
// (namespace = database unless FormatOptions.Namespace says otherwise),
// created with T's schema on first use. A Writer's rows are committed as
// one snapshot by Commit (Append, Overwrite, OverwritePartitions); Read
// reads a snapshot (ReadOptions.Version is a snapshot ID, 0 the current
// one); History lists the snapshots; Vacuum expires snapshots older than
// the retention. What has no Iceberg meaning (AddFiles, Convert,
// SyncCatalog, Files, ReplaceSchema, IdempotencyKey, Metadata, Where,
// Columns) fails with a zones.UnsupportedError, which wraps
// errors.ErrUnsupported.
func Format[T any](cat catalog.Catalog, opts *FormatOptions) *TableFormat[T] {
	f := &TableFormat[T]{cat: cat}
	if opts != nil {
		f.opts = *opts
	}
	return f
}

// Name is "iceberg".
func (f *TableFormat[T]) Name() string { return FormatName }

// Bind is called by zones.NewDataset: it checks T and names the table;
// the table is opened (created) on first use.
func (f *TableFormat[T]) Bind(target zones.FormatTarget) (zones.FormatTable[T], error) {
	if f == nil || f.cat == nil {
		return nil, fmt.Errorf("%w: Iceberg format without a catalog", ErrInvalid)
	}
	if _, err := describe(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	ns := f.opts.Namespace
	if len(ns) == 0 {
		ns = []string{target.Database}
	}
	dt := &DatasetTable[T]{cat: f.cat, ident: append(append([]string(nil), ns...), target.Table), opts: f.opts.Table, wopts: f.opts.Writer}
	if dt.opts.Location == "" && strings.HasPrefix(target.Location, "s3://") {
		dt.opts.Location = strings.TrimRight(target.Location, "/")
	}
	return dt, nil
}

// DatasetTable is the Iceberg table under a zones.Dataset with the Iceberg
// format (what Bind returns; Dataset.Format gives it back).
type DatasetTable[T any] struct {
	cat   catalog.Catalog
	ident []string
	opts  Options
	wopts *WriterOptions

	mu  sync.Mutex
	tbl *Table[T]
}

// Table opens the typed Iceberg table (creating it on first use).
func (d *DatasetTable[T]) Table(ctx context.Context) (*Table[T], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tbl != nil {
		return d.tbl, nil
	}
	t, err := Open[T](ctx, d.cat, d.ident, &d.opts)
	if err != nil {
		return nil, err
	}
	d.tbl = t
	return t, nil
}

// Identifier is the table's Iceberg identifier (namespace..., name).
func (d *DatasetTable[T]) Identifier() []string { return append([]string(nil), d.ident...) }

func (d *DatasetTable[T]) unsupported(op string) error {
	return &zones.UnsupportedError{Format: FormatName, Operation: op, Table: strings.Join(d.ident, ".")}
}

// Commit writes rows as one snapshot: Append, Overwrite (the whole table)
// or OverwritePartitions.
func (d *DatasetTable[T]) Commit(ctx context.Context, mode zones.Mode, rows []T, metadata map[string]string) (*zones.CommitResult, error) {
	if len(metadata) > 0 {
		// iceberg.Table does not take summary properties of the caller's
		return nil, d.unsupported("WriterOptions.Metadata")
	}
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	var c *Commit
	switch mode {
	case zones.Append:
		c, err = t.Append(ctx, rows)
	case zones.Overwrite:
		c, err = t.Overwrite(ctx, rows)
	case zones.OverwritePartitions:
		c, err = t.OverwritePartitions(ctx, rows)
	default:
		return nil, fmt.Errorf("%w: write mode %v", ErrInvalid, mode)
	}
	if errors.Is(err, ErrConflict) {
		return nil, fmt.Errorf("%w: %w", zones.ErrConflict, err)
	}
	if err != nil {
		return nil, err
	}
	return d.result(ctx, t, mode, c)
}

func (d *DatasetTable[T]) result(ctx context.Context, t *Table[T], mode zones.Mode, c *Commit) (*zones.CommitResult, error) {
	zc := &zones.Commit{Version: c.SnapshotID, Operation: "write", Mode: mode}
	snaps, err := t.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		if s.ID == c.SnapshotID {
			zc.Timestamp, zc.Metadata = s.Time, s.Summary
		}
	}
	return &zones.CommitResult{Version: c.SnapshotID, Rows: c.Rows, Attempts: c.Attempts, Commit: zc}, nil
}

// Merge is Table.Merge (copy-on-write) for zones.FormatMerger: Version is
// the new snapshot, 0 when the changes changed nothing; Rows counts the
// rows inserted and updated.
func (d *DatasetTable[T]) Merge(ctx context.Context, changes []T, key func(T) string, deleted func(T) bool) (*zones.CommitResult, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	mr, err := t.Merge(ctx, changes, key, deleted)
	if err != nil {
		return nil, err
	}
	if mr.Commit == nil {
		return &zones.CommitResult{}, nil
	}
	mr.Commit.Rows = mr.Inserted + mr.Updated
	return d.result(ctx, t, zones.OverwritePartitions, mr.Commit)
}

// Read returns the rows of snapshot version (0: the current one).
func (d *DatasetTable[T]) Read(ctx context.Context, version int64) ([]T, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := t.Read(ctx, &ReadOptions{SnapshotID: version})
	if errors.Is(err, ErrNoSnapshot) && !errors.Is(err, zones.ErrNoSuchVersion) {
		return nil, fmt.Errorf("%w: %w", zones.ErrNoSuchVersion, err)
	}
	return rows, err
}

// Snapshot describes snapshot version (0: the current one): its time and
// data files (Key and Location are the file's full location).
func (d *DatasetTable[T]) Snapshot(ctx context.Context, version int64) (*zones.Snapshot, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	id, tasks, err := t.snapshotTasks(ctx, version)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, fmt.Errorf("iceberg: %s has no snapshot yet: %w", t.Name(), zones.ErrNoSuchTable)
	}
	s := &zones.Snapshot{Version: id, Locations: map[string]string{}}
	for _, f := range t.rt.fields {
		if f.partition {
			s.PartitionKeys = append(s.PartitionKeys, f.name)
		}
	}
	for _, task := range tasks {
		p := task.File.FilePath()
		s.Files = append(s.Files, zones.DataFile{Key: p, Location: p, Rows: task.File.Count(), Size: task.File.FileSizeBytes()})
	}
	snaps, err := t.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, sn := range snaps {
		if sn.ID == id {
			s.Timestamp = sn.Time
		}
	}
	return s, nil
}

// History lists the table's snapshots as commits, oldest first; Version
// is the snapshot ID, Metadata the snapshot summary.
func (d *DatasetTable[T]) History(ctx context.Context) ([]zones.Commit, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	snaps, err := t.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]zones.Commit, 0, len(snaps))
	for _, s := range snaps {
		mode := zones.Append
		if s.Operation != "append" {
			mode = zones.Overwrite
		}
		out = append(out, zones.Commit{Version: s.ID, Timestamp: s.Time, Operation: "write", Mode: mode, Metadata: s.Summary})
	}
	return out, nil
}

// Vacuum is Table.Vacuum with OlderThan = retention (zones.Dataset.Vacuum
// has turned zones.ZoneRetention into the zone's): snapshots other than
// the current one that are older than retention expire, with the files
// only they referenced, and unreferenced data files older than
// DefaultOrphanAge are deleted. Deleted lists those orphans; Live counts
// the current snapshot's data files. Time travel to an expired snapshot
// fails with zones.ErrNoSuchVersion.
func (d *DatasetTable[T]) Vacuum(ctx context.Context, retention time.Duration) (*zones.VacuumResult, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	vr, err := t.Vacuum(ctx, &VacuumOptions{OlderThan: retention})
	if err != nil {
		return nil, err
	}
	res := &zones.VacuumResult{Deleted: vr.Orphans}
	_, files, err := t.SnapshotFiles(ctx, 0)
	if err != nil {
		return nil, err
	}
	res.Live = len(files)
	return res, nil
}

// snapshotTasks plans snapshot version (0: the current one) with
// iceberg-go: its ID (0 when the table has none) and its data files,
// sorted by location.
func (t *Table[T]) snapshotTasks(ctx context.Context, version int64) (int64, []table.FileScanTask, error) {
	ctx = t.Context(ctx)
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return 0, nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	snap := tbl.CurrentSnapshot()
	if version != 0 {
		if snap = tbl.SnapshotByID(version); snap == nil {
			return 0, nil, fmt.Errorf("%w: %s has no snapshot %d: %w", ErrNoSnapshot, t.Name(), version, zones.ErrNoSuchVersion)
		}
	}
	if snap == nil {
		return 0, nil, nil
	}
	tasks, err := tbl.Scan(table.WithSnapshotID(snap.SnapshotID)).PlanFiles(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("iceberg: %s: plan snapshot %d: %w", t.Name(), snap.SnapshotID, err)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].File.FilePath() < tasks[j].File.FilePath() })
	return snap.SnapshotID, tasks, nil
}

var (
	_ zones.TableFormat[struct{ A int }]  = (*TableFormat[struct{ A int }])(nil)
	_ zones.FormatMerger[struct{ A int }] = (*DatasetTable[struct{ A int }])(nil)
)
