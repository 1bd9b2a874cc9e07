package zones

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/internal/parquetx"
	"github.com/lakekit/lakekit/internal/structtag"
	"github.com/lakekit/lakekit/lake"
)

// ReadOptions select what a read returns. A nil *ReadOptions reads every
// row and column of the newest version.
type ReadOptions struct {
	// Version is the table version to read (time travel); 0 means newest.
	// The whole read sees exactly that version.
	Version int64
	// Partitions keeps only partitions for which it returns true (see
	// PartitionIn, PartitionRange). Pruning uses the commit log; the store
	// is never listed.
	Partitions func(lake.Partition) bool
	// Where keeps only rows satisfying every predicate; files and row groups
	// whose min/max statistics rule a predicate out are not read.
	Where []Predicate
	// Columns to read (stored or partition columns); others are left zero.
	// Empty means all.
	Columns []string
	// Parallelism is how many files are read at once (default GOMAXPROCS,
	// at most 8). Whatever it is, rows arrive in file key order (and in
	// file order within a file): files read ahead wait for their turn.
	Parallelism int
	// BatchSize is the number of rows per batch (default 4096). Every batch
	// ReadBatches hands over holds exactly BatchSize rows, taken across
	// files as needed, except the last, which holds the rest.
	BatchSize int
	// Files, when set, keeps only the data files for which it returns true
	// (a transform reading just the files it has not consumed yet).
	Files func(DataFile) bool
}

// PartitionIn keeps partitions whose key has one of values.
func PartitionIn(key string, values ...string) func(lake.Partition) bool {
	set := map[string]bool{}
	for _, v := range values {
		set[v] = true
	}
	return func(p lake.Partition) bool {
		v, ok := p.Get(key)
		return ok && set[v]
	}
}

// PartitionRange keeps partitions whose value of key lies in [from, to]
// compared as strings (right for ISO dates like dt=2024-01-31); an empty
// bound is open.
func PartitionRange(key, from, to string) func(lake.Partition) bool {
	return func(p lake.Partition) bool {
		v, ok := p.Get(key)
		return ok && (from == "" || v >= from) && (to == "" || v <= to)
	}
}

// colInfo describes a column a read can refer to.
type colInfo struct {
	kind      string
	partition bool
	goName    string
	index     []int
}

// columnsOf maps column names to what a read needs to know of them. Stored
// columns find their Go field through the shared tag grammar
// (internal/structtag), so fields of embedded structs are found too.
func (d *Dataset[T]) columnsOf() map[string]colInfo {
	m := map[string]colInfo{}
	byName := map[string]structtag.Field{}
	// The row type was checked by NewDataset; an error cannot happen here.
	fields, _ := structtag.Fields(reflect.TypeFor[T]())
	for _, f := range fields {
		if f.Stored {
			byName[f.Name] = f
		}
	}
	for _, f := range d.schema.Fields() {
		sf := byName[f.Name()]
		m[f.Name()] = colInfo{kind: leafKind(f), goName: sf.GoName(), index: sf.Index}
	}
	for _, k := range d.partKeys {
		ci := colInfo{kind: kindString, partition: true}
		for _, pf := range d.partFields {
			if pf.key == k {
				ci.goName, ci.index = pf.goName, pf.index
				ci.kind = partKind(pf.typ)
				if pf.typ == reflect.TypeOf(time.Time{}) {
					ci.kind = kindString // a date partition: YYYY-MM-DD compares as text
				}
			}
		}
		m[k] = ci
	}
	return m
}

func partKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindUint
	}
	return kindString
}

// plan is a prepared read.
type plan struct {
	files     []DataFile
	stored    []compiled // predicates on stored columns
	fieldIdx  [][]int    // field index per stored predicate
	readOpts  []parquet.ReaderOption
	legacy    []parquet.ReaderOption // for files with bare repeated fields (readOptionsFor)
	needed    map[string]bool        // stored columns read
	batch     int
	parallel  int
	partition map[string]colInfo
}

func (d *Dataset[T]) plan(ctx context.Context, opts *ReadOptions) (*plan, error) {
	var o ReadOptions
	if opts != nil {
		o = *opts
	}
	st, err := d.table.stateAt(ctx, o.Version)
	if err != nil {
		return nil, err
	}
	cols := d.columnsOf()
	p := &plan{batch: o.BatchSize, parallel: o.Parallelism, needed: map[string]bool{}, partition: map[string]colInfo{}}
	if p.batch <= 0 {
		p.batch = 4096
	}
	if p.parallel <= 0 {
		p.parallel = min(runtime.GOMAXPROCS(0), 8)
	}
	var partPreds []compiled
	for _, w := range o.Where {
		ci, ok := cols[w.Column]
		if !ok {
			return nil, fmt.Errorf("zones: read %s: predicate on unknown column %q: %w", d.table.prefix, w.Column, ErrInvalid)
		}
		if ci.kind == "" {
			return nil, fmt.Errorf("zones: read %s: column %q has a type predicates can't compare: %w", d.table.prefix, w.Column, ErrInvalid)
		}
		c, err := compile(w, ci.kind)
		if err != nil {
			return nil, fmt.Errorf("zones: read %s: %w", d.table.prefix, err)
		}
		if ci.partition {
			partPreds = append(partPreds, c)
		} else {
			p.stored = append(p.stored, c)
			p.fieldIdx = append(p.fieldIdx, ci.index)
			p.needed[w.Column] = true
		}
	}
	all := len(o.Columns) == 0
	want := map[string]bool{}
	for _, c := range o.Columns {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("zones: read %s: unknown column %q: %w", d.table.prefix, c, ErrInvalid)
		}
		want[c] = true
	}
	var readOpts []parquet.ReaderOption
	for _, t := range d.tagOpts {
		readOpts = append(readOpts, t)
	}
	// Files written before every slice became a LIST are read with T's
	// plain parquet-go schema (what wrote them), less the same columns.
	for _, pf := range d.partFields {
		p.legacy = append(p.legacy, parquet.StructTag(`parquet:"-"`, pf.goName))
	}
	for _, f := range d.schema.Fields() {
		name := f.Name()
		if all || want[name] || p.needed[name] {
			p.needed[name] = true
			continue
		}
		skip := parquet.StructTag(`parquet:"-"`, cols[name].goName)
		readOpts = append(readOpts, skip)
		p.legacy = append(p.legacy, skip)
	}
	p.readOpts = readOpts
	for _, pf := range d.partFields {
		if all || want[pf.key] {
			p.partition[pf.key] = cols[pf.key]
		}
	}
	for _, f := range st.sortedFiles() {
		if o.Partitions != nil && !o.Partitions(f.Partition) {
			continue
		}
		if o.Files != nil && !o.Files(f) {
			continue
		}
		if !partitionMatches(f.Partition, partPreds) {
			continue
		}
		if !statsMatch(f.Stats, f.Rows, p.stored) {
			continue
		}
		f.Location = d.table.store.Location(f.Key)
		p.files = append(p.files, f)
	}
	return p, nil
}

// readOptionsFor returns the reader options for a file with schema s:
// p.readOpts, or p.legacy when s holds bare repeated fields (lakekit wrote
// slices that way before it wrote LISTs; parquet-go would read them empty).
func (p *plan) readOptionsFor(s *parquet.Schema) []parquet.ReaderOption {
	if structtag.HasBareRepeated(s) {
		return p.legacy
	}
	return p.readOpts
}

func partitionMatches(part lake.Partition, preds []compiled) bool {
	for i := range preds {
		v, ok := part.Get(preds[i].p.Column)
		if !ok {
			return false
		}
		s, err := parseScalar(preds[i].kind, v)
		if err != nil || !preds[i].match(s) {
			return false
		}
	}
	return true
}

func statsMatch(stats []ColumnStats, rows int64, preds []compiled) bool {
	for i := range preds {
		var cs *ColumnStats
		for j := range stats {
			if stats[j].Column == preds[i].p.Column {
				cs = &stats[j]
				break
			}
		}
		if !preds[i].mayMatchStats(cs, rows) {
			return false
		}
	}
	return true
}

// Files returns the files a read with opts would open (after partition and
// statistics pruning), for engines that read the files themselves.
func (d *Dataset[T]) Files(ctx context.Context, opts *ReadOptions) ([]DataFile, error) {
	p, err := d.plan(ctx, opts)
	if err != nil {
		return nil, err
	}
	return p.files, nil
}

// Read returns the rows of a snapshot as an iterator. A failure ends the
// sequence with (zero, err). Stopping early cancels the reads in flight.
func (d *Dataset[T]) Read(ctx context.Context, opts *ReadOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		stopped := false
		err := d.ReadBatches(ctx, opts, func(rows []T) error {
			for i := range rows {
				if !yield(rows[i], nil) {
					stopped = true
					return errStop
				}
			}
			return nil
		})
		if err != nil && !stopped {
			var zero T
			yield(zero, err)
		}
	}
}

var errStop = errors.New("zones: iteration stopped")

// ReadAll collects a read into a slice.
func (d *Dataset[T]) ReadAll(ctx context.Context, opts *ReadOptions) ([]T, error) {
	var out []T
	err := d.ReadBatches(ctx, opts, func(rows []T) error {
		out = append(out, rows...)
		return nil
	})
	return out, err
}

// ReadBatches calls fn with batches of rows of a snapshot, from the calling
// goroutine, one batch at a time: each batch holds BatchSize rows (the last
// may hold fewer), in file key order whatever the parallelism. The slice is
// reused after fn returns, so fn must copy rows it keeps. An error from fn
// stops the read and is returned. Memory stays bounded: at most
// Parallelism+2 batches and one row group's pages per file in flight.
func (d *Dataset[T]) ReadBatches(ctx context.Context, opts *ReadOptions, fn func([]T) error) error {
	p, err := d.plan(ctx, opts)
	if err != nil {
		return err
	}
	if len(p.files) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each file sends its batches on a channel of its own; the channels are
	// drained in file order, so the order does not depend on which file
	// finishes first.
	files := make(chan chan []T, p.parallel)
	free := make(chan []T, 2*p.parallel+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.parallel)
	go func() {
		defer close(files)
		for _, f := range p.files {
			if gctx.Err() != nil {
				return
			}
			out := make(chan []T)
			g.Go(func() error {
				defer close(out)
				return d.readFile(gctx, p, f, out, free)
			})
			files <- out
		}
	}()
	var fnErr error
	deliver := func(rows []T) {
		if fnErr == nil {
			if err := fn(rows); err != nil {
				fnErr = err
				cancel()
			}
		}
	}
	acc := make([]T, 0, p.batch) // rows waiting for a full batch
	for out := range files {
		for batch := range out {
			for rows := batch; len(rows) > 0 && fnErr == nil; {
				if len(acc) == 0 && len(rows) >= p.batch {
					deliver(rows[:p.batch])
					rows = rows[p.batch:]
					continue
				}
				n := min(p.batch-len(acc), len(rows))
				acc = append(acc, rows[:n]...)
				rows = rows[n:]
				if len(acc) == p.batch {
					deliver(acc)
					acc = acc[:0]
				}
			}
			select {
			case free <- batch[:0]:
			default:
			}
		}
	}
	err = g.Wait()
	if err == nil && ctx.Err() == nil && len(acc) > 0 {
		deliver(acc)
	}
	if err != nil && fnErr == nil {
		if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if fnErr != nil {
		return fnErr
	}
	return ctx.Err()
}

// readFile reads one file's matching row groups into batches sent to out.
func (d *Dataset[T]) readFile(ctx context.Context, p *plan, df DataFile, out, free chan []T) (err error) {
	// parquet-go panics on some corrupt files; a bad file is an error here.
	defer parquetx.Recover(&err, "zones: read "+df.Key)
	r, err := d.table.openData(ctx, df)
	if err != nil {
		return err
	}
	defer r.Close()
	// The footer's magic bytes are still checked; skipping the leading ones
	// saves a read at offset 0 that would fetch a whole read-ahead block.
	// Sizes claimed by a corrupt file are checked before parquet-go allocates
	// them (pagecheck.go).
	if err := checkFooter(r, r.Size()); err != nil {
		return fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipMagicBytes(true), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
	md := f.Metadata()
	if err := checkCodecs(md); err != nil {
		return fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
	var chunk []byte // one column chunk's bytes, for parquetx.CheckChunk
	// partition values to fill in
	var sets []setter
	for key, ci := range p.partition {
		val, _ := df.Partition.Get(key)
		rv, err := parsePartitionValue(reflect.TypeOf((*T)(nil)).Elem().FieldByIndex(ci.index).Type, val)
		if err != nil {
			return fmt.Errorf("zones: read %s: partition %s=%q: %w", df.Key, key, val, err)
		}
		sets = append(sets, setter{ci.index, rv})
	}
	rgs := f.RowGroups()
	for i, rg := range rgs {
		if len(p.stored) > 0 && !statsMatch(rowGroupStats(f.Schema(), []format.RowGroup{md.RowGroups[i]}), rg.NumRows(), p.stored) {
			continue
		}
		if err := invalidParquet(checkRowGroup(r, f, md.RowGroups[i], rg.NumRows(), p.needed, &chunk)); err != nil {
			return fmt.Errorf("zones: read %s: %w", df.Key, err)
		}
		rr := parquet.NewGenericRowGroupReader[T](rg, p.readOptionsFor(f.Schema())...)
		if err := emitRows(ctx, rr, p, sets, out, free); err != nil {
			return fmt.Errorf("zones: read %s: %w", df.Key, err)
		}
	}
	return nil
}

// setter fills one partition field of every row read from a file.
type setter struct {
	index []int
	v     reflect.Value
}

// checkRowGroup prefetches the column chunks a read needs of one row group
// (one coalesced request) and checks their page headers before parquet-go
// decodes them (pagecheck.go).
func checkRowGroup(r *lake.ObjectReader, f *parquet.File, rgm format.RowGroup, rows int64, needed map[string]bool, chunk *[]byte) error {
	var ranges []lake.Range
	var check []*format.ColumnMetaData
	for _, cc := range rgm.Columns {
		if len(cc.MetaData.PathInSchema) == 0 || !needed[cc.MetaData.PathInSchema[0]] {
			continue
		}
		off, n, err := parquetx.ChunkRange(&cc.MetaData, r.Size())
		if err != nil {
			return err
		}
		ranges = append(ranges, lake.Range{Off: off, Len: n})
		check = append(check, &cc.MetaData)
	}
	if err := r.Prefetch(ranges...); err != nil {
		return err
	}
	for k, cc := range check {
		*chunk = slices.Grow((*chunk)[:0], int(ranges[k].Len))[:ranges[k].Len]
		if _, err := r.ReadAt(*chunk, ranges[k].Off); err != nil {
			return err
		}
		leaf, ok := f.Schema().Lookup(cc.PathInSchema...)
		if !ok {
			return fmt.Errorf("%w: column %s is not in the file's schema", parquetx.ErrCorrupt, strings.Join(cc.PathInSchema, "."))
		}
		if err := parquetx.CheckChunk(*chunk, cc, rows, leaf.MaxRepetitionLevel > 0); err != nil {
			return err
		}
	}
	return nil
}

// emitRows reads a row group in batches, fills in the partition fields,
// filters by the stored-column predicates and sends the batches to out.
func emitRows[T any](ctx context.Context, rr *parquet.GenericReader[T], p *plan, sets []setter, out, free chan []T) error {
	defer rr.Close()
	for {
		var buf []T
		select {
		case buf = <-free:
		default:
		}
		if cap(buf) < p.batch {
			buf = make([]T, p.batch)
		}
		buf = buf[:p.batch]
		n, err := rr.Read(buf)
		if n > 0 {
			rows := buf[:n]
			if len(sets) > 0 {
				rv := reflect.ValueOf(rows)
				for k := 0; k < n; k++ {
					row := rv.Index(k)
					for _, s := range sets {
						row.FieldByIndex(s.index).Set(s.v)
					}
				}
			}
			if len(p.stored) > 0 {
				rows = filterRows(rows, p)
			}
			if len(rows) > 0 {
				select {
				case out <- rows:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// filterRows keeps the rows matching every stored-column predicate.
func filterRows[T any](rows []T, p *plan) []T {
	rv := reflect.ValueOf(rows)
	k := 0
	for i := range rows {
		row := rv.Index(i)
		keep := true
		for j := range p.stored {
			s, ok := scalarOf(p.stored[j].kind, row.FieldByIndex(p.fieldIdx[j]))
			if !ok || !p.stored[j].match(s) {
				keep = false
				break
			}
		}
		if keep {
			rows[k] = rows[i]
			k++
		}
	}
	return rows[:k]
}

// Prune returns the snapshot's files that may hold rows matching a
// partition filter (nil keeps all) and predicates, for engines that read
// the files themselves. Predicates on partition keys compare the partition
// values (as integers when the constants are integers, else as text);
// predicates on stored columns use each file's min/max statistics. Nothing
// is read from the store.
func (s *Snapshot) Prune(partitions func(lake.Partition) bool, where ...Predicate) ([]DataFile, error) {
	isKey := map[string]bool{}
	for _, k := range s.PartitionKeys {
		isKey[k] = true
	}
	known := map[string]bool{}
	for _, c := range s.Schema {
		known[c.Name] = true
	}
	var partPreds []compiled
	var stored []Predicate
	for _, w := range where {
		switch {
		case isKey[w.Column]:
			kind := kindString
			if len(w.Values) > 0 {
				switch reflect.ValueOf(w.Values[0]).Kind() {
				case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
					reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
					kind = kindInt
				case reflect.Bool:
					kind = kindBool
				}
			}
			c, err := compile(w, kind)
			if err != nil {
				return nil, err
			}
			partPreds = append(partPreds, c)
		case known[w.Column]:
			stored = append(stored, w)
		default:
			return nil, fmt.Errorf("zones: prune: predicate on unknown column %q: %w", w.Column, ErrInvalid)
		}
	}
	var out []DataFile
	compiledByKind := map[string]compiled{}
files:
	for _, f := range s.Files {
		if partitions != nil && !partitions(f.Partition) {
			continue
		}
		if !partitionMatches(f.Partition, partPreds) {
			continue
		}
		for i, w := range stored {
			for j := range f.Stats {
				cs := &f.Stats[j]
				if cs.Column != w.Column || !cs.HasMinMax {
					continue
				}
				key := fmt.Sprint(i, cs.Kind)
				c, ok := compiledByKind[key]
				if !ok {
					var err error
					if c, err = compile(w, cs.Kind); err != nil {
						return nil, err
					}
					compiledByKind[key] = c
				}
				if !c.mayMatchStats(cs, f.Rows) {
					continue files
				}
			}
		}
		out = append(out, f)
	}
	return out, nil
}
