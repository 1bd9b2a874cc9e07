package iceberg

import (
	"context"
	"fmt"
	"io"
)

// SnapshotFiles returns snapshot (0: the current one) and the locations of
// its data files as its manifests list them, sorted; 0 and no files when
// the table has no snapshot. With OpenFile it is what query/duckdb's
// Engine.Attach needs to show the table as a view (this package does not
// import DuckDB, which needs cgo).
func (t *Table[T]) SnapshotFiles(ctx context.Context, snapshot int64) (int64, []string, error) {
	id, tasks, err := t.snapshotTasks(ctx, snapshot)
	if err != nil {
		return 0, nil, err
	}
	files := make([]string, 0, len(tasks))
	for _, task := range tasks {
		if n := len(task.DeleteFiles) + len(task.EqualityDeleteFiles) + len(task.DeletionVectorFiles); n > 0 {
			// a file list cannot express deletes: refuse rather than show deleted rows
			return 0, nil, fmt.Errorf("iceberg: %s snapshot %d: data file %s has %d delete files, which a view over the file list would not apply", t.Name(), id, task.File.FilePath(), n)
		}
		files = append(files, task.File.FilePath())
	}
	return id, files, nil
}

// OpenFile opens a file of the table (a data file SnapshotFiles listed)
// through the table's file IO.
func (t *Table[T]) OpenFile(ctx context.Context, location string) (io.ReadCloser, error) {
	ctx = t.Context(ctx)
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: file IO: %w", t.Name(), err)
	}
	f, err := fs.Open(location)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: open %s: %w", t.Name(), location, err)
	}
	return f, nil
}

// SnapshotFiles is Table.SnapshotFiles of the dataset's table.
func (d *DatasetTable[T]) SnapshotFiles(ctx context.Context, snapshot int64) (int64, []string, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return 0, nil, err
	}
	return t.SnapshotFiles(ctx, snapshot)
}

// OpenFile is Table.OpenFile of the dataset's table.
func (d *DatasetTable[T]) OpenFile(ctx context.Context, location string) (io.ReadCloser, error) {
	t, err := d.Table(ctx)
	if err != nil {
		return nil, err
	}
	return t.OpenFile(ctx, location)
}
