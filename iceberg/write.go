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
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lakekit/lakekit/internal/backoff"
)

// ErrConflict is returned when another writer committed, between the
// start of a write and its commit, a change this write cannot be planned
// again over without losing it (OverwritePartitions of a partition another
// writer changed meanwhile). Nothing of the write is committed and its
// data files are removed; the caller decides whether to write again.
var ErrConflict = errors.New("iceberg: conflicting commit")

// Append commits rows as a new snapshot (operation "append"): one data
// file per partition. Appending no rows is refused (ErrInvalid). An
// append that loses a commit race to another writer is committed again on
// the new state (appends never conflict).
func (t *Table[T]) Append(ctx context.Context, rows []T) (*Commit, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: append of no rows to %s", ErrInvalid, t.Name())
	}
	return t.write(ctx, rows, func(context.Context, *table.Table, []ice.DataFile) (stageFunc, error) {
		return appendStage, nil
	})
}

// Overwrite replaces every row of the table with rows in one snapshot
// (operation "overwrite"); no rows empties the table. It replaces what is
// current when it commits: rows another writer appended meanwhile are
// replaced too.
func (t *Table[T]) Overwrite(ctx context.Context, rows []T) (*Commit, error) {
	return t.write(ctx, rows, func(context.Context, *table.Table, []ice.DataFile) (stageFunc, error) {
		return t.overwriteStage, nil
	})
}

// OverwritePartitions is a dynamic partition overwrite: in one snapshot
// (operation "overwrite") the data files of every partition that rows
// fall in are replaced by rows; the other partitions keep their files.
// On an unpartitioned table it is Overwrite. With no rows it is refused
// (ErrInvalid: there is no partition to replace).
//
// Conflicts: when another writer changed the files of one of those
// partitions after this write began (and before it committed), the write
// fails with ErrConflict, naming the partition, and commits nothing:
// replacing the other writer's files unseen would lose its rows, and
// keeping them would leave the partition with both writers' rows. Commits
// of other writers to other partitions are not conflicts (the write is
// committed again on the new state).
func (t *Table[T]) OverwritePartitions(ctx context.Context, rows []T) (*Commit, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: overwrite of the partitions of no rows in %s", ErrInvalid, t.Name())
	}
	return t.write(ctx, rows, func(ctx context.Context, start *table.Table, files []ice.DataFile) (stageFunc, error) {
		if start.Spec().IsUnpartitioned() {
			return t.overwriteStage, nil
		}
		return t.replacePartitionsStage(ctx, start, files)
	})
}

// stageFunc stages one commit attempt's changes on tx, a transaction on
// base (the table as it is at that attempt). An error wrapping ErrConflict
// or ErrInvalid ends the commit without another attempt.
type stageFunc func(ctx context.Context, base *table.Table, tx *table.Transaction, files []ice.DataFile, props ice.Properties) error

// appendStage adds files. Without iceberg-go's duplicate check, which
// reads every manifest of the table on every attempt (a cost that grows
// with the table, paid again on each retry): the files have fresh
// random names, so none can be in the table already, and an earlier
// attempt of the same commit that landed is found by its commit ID before
// staging.
func appendStage(ctx context.Context, _ *table.Table, tx *table.Transaction, files []ice.DataFile, props ice.Properties) error {
	return tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck())
}

// overwriteStage replaces every data file current at commit time.
func (t *Table[T]) overwriteStage(ctx context.Context, base *table.Table, tx *table.Transaction, files []ice.DataFile, props ice.Properties) error {
	current, err := currentFiles(ctx, base, nil)
	if err != nil {
		return err
	}
	switch {
	case len(current) == 0 && len(files) == 0:
		return fmt.Errorf("%w: overwrite of the empty table %s with no rows", ErrInvalid, t.Name())
	case len(current) == 0:
		return tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck())
	default:
		return tx.ReplaceDataFilesWithDataFiles(ctx, current, files, props)
	}
}

// replacePartitionsStage replaces the files of the partitions of files,
// provided they are the files those partitions had in start.
func (t *Table[T]) replacePartitionsStage(ctx context.Context, start *table.Table, files []ice.DataFile) (stageFunc, error) {
	touched := map[string]bool{}
	for _, f := range files {
		touched[partitionID(f)] = true
	}
	keep := func(f ice.DataFile) bool { return touched[partitionID(f)] }
	before, err := currentFiles(ctx, start, keep)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: list the files of the partitions to replace: %w", t.Name(), err)
	}
	return func(ctx context.Context, base *table.Table, tx *table.Transaction, files []ice.DataFile, props ice.Properties) error {
		current, err := currentFiles(ctx, base, keep)
		if err != nil {
			return err
		}
		if p, changed := changedPartition(before, current); changed {
			return fmt.Errorf("%w: overwrite of partition %s of %s: another writer changed it after this write began (snapshot %s, now %s); nothing was committed",
				ErrConflict, p, t.Name(), snapshotName(start), snapshotName(base))
		}
		// Fail rather than be replayed on a newer head by iceberg-go.
		if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
			return err
		}
		if len(current) == 0 {
			return tx.AddDataFiles(ctx, files, props, table.WithoutDuplicateCheck())
		}
		return tx.ReplaceDataFilesWithDataFiles(ctx, current, files, props)
	}, nil
}

func snapshotName(tbl *table.Table) string {
	if s := tbl.CurrentSnapshot(); s != nil {
		return fmt.Sprint(s.SnapshotID)
	}
	return "none"
}

// changedPartition tells whether the file sets differ, and names a
// partition where they do.
func changedPartition(before, now []ice.DataFile) (string, bool) {
	seen := map[string]ice.DataFile{}
	for _, f := range before {
		seen[f.FilePath()] = f
	}
	for _, f := range now {
		if _, ok := seen[f.FilePath()]; !ok {
			return partitionName(f), true
		}
		delete(seen, f.FilePath())
	}
	for _, f := range seen {
		return partitionName(f), true
	}
	return "", false
}

// partitionID identifies the partition of a data file: its spec and its
// partition values by partition field ID.
func partitionID(f ice.DataFile) string {
	p := f.Partition()
	ids := make([]int, 0, len(p))
	for id := range p {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var sb strings.Builder
	fmt.Fprintf(&sb, "spec%d", f.SpecID())
	for _, id := range ids {
		fmt.Fprintf(&sb, "/%d=%v", id, p[id])
	}
	return sb.String()
}

// partitionName is the data file's partition directory ("day=2026-01-02"),
// for messages.
func partitionName(f ice.DataFile) string {
	dir := f.FilePath()
	if i := strings.LastIndex(dir, "/"); i >= 0 {
		dir = dir[:i]
	}
	if i := strings.Index(dir, "/data/"); i >= 0 {
		return dir[i+len("/data/"):]
	}
	return partitionID(f)
}

// currentFiles lists the data files of tbl's current snapshot for which
// keep (nil: all) is true.
func currentFiles(ctx context.Context, tbl *table.Table, keep func(ice.DataFile) bool) ([]ice.DataFile, error) {
	if tbl.CurrentSnapshot() == nil {
		return nil, nil
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("list current data files: %w", err)
	}
	var out []ice.DataFile
	for _, task := range tasks {
		if keep == nil || keep(task.File) {
			out = append(out, task.File)
		}
	}
	return out, nil
}

// noDeleteFiles refuses a snapshot with delete files (another engine's
// row-level changes, e.g. Athena's DELETE): rewriting a data file without
// applying its deletes would bring deleted rows back.
func noDeleteFiles(ctx context.Context, tbl *table.Table) error {
	if tbl.CurrentSnapshot() == nil {
		return nil
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("list current data files: %w", err)
	}
	for _, task := range tasks {
		if len(task.DeleteFiles)+len(task.EqualityDeleteFiles)+len(task.DeletionVectorFiles) > 0 {
			return fmt.Errorf("%w: data file %s has delete files (row-level changes by another engine), which this package does not apply: compact the table first (Athena: OPTIMIZE ... REWRITE DATA)", ErrInvalid, task.File.FilePath())
		}
	}
	return nil
}

// write writes rows as data files of the current table state start, then
// commits them with the stage that plan returns for them. Data files of a
// write that did not commit are removed.
func (t *Table[T]) write(ctx context.Context, rows []T, plan func(ctx context.Context, start *table.Table, files []ice.DataFile) (stageFunc, error)) (*Commit, error) {
	ctx = t.Context(ctx)
	start, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	wfs, err := writeIO(ctx, start)
	if err != nil {
		return nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	files, paths, err := t.stageRows(ctx, start, wfs, rows)
	if err != nil {
		return nil, err
	}
	stage, err := plan(ctx, start, files)
	if err != nil {
		removeAll(wfs, paths)
		return nil, err
	}
	c, err := t.commit(ctx, files, stage)
	if err != nil {
		removeAll(wfs, paths)
		return nil, err
	}
	c.Rows = int64(len(rows))
	return c, nil
}

func writeIO(ctx context.Context, tbl *table.Table) (icebergio.WriteFileIO, error) {
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("file IO: %w", err)
	}
	wfs, ok := fs.(icebergio.WriteFileIO)
	if !ok {
		return nil, fmt.Errorf("file IO %T cannot write", fs)
	}
	return wfs, nil
}

// stageRows writes rows as data files of tbl (one per partition) and
// describes them for a commit (statistics and partition values from the
// files' Parquet footers, by iceberg-go). It returns the files' paths too.
func (t *Table[T]) stageRows(ctx context.Context, tbl *table.Table, wfs icebergio.WriteFileIO, rows []T) ([]ice.DataFile, []string, error) {
	b, err := bind(t.rt, tbl.Schema(), tbl.Spec())
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg: %s: %w", t.Name(), err)
	}
	paths, err := t.writeFiles(wfs, b, strings.TrimRight(tbl.Location(), "/"), rows)
	if err != nil {
		return nil, nil, err
	}
	files := make([]ice.DataFile, 0, len(paths))
	for _, p := range paths {
		df, err := table.FileToDataFile(ctx, wfs, p, tbl.Schema(), tbl.Spec(), 0, tbl.Properties())
		if err != nil {
			removeAll(wfs, paths)
			return nil, nil, fmt.Errorf("iceberg: %s: data file %s: %w", t.Name(), p, err)
		}
		files = append(files, df)
	}
	return files, paths, nil
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
		data, err := t.encodeFile(b, rows, groups[k])
		if err != nil {
			removeAll(wfs, paths)
			return nil, fmt.Errorf("iceberg: %s: encode rows: %w", t.Name(), err)
		}
		if err := wfs.WriteFile(p, data); err != nil {
			removeAll(wfs, paths)
			return nil, fmt.Errorf("iceberg: %s: write %s: %w", t.Name(), p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// zstdCodec is shared by every file: a zstd.Codec pools its encoders, and
// a new Codec per file built a new encoder (several MiB of tables) for
// each one.
var zstdCodec = &zstd.Codec{}

// encodeFile encodes rows[idx...] as one Parquet file.
func (t *Table[T]) encodeFile(b *binding, rows []T, idx []int) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, b.pschema, parquet.Compression(zstdCodec),
		parquet.MaxRowsPerRowGroup(t.opts.RowGroupSize))
	// The batch's rows are reused once written: WriteRows copies them.
	batch := make([]parquet.Row, 0, 256)
	for n, i := range idx {
		k := len(batch)
		batch = batch[:k+1]
		batch[k] = b.encode(batch[k][:0], reflect.ValueOf(&rows[i]).Elem())
		if len(batch) == cap(batch) || n == len(idx)-1 {
			if _, err := w.WriteRows(batch); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// commit commits files with stage. A conflict with another writer (or an
// error after which the table moved on) is staged again on the new state,
// up to MaxCommitAttempts; whether an attempt whose outcome is unknown
// landed is told by its CommitIDProperty.
func (t *Table[T]) commit(ctx context.Context, files []ice.DataFile, stage stageFunc) (*Commit, error) {
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
		if err := stage(ctx, base, tx, files, props); err != nil {
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) {
				return nil, err
			}
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
