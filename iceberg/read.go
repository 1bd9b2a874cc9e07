package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"time"

	ice "github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/parquet-go/parquet-go"
)

// ReadOptions select what Read returns. A nil *ReadOptions reads the
// current snapshot whole.
type ReadOptions struct {
	// SnapshotID reads that snapshot (time travel); 0 means the current.
	SnapshotID int64
	// AsOf, when not zero, reads the snapshot current at that time (the
	// last one committed at or before it). Not with SnapshotID.
	AsOf time.Time
	// Partition keeps the rows whose identity partition columns (by column
	// name) equal the given values (of the fields' Go types). The data
	// files of other partitions are pruned from the manifests, not opened.
	Partition map[string]any
	// Range keeps the rows whose time.Time column Range.Column is in
	// [From, To). On a column with hidden partitioning (`lakekit:
	// "partition,day"`) the files of days (hours, months, years) outside
	// the range are pruned from the manifests through the transform; on
	// any column, files whose min/max statistics lie outside are skipped.
	Range *TimeRange
}

// TimeRange selects the rows whose Column is at or after From and before
// To. A zero From or To leaves that side open.
type TimeRange struct {
	Column   string
	From, To time.Time
}

// Plan is what a read opens: the snapshot and its data files after pruning.
type Plan struct {
	SnapshotID int64 // 0: the table has no snapshot
	Files      []string
}

// Read returns the rows of one snapshot of the table.
func (t *Table[T]) Read(ctx context.Context, opts *ReadOptions) ([]T, error) {
	ctx = t.Context(ctx)
	tbl, b, plan, tasks, err := t.plan(ctx, opts)
	if err != nil {
		return nil, err
	}
	if plan.SnapshotID == 0 {
		return nil, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: file IO: %w", t.Name(), err)
	}
	keep, err := t.rowKeep(b, opts)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, task := range tasks {
		if len(task.DeleteFiles)+len(task.EqualityDeleteFiles)+len(task.DeletionVectorFiles) > 0 {
			return nil, fmt.Errorf("iceberg: %s: data file %s has delete files, which this reader does not apply", t.Name(), task.File.FilePath())
		}
		rows, err := readFile[T](fs, b, task.File.FilePath(), keep)
		if err != nil {
			return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// Plan returns the snapshot and data files a Read with opts opens.
func (t *Table[T]) Plan(ctx context.Context, opts *ReadOptions) (*Plan, error) {
	_, _, plan, _, err := t.plan(ctx, opts)
	return plan, err
}

func (t *Table[T]) plan(ctx context.Context, opts *ReadOptions) (*table.Table, *binding, *Plan, []table.FileScanTask, error) {
	ctx = t.Context(ctx)
	if opts == nil {
		opts = &ReadOptions{}
	}
	if opts.SnapshotID != 0 && !opts.AsOf.IsZero() {
		return nil, nil, nil, nil, fmt.Errorf("%w: read of %s with both SnapshotID and AsOf", ErrInvalid, t.Name())
	}
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	snap, err := t.pickSnapshot(tbl, opts)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// Bound to the current schema: data files of any snapshot are read by
	// field ID, so renamed columns read, dropped ones are ignored and
	// columns added since read as null (zero).
	b, err := bind(t.rt, tbl.Schema(), tbl.Spec())
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	plan := &Plan{}
	if snap == nil {
		return tbl, b, plan, nil, nil
	}
	plan.SnapshotID = snap.SnapshotID
	filter, err := t.rowFilter(b, opts)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	tasks, err := tbl.Scan(table.WithSnapshotID(snap.SnapshotID), table.WithRowFilter(filter)).PlanFiles(ctx)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("iceberg: %s: plan snapshot %d: %w", t.Name(), snap.SnapshotID, err)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].File.FilePath() < tasks[j].File.FilePath() })
	for _, task := range tasks {
		plan.Files = append(plan.Files, task.File.FilePath())
	}
	return tbl, b, plan, tasks, nil
}

// ErrNoSnapshot is returned by a time-travel read of a snapshot the table
// does not have: never committed, or expired by Vacuum.
var ErrNoSnapshot = errors.New("iceberg: no such snapshot")

// pickSnapshot is the snapshot opts select (nil: the table has none).
func (t *Table[T]) pickSnapshot(tbl *table.Table, opts *ReadOptions) (*table.Snapshot, error) {
	switch {
	case opts.SnapshotID != 0:
		if snap := tbl.SnapshotByID(opts.SnapshotID); snap != nil {
			return snap, nil
		}
		return nil, fmt.Errorf("%w: %s has no snapshot %d: it was expired by Vacuum or never committed to this table (%s)",
			ErrNoSnapshot, t.Name(), opts.SnapshotID, oldestKept(tbl))
	case !opts.AsOf.IsZero():
		if snap := tbl.SnapshotAsOf(opts.AsOf.UnixMilli(), true); snap != nil {
			return snap, nil
		}
		return nil, fmt.Errorf("%w: %s has no snapshot at or before %s: older ones were expired by Vacuum, or the table did not exist yet (%s)",
			ErrNoSnapshot, t.Name(), opts.AsOf.UTC().Format(time.RFC3339Nano), oldestKept(tbl))
	}
	return tbl.CurrentSnapshot(), nil
}

// oldestKept names the oldest snapshot the table keeps, for messages.
func oldestKept(tbl *table.Table) string {
	snaps := tbl.Metadata().Snapshots()
	if len(snaps) == 0 {
		return "it has no snapshots"
	}
	oldest := snaps[0]
	for _, s := range snaps[1:] {
		if s.TimestampMs < oldest.TimestampMs {
			oldest = s
		}
	}
	return fmt.Sprintf("the oldest snapshot kept is %d of %s", oldest.SnapshotID, time.UnixMilli(oldest.TimestampMs).UTC().Format(time.RFC3339Nano))
}

// partitionValue converts v to the Go type of partition field f.
func (t *Table[T]) partitionValue(f goField, v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !rv.Type().ConvertibleTo(f.typ) || (rv.Kind() == reflect.String) != (f.typ.Kind() == reflect.String) {
		return reflect.Value{}, fmt.Errorf("%w: partition value %v (%T) for column %q of %s is not a %v", ErrInvalid, v, v, f.name, t.Name(), f.typ)
	}
	return rv.Convert(f.typ), nil
}

func (t *Table[T]) partitionField(b *binding, name string) (goField, error) {
	for _, i := range b.parts {
		f := b.rt.fields[i]
		if f.name == name && f.transform != "identity" {
			return goField{}, fmt.Errorf("%w: column %q of %s has hidden partitioning by %s: select it with ReadOptions.Range", ErrInvalid, name, t.Name(), f.transform)
		}
		if f.name == name {
			return f, nil
		}
	}
	var names []string
	for _, i := range b.parts {
		names = append(names, b.rt.fields[i].name)
	}
	return goField{}, fmt.Errorf("%w: %q is not a partition column of %s (partition columns: %v)", ErrInvalid, name, t.Name(), names)
}

// rowFilter is the Iceberg expression of the partition selection and
// time range, for iceberg-go's manifest, partition (through transforms)
// and min/max pruning.
func (t *Table[T]) rowFilter(b *binding, opts *ReadOptions) (ice.BooleanExpression, error) {
	var expr ice.BooleanExpression = ice.AlwaysTrue{}
	names := make([]string, 0, len(opts.Partition))
	for k := range opts.Partition {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := t.partitionField(b, name)
		if err != nil {
			return nil, err
		}
		v, err := t.partitionValue(f, opts.Partition[name])
		if err != nil {
			return nil, err
		}
		pred, err := equalTo(f, v)
		if err != nil {
			return nil, err
		}
		expr = ice.NewAnd(expr, pred)
	}
	if r := opts.Range; r != nil {
		f, err := t.rangeField(r)
		if err != nil {
			return nil, err
		}
		ref := ice.Reference(f.name)
		if !r.From.IsZero() {
			expr = ice.NewAnd(expr, ice.GreaterThanEqual(ref, ice.Timestamp(r.From.UnixMicro())))
		}
		if !r.To.IsZero() {
			expr = ice.NewAnd(expr, ice.LessThan(ref, ice.Timestamp(r.To.UnixMicro())))
		}
	}
	return expr, nil
}

func equalTo(f goField, v reflect.Value) (ice.BooleanExpression, error) {
	ref := ice.Reference(f.name)
	switch f.ice.(type) {
	case ice.BooleanType:
		return ice.EqualTo(ref, v.Bool()), nil
	case ice.Int32Type:
		return ice.EqualTo(ref, int32(v.Int())), nil
	case ice.Int64Type:
		return ice.EqualTo(ref, v.Int()), nil
	case ice.Float32Type:
		return ice.EqualTo(ref, float32(v.Float())), nil
	case ice.Float64Type:
		return ice.EqualTo(ref, v.Float()), nil
	case ice.StringType:
		return ice.EqualTo(ref, v.String()), nil
	case ice.TimestampTzType:
		return ice.EqualTo(ref, ice.Timestamp(v.Interface().(time.Time).UnixMicro())), nil
	}
	return nil, fmt.Errorf("%w: cannot select partition column %q of type %s", ErrInvalid, f.name, f.ice)
}

// rangeField is the time.Time field a TimeRange selects on.
func (t *Table[T]) rangeField(r *TimeRange) (goField, error) {
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return goField{}, fmt.Errorf("%w: time range of %s: From %s is not before To %s", ErrInvalid, t.Name(), r.From, r.To)
	}
	for _, f := range t.rt.fields {
		if f.name != r.Column {
			continue
		}
		if f.typ != timeType {
			return goField{}, fmt.Errorf("%w: time range on column %q of %s, which is %v, not time.Time", ErrInvalid, r.Column, t.Name(), f.typ)
		}
		return f, nil
	}
	return goField{}, fmt.Errorf("%w: time range on column %q, which %v does not have", ErrInvalid, r.Column, t.rt.t)
}

// rowKeep keeps a decoded row when its partition columns equal the
// selection and its time is in the range (the files planned may hold
// other rows: those with a time outside the range in a partition that
// overlaps it).
func (t *Table[T]) rowKeep(b *binding, opts *ReadOptions) (func(reflect.Value) bool, error) {
	if opts == nil || (len(opts.Partition) == 0 && opts.Range == nil) {
		return nil, nil
	}
	type cond struct {
		index int
		want  reflect.Value
	}
	var conds []cond
	for name, v := range opts.Partition {
		f, err := t.partitionField(b, name)
		if err != nil {
			return nil, err
		}
		want, err := t.partitionValue(f, v)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond{f.index, want})
	}
	var r TimeRange
	ri := -1
	if opts.Range != nil {
		f, err := t.rangeField(opts.Range)
		if err != nil {
			return nil, err
		}
		r, ri = *opts.Range, f.index
	}
	return func(row reflect.Value) bool {
		for _, c := range conds {
			if !reflect.DeepEqual(row.Field(c.index).Interface(), c.want.Interface()) {
				return false
			}
		}
		if ri >= 0 {
			ts := row.Field(ri).Interface().(time.Time)
			if (!r.From.IsZero() && ts.Before(r.From)) || (!r.To.IsZero() && !ts.Before(r.To)) {
				return false
			}
		}
		return true
	}, nil
}

// readFile decodes one data file into rows of T, matching columns by field
// ID (not by name: a renamed column still reads), or by name in a file
// written without field IDs. A field of T that the file lacks (a column
// added after it was written) reads as nil.
func readFile[T any](fs icebergio.IO, b *binding, path string, keep func(reflect.Value) bool) ([]T, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open data file %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat data file %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", path, err)
	}
	colOf := make([]int, len(b.rt.fields))
	for i := range colOf {
		colOf[i] = -1
	}
	for c, fld := range pf.Schema().Fields() {
		if !fld.Leaf() {
			return nil, fmt.Errorf("data file %s: column %q is not a scalar", path, fld.Name())
		}
		if id := fld.ID(); id != 0 {
			if i, ok := b.byID[id]; ok {
				colOf[i] = c
			}
			continue
		}
		for i, gf := range b.rt.fields {
			if gf.name == fld.Name() {
				colOf[i] = c
			}
		}
	}
	for i, c := range colOf {
		if c < 0 && !b.nullable[i] {
			return nil, fmt.Errorf("data file %s has no column with field ID %d (%q), which %v requires", path, b.ids[i], b.rt.fields[i].name, b.rt.t)
		}
	}
	out := make([]T, 0, pf.NumRows())
	buf := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				var v T
				rv := reflect.ValueOf(&v).Elem()
				for i, c := range colOf {
					if c < 0 {
						continue
					}
					if c >= len(row) || row[c].Column() != c {
						rows.Close()
						return nil, fmt.Errorf("data file %s: row does not have one value in column %d", path, c)
					}
					setScalar(b.rt.fields[i], rv, row[c])
				}
				if keep == nil || keep(rv) {
					out = append(out, v)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("data file %s: %w", path, err)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("data file %s: %w", path, err)
		}
	}
	return out, nil
}
