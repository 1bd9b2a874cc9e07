package transform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lakekit/lakekit/transform"
)

type fuzzRec struct {
	ID     int64     `json:"id" csv:"id"`
	Name   string    `json:"name" csv:"name"`
	Amount *float64  `json:"amount" csv:"amount"`
	At     time.Time `json:"at" csv:"at"`
	OK     bool      `json:"ok" csv:"ok"`
	Tags   []string  `json:"tags" csv:"-"`
}

// checkRecords: each record's Raw is exactly the input bytes at its
// offset, offsets and lines increase, and the decode never panics.
func checkRecords(t *testing.T, data []byte, seq func(yield func(transform.Decoded[fuzzRec], error) bool)) []transform.Decoded[fuzzRec] {
	t.Helper()
	var out []transform.Decoded[fuzzRec]
	lastOff, lastLine := int64(-1), int64(0)
	n := 0
	for d, err := range seq {
		if err != nil {
			break
		}
		n++
		if n > len(data)+1 {
			t.Fatalf("%d records out of %d bytes", n, len(data))
		}
		r := d.Record
		if r.Offset <= lastOff || r.Line < lastLine {
			t.Fatalf("record %d at offset %d line %d after offset %d line %d", n, r.Offset, r.Line, lastOff, lastLine)
		}
		lastOff, lastLine = r.Offset, r.Line
		if r.Offset < 0 || r.Offset+int64(len(r.Raw)) > int64(len(data)) || !bytes.Equal(data[r.Offset:r.Offset+int64(len(r.Raw))], r.Raw) {
			t.Fatalf("record %d: Raw %q is not the input at offset %d", n, r.Raw, r.Offset)
		}
		out = append(out, d)
	}
	return out
}

// FuzzJSONLines: arbitrary input decodes into rows or per-record errors;
// a row decoded without error is what encoding/json makes of its bytes.
func FuzzJSONLines(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"name":"a","amount":1.5,"at":"2024-01-01T00:00:00Z","ok":true,"tags":["x"]}` + "\n" + `{"id":"bad"}` + "\n\n{",
		"{}\r\n{}\n", `{"id":1e400}`, `{"at":"yesterday"}`, "\xff\xfe{}", `[1,2]`, `{"id":1}{"id":2}`, "null\n" + `{"name":"\u0000"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, strict bool) {
		dec := transform.JSONLines[fuzzRec](&transform.JSONOptions{Strict: strict, MaxLineBytes: 4096})
		for _, d := range checkRecords(t, data, dec.Decode(context.Background(), bytes.NewReader(data), "fuzz")) {
			if d.Err != nil || strict {
				continue
			}
			var want fuzzRec
			if err := json.Unmarshal(d.Record.Raw, &want); err != nil {
				t.Fatalf("line %d decoded without error, but encoding/json refuses %q: %v", d.Record.Line, d.Record.Raw, err)
			}
			if !reflect.DeepEqual(want, d.Row) {
				t.Fatalf("line %d: decoded %+v, encoding/json makes %+v", d.Record.Line, d.Row, want)
			}
		}
	})
}

// FuzzCSV: arbitrary input decodes into rows or per-record errors, each
// record's Raw the exact input bytes.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"id,name,amount,at,ok\n1,a,1.5,2024-01-01T00:00:00Z,true\n2,\"b,\"\"c\"\"\",,2024-01-02,false\n",
		"id,name\n1\n1,2,3\n\"open", "name\n\"multi\nline\"\n", "id\r\n9223372036854775808\r\n", "\xef\xbb\xbfid\n1\n", "", "\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := transform.CSV[fuzzRec](nil)
		checkRecords(t, data, dec.Decode(context.Background(), bytes.NewReader(data), "fuzz"))
	})
}

// TestCSVParseErrorNoPanic: a CSV record that fails to parse (an
// unterminated quote at the end of the input) goes to quarantine like any
// bad record. Found by FuzzCSV: the decoder called csv.Reader.FieldPos(0)
// after a Read error, which panics when the failed record has no field.
func TestCSVParseErrorNoPanic(t *testing.T) {
	for _, in := range []string{"id,name\n1\n1,2,3\n\"open", "id\n\"open"} {
		data := []byte(in)
		var errs int
		for d, err := range transform.CSV[fuzzRec](nil).Decode(context.Background(), bytes.NewReader(data), "f.csv") {
			if err != nil {
				t.Fatalf("%q: the stream failed: %v", in, err)
			}
			if d.Err != nil {
				errs++
			}
		}
		if errs == 0 {
			t.Fatalf("%q: the unterminated quote was not reported as a bad record", in)
		}
	}
}
