package zones

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/internal/parquetx"
	"github.com/lakekit/lakekit/lake"
)

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
	held := &heldChunks{base: r}
	defer held.release()
	f, err := parquet.OpenFile(held, r.Size(), parquet.SkipMagicBytes(true), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
	d.table.recordFileRead(ctx)
	md := f.Metadata()
	if err := checkCodecs(md); err != nil {
		return fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
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
		if err := invalidParquet(checkRowGroup(r, f, md.RowGroups[i], rg.NumRows(), p.needed, held)); err != nil {
			return fmt.Errorf("zones: read %s: %w", df.Key, err)
		}
		rr := parquet.NewGenericRowGroupReader[T](rg, p.readOptionsFor(f.Schema())...)
		if err := emitRows(ctx, rr, p, sets, out, free); err != nil {
			return fmt.Errorf("zones: read %s: %w", df.Key, err)
		}
		d.table.recordRead(ctx, md.RowGroups[i], p.needed)
	}
	return nil
}

// setter fills one partition field of every row read from a file.
type setter struct {
	index []int
	v     reflect.Value
}

// checkRowGroup prefetches the column chunks a read needs of one row group
// (one coalesced request), checks their page headers before parquet-go
// decodes them (pagecheck.go) and leaves their bytes in held, so that
// parquet-go decodes the bytes that were checked without reading them again.
func checkRowGroup(r *lake.ObjectReader, f *parquet.File, rgm format.RowGroup, rows int64, needed map[string]bool, held *heldChunks) error {
	var ranges []lake.Range
	var check []*format.ColumnMetaData
	var total int64
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
		total += n
	}
	if err := r.Prefetch(ranges...); err != nil {
		return err
	}
	keep := held.reset(total)
	for k, cc := range check {
		buf := held.slot(keep, ranges[k].Len)
		if _, err := r.ReadAt(buf, ranges[k].Off); err != nil {
			return err
		}
		leaf, ok := f.Schema().Lookup(cc.PathInSchema...)
		if !ok {
			return fmt.Errorf("%w: column %s is not in the file's schema", parquetx.ErrCorrupt, strings.Join(cc.PathInSchema, "."))
		}
		if err := parquetx.CheckChunk(buf, cc, rows, leaf.MaxRepetitionLevel > 0); err != nil {
			return err
		}
		if keep {
			held.add(ranges[k].Off, buf)
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
