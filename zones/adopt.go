package zones

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/parquetx"
	"github.com/lakekit/lakekit/lake"
)

// AddFilesOptions configure AddFiles. A nil *AddFilesOptions means an
// append whose idempotency key is a digest of the file set.
type AddFilesOptions struct {
	// Mode: Append (default), OverwritePartitions or Overwrite, as for a
	// writer.
	Mode Mode
	// IdempotencyKey decides whether this adoption repeats one already
	// committed (see WriterOptions.IdempotencyKey). Default: "adopt:" and a
	// digest of the locations, sizes and ETags of the files and the mode,
	// so adopting the same files again is a Duplicate.
	IdempotencyKey string
	// Partition gives the partition values of files whose path carries no
	// key=value folders for the table's partition keys.
	Partition lake.Partition
	// Metadata is recorded in the commit (Commit.Metadata).
	Metadata map[string]string
	// Caller names who commits (see WriterOptions.Caller).
	Caller string
	// MaxAttempts bounds the retries after losing the race for a version
	// (default 100).
	MaxAttempts int
}

// AddFiles commits existing Parquet files into the table in one atomic
// commit: the door through which other engines' output (Athena UNLOAD and
// CTAS, Redshift's data lake export, Glue and Spark jobs, DuckDB COPY)
// becomes part of a lakekit table without passing through a Go process.
//
// Each location is a URL ("s3://bucket/key", "file:///dir/key") or a key
// relative to the table's zone. Before anything is committed, every file's
// footer is checked against the dataset's schema: each stored column of
// the file must be a column of the table with the same name (lakekit reads
// Parquet columns by exact name) and the same type, and nested shapes must
// be equal; a table column the file lacks must be nullable; a nullable file
// column that a Required table column reads must hold no NULL; legacy INT96
// timestamps are refused (lakekit and Athena disagree on their time zone;
// write TIMESTAMP_MICROS). A file that does not fit is refused with an
// error wrapping ErrSchema that names the file and the column, and nothing
// is committed. A file column named like a partition key is ignored: the
// path's value wins, as in Hive.
//
// Partition values come from the trailing key=value folders of each
// file's path, else from opts.Partition. Files already in the folder their
// partition reads (inside the table's prefix, visible to Athena) are
// committed where they are (an append only). So are files in a generation
// folder of the table ("<table>/_<name>/<partition>/", GenerationFolder:
// where fan-out workers write partitions the table does not have yet) when
// the commit gives their partition a new location — a partition new to
// the table, or one an overwrite replaces — and the folder holds nothing
// else Athena would read: the partition's location becomes that folder,
// and nothing is moved or copied. Files in the table's own
// staging folder (StagingDir: where fan-out workers leave their output) are
// taken over as they are: the commit moves them into place, as it does a
// writer's staged files, so the caller must not delete them afterwards;
// committing one that another version already took over is ErrConflict.
// Every other file is copied into the table's layout first (server side
// on S3) and its source is left as it was. Files are inspected, copied and
// moved up to 16 at once. Statistics for pruning come from the footers.
//
// The outcome is the one of Writer.Commit: committed (a result, and an
// error wrapping ErrCatalog when only publishing failed), not committed
// (copies removed, nothing else touched), or ErrCommitUnknown.
func (d *Dataset[T]) AddFiles(ctx context.Context, locations []string, opts *AddFilesOptions) (*CommitResult, error) {
	if err := d.unsupported("AddFiles"); err != nil {
		return nil, err
	}
	var o AddFilesOptions
	if opts != nil {
		o = *opts
	}
	t := d.table
	if len(locations) == 0 {
		return nil, fmt.Errorf("zones: add files to %s: no files given: %w", t.prefix, ErrInvalid)
	}
	if o.Partition != nil {
		if err := o.Partition.Validate(); err != nil {
			return nil, fmt.Errorf("zones: add files to %s: %w: %w", t.prefix, ErrInvalid, err)
		}
	}
	files, closeAll, err := d.inspect(ctx, locations, o.Partition)
	defer closeAll()
	if err != nil {
		return nil, err
	}
	if o.IdempotencyKey == "" {
		o.IdempotencyKey = adoptKey(files, o.Mode)
	}
	tx, err := t.Begin(ctx, &TxOptions{Mode: o.Mode, IdempotencyKey: o.IdempotencyKey, Metadata: o.Metadata,
		Caller: o.Caller, MaxAttempts: o.MaxAttempts, PartitionKeys: d.partKeys, Schema: d.columns})
	if err != nil {
		return nil, err
	}
	if err := d.checkCatalog(ctx, tx); err != nil {
		return nil, err
	}
	gen, err := tx.generationFolders(ctx, files)
	if err != nil {
		tx.Abort(ctx)
		return nil, fmt.Errorf("zones: add files to %s: nothing committed: %w", t.prefix, err)
	}
	dfs, err := tx.adoptAll(ctx, files, gen)
	if err != nil {
		tx.Abort(ctx)
		return nil, fmt.Errorf("zones: add files to %s: nothing committed: %w", t.prefix, err)
	}
	for _, df := range dfs {
		tx.Add(df)
	}
	var publish func(context.Context) error
	if d.opts.Catalog != nil {
		publish = d.syncCatalog
	}
	return tx.Commit(ctx, publish)
}

// adoptee is a file AddFiles was given, inspected.
type adoptee struct {
	loc   string      // as given
	src   *lake.Store // the store it is read from
	key   string      // its key in src
	attrs *lake.Attributes
	df    DataFile // partition, rows, size and stats; Key unset
}

// inspect resolves, stats and checks every file; nothing is written.
func (d *Dataset[T]) inspect(ctx context.Context, locations []string, given lake.Partition) ([]*adoptee, func(), error) {
	var opened []*lake.Store
	closeAll := func() {
		for _, s := range opened {
			s.Close()
		}
	}
	seen := map[string]bool{}
	var out []*adoptee
	for _, loc := range locations {
		src, key, own, err := d.resolve(ctx, loc)
		if err != nil {
			return nil, closeAll, err
		}
		if own {
			opened = append(opened, src)
		}
		id := src.Location(key)
		if seen[id] {
			return nil, closeAll, fmt.Errorf("zones: add files to %s: %s is given twice: %w", d.table.prefix, loc, ErrInvalid)
		}
		seen[id] = true
		out = append(out, &adoptee{loc: loc, src: src, key: key})
	}
	// the footers are read in parallel: a fan-out commit adopts thousands
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(adoptParallelism)
	for _, a := range out {
		g.Go(func() error { return d.inspectOne(gctx, a, given) })
	}
	if err := g.Wait(); err != nil {
		return nil, closeAll, err
	}
	return out, closeAll, nil
}

// adoptParallelism bounds the files AddFiles stats, checks and copies at
// once, and the moves of a commit's staged files.
const adoptParallelism = 16

// inspectOne stats and checks one resolved file.
func (d *Dataset[T]) inspectOne(ctx context.Context, a *adoptee, given lake.Partition) error {
	var err error
	if a.attrs, err = a.src.Stat(ctx, a.key); err != nil {
		return fmt.Errorf("zones: add files to %s: %s: %w", d.table.prefix, a.loc, err)
	}
	if a.df.Partition, err = d.partitionOfPath(pathOf(a.loc), given); err != nil {
		return fmt.Errorf("zones: add files to %s: file %s: %w", d.table.prefix, a.loc, err)
	}
	if err := d.checkFile(ctx, a); err != nil {
		return fmt.Errorf("zones: add files to %s: file %s: %w", d.table.prefix, a.loc, err)
	}
	return nil
}

// resolve maps a location to a store and a key in it: the table's zone, the
// lake's root, or (own: the caller closes it) a store opened for a location
// outside the lake.
func (d *Dataset[T]) resolve(ctx context.Context, loc string) (s *lake.Store, key string, own bool, err error) {
	t := d.table
	if !strings.Contains(loc, "://") {
		if err := lake.ValidateKey(loc); err != nil {
			return nil, "", false, fmt.Errorf("zones: add files to %s: %q is neither a URL nor a key in the zone: %w: %w", t.prefix, loc, ErrInvalid, err)
		}
		return t.store, loc, false, nil
	}
	for _, s := range []*lake.Store{t.store, t.lk.Store()} {
		if rest, ok := strings.CutPrefix(loc, s.Location("")); ok && rest != "" {
			return s, rest, false, nil
		}
	}
	dir, name := path.Split(loc)
	if name == "" {
		return nil, "", false, fmt.Errorf("zones: add files to %s: %q names a folder, not a file: %w", t.prefix, loc, ErrInvalid)
	}
	s, err = lake.OpenStore(ctx, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, "", false, fmt.Errorf("zones: add files to %s: open %s: %w", t.prefix, dir, err)
	}
	return s, name, true, nil
}

// partitionOfPath reads the table's partition values from the trailing
// key=value folders of key, else takes given.
func (d *Dataset[T]) partitionOfPath(key string, given lake.Partition) (lake.Partition, error) {
	if len(d.partKeys) == 0 {
		if given != nil {
			return nil, fmt.Errorf("the table has no partition keys, the options give %s: %w", given, ErrInvalid)
		}
		return nil, nil
	}
	segs := strings.Split(path.Dir(key), "/")
	i := len(segs)
	for i > 0 && strings.Contains(segs[i-1], "=") {
		i--
	}
	var fromPath lake.Partition
	if i < len(segs) {
		p, err := lake.ParsePartitionPath(strings.Join(segs[i:], "/"))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, k := range d.partKeys {
			if v, ok := p.Get(k); ok {
				fromPath = append(fromPath, lake.KV{Key: k, Value: v})
			}
		}
		if len(fromPath) != len(d.partKeys) {
			fromPath = nil
		}
	}
	switch {
	case fromPath != nil && given != nil && fromPath.HivePath() != given.HivePath():
		return nil, fmt.Errorf("the path says partition %s, the options %s: %w", fromPath, given, ErrInvalid)
	case fromPath != nil:
		return fromPath, nil
	case given == nil:
		return nil, fmt.Errorf("no partition values: the path has no %s folders and AddFilesOptions.Partition is not set: %w", strings.Join(d.partKeys, "=…/")+"=…", ErrInvalid)
	}
	if len(given) != len(d.partKeys) {
		return nil, fmt.Errorf("AddFilesOptions.Partition %s does not give the table's partition keys %v: %w", given, d.partKeys, ErrInvalid)
	}
	for i, k := range d.partKeys {
		if given[i].Key != k {
			return nil, fmt.Errorf("AddFilesOptions.Partition %s does not give the table's partition keys %v in order: %w", given, d.partKeys, ErrInvalid)
		}
	}
	return given, nil
}

// checkFile reads a file's footer and checks its columns against the
// table's, filling in rows, size and statistics.
func (d *Dataset[T]) checkFile(ctx context.Context, a *adoptee) error {
	r, err := a.src.OpenReader(ctx, a.key, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := parquetx.CheckFooter(r, r.Size()); err != nil {
		return fmt.Errorf("not a Parquet file: %w: %w", ErrInvalid, err)
	}
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("not a readable Parquet file: %w: %w", ErrInvalid, err)
	}
	if err := d.checkColumns(f); err != nil {
		return err
	}
	md := f.Metadata()
	if err := invalidParquet(parquetx.CheckCodecs(md)); err != nil {
		return err
	}
	a.df.Rows, a.df.Size = f.NumRows(), r.Size()
	a.df.Stats = fileStats(f.Schema(), md)
	return nil
}

// checkColumns applies AddFiles' schema rules to a file's columns.
func (d *Dataset[T]) checkColumns(f *parquet.File) error {
	want := map[string]Column{}
	for _, c := range d.columns {
		want[c.Name] = c
	}
	found := map[string]bool{}
	for i, field := range f.Schema().Fields() {
		name := field.Name()
		if slices.Contains(d.partKeys, name) {
			continue // the path's value wins, as in Hive
		}
		c, ok := want[name]
		if !ok {
			for _, w := range d.columns {
				if strings.EqualFold(w.Name, name) {
					return fmt.Errorf("column %q: the table's column is %q (lakekit reads Parquet columns by exact name): %w", name, w.Name, ErrSchema)
				}
			}
			return fmt.Errorf("column %q is not a column of the table (columns %s): %w", name, columnNames(d.columns), ErrSchema)
		}
		found[name] = true
		if field.Leaf() && field.Type().Kind() == parquet.Int96 {
			return fmt.Errorf("column %q is a legacy INT96 timestamp; write it as TIMESTAMP_MICROS (Athena UNLOAD/CTAS and Spark can: see the docs of zones.AddFiles): %w", name, ErrSchema)
		}
		fc, err := catalog.ColumnOfNode(name, field)
		if err != nil {
			return fmt.Errorf("column %q: %w: %w", name, ErrSchema, err)
		}
		ft, err1 := catalog.CanonicalType(fc.Type)
		tt, err2 := catalog.CanonicalType(c.Type)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("column %q: %w: %w", name, ErrSchema, err)
		}
		if ft != tt {
			return fmt.Errorf("column %q is %s in the file, %s in the table: %w", name, ft, tt, ErrSchema)
		}
		if c.Required && !fc.Required {
			n, err := nullsIn(f, i)
			if err != nil {
				return fmt.Errorf("column %q: counting NULLs: %w", name, err)
			}
			if n > 0 {
				return fmt.Errorf("column %q holds %d NULLs, the table's column is required (a non-pointer field): %w", name, n, ErrSchema)
			}
		}
	}
	for _, c := range d.columns {
		if !found[c.Name] && c.Required {
			return fmt.Errorf("column %q is missing from the file and is required in the table: %w", c.Name, ErrSchema)
		}
	}
	return nil
}

func columnNames(cs []Column) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// nullsIn counts the NULLs of the top-level field i of a file by reading
// its pages' definition levels (statistics may omit null counts).
func nullsIn(f *parquet.File, field int) (int64, error) {
	leaf := -1
	for i, p := range f.Schema().Columns() {
		if p[0] == f.Schema().Fields()[field].Name() {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return 0, nil
	}
	var n int64
	for _, rg := range f.RowGroups() {
		pages := rg.ColumnChunks()[leaf].Pages()
		for {
			p, err := pages.ReadPage()
			if err == io.EOF {
				break
			}
			if err != nil {
				pages.Close()
				return 0, err
			}
			n += p.NumNulls()
			parquet.Release(p)
		}
		pages.Close()
	}
	return n, nil
}

// adoptKey is the default idempotency key of an adoption: the files'
// locations, sizes and ETags, and the mode.
func adoptKey(files []*adoptee, mode Mode) string {
	lines := make([]string, len(files))
	for i, f := range files {
		lines[i] = fmt.Sprintf("%s\t%d\t%s", f.src.Location(f.key), f.attrs.Size, f.attrs.ETag)
	}
	sort.Strings(lines)
	h := sha256.New()
	io.WriteString(h, mode.String()+"\n")
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return "adopt:" + hex.EncodeToString(h.Sum(nil))[:48]
}

// lakekitName matches the data files lakekit's transactions name
// (Tx.FileKey: "part-<attempt>-<n>.parquet").
var lakekitName = regexp.MustCompile(`^part-[0-9a-f]{20}-[0-9]{5}\.parquet$`)

// WrittenByLakekit reports whether an object under a table (a key or a
// file name) is named as lakekit's transactions name data files. Vacuum
// deletes such a file once no commit needs it; any other object no commit
// references is foreign (VacuumResult.Foreign): kept, for AddFiles to
// adopt or its owner to remove.
func WrittenByLakekit(key string) bool { return lakekitName.MatchString(path.Base(key)) }

// adoptAll places every inspected file in the transaction (adopt), up to
// adoptParallelism at once, and returns their DataFiles in order.
func (tx *Tx) adoptAll(ctx context.Context, files []*adoptee, gen map[string]string) ([]DataFile, error) {
	dfs := make([]DataFile, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(adoptParallelism)
	for i, f := range files {
		g.Go(func() (err error) {
			dfs[i], err = tx.adopt(gctx, f, gen)
			return err
		})
	}
	return dfs, g.Wait()
}

// adopt places one inspected file in the transaction: where it is, when it
// already lies in the folder its partition reads (an append only) or in
// the generation folder gen names for its partition (generationFolders);
// taken over as it is, when it lies in the table's staging folder (a
// fan-out worker's output: the commit moves it into place, as a writer's
// staged file); else copied to a name of this attempt.
func (tx *Tx) adopt(ctx context.Context, a *adoptee, gen map[string]string) (DataFile, error) {
	t := tx.t
	df := a.df
	p := partPath(df.Partition)
	if a.src == t.store && t.isStaging(a.key) {
		df.Key, _ = tx.FileKey(df.Partition)
		df.Staged = a.key
		tx.mu.Lock()
		if tx.taken == nil {
			tx.taken = map[string]bool{}
		}
		tx.taken[a.key] = true
		tx.mu.Unlock()
		return df, nil
	}
	if a.src == t.store {
		if f, ok := tx.base.files[a.key]; ok {
			return DataFile{}, fmt.Errorf("%s is already part of the table (added in version %d): %w", a.loc, f.AddedIn, ErrInvalid)
		}
		for _, ts := range tx.base.Tombstones {
			if ts.Key == a.key {
				return DataFile{}, fmt.Errorf("%s was removed from the table by an earlier commit (Vacuum deletes it): %w", a.loc, ErrInvalid)
			}
		}
		if dir := gen[p]; dir != "" && path.Dir(a.key) == dir {
			df.Key = a.key
			tx.placeAt(df.Partition, dir)
			return df, nil
		}
		if tx.opts.Mode == Append && path.Dir(a.key) == tx.inPlaceFolder(p) && VisibleUnder(t.prefix+"/", a.key) {
			df.Key = a.key
			tx.placeAt(df.Partition, path.Dir(a.key))
			return df, nil
		}
	}
	key, upload := tx.FileKey(df.Partition)
	df.Key = key
	if upload != key {
		df.Staged = upload
	}
	if tx.dup != nil {
		return df, nil
	}
	if err := t.store.Copy(ctx, upload, a.src, a.key); err != nil {
		return DataFile{}, fmt.Errorf("copy %s into the table: %w", a.loc, err)
	}
	tx.mu.Lock()
	tx.uploaded = append(tx.uploaded, upload)
	tx.mu.Unlock()
	return df, nil
}

// inPlaceFolder is the folder an appended file of partition path p may be
// committed in where it lies: the partition's location, or, for a
// partition the table does not have, its Hive folder (unless files an
// earlier commit removed wait there for Vacuum).
func (tx *Tx) inPlaceFolder(p string) string {
	if loc, ok := tx.base.Locations[p]; ok {
		return loc
	}
	def := joinKey(tx.t.prefix, p)
	if tx.newPartitionFolder(tx.base, p, tx.base.Version+1) != def {
		return "" // never equal to a file's folder
	}
	return def
}

// placeAt records that partition p's files are committed in folder dir
// where they lie (the partition's location when it is new).
func (tx *Tx) placeAt(p lake.Partition, dir string) {
	tx.Touch(p)
	tx.mu.Lock()
	if tx.place == nil {
		tx.place = map[string]string{}
	}
	tx.place[partPath(p)] = dir
	tx.mu.Unlock()
}

// pathOf is the path part of a location: a key, or a URL without its
// scheme ("bucket/prefix/k=v/file" for "s3://bucket/prefix/k=v/file").
func pathOf(loc string) string {
	if _, rest, ok := strings.Cut(loc, "://"); ok {
		return rest
	}
	return loc
}
