package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/big"
	"reflect"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ParquetOptions configure the Parquet decoder. A nil *ParquetOptions
// means defaults.
type ParquetOptions struct {
	// Strict rejects a file with a column the row type does not have (or
	// a nested or repeated column); by default such columns are ignored.
	Strict bool
}

// Parquet returns a decoder of Parquet objects into T — what Amazon Data
// Firehose writes with record format conversion, and AWS DMS with
// DataFormat parquet. Columns map to fields by name with the CSV decoder's
// rules (csv tag, then json tag, then parquet tag, then field name,
// case-insensitively) and convert with the CSV decoder's conversions, from
// the value's text: TIMESTAMP columns (and INT96 timestamps) as RFC 3339
// in UTC, DATE as 2006-01-02, DECIMAL as a decimal number, strings and
// byte arrays as they are; a null is an empty value (nil for a pointer
// field, else the zero value). A row with a value that does not convert is
// yielded with Err set (wrapping ErrDecode); Record.Offset is the row's
// index in the file and Record.Raw the row as a JSON object of column
// texts. A file that is not Parquet ends the sequence with an error.
// Only top-level, non-repeated columns are read.
//
// The object is read into memory whole (Parquet's footer is at its end).
func Parquet[T any](opts *ParquetOptions) Decoder[T] {
	var o ParquetOptions
	if opts != nil {
		o = *opts
	}
	return DecoderFunc[T](func(ctx context.Context, r io.Reader, source string) iter.Seq2[Decoded[T], error] {
		return func(yield func(Decoded[T], error) bool) {
			b, err := io.ReadAll(r)
			if err != nil {
				yield(Decoded[T]{}, fmt.Errorf("transform: read %s: %w", source, err))
				return
			}
			if err := decodeParquet(ctx, b, source, &o, yield); err != nil {
				yield(Decoded[T]{}, err)
			}
		}
	})
}

// parquetColumn is one top-level column mapped to a field.
type parquetColumn struct {
	name   string
	index  int // leaf column index
	set    csvSetter
	format func(parquet.Value) string
}

// decodeParquet yields b's rows; a returned error ends the object.
func decodeParquet[T any](ctx context.Context, b []byte, source string, o *ParquetOptions, yield func(Decoded[T], error) bool) (err error) {
	defer func() {
		if p := recover(); p != nil { // parquet-go panics on some corrupt files
			err = fmt.Errorf("transform: Parquet %s: corrupt file: %v", source, p)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("transform: Parquet %s: %w", source, err)
	}
	cols, err := parquetColumns(reflect.TypeFor[T](), f.Schema(), source, o)
	if err != nil {
		return err
	}
	byIndex := map[int]*parquetColumn{}
	for i := range cols {
		byIndex[cols[i].index] = &cols[i]
	}
	rd := parquet.NewReader(f)
	defer rd.Close()
	buf := make([]parquet.Row, 256)
	var offset int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := rd.ReadRows(buf)
		for _, row := range buf[:n] {
			d := Decoded[T]{Record: Record{Source: source, Offset: offset}}
			offset++
			texts := map[string]*string{}
			rv := reflect.ValueOf(&d.Row).Elem()
			for _, v := range row {
				c := byIndex[v.Column()]
				if c == nil {
					continue
				}
				var s string
				if v.IsNull() {
					texts[c.name] = nil
				} else {
					s = c.format(v)
					texts[c.name] = &s
				}
				if d.Err != nil || c.set.f.Index == nil {
					continue
				}
				if err := c.set.set(rv, s); err != nil {
					d.Err = fmt.Errorf("column %s: %w: %w", c.name, err, ErrDecode)
				}
			}
			d.Record.Raw, _ = json.Marshal(texts)
			if !yield(d, nil) {
				return nil
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("transform: Parquet %s: %w", source, rerr)
		}
	}
}

// parquetColumns maps the file's top-level leaf columns to fields of rt.
func parquetColumns(rt reflect.Type, schema *parquet.Schema, source string, o *ParquetOptions) ([]parquetColumn, error) {
	var cols []parquetColumn
	for _, path := range schema.Columns() {
		leaf, ok := schema.Lookup(path...)
		if !ok {
			continue
		}
		if len(path) != 1 || leaf.MaxRepetitionLevel > 0 {
			if o.Strict {
				return nil, invalidf("Parquet %s: column %v is nested or repeated; the Parquet decoder reads top-level columns", source, path)
			}
			continue
		}
		name := path[0]
		f, ok := findFieldTags(rt, name, "csv", "json", "parquet")
		if !ok {
			if o.Strict {
				return nil, invalidf("Parquet %s: column %q matches no field of %s", source, name, rt)
			}
			continue
		}
		s, err := newCSVSetter(f, "")
		if err != nil {
			return nil, err
		}
		cols = append(cols, parquetColumn{name: name, index: leaf.ColumnIndex, set: s, format: parquetText(leaf.Node.Type())})
	}
	return cols, nil
}

// parquetText returns how a column's values read as text.
func parquetText(t parquet.Type) func(parquet.Value) string {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch l := lt.(type) {
	case *format.TimestampType:
		unit := l.Unit.Value.Duration()
		return func(v parquet.Value) string {
			return time.Unix(0, 0).Add(time.Duration(v.Int64()) * unit).UTC().Format(time.RFC3339Nano)
		}
	case *format.DateType:
		return func(v parquet.Value) string {
			return time.Unix(int64(v.Int32())*86400, 0).UTC().Format("2006-01-02")
		}
	case *format.DecimalType:
		scale := int(l.Scale)
		return func(v parquet.Value) string {
			var n big.Int
			switch t.Kind() {
			case parquet.Int32:
				n.SetInt64(int64(v.Int32()))
			case parquet.Int64:
				n.SetInt64(v.Int64())
			default: // big-endian two's complement
				bs := v.ByteArray()
				n.SetBytes(bs)
				if len(bs) > 0 && bs[0]&0x80 != 0 {
					n.Sub(&n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(bs))))
				}
			}
			return decimalText(&n, scale)
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		return func(v parquet.Value) string { return strconv.FormatBool(v.Boolean()) }
	case parquet.Int32:
		return func(v parquet.Value) string { return strconv.FormatInt(int64(v.Int32()), 10) }
	case parquet.Int64:
		return func(v parquet.Value) string { return strconv.FormatInt(v.Int64(), 10) }
	case parquet.Int96:
		return func(v parquet.Value) string {
			x := v.Int96() // nanoseconds of the day, then the Julian day
			nanos := int64(x[1])<<32 | int64(x[0])
			days := int64(x[2]) - 2440588 // Julian day of 1970-01-01
			return time.Unix(days*86400, nanos).UTC().Format(time.RFC3339Nano)
		}
	case parquet.Float:
		return func(v parquet.Value) string { return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32) }
	case parquet.Double:
		return func(v parquet.Value) string { return strconv.FormatFloat(v.Double(), 'g', -1, 64) }
	}
	return func(v parquet.Value) string { return string(v.ByteArray()) }
}

// decimalText renders n × 10^-scale.
func decimalText(n *big.Int, scale int) string {
	if scale <= 0 {
		return n.String()
	}
	neg := n.Sign() < 0
	s := new(big.Int).Abs(n).String()
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}
