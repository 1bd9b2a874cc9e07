package transform

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

type order struct {
	ID       int64     `json:"id" csv:"order_id"`
	Customer string    `json:"customer"`
	Amount   float64   `json:"amount"`
	Country  string    `json:"country"`
	Email    *string   `json:"email"`
	At       time.Time `json:"at"`
}

func collect[T any](t *testing.T, d Decoder[T], in []byte, src string) []Decoded[T] {
	t.Helper()
	rc, err := Decompress(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []Decoded[T]
	for d, err := range d.Decode(context.Background(), rc, src) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

const jsonInput = `{"id":1,"customer":"ann","amount":10.5,"country":"DE","at":"2024-05-01T10:00:00Z"}
{"id":2,"customer":"bob","amount":"lots","country":"FR"}

{"id":3,"customer":
{"id":4,"customer":"cy","amount":3,"country":"DE","email":"cy@example.com"}` + "\r\n" + `{"id":5} {"id":6}
{"id":7,"customer":"dee","amount":1}`

func TestJSONLines(t *testing.T) {
	got := collect(t, JSONLines[order](nil), []byte(jsonInput), "raw/a.jsonl")
	if len(got) != 7 {
		t.Fatalf("got %d records, want 7 (blank line skipped, two records on line 6)", len(got))
	}
	wantErr := []bool{false, true, true, false, false, false, false}
	wantLine := []int64{1, 2, 4, 5, 6, 6, 7}
	for i, d := range got {
		if (d.Err != nil) != wantErr[i] {
			t.Errorf("record %d: err = %v, want error %v", i, d.Err, wantErr[i])
		}
		if d.Err != nil && !errors.Is(d.Err, ErrDecode) {
			t.Errorf("record %d: %v does not match ErrDecode", i, d.Err)
		}
		if d.Record.Line != wantLine[i] {
			t.Errorf("record %d: line %d, want %d", i, d.Record.Line, wantLine[i])
		}
		if got := jsonInput[d.Record.Offset : d.Record.Offset+int64(len(d.Record.Raw))]; got != string(d.Record.Raw) {
			t.Errorf("record %d: offset %d does not point at its bytes: %q vs %q", i, d.Record.Offset, got, d.Record.Raw)
		}
	}
	if got[0].Row.ID != 1 || got[0].Row.Amount != 10.5 || !got[0].Row.At.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("row 0 = %+v", got[0].Row)
	}
	if !strings.Contains(got[1].Err.Error(), "amount") {
		t.Errorf("type error should name the field: %v", got[1].Err)
	}
	if got[3].Row.Email == nil || *got[3].Row.Email != "cy@example.com" || strings.HasSuffix(string(got[3].Record.Raw), "\r") {
		t.Errorf("row 3 = %+v raw %q", got[3].Row, got[3].Record.Raw)
	}
	if got[4].Row.ID != 5 || got[5].Row.ID != 6 {
		t.Errorf("two records on one line: %+v, %+v", got[4].Row, got[5].Row)
	}
	if got[6].Row.Customer != "dee" {
		t.Errorf("last line without newline: %+v", got[6].Row)
	}
}

func TestJSONLinesStrictAndLong(t *testing.T) {
	in := `{"id":1,"extra":true}` + "\n" + `{"id":2,"customer":"` + strings.Repeat("x", 300) + `"}` + "\n" + `{"id":3}`
	got := collect(t, JSONLines[order](&JSONOptions{Strict: true, MaxLineBytes: 100}), []byte(in), "k")
	if len(got) != 3 || got[0].Err == nil || got[1].Err == nil || got[2].Err != nil {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(got[1].Err.Error(), "longer than 100") || len(got[1].Record.Raw) != 100 {
		t.Errorf("long line: %v, raw %d bytes", got[1].Err, len(got[1].Record.Raw))
	}
	if got[2].Row.ID != 3 || got[2].Record.Line != 3 {
		t.Errorf("after long line: %+v", got[2])
	}
	// a line longer than the read buffer decodes whole
	big := `{"id":9,"customer":"` + strings.Repeat("y", 600<<10) + `"}`
	got = collect(t, JSONLines[order](nil), []byte(big+"\n"+`{"id":10}`), "k")
	if len(got) != 2 || got[0].Err != nil || len(got[0].Row.Customer) != 600<<10 || got[1].Record.Offset != int64(len(big)+1) {
		t.Fatalf("big line: %v", got[0].Err)
	}
}

func TestDecompress(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(jsonInput))
	zw.Close()
	var zs bytes.Buffer
	zsw, _ := zstd.NewWriter(&zs)
	zsw.Write([]byte(jsonInput))
	zsw.Close()
	plain := collect(t, JSONLines[order](nil), []byte(jsonInput), "a.jsonl")
	for name, in := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		got := collect(t, JSONLines[order](nil), in, "a.jsonl."+name)
		if len(got) != len(plain) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(plain))
		}
		for i := range got {
			if string(got[i].Record.Raw) != string(plain[i].Record.Raw) || got[i].Row.ID != plain[i].Row.ID {
				t.Errorf("%s record %d differs", name, i)
			}
		}
	}
	// a corrupt gzip stream is a stream error, not a record error
	bad := append([]byte(nil), gz.Bytes()[:20]...)
	rc, err := Decompress(bytes.NewReader(bad))
	if err == nil {
		var streamErr error
		for _, err := range JSONLines[order](nil).Decode(context.Background(), rc, "bad.gz") {
			if err != nil {
				streamErr = err
			}
		}
		if streamErr == nil {
			t.Fatal("truncated gzip decoded without a stream error")
		}
	}
}

const csvInput = "order_id,customer,amount,country,email,at,ignored\n" +
	"1,ann,10.5,DE,,2024-05-01T10:00:00Z,x\n" +
	"2,\"bob, jr\",abc,FR,,,x\n" +
	"3,\"multi\nline\",3,DE,c@x.io,2024-05-02,x\n" +
	"4,too,few\n" +
	"5,eve,7,US,,,x\n"

func TestCSV(t *testing.T) {
	got := collect(t, CSV[order](nil), []byte(csvInput), "a.csv")
	if len(got) != 5 {
		t.Fatalf("got %d records, want 5", len(got))
	}
	wantErr := []bool{false, true, false, true, false}
	for i, d := range got {
		if (d.Err != nil) != wantErr[i] {
			t.Errorf("record %d: err = %v", i, d.Err)
		}
		if got := csvInput[d.Record.Offset : d.Record.Offset+int64(len(d.Record.Raw))]; got != string(d.Record.Raw) {
			t.Errorf("record %d: raw %q is not the input at %d (%q)", i, d.Record.Raw, d.Record.Offset, got)
		}
	}
	if r := got[0].Row; r.ID != 1 || r.Customer != "ann" || r.Amount != 10.5 || r.Email != nil || r.At.IsZero() {
		t.Errorf("row 0 = %+v", r)
	}
	if !strings.Contains(got[1].Err.Error(), "amount") {
		t.Errorf("conversion error should name the column: %v", got[1].Err)
	}
	if r := got[2].Row; r.Customer != "multi\nline" || r.Email == nil || *r.Email != "c@x.io" || got[2].Record.Line != 4 {
		t.Errorf("row 2 = %+v line %d", r, got[2].Record.Line)
	}
	if got[4].Row.ID != 5 || got[4].Record.Line != 7 {
		t.Errorf("row 4 = %+v line %d", got[4].Row, got[4].Record.Line)
	}
	// strict mode refuses the unknown column
	rc, _ := Decompress(strings.NewReader(csvInput))
	for _, err := range CSV[order](&CSVOptions{Strict: true}).Decode(context.Background(), rc, "a.csv") {
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ignored") {
			t.Fatalf("strict: %v", err)
		}
		break
	}
	// explicit header, other delimiter
	got = collect(t, CSV[order](&CSVOptions{Comma: ';', Header: []string{"id", "customer"}}), []byte("7;zed\n8;yan\n"), "b.csv")
	if len(got) != 2 || got[1].Row.ID != 8 || got[1].Row.Customer != "yan" {
		t.Fatalf("header option: %+v", got)
	}
}

func TestCSVLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString("order_id,customer\n")
	for i := 0; i < 20000; i++ {
		b.WriteString("1,")
		b.WriteString(strings.Repeat("c", i%50))
		b.WriteString("\n")
	}
	in := b.String()
	got := collect(t, CSV[order](nil), []byte(in), "big.csv")
	if len(got) != 20000 {
		t.Fatalf("%d records", len(got))
	}
	for i, d := range got {
		if d.Err != nil || in[d.Record.Offset:d.Record.Offset+int64(len(d.Record.Raw))] != string(d.Record.Raw) || len(d.Row.Customer) != i%50 {
			t.Fatalf("record %d: %+v", i, d)
		}
	}
}
