package iceberg

import (
	"context"
	"fmt"
	"reflect"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// ReadPartitions reads snapshot version (0: the current one) keeping
// only the partitions keep accepts, pruned from the manifests: keep is
// called once per data file with a row whose partition fields hold the
// file's partition values from its manifest entry (a hidden partition's
// time field the start of its day, hour, month or year; other fields
// zero), and a file it refuses is never opened. The rows of the files
// read are kept when keep accepts them too, so a keep that looks at more
// than the partition stays exact. A file whose partition cannot be
// rebuilt as a row (written with another partition spec) is read and
// filtered by row.
//
// This is the partition filter of a zones.Dataset read
// (ReadOptions.Partitions) pushed down to the Iceberg scan.
func (d *DatasetTable[T]) ReadPartitions(ctx context.Context, version int64, keep func(row *T) bool) ([]T, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	return t.readKept(ctx, version, keep)
}

// PlanPartitions lists the data files ReadPartitions with the same
// arguments opens.
func (d *DatasetTable[T]) PlanPartitions(ctx context.Context, version int64, keep func(row *T) bool) ([]string, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	_, _, tasks, err := t.planKept(ctx, version, keep)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(tasks))
	for i, task := range tasks {
		paths[i] = task.File.FilePath()
	}
	return paths, nil
}

func (t *Table[T]) readKept(ctx context.Context, version int64, keep func(row *T) bool) ([]T, error) {
	ctx = t.Context(ctx)
	tbl, b, tasks, err := t.planKept(ctx, version, keep)
	if err != nil || tbl == nil {
		return nil, err
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: file IO: %w", t.Name(), err)
	}
	var rowKeep func(reflect.Value) bool
	if keep != nil {
		rowKeep = func(v reflect.Value) bool { return keep(v.Addr().Interface().(*T)) }
	}
	var out []T
	for _, task := range tasks {
		if len(task.DeleteFiles)+len(task.EqualityDeleteFiles)+len(task.DeletionVectorFiles) > 0 {
			return nil, fmt.Errorf("iceberg: %s: data file %s has delete files, which this reader does not apply", t.Name(), task.File.FilePath())
		}
		rows, err := readFile[T](fs, b, task.File.FilePath(), rowKeep)
		if err != nil {
			return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// planKept plans snapshot version and drops the tasks of the files whose
// partition keep refuses. tbl is nil when the table has no snapshot.
func (t *Table[T]) planKept(ctx context.Context, version int64, keep func(row *T) bool) (*table.Table, *binding, []table.FileScanTask, error) {
	tbl, b, plan, tasks, err := t.plan(ctx, &ReadOptions{SnapshotID: version})
	if err != nil {
		return nil, nil, nil, err
	}
	if plan.SnapshotID == 0 {
		return nil, nil, nil, nil
	}
	if keep == nil {
		return tbl, b, tasks, nil
	}
	spec := tbl.Spec()
	kept := tasks[:0]
	for _, task := range tasks {
		var row T
		if task.File.SpecID() == int32(spec.ID()) && partitionRow(b, &spec, task.File.Partition(), reflect.ValueOf(&row).Elem()) && !keep(&row) {
			continue
		}
		kept = append(kept, task)
	}
	return tbl, b, kept, nil
}

// partitionRow sets the partition fields of row from a data file's
// partition values (by partition field ID) and tells whether it could set
// them all.
func partitionRow(b *binding, spec *ice.PartitionSpec, values map[int]any, row reflect.Value) bool {
	for _, pf := range spec.Fields() {
		i, ok := b.byID[pf.SourceID()]
		if !ok {
			return false
		}
		f := b.rt.fields[i]
		v, present := values[pf.FieldID]
		if !present {
			return false
		}
		if v == nil {
			if !f.optional {
				return false
			}
			continue // null: a nil pointer
		}
		gv, ok := partitionGoValue(f, v)
		if !ok {
			return false
		}
		fv := row.Field(f.index)
		if f.optional {
			p := reflect.New(f.typ)
			p.Elem().Set(gv)
			gv = p
		}
		fv.Set(gv)
	}
	return true
}

// partitionGoValue converts a manifest partition value of field f (the
// transform's result: days, hours, months or years since the epoch for a
// hidden partition) to f's Go type.
func partitionGoValue(f goField, v any) (reflect.Value, bool) {
	if f.typ == timeType {
		n, ok := integer(v)
		if !ok {
			return reflect.Value{}, false
		}
		var ts time.Time
		switch f.transform {
		case "identity":
			ts = time.UnixMicro(n).UTC()
		case "hour":
			ts = time.Unix(n*3600, 0).UTC()
		case "day":
			ts = time.Unix(n*86400, 0).UTC()
		case "month":
			ts = time.Date(1970, time.Month(1+n), 1, 0, 0, 0, 0, time.UTC)
		case "year":
			ts = time.Date(1970+int(n), 1, 1, 0, 0, 0, 0, time.UTC)
		default:
			return reflect.Value{}, false
		}
		return reflect.ValueOf(ts), true
	}
	rv := reflect.ValueOf(v)
	if !rv.Type().ConvertibleTo(f.typ) || (rv.Kind() == reflect.String) != (f.typ.Kind() == reflect.String) {
		return reflect.Value{}, false
	}
	return rv.Convert(f.typ), true
}

// integer is a manifest's integral partition value (int32 days, int64
// microseconds, their named iceberg-go types).
func integer(v any) (int64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	}
	return 0, false
}
