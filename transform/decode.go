package transform

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Record locates one input record in its source and keeps its bytes, so a
// rejected record can be quarantined exactly as it arrived.
type Record struct {
	// Source is the object key (raw input) or data file key (dataset
	// input) the record came from.
	Source string
	// Offset is the record's byte offset in the (decompressed) source.
	Offset int64
	// Line is the record's 1-based line number (its first line for a CSV
	// record with quoted newlines); 0 when the source has no lines.
	Line int64
	// Raw holds the record's bytes without the line terminator.
	Raw []byte
}

// Decoded is one record out of a Decoder: a row, or the reason the record
// could not be decoded (Err wraps ErrDecode). A failed record does not stop
// the stream.
type Decoded[T any] struct {
	Row    T
	Record Record
	Err    error
}

// Decoder turns the bytes of one raw object into typed rows. The sequence
// yields each record with a nil error; a non-nil error (an I/O failure, a
// corrupt compressed stream) ends the sequence and fails the object. Records
// that don't decode are yielded with Decoded.Err set and the stream goes on.
//
// JSONLines and CSV are provided; implement Decoder for other formats. The
// reader is already decompressed (see Decompress).
type Decoder[T any] interface {
	Decode(ctx context.Context, r io.Reader, source string) iter.Seq2[Decoded[T], error]
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc[T any] func(ctx context.Context, r io.Reader, source string) iter.Seq2[Decoded[T], error]

// Decode calls f.
func (f DecoderFunc[T]) Decode(ctx context.Context, r io.Reader, source string) iter.Seq2[Decoded[T], error] {
	return f(ctx, r, source)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Decompress returns a reader of r's content, decompressed when it starts
// with a gzip or zstd frame (the ingestion buffer writes .jsonl.gz and
// .jsonl.zst objects). The magic bytes decide, not the name, so a
// mislabelled object still reads. The caller closes the result.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("transform: gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("transform: zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// CSVOptions configure the CSV decoder. A nil *CSVOptions means defaults: a
// comma-separated file whose first record is the header.
type CSVOptions struct {
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// Header names the columns of a file that has no header row. Empty
	// means the first record is the header.
	Header []string
	// TimeLayout parses time.Time fields; "" means RFC 3339 (with or
	// without fractional seconds), then "2006-01-02", then
	// "2006-01-02 15:04:05".
	TimeLayout string
	// Strict rejects a header with a column the row type does not have;
	// by default such columns are ignored.
	Strict bool
}

// CSV returns a decoder of CSV into T. Header columns map to fields by csv
// tag, then json tag, then field name (case-insensitively). Values convert
// to the field's type: strings, signed and unsigned integers, floats,
// booleans (strconv.ParseBool), time.Time, and pointers to them (an empty
// value is nil; for other types an empty value is the zero value). A record
// with a value that does not convert, or with the wrong number of fields,
// is yielded with Err set; Record.Raw holds its exact bytes.
func CSV[T any](opts *CSVOptions) Decoder[T] {
	var o CSVOptions
	if opts != nil {
		o = *opts
	}
	return DecoderFunc[T](func(ctx context.Context, r io.Reader, source string) iter.Seq2[Decoded[T], error] {
		return func(yield func(Decoded[T], error) bool) {
			sp := &spool{r: r}
			cr := csv.NewReader(sp)
			if o.Comma != 0 {
				cr.Comma = o.Comma
			}
			cr.FieldsPerRecord = -1
			cr.ReuseRecord = true
			header := o.Header
			var setters []csvSetter
			if len(header) > 0 {
				var err error
				if setters, err = csvSetters(reflect.TypeFor[T](), header, &o, source); err != nil {
					yield(Decoded[T]{}, err)
					return
				}
			}
			var n int
			for {
				n++
				if n%1024 == 0 && ctx.Err() != nil {
					yield(Decoded[T]{}, ctx.Err())
					return
				}
				start := cr.InputOffset()
				rec, err := cr.Read()
				end := cr.InputOffset()
				if errors.Is(err, io.EOF) {
					return
				}
				raw := bytes.TrimRight(sp.take(start, end), "\r\n")
				var pe *csv.ParseError
				if err != nil && !errors.As(err, &pe) {
					yield(Decoded[T]{}, fmt.Errorf("transform: read %s: %w", source, err))
					return
				}
				var line int
				if pe != nil {
					line = pe.StartLine // FieldPos panics after a parse error
				} else if len(rec) > 0 {
					line, _ = cr.FieldPos(0)
				}
				d := Decoded[T]{Record: Record{Source: source, Offset: start, Line: int64(line), Raw: append([]byte(nil), raw...)}}
				if setters == nil {
					if err != nil {
						yield(Decoded[T]{}, fmt.Errorf("transform: CSV %s: bad header: %w", source, err))
						return
					}
					header = append([]string(nil), rec...)
					if setters, err = csvSetters(reflect.TypeFor[T](), header, &o, source); err != nil {
						yield(Decoded[T]{}, err)
						return
					}
					continue
				}
				if err != nil {
					d.Err = fmt.Errorf("malformed CSV: %v: %w", pe.Err, ErrDecode)
				} else {
					d.Err = csvRow(&d.Row, setters, header, rec)
				}
				if !yield(d, nil) {
					return
				}
			}
		}
	})
}

// csvSetters maps the columns of header to fields of rt (a nil setter
// index for a column that matches none, or an error with o.Strict).
func csvSetters(rt reflect.Type, header []string, o *CSVOptions, source string) ([]csvSetter, error) {
	setters := make([]csvSetter, len(header))
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		f, ok := findFieldTags(rt, name, "csv", "json", "parquet")
		if !ok {
			if o.Strict {
				return nil, invalidf("CSV %s: column %q matches no field of %s", source, name, rt)
			}
			continue
		}
		s, err := newCSVSetter(f, o.TimeLayout)
		if err != nil {
			return nil, err
		}
		setters[i] = s
	}
	return setters, nil
}

// csvRow sets the fields of row from a record; the error wraps ErrDecode.
func csvRow[T any](row *T, setters []csvSetter, header, rec []string) error {
	if len(rec) != len(setters) {
		return fmt.Errorf("record has %d fields, header has %d: %w", len(rec), len(setters), ErrDecode)
	}
	rv := reflect.ValueOf(row).Elem()
	for i, s := range setters {
		if s.f.Index == nil {
			continue
		}
		if err := s.set(rv, rec[i]); err != nil {
			return fmt.Errorf("column %s: %w: %w", header[i], err, ErrDecode)
		}
	}
	return nil
}

// findFieldTags is findField restricted to an order of tags.
func findFieldTags(t reflect.Type, name string, tags ...string) (field, bool) {
	fs := structFields(t, tags...)
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return findField(t, name)
}

// spool keeps the bytes read from r since the last take, so the exact bytes
// of a CSV record can be recovered from csv.Reader's input offsets.
type spool struct {
	r    io.Reader
	buf  []byte
	base int64 // stream offset of buf[0]
}

func (s *spool) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.buf = append(s.buf, p[:n]...)
	return n, err
}

// take returns the bytes [start, end) of the stream and forgets what lies
// before end.
func (s *spool) take(start, end int64) []byte {
	lo, hi := start-s.base, end-s.base
	if lo < 0 {
		lo = 0
	}
	if hi > int64(len(s.buf)) {
		hi = int64(len(s.buf))
	}
	if lo > hi {
		lo = hi
	}
	out := s.buf[lo:hi]
	// drop consumed bytes once the buffer is large, keeping what follows
	if hi > 64<<10 {
		rest := append([]byte(nil), s.buf[hi:]...)
		out = append([]byte(nil), out...)
		s.buf = rest
		s.base += hi
	}
	return out
}

type csvSetter struct {
	f   field
	set func(row reflect.Value, s string) error
}

var timeType = reflect.TypeFor[time.Time]()

func newCSVSetter(f field, layout string) (csvSetter, error) {
	conv, err := converter(f.Type, layout)
	if err != nil {
		return csvSetter{}, invalidf("CSV column %q: %v", f.Name, err)
	}
	return csvSetter{f: f, set: func(row reflect.Value, s string) error {
		fv, err := row.FieldByIndexErr(f.Index)
		if err != nil {
			return err
		}
		return conv(fv, s)
	}}, nil
}

// converter returns a function that parses a CSV value into a value of t.
func converter(t reflect.Type, layout string) (func(reflect.Value, string) error, error) {
	if t.Kind() == reflect.Pointer {
		inner, err := converter(t.Elem(), layout)
		if err != nil {
			return nil, err
		}
		return func(v reflect.Value, s string) error {
			if s == "" {
				v.SetZero()
				return nil
			}
			p := reflect.New(t.Elem())
			if err := inner(p.Elem(), s); err != nil {
				return err
			}
			v.Set(p)
			return nil
		}, nil
	}
	if t == timeType {
		return func(v reflect.Value, s string) error {
			if s == "" {
				v.SetZero()
				return nil
			}
			tm, err := parseTime(s, layout)
			if err != nil {
				return err
			}
			v.Set(reflect.ValueOf(tm))
			return nil
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, s string) error { v.SetString(s); return nil }, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value, s string) error {
			if s == "" {
				v.SetZero()
				return nil
			}
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, t.Bits())
			if err != nil {
				return fmt.Errorf("cannot use %q as %s", s, t)
			}
			v.SetInt(n)
			return nil
		}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(v reflect.Value, s string) error {
			if s == "" {
				v.SetZero()
				return nil
			}
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, t.Bits())
			if err != nil {
				return fmt.Errorf("cannot use %q as %s", s, t)
			}
			v.SetUint(n)
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value, s string) error {
			if s == "" {
				v.SetZero()
				return nil
			}
			n, err := strconv.ParseFloat(strings.TrimSpace(s), t.Bits())
			if err != nil {
				return fmt.Errorf("cannot use %q as %s", s, t)
			}
			v.SetFloat(n)
			return nil
		}, nil
	case reflect.Bool:
		return func(v reflect.Value, s string) error {
			if s == "" {
				v.SetZero()
				return nil
			}
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("cannot use %q as bool", s)
			}
			v.SetBool(b)
			return nil
		}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(v reflect.Value, s string) error { v.SetBytes([]byte(s)); return nil }, nil
		}
	}
	return nil, fmt.Errorf("type %s is not supported by the CSV decoder", t)
}

func parseTime(s, layout string) (time.Time, error) {
	if layout != "" {
		t, err := time.Parse(layout, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot use %q as a time in layout %q", s, layout)
		}
		return t, nil
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot use %q as a time (RFC 3339, 2006-01-02 or 2006-01-02 15:04:05)", s)
}
