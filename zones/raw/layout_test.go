package raw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

// layoutLake is a memory lake whose log goes to the returned buffer.
func layoutLake(t *testing.T) (*lake.Lake, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	lk, err := lake.Open(context.Background(), "mem://", &lake.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk, &logs
}

func put(t *testing.T, lk *lake.Lake, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := lk.MustZone(lake.Raw).Store().Put(context.Background(), k, strings.NewReader("x"), 1, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// listKeys lists with a layout: the yielded keys (relative to the dataset)
// and the skipped ones by kind.
func listKeys(t *testing.T, lk *lake.Lake, l raw.Layout) ([]string, map[raw.Kind][]string, []raw.Landed) {
	t.Helper()
	skipped := map[raw.Kind][]string{}
	var keys []string
	var objs []raw.Landed
	o := &raw.ListOptions{Layout: l, OnSkip: func(o raw.Landed) {
		skipped[o.Kind] = append(skipped[o.Kind], strings.TrimPrefix(o.Key, "src/ds/"))
	}}
	for o, err := range raw.List(context.Background(), lk, "src", "ds", o) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, strings.TrimPrefix(o.Key, "src/ds/"))
		objs = append(objs, o)
	}
	return keys, skipped, objs
}

// TestLayoutLakekitReportsUnaccepted: keys outside lakekit's layout are
// reported to OnSkip and logged with their key, never passed over in
// silence; the landed ones are listed.
func TestLayoutLakekitReportsUnaccepted(t *testing.T) {
	lk, logs := layoutLake(t)
	put(t, lk, "src/ds/ingest_date=2024-05-01/a.jsonl", "src/ds/stray.json", "src/ds/ingest_date=yesterday/b.jsonl",
		"src/ds/ingest_date=2024-05-02/c.jsonl")
	keys, skipped, _ := listKeys(t, lk, nil)
	if fmt.Sprint(keys) != "[ingest_date=2024-05-01/a.jsonl ingest_date=2024-05-02/c.jsonl]" {
		t.Fatalf("listed %v", keys)
	}
	if fmt.Sprint(skipped[raw.Unaccepted]) != "[ingest_date=yesterday/b.jsonl stray.json]" {
		t.Fatalf("unaccepted %v", skipped)
	}
	for _, k := range []string{"src/ds/stray.json", "src/ds/ingest_date=yesterday/b.jsonl"} {
		if !strings.Contains(logs.String(), k) || !strings.Contains(logs.String(), "level=WARN") {
			t.Fatalf("log does not warn about %s:\n%s", k, logs)
		}
	}
}

const uuid1, uuid2, uuid3 = "0b3c6a58-7b0e-4c3e-9d1f-2a6f0e0d9a11", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "9c858901-8a57-4791-81fe-4c455b099bc9"

// TestFirehoseLayoutDefaultPrefix: objects in Firehose's default object
// name format are input, read by the time in their names (not by key),
// with that time as ingest time; error output is ErrorOutput; anything
// else (another stream, a key of another shape) is Unaccepted.
func TestFirehoseLayoutDefaultPrefix(t *testing.T) {
	lk, _ := layoutLake(t)
	put(t, lk,
		"src/ds/2024/05/01/23/click-stream-2-2024-05-01-23-59-58-"+uuid1+".gz",
		"src/ds/2024/05/02/00/click-stream-2-2024-05-02-00-00-03-"+uuid2,
		"src/ds/2024/05/01/23/click-stream-1-2024-05-01-23-10-00-"+uuid3+".parquet",
		"src/ds/errors/processing-failed/2024/05/01/23/click-stream-2-2024-05-01-23-30-00-"+uuid1,
		"src/ds/2024/05/01/23/other-stream-1-2024-05-01-23-00-00-"+uuid1,
		"src/ds/2024/05/01/23/notes.txt",
	)
	l := &raw.FirehoseLayout{Stream: "click-stream"}
	keys, skipped, objs := listKeys(t, lk, l)
	want := []string{
		"2024/05/01/23/click-stream-1-2024-05-01-23-10-00-" + uuid3 + ".parquet",
		"errors/processing-failed/2024/05/01/23/click-stream-2-2024-05-01-23-30-00-" + uuid1,
		"2024/05/01/23/click-stream-2-2024-05-01-23-59-58-" + uuid1 + ".gz",
		"2024/05/02/00/click-stream-2-2024-05-02-00-00-03-" + uuid2,
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("listed\n%v\nwant\n%v", keys, want)
	}
	if len(skipped[raw.Unaccepted]) != 2 {
		t.Fatalf("unaccepted %v, want the other stream's object and notes.txt", skipped)
	}
	if objs[1].Kind != raw.ErrorOutput || objs[0].Kind != raw.Input || objs[3].IngestDate != "2024-05-02" ||
		!objs[2].IngestTime.Equal(time.Date(2024, 5, 1, 23, 59, 58, 0, time.UTC)) {
		t.Fatalf("objects %+v", objs)
	}
}

// TestFirehoseLayoutCustomPrefix: a custom prefix with timestamp and
// dynamic partitioning expressions; the keys go to Landed.Partition.
func TestFirehoseLayoutCustomPrefix(t *testing.T) {
	lk, _ := layoutLake(t)
	put(t, lk,
		"src/ds/region=eu/dt=2024-05-01/h=07/s-1-2024-05-01-07-00-00-"+uuid1+".gz",
		"src/ds/region=us/dt=2024-05-01/h=06/s-1-2024-05-01-06-59-00-"+uuid2+".gz",
		"src/ds/2024/05/01/07/s-1-2024-05-01-07-00-00-"+uuid3, // the default prefix: not this layout's
		"src/ds/fail/format-conversion-failed/2024-05-01/s-1-2024-05-01-07-00-00-"+uuid3,
	)
	l := &raw.FirehoseLayout{
		Prefix:      "region=!{partitionKeyFromQuery:region}/dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/",
		ErrorPrefix: "fail/!{firehose:error-output-type}/!{timestamp:yyyy'-'MM'-'dd}/",
	}
	keys, skipped, objs := listKeys(t, lk, l)
	if len(keys) != 3 || objs[0].Partition["region"] != "us" || objs[1].Kind != raw.ErrorOutput || objs[2].Partition["region"] != "eu" {
		t.Fatalf("listed %v (%+v)", keys, objs)
	}
	if len(skipped[raw.Unaccepted]) != 1 {
		t.Fatalf("unaccepted %v", skipped)
	}
	bad := &raw.FirehoseLayout{Prefix: "!{nope:x}/"}
	for _, err := range raw.List(context.Background(), lk, "src", "ds", &raw.ListOptions{Layout: bad}) {
		if !errors.Is(err, raw.ErrInvalid) || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("bad prefix: %v", err)
		}
	}
}

// TestFirehoseErrorOutputDecode: error output as Firehose writes it —
// JSON documents, with and without newlines between them, in the data
// transformation form (errorCode) and the format conversion form
// (ErrorCode) — yields each record's original bytes and error code.
func TestFirehoseErrorOutputDecode(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	doc1 := `{"attemptsMade":4,"arrivalTimestamp":1714604400000,"errorCode":"Lambda.FunctionError","errorMessage":"boom","attemptEndingTimestamp":1714604460000,"rawData":"` + enc([]byte(`{"id":1}`)) + `","lambdaArn":"arn:aws:lambda:eu-west-1:123456789012:function:f"}`
	doc2 := `{"attemptsMade":1,"arrivalTimestamp":1714604400001,"ErrorCode":"DataFormatConversion.MalformedData","ErrorMessage":"bad","rawData":"` + enc([]byte(`{"id":"x"`)) + `","sequenceNumber":"1","subSequenceNumber":0,"dataCatalogTable":{"databaseName":"db","tableName":"t"}}`
	for _, sep := range []string{"", "\n"} {
		var got []raw.FirehoseError
		for e, err := range raw.ReadFirehoseErrors(strings.NewReader(doc1 + sep + doc2 + "\n")) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
		}
		if len(got) != 2 || string(got[0].RawData) != `{"id":1}` || got[0].ErrorCode != "Lambda.FunctionError" ||
			string(got[1].RawData) != `{"id":"x"` || got[1].ErrorCode != "DataFormatConversion.MalformedData" || got[1].ErrorMessage != "bad" ||
			got[0].ArrivalTime.UnixMilli() != 1714604400000 || got[1].Offset != int64(len(doc1)) {
			t.Fatalf("separator %q: %+v", sep, got)
		}
	}
	for _, bad := range []string{`{"errorCode":"x"}`, `{"rawData":"***"}`, `{"rawData":`} {
		for _, err := range raw.ReadFirehoseErrors(strings.NewReader(bad)) {
			if !errors.Is(err, raw.ErrInvalid) {
				t.Fatalf("%s: %v", bad, err)
			}
		}
	}
}

// TestDMSLayoutOrder: DMS's full load in hexadecimal counter order (18
// files: past A–F), then its changes by the time in their names, across
// date folders; a table whose folder holds changes and no LOAD file is
// held; a change file outside date folders is Unaccepted when the
// endpoint has DatePartitionEnabled.
func TestDMSLayoutOrder(t *testing.T) {
	lk, _ := layoutLake(t)
	var keys []string
	for i := 18; i >= 1; i-- {
		keys = append(keys, fmt.Sprintf("src/ds/public/orders/LOAD%08X.csv", i))
	}
	keys = append(keys,
		"src/ds/public/orders/2024/05/02/20240502-0000010000.csv",
		"src/ds/public/orders/2024/05/01/20240501-2359590001.csv",
		"src/ds/public/orders/2024/05/01/20240501-2359590000.csv",
		"src/ds/public/orders/20240501-1200000000.csv",               // no date folder
		"src/ds/public/customers/2024/05/01/20240501-1200000000.csv", // no full load yet
		"src/ds/public/orders/2024/05/01/notes.txt",
	)
	put(t, lk, keys...)
	got, skipped, objs := listKeys(t, lk, &raw.DMSLayout{DatePartition: true})
	var want []string
	for i := 1; i <= 18; i++ {
		want = append(want, fmt.Sprintf("public/orders/LOAD%08X.csv", i))
	}
	want = append(want, "public/orders/2024/05/01/20240501-2359590000.csv", "public/orders/2024/05/01/20240501-2359590001.csv",
		"public/orders/2024/05/02/20240502-0000010000.csv")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed\n%v\nwant\n%v", got, want)
	}
	if fmt.Sprint(skipped[raw.Held]) != "[public/customers/2024/05/01/20240501-1200000000.csv]" ||
		len(skipped[raw.Unaccepted]) != 2 {
		t.Fatalf("skipped %v", skipped)
	}
	if objs[18].IngestDate != "2024-05-01" || objs[18].Partition["table"] != "orders" {
		t.Fatalf("change file %+v", objs[18])
	}
	// without date folders the flat change file is input, the dated ones are not
	got, _, _ = listKeys(t, lk, &raw.DMSLayout{Schema: "public", Table: "orders"})
	if len(got) != 19 || got[18] != "public/orders/20240501-1200000000.csv" {
		t.Fatalf("flat: %v", got)
	}
	// a CDC-only task reads the customers' changes without a full load
	got, _, _ = listKeys(t, lk, &raw.DMSLayout{Schema: "public", Table: "customers", DatePartition: true, CDCOnly: true})
	if len(got) != 1 {
		t.Fatalf("CDC only: %v", got)
	}
	for _, err := range raw.List(context.Background(), lk, "src", "ds", &raw.ListOptions{Layout: &raw.DMSLayout{DatePartitionSequence: "YYDD"}}) {
		if !errors.Is(err, raw.ErrInvalid) {
			t.Fatalf("bad sequence: %v", err)
		}
	}
}

// TestLayoutPlain: any key is input, by last-modified time then key.
func TestLayoutPlain(t *testing.T) {
	lk, _ := layoutLake(t)
	put(t, lk, "src/ds/z/first.csv")
	time.Sleep(20 * time.Millisecond) // distinct modification times
	put(t, lk, "src/ds/a/second.csv")
	got, skipped, _ := listKeys(t, lk, raw.PlainLayout{})
	if fmt.Sprint(got) != "[z/first.csv a/second.csv]" || len(skipped) != 0 {
		t.Fatalf("listed %v, skipped %v", got, skipped)
	}
}
