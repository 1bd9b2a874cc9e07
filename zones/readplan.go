package zones

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/internal/structtag"
	"github.com/lakekit/lakekit/lake"
)

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
