package transform_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// loggedLake is a file lake with a counting driver whose log goes to the
// returned buffer.
func loggedLake(t *testing.T) (*lake.Lake, *counting, *bytes.Buffer) {
	t.Helper()
	d, err := filestore.New(t.TempDir(), &filestore.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	w, c := wrapCounting(d)
	var logs bytes.Buffer
	lk, err := lake.New(lake.NewStore(w), &lake.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return lk, c, &logs
}

func putRaw(t *testing.T, lk *lake.Lake, key string, data []byte) {
	t.Helper()
	if err := lk.MustZone(lake.Raw).Store().Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// TestFirehoseLayoutTransform reads what Firehose delivers, as it writes
// it: a gzip object of records concatenated without a delimiter, an object
// of records one per line (one of them malformed), and an error output
// object whose records go to quarantine with their error code and their
// original bytes. A key the layout does not accept is counted in
// Result.Unaccepted and logged. A rerun reads no data file.
func TestFirehoseLayoutTransform(t *testing.T) {
	ctx := context.Background()
	lk, cnt, logs := loggedLake(t)
	const uuid = "0b3c6a58-7b0e-4c3e-9d1f-2a6f0e0d9a1"
	var concat, lines bytes.Buffer
	want := map[int64]bool{}
	for i := int64(1); i <= 300; i++ {
		b, _ := json.Marshal(RawEvent{ID: i, User: fmt.Sprintf("u%03d", i%37), Kind: kinds[i%3], Amount: 1, At: baseDay.Add(time.Duration(i) * time.Second)})
		want[i] = true
		if i <= 200 {
			concat.Write(b) // Firehose adds no delimiter
		} else {
			lines.Write(b)
			lines.WriteByte('\n')
		}
	}
	lines.WriteString(`{"id":999,"user":` + "\n")
	enc := base64.StdEncoding.EncodeToString
	errOut := `{"attemptsMade":4,"arrivalTimestamp":1714550400000,"errorCode":"Lambda.FunctionError","errorMessage":"boom","rawData":"` + enc([]byte(`{"id":1000}`)) + `"}` +
		`{"attemptsMade":1,"arrivalTimestamp":1714550400000,"ErrorCode":"DataFormatConversion.MalformedData","ErrorMessage":"bad","rawData":"` + enc([]byte(`{"id":"x"`)) + `"}`
	putRaw(t, lk, "web/events/2024/05/01/10/events-1-2024-05-01-10-00-00-"+uuid+"1.gz", gzipped(concat.Bytes()))
	putRaw(t, lk, "web/events/2024/05/01/10/events-1-2024-05-01-10-05-00-"+uuid+"2", lines.Bytes())
	putRaw(t, lk, "web/events/errors/processing-failed/2024/05/01/10/events-1-2024-05-01-10-06-00-"+uuid+"3", []byte(errOut))
	putRaw(t, lk, "web/events/manifests/batch-1.json", []byte(`{}`))

	cleaned, err := zones.NewDataset[Event](lk, lake.Cleaned, "shop", "events", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New("clean_firehose",
		transform.FromRaw(lk, "web", "events", transform.JSONLines[RawEvent](nil), transform.WithLayout(&raw.FirehoseLayout{Stream: "events"})),
		transform.Map(func(_ context.Context, r RawEvent) (Event, error) {
			return Event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, At: r.At.UTC(), Day: r.At.UTC().Format("2006-01-02")}, nil
		}), cleaned, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 3 || res.RowsOut != 300 || res.Rejected != 3 || res.Unaccepted != 1 {
		t.Fatalf("result %+v: want 3 files, 300 rows, 3 rejected (1 malformed, 2 error output), 1 unaccepted", res)
	}
	if !strings.Contains(logs.String(), "web/events/manifests/batch-1.json") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the unaccepted key is not in the log:\n%s", logs)
	}
	rows, err := cleaned.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !want[r.ID] {
			t.Fatalf("row %d twice or unknown", r.ID)
		}
		delete(want, r.ID)
	}
	if len(want) != 0 {
		t.Fatalf("%d records missing", len(want))
	}
	q, err := tr.QuarantineDataset().ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, r := range q {
		codes[r.Record] = r.Reason
	}
	if !strings.Contains(codes[`{"id":1000}`], "Lambda.FunctionError") || !strings.Contains(codes[`{"id":"x"`], "DataFormatConversion.MalformedData") || len(codes) != 3 {
		t.Fatalf("quarantine %+v", q)
	}
	// a rerun reads no data file and commits nothing
	cnt.reset()
	res, err = tr.Run(ctx)
	if err != nil || res.Units != 0 || res.Unaccepted != 1 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
	for _, k := range cnt.reset() {
		if strings.HasPrefix(k, "raw/") {
			t.Fatalf("rerun read %s", k)
		}
	}
}

// TestLayoutPlainRewrittenKeyIsNewInput: with the plain layout (Transfer
// Family, DataSync), a file rewritten in place under the same key is read
// again; an unchanged one is not.
func TestLayoutPlainRewrittenKeyIsNewInput(t *testing.T) {
	ctx := context.Background()
	lk, _, _ := loggedLake(t)
	putRaw(t, lk, "partner/drop/in/a.jsonl", []byte(`{"id":1,"user":"u001","kind":"buy","amount":1,"at":"2024-05-01T00:00:00Z"}`+"\n"))
	putRaw(t, lk, "partner/drop/in/b.jsonl", []byte(`{"id":2,"user":"u002","kind":"buy","amount":1,"at":"2024-05-01T00:00:00Z"}`+"\n"))
	cleaned, err := zones.NewDataset[Event](lk, lake.Cleaned, "shop", "drop", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New("plain", transform.FromRaw(lk, "partner", "drop", transform.JSONLines[RawEvent](nil), transform.WithLayout(raw.PlainLayout{})),
		transform.Map(func(_ context.Context, r RawEvent) (Event, error) {
			return Event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, At: r.At.UTC(), Day: r.At.UTC().Format("2006-01-02")}, nil
		}), cleaned, &transform.Options[Event]{FilesPerUnit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := tr.Run(ctx); err != nil || res.Files != 2 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	putRaw(t, lk, "partner/drop/in/a.jsonl", []byte(`{"id":3,"user":"u003","kind":"buy","amount":1,"at":"2024-05-01T00:00:00Z"}`+"\n"))
	res, err := tr.Run(ctx)
	if err != nil || res.Files != 1 || res.RowsOut != 1 {
		t.Fatalf("after the rewrite: %+v %v, want the rewritten file read again", res, err)
	}
}

// dmsParquetRow is a row as DMS writes it with DataFormat parquet, with
// typed columns: a TIMESTAMP, a DECIMAL and an optional column.
type dmsParquetRow struct {
	Op      string    `parquet:"Op"`
	TS      time.Time `parquet:"cdc_ts,timestamp(microsecond)"`
	ID      int64     `parquet:"id"`
	Email   *string   `parquet:"email,optional"`
	Balance int64     `parquet:"balance,decimal(2:18)"`
	Extra   string    `parquet:"extra"`
}

type dmsChange struct {
	Op      string    `csv:"Op"`
	TS      time.Time `csv:"cdc_ts"`
	ID      int64     `csv:"id"`
	Email   *string   `json:"email"`
	Balance float64   `csv:"balance"`
}

// TestDMSParquetDecode: the Parquet decoder maps DMS's Parquet columns to
// fields by name like the CSV decoder, converts timestamps, decimals and
// nulls, and rejects a value that does not convert naming its column.
func TestDMSParquetDecode(t *testing.T) {
	ts := time.Date(2024, 5, 1, 8, 0, 1, 123456000, time.UTC)
	mail := "a@example.com"
	var b bytes.Buffer
	if err := parquet.Write(&b, []dmsParquetRow{
		{Op: "I", TS: ts, ID: 1, Email: &mail, Balance: 12345, Extra: "x"},
		{Op: "D", TS: ts.Add(time.Second), ID: 2, Balance: -5},
	}); err != nil {
		t.Fatal(err)
	}
	var got []transform.Decoded[dmsChange]
	for d, err := range transform.Parquet[dmsChange](nil).Decode(context.Background(), bytes.NewReader(b.Bytes()), "LOAD00000001.parquet") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if len(got) != 2 || got[0].Err != nil || got[1].Err != nil {
		t.Fatalf("decoded %+v", got)
	}
	r0, r1 := got[0].Row, got[1].Row
	if r0.Op != "I" || !r0.TS.Equal(ts) || r0.ID != 1 || r0.Email == nil || *r0.Email != mail || r0.Balance != 123.45 {
		t.Fatalf("row 0 %+v", r0)
	}
	if r1.Op != "D" || r1.Email != nil || r1.Balance != -0.05 || got[1].Record.Offset != 1 || !strings.Contains(string(got[1].Record.Raw), `"email":null`) {
		t.Fatalf("row 1 %+v raw %s", r1, got[1].Record.Raw)
	}

	// a value that does not convert: the row is rejected naming the column
	type wrong struct {
		Op int `csv:"Op"`
	}
	for d, err := range transform.Parquet[wrong](nil).Decode(context.Background(), bytes.NewReader(b.Bytes()), "x.parquet") {
		if err != nil || !errors.Is(d.Err, transform.ErrDecode) || !strings.Contains(d.Err.Error(), "column Op") {
			t.Fatalf("wrong type: %+v %v", d, err)
		}
	}
	// Strict refuses the extra column; a file that is not Parquet fails
	for _, err := range transform.Parquet[dmsChange](&transform.ParquetOptions{Strict: true}).Decode(context.Background(), bytes.NewReader(b.Bytes()), "x.parquet") {
		if !errors.Is(err, transform.ErrInvalid) || !strings.Contains(err.Error(), "extra") {
			t.Fatalf("strict: %v", err)
		}
	}
	for _, err := range transform.Parquet[dmsChange](nil).Decode(context.Background(), strings.NewReader("Op,id\nI,1\n"), "x.parquet") {
		if err == nil {
			t.Fatal("a CSV file decoded as Parquet")
		}
	}
}

// TestFirehoseJSONConcatenated: records concatenated without a delimiter,
// and gzip-compressed, decode one by one as Firehose delivers them.
func TestFirehoseJSONConcatenated(t *testing.T) {
	in := gzipped([]byte(`{"id":1}{"id":2} {"id":3}` + "\n" + `{"id":4}{"id":`))
	rc, err := transform.Decompress(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var ids []int64
	var bad []string
	for d, err := range transform.JSONLines[RawEvent](nil).Decode(context.Background(), rc, "k") {
		if err != nil {
			t.Fatal(err)
		}
		if d.Err != nil {
			bad = append(bad, string(d.Record.Raw))
			continue
		}
		ids = append(ids, d.Row.ID)
	}
	if fmt.Sprint(ids) != "[1 2 3 4]" || fmt.Sprint(bad) != `[{"id":]` {
		t.Fatalf("ids %v, bad %q", ids, bad)
	}
}
