package transform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strings"
	"unsafe"
)

// JSONOptions configure the JSON lines decoder. A nil *JSONOptions means
// defaults.
type JSONOptions struct {
	// Strict rejects records with fields the row type does not have.
	Strict bool
	// MaxLineBytes rejects longer lines (they go to quarantine, cut to
	// this length); 0 means 128 MiB, the largest object Amazon Data
	// Firehose delivers — whose records, sent without a delimiter, are
	// all on one line. A line is held in memory while it is split.
	MaxLineBytes int
}

// JSONLines returns a decoder of JSON records into T with encoding/json:
// fields match by json tag, then by name case-insensitively. Records are
// one per line, or concatenated on a line with or without white space
// between them ({"a":1}{"a":2}: Amazon Data Firehose delivers the records
// of a stream concatenated, with no delimiter unless the producer adds
// one); each is its own record. Blank lines are skipped. A line that is not valid
// JSON, holds a value of the wrong type, or (Strict) an unknown field is
// yielded with Err set and its bytes in Record.Raw.
//
// Rows and errors are encoding/json's, but for a struct T the common line
// (one object) is read in a single pass by a field plan worked out once
// for T; a record the plan cannot vouch for (a syntax or type error, an
// escaped or non-ASCII key, invalid UTF-8, several values on a line) is
// decoded by encoding/json instead. Struct-, slice-, map- and
// interface-typed fields are decoded by encoding/json from their bytes.
// Record.Raw of successive records may share one backing array; each is
// capped at its length, so appending to it copies.
func JSONLines[T any](opts *JSONOptions) Decoder[T] { return jsonLines[T](opts, true) }

// jsonLines is JSONLines, without the fast path when fast is false (tests
// compare the two).
func jsonLines[T any](opts *JSONOptions, fast bool) Decoder[T] {
	var o JSONOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 128 << 20
	}
	var plan *jsonPlan
	if fast {
		plan = newJSONPlan(reflect.TypeFor[T](), o.Strict)
	}
	return DecoderFunc[T](func(ctx context.Context, r io.Reader, source string) iter.Seq2[Decoded[T], error] {
		return func(yield func(Decoded[T], error) bool) {
			jl := &jsonLine[T]{o: &o, plan: plan}
			br := bufio.NewReaderSize(r, 256<<10)
			var off, line int64
			var long []byte
			for n := 0; ; n++ {
				if n%1024 == 0 && ctx.Err() != nil {
					yield(Decoded[T]{}, ctx.Err())
					return
				}
				chunk, err := br.ReadSlice('\n')
				if errors.Is(err, bufio.ErrBufferFull) {
					if len(long) < o.MaxLineBytes {
						long = append(long, chunk[:min(len(chunk), o.MaxLineBytes-len(long))]...)
					}
					off += int64(len(chunk))
					n--
					continue
				}
				if err != nil && !errors.Is(err, io.EOF) {
					yield(Decoded[T]{}, fmt.Errorf("transform: read %s: %w", source, err))
					return
				}
				start := off - int64(len(long))
				lineBytes := chunk
				tooLong := false
				if long != nil {
					if len(long)+len(chunk) > o.MaxLineBytes {
						tooLong = true
					}
					long = append(long, chunk[:min(len(chunk), max(0, o.MaxLineBytes-len(long)))]...)
					lineBytes = long
				}
				if long == nil && len(chunk) > o.MaxLineBytes {
					tooLong = true
					lineBytes = chunk[:o.MaxLineBytes]
				}
				off += int64(len(chunk))
				eof := err != nil
				if len(chunk) > 0 || len(long) > 0 {
					line++
					lb := bytes.TrimRight(lineBytes, "\r\n")
					if !jl.line(lb, source, start, line, tooLong, yield) {
						return
					}
				}
				long = nil
				if eof {
					return
				}
			}
		}
	})
}

// jsonLine turns the lines of one object into records.
type jsonLine[T any] struct {
	o    *JSONOptions
	plan *jsonPlan // nil: every record goes through encoding/json
	raw  byteSlab
}

// line yields the records of one line (without its terminator) that
// starts at offset start; it returns false when yield asked to stop.
func (j *jsonLine[T]) line(lb []byte, source string, start, line int64, tooLong bool, yield func(Decoded[T], error) bool) bool {
	lo, hi := 0, len(lb)
	for lo < hi && isJSONSpace(lb[lo]) {
		lo++
	}
	for hi > lo && isJSONSpace(lb[hi-1]) {
		hi--
	}
	if lo == hi {
		return true
	}
	if !tooLong && j.plan != nil {
		// the common line, one object the plan vouches for, is read once;
		// anything else is read again below exactly as before
		var d Decoded[T]
		if end, ok := j.plan.decode(lb[lo:hi], unsafe.Pointer(&d.Row)); ok && end == hi-lo {
			d.Record = Record{Source: source, Offset: start + int64(lo), Line: line, Raw: j.raw.copy(lb[lo:hi])}
			return yield(d, nil)
		}
	}
	for _, v := range jsonValues(lb, tooLong) {
		val := lb[v.lo:v.hi]
		d := Decoded[T]{Record: Record{Source: source, Offset: start + int64(v.lo), Line: line}}
		if tooLong {
			d.Err = fmt.Errorf("line longer than %d bytes: %w", j.o.MaxLineBytes, ErrDecode)
		} else {
			d.Err = decodeJSON(val, &d.Row, j.o.Strict)
		}
		d.Record.Raw = j.raw.copy(val)
		if !yield(d, nil) {
			return false
		}
	}
	return true
}

// byteSlab copies small byte slices into shared chunks: one allocation
// per many records instead of one per record. Each copy is capped at its
// length, so appending to one never writes over another.
type byteSlab struct{ buf []byte }

func (s *byteSlab) copy(b []byte) []byte {
	const chunk = 64 << 10
	if len(b) == 0 {
		return nil
	}
	if len(b) > chunk/8 {
		return append([]byte(nil), b...)
	}
	if cap(s.buf)-len(s.buf) < len(b) {
		s.buf = make([]byte, 0, chunk)
	}
	n := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[n:len(s.buf):len(s.buf)]
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// jsonSpan is one JSON value of a line: bytes [lo, hi).
type jsonSpan struct{ lo, hi int }

// jsonValues splits a line into the JSON values concatenated in it, with
// or without white space between them ({"a":1}{"a":2}, as Amazon Data
// Firehose delivers records its producers sent without a delimiter). From
// the first byte that starts no valid value, the rest of the line is one
// (bad) record. whole keeps the line as one record.
func jsonValues(line []byte, whole bool) []jsonSpan {
	trim := func(lo, hi int) jsonSpan {
		for lo < hi && strings.IndexByte(jsonSpace, line[lo]) >= 0 {
			lo++
		}
		for hi > lo && strings.IndexByte(jsonSpace, line[hi-1]) >= 0 {
			hi--
		}
		return jsonSpan{lo, hi}
	}
	if whole {
		return []jsonSpan{trim(0, len(line))}
	}
	var out []jsonSpan
	dec := json.NewDecoder(bytes.NewReader(line))
	for {
		lo := int(dec.InputOffset())
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			if sp := trim(lo, len(line)); sp.hi > sp.lo {
				out = append(out, sp)
			}
			return out
		}
		out = append(out, trim(lo, int(dec.InputOffset())))
	}
}

// jsonSpace is JSON's whitespace (RFC 8259): not form feeds, vertical tabs
// or Unicode spaces, which bytes.TrimSpace would drop — a line of only
// those is a bad record, not a blank line.
const jsonSpace = " \t\r\n"

func decodeJSON(b []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", jsonReason(err), ErrDecode)
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return fmt.Errorf("unexpected %q after the JSON value: %w", rest[:min(len(rest), 16)], ErrDecode)
	}
	return nil
}

// jsonReason makes encoding/json's errors readable in quarantine.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := te.Field
		if f == "" {
			f = "(record)"
		}
		return fmt.Sprintf("field %s: cannot use JSON %s as %s", f, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed JSON: unexpected end of record"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
