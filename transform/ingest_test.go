package transform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones/raw"
)

// TestFromIngestionBuffer: records added to the ingestion buffer land as
// .jsonl.gz and .jsonl.zst objects; the raw source decodes both.
func TestFromIngestionBuffer(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 2)
	_, evs := genBatch(0, 600)
	for i, comp := range []raw.BufferCompression{raw.BufferGzip, raw.BufferZstd} {
		buf, err := raw.NewBuffer(lk, "web", "events", &raw.BufferOptions{Compression: comp, FlushRecords: 100, InstanceID: fmt.Sprintf("i%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs[i*300 : (i+1)*300] {
			b, _ := json.Marshal(e)
			if err := buf.Add(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := buf.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var suffixes []string
	for l, err := range raw.List(ctx, lk, "web", "events", &raw.ListOptions{SkipMetadata: true}) {
		if err != nil {
			t.Fatal(err)
		}
		suffixes = append(suffixes, l.Key[strings.LastIndex(l.Key, "."):])
	}
	if s := strings.Join(suffixes, " "); !strings.Contains(s, ".gz") || !strings.Contains(s, ".zst") {
		t.Fatalf("buffer objects: %v", suffixes)
	}
	res, err := p.toClean.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsIn != 600 || res.RowsOut != 600 || res.Rejected != 0 || res.Files != len(suffixes) {
		t.Fatalf("result %+v (%d objects)", res, len(suffixes))
	}
	var n, distinct int64
	duck(t, lk, lake.Cleaned, "shop", "events", "SELECT count(*), count(DISTINCT id) FROM tbl", &n, &distinct)
	if n != 600 || distinct != 600 {
		t.Fatalf("cleaned: %d rows, %d distinct", n, distinct)
	}
}

// TestDedup: the same events landed twice (and duplicated inside a file)
// reach cleaned as they arrived, but curated (DedupKey) holds each id once,
// across runs too.
func TestDedup(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 3)
	data, evs := genBatch(0, 200)
	dupInFile := append(append([]byte(nil), data...), data[:len(data)/2]...) // the first rows twice
	land(t, lk, "a.jsonl", dupInFile)
	p.runAll(t)
	if _, err := raw.Land(ctx, lk, "web", "events", "a-again.jsonl", strings.NewReader(string(data)), &raw.LandOptions{AllowDuplicates: true, ObjectName: "again.jsonl"}); err != nil {
		t.Fatal(err)
	}
	_, rs, _ := p.runAll(t)
	if rs.Duplicates == 0 || rs.RowsOut != 0 {
		t.Fatalf("second curated run %+v: the re-landed rows should all be duplicates", rs)
	}
	var wantSales int64
	for _, e := range evs {
		if e.Kind != "view" {
			wantSales++
		}
	}
	var n, distinct, cleanedN int64
	duck(t, lk, lake.Curated, "shop", "sales", "SELECT count(*), count(DISTINCT id) FROM tbl", &n, &distinct)
	duck(t, lk, lake.Cleaned, "shop", "events", "SELECT count(*) FROM tbl", &cleanedN)
	if n != wantSales || distinct != n || cleanedN <= 300 {
		t.Fatalf("curated %d rows (%d distinct), want %d; cleaned %d", n, distinct, wantSales, cleanedN)
	}
}

// TestCSVFromRaw: a CSV object landed in raw, decoded by header, validated
// and written; the bad record is quarantined with its exact bytes.
func TestCSVFromRaw(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 1)
	csv := "id,user,kind,amount,at\n" +
		"1,u001,buy,10.5,2024-05-01T10:00:00Z\n" +
		"2,u002,buy,oops,2024-05-01T11:00:00Z\n" +
		"3,u003,\"view\",1,2024-05-02T12:00:00Z\n"
	if _, err := raw.Land(ctx, lk, "web", "events", "export.csv", strings.NewReader(csv), nil); err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New("csv_events", transform.FromRaw(lk, "web", "events", transform.CSV[RawEvent](nil)),
		transform.Map(func(_ context.Context, r RawEvent) (Event, error) {
			return Event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, At: r.At, Day: r.At.Format("2006-01-02")}, nil
		}), p.cleaned, &transform.Options[Event]{Rules: cleanRules})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsIn != 3 || res.RowsOut != 2 || res.Rejected != 1 {
		t.Fatalf("result %+v", res)
	}
	q, _ := tr.QuarantineDataset().ReadAll(ctx, nil)
	if len(q) != 1 || q[0].Record != "2,u002,buy,oops,2024-05-01T11:00:00Z" || q[0].Line != 3 || !strings.Contains(q[0].Reason, "amount") {
		t.Fatalf("quarantine %+v", q)
	}
	var n int64
	var sum float64
	duck(t, lk, lake.Cleaned, "shop", "events", "SELECT count(*), sum(amount) FROM tbl", &n, &sum)
	if n != 2 || sum != 11.5 {
		t.Fatalf("cleaned %d rows, sum %v", n, sum)
	}
}
