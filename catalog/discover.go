package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake"
)

// DiscoverOptions tune Discover. A nil *DiscoverOptions means defaults.
type DiscoverOptions struct {
	// MaxSchemaFiles bounds how many files' footers are read to infer the
	// schema (spread over the partitions: the first file of each partition
	// first). Default 100; negative means every file.
	MaxSchemaFiles int
	// Concurrency bounds parallel footer reads. Default 8.
	Concurrency int
}

// Discovered is what Discover found under a prefix: a table definition
// (schema version 1) and its partitions.
type Discovered struct {
	Table      *Table
	Partitions []Partition
	// Files is the number of Parquet files found; SchemaFiles how many of
	// them had their footer read.
	Files, SchemaFiles int
}

type discoveredFile struct {
	key    string
	dir    string // relative partition path, "" when unpartitioned
	values []string
}

// Discover does locally what a Glue crawler does: it lists the Parquet
// files under prefix in store, reads their footers (only the footer: a
// ranged read of each file's tail through lake.Store.OpenReader) and infers
// the table's columns (ColumnOfNode maps the Parquet types), and reads the
// partitions from Hive-style "key=value" directories (lake.ParsePartitionPath).
// A partition key's type is int (or bigint) when every value is an
// integer, date when every value is YYYY-MM-DD, else string. Files and
// directories whose names start with "_" or "." (commit logs, _SUCCESS
// markers) are skipped. Columns that disagree between files are widened
// when one type widens to the other and refused otherwise; columns missing
// from some files become nullable; a file column named like a partition
// key is dropped (the path's value wins, as in Hive).
//
// database and table name the table for registration (see Register); its
// Location is store.Location(prefix + "/").
func Discover(ctx context.Context, store *lake.Store, prefix, database, table string, opts *DiscoverOptions) (*Discovered, error) {
	var o DiscoverOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxSchemaFiles == 0 {
		o.MaxSchemaFiles = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if err := nameErr(lake.KindDatabase, database); err != nil {
		return nil, err
	}
	if err := nameErr(lake.KindTable, table); err != nil {
		return nil, err
	}
	prefix = strings.Trim(prefix, "/")
	listPrefix := ""
	if prefix != "" {
		listPrefix = prefix + "/"
	}
	files, keyNames, err := listDiscovered(ctx, store, prefix, listPrefix)
	if err != nil {
		return nil, err
	}
	d := &Discovered{Files: len(files)}
	keys, err := discoverPartitions(d, store, listPrefix, files, keyNames)
	if err != nil {
		return nil, err
	}
	sample := schemaSample(files, o.MaxSchemaFiles)
	schemas, err := footerSchemas(ctx, store, sample, o.Concurrency)
	if err != nil {
		return nil, err
	}
	d.SchemaFiles = len(sample)
	cols, err := mergeColumns(sample, schemas, keyNames)
	if err != nil {
		return nil, err
	}
	d.Table = &Table{
		Database: database, Name: table, Location: store.Location(listPrefix), Format: FormatParquet,
		Schema: Schema{Version: 1, Columns: cols, PartitionKeys: keys},
	}
	if err := ValidateTable(d.Table); err != nil {
		return nil, fmt.Errorf("discover %s: %w", prefix, err)
	}
	return d, nil
}

// listDiscovered lists the Parquet files under listPrefix (skipping
// folders and files whose names start with _ or .) with their Hive
// partition values, and the partition key names every file must share.
func listDiscovered(ctx context.Context, store *lake.Store, prefix, listPrefix string) ([]discoveredFile, []string, error) {
	var files []discoveredFile
	var keyNames []string
	for e, err := range store.List(ctx, listPrefix, nil) {
		if err != nil {
			return nil, nil, err
		}
		rel := strings.TrimPrefix(e.Key, listPrefix)
		segs := strings.Split(rel, "/")
		if slices.ContainsFunc(segs, func(s string) bool { return strings.HasPrefix(s, "_") || strings.HasPrefix(s, ".") }) {
			continue
		}
		if !strings.HasSuffix(strings.ToLower(segs[len(segs)-1]), ".parquet") {
			continue
		}
		dir := strings.Join(segs[:len(segs)-1], "/")
		part, err := lake.ParsePartitionPath(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: discover %s: file %s: %v", ErrInvalid, prefix, e.Key, err)
		}
		names := make([]string, len(part))
		for i, kv := range part {
			names[i] = kv.Key
		}
		if len(files) == 0 {
			keyNames = names
		} else if !slices.Equal(keyNames, names) {
			return nil, nil, fmt.Errorf("%w: discover %s: file %s is under partition keys %v, earlier files under %v", ErrInvalid, prefix, e.Key, names, keyNames)
		}
		files = append(files, discoveredFile{key: e.Key, dir: dir, values: part.Values()})
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("%w: discover: no Parquet files under %q", ErrInvalid, prefix)
	}
	return files, keyNames, nil
}

// discoverPartitions fills d.Partitions (one per folder, sorted) and
// returns the partition key columns with the types their values suggest.
func discoverPartitions(d *Discovered, store *lake.Store, listPrefix string, files []discoveredFile, keyNames []string) ([]Column, error) {
	seen := map[string]bool{}
	keyVals := make([][]string, len(keyNames))
	for _, f := range files {
		if len(keyNames) == 0 || seen[f.dir] {
			continue
		}
		seen[f.dir] = true
		for i, v := range f.values {
			keyVals[i] = append(keyVals[i], v)
		}
		d.Partitions = append(d.Partitions, Partition{Values: f.values, Location: store.Location(listPrefix + f.dir + "/")})
	}
	var keys []Column
	for i, name := range keyNames {
		if err := nameErr(lake.KindPartition, name); err != nil {
			return nil, err
		}
		keys = append(keys, Column{Name: name, Type: inferKeyType(keyVals[i]), Required: true})
	}
	sortPartitions(keys, d.Partitions)
	return keys, nil
}

// schemaSample picks the files whose footers give the schema: the first
// file of each partition first, then others, up to max (< 0: all).
func schemaSample(files []discoveredFile, max int) []discoveredFile {
	sample := make([]discoveredFile, 0, len(files))
	firsts := map[string]bool{}
	for _, f := range files {
		if !firsts[f.dir] {
			firsts[f.dir] = true
			sample = append(sample, f)
		}
	}
	for _, f := range files {
		if !slices.ContainsFunc(sample, func(s discoveredFile) bool { return s.key == f.key }) {
			sample = append(sample, f)
		}
		if max > 0 && len(sample) >= max {
			break
		}
	}
	if max > 0 && len(sample) > max {
		sample = sample[:max]
	}
	return sample
}

// footerSchemas reads the columns of each sampled file's footer,
// concurrency at a time.
func footerSchemas(ctx context.Context, store *lake.Store, sample []discoveredFile, concurrency int) ([][]Column, error) {
	schemas := make([][]Column, len(sample))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(concurrency)
	for i, f := range sample {
		eg.Go(func() error {
			cols, err := footerColumns(ectx, store, f.key)
			schemas[i] = cols
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return schemas, nil
}

func inferKeyType(vals []string) string {
	allInt, allDate, fits32 := true, true, true
	for _, v := range vals {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			allInt = false
		} else if int64(int32(n)) != n {
			fits32 = false
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			allDate = false
		}
	}
	switch {
	case len(vals) == 0:
		return KindString
	case allInt && fits32:
		return KindInt
	case allInt:
		return KindBigint
	case allDate:
		return KindDate
	}
	return KindString
}

func footerColumns(ctx context.Context, store *lake.Store, key string) ([]Column, error) {
	r, err := store.OpenReader(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%w: discover: %s is not a readable Parquet file: %v", ErrInvalid, key, err)
	}
	var cols []Column
	for _, field := range f.Schema().Fields() {
		c, err := ColumnOfNode(field.Name(), field)
		if err != nil {
			return nil, fmt.Errorf("discover: file %s: %w", key, err)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

func mergeColumns(files []discoveredFile, schemas [][]Column, keyNames []string) ([]Column, error) {
	var out []Column
	from := map[string]string{} // column -> file that set its type
	count := map[string]int{}
	for i, cols := range schemas {
		for _, c := range cols {
			if slices.Contains(keyNames, c.Name) {
				continue
			}
			if err := nameErr(lake.KindColumn, c.Name); err != nil {
				return nil, fmt.Errorf("discover: file %s: %w", files[i].key, err)
			}
			count[c.Name]++
			j := slices.IndexFunc(out, func(o Column) bool { return o.Name == c.Name })
			if j < 0 {
				if i > 0 {
					c.Required = false
				}
				out = append(out, c)
				from[c.Name] = files[i].key
				continue
			}
			if out[j].Type == c.Type {
				out[j].Required = out[j].Required && c.Required
				continue
			}
			a, err1 := ParseType(out[j].Type)
			b, err2 := ParseType(c.Type)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			switch {
			case widens(a, b):
				out[j].Type = c.Type
				from[c.Name] = files[i].key
			case widens(b, a):
			default:
				return nil, fmt.Errorf("%w: discover: column %q is %s in %s but %s in %s", ErrInvalid, c.Name, out[j].Type, from[c.Name], c.Type, files[i].key)
			}
			out[j].Required = out[j].Required && c.Required
		}
	}
	for j := range out {
		if count[out[j].Name] < len(schemas) {
			out[j].Required = false
		}
	}
	return out, nil
}

// RegisterOptions shape Discovered.Register. A nil *RegisterOptions means
// defaults.
type RegisterOptions struct {
	// CreateDatabase creates the database when it does not exist.
	CreateDatabase bool
	// Force applies schema changes the evolution rules refuse.
	Force bool
}

// Register records a discovery in cat: it creates the table, or, when the
// table exists, evolves its schema (keeping existing columns and their
// metadata, adding new columns as nullable, widening types; refused changes
// fail with ErrIncompatibleSchema unless forced), then adds the partitions
// (existing ones are left as they are).
func (d *Discovered) Register(ctx context.Context, cat Catalog, opts *RegisterOptions) error {
	var o RegisterOptions
	if opts != nil {
		o = *opts
	}
	t := d.Table
	if o.CreateDatabase {
		if err := cat.CreateDatabase(ctx, Database{Name: t.Database}); err != nil && !errors.Is(err, ErrExists) {
			return err
		}
	}
	cur, err := cat.GetTable(ctx, t.Database, t.Name)
	switch {
	case errors.Is(err, ErrNoSuchTable):
		nt := cloneTable(t)
		if err := cat.CreateTable(ctx, nt); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		next := cloneTable(cur)
		next.Schema.PartitionKeys = cloneColumns(t.Schema.PartitionKeys)
		for i, c := range next.Schema.PartitionKeys {
			if j := slices.IndexFunc(cur.Schema.PartitionKeys, func(x Column) bool { return x.Name == c.Name }); j >= 0 && cur.Schema.PartitionKeys[j].Type == c.Type {
				next.Schema.PartitionKeys[i] = cur.Schema.PartitionKeys[j]
			}
		}
		for _, c := range t.Schema.Columns {
			j := slices.IndexFunc(next.Schema.Columns, func(x Column) bool { return x.Name == c.Name })
			if j < 0 {
				c.Required = false
				next.Schema.Columns = append(next.Schema.Columns, c)
				continue
			}
			et, err1 := ParseType(next.Schema.Columns[j].Type)
			dt, err2 := ParseType(c.Type)
			if err1 == nil && err2 == nil && widens(dt, et) {
				continue // the files hold nothing wider than the table
			}
			next.Schema.Columns[j].Type = c.Type // a widening, or a change CheckEvolution refuses
		}
		if err := cat.UpdateTable(ctx, next, &UpdateOptions{Force: o.Force}); err != nil {
			return err
		}
	}
	return cat.AddPartitions(ctx, t.Database, t.Name, d.Partitions)
}
