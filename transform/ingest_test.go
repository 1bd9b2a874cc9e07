package transform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// TestFromIngestionBuffer: records added to the ingestion buffer land as
// .jsonl.gz and .jsonl.zst objects; the raw source decodes both.
func TestFromIngestionBuffer(t *testing.T) {
	ctx := context.Background()
	lk, _ := fileLake(t, t.TempDir())
	p := newPipeline(t, lk, 2)
	_, evs := genBatch(0, 600)
	for i, comp := range []zones.BufferCompression{zones.BufferGzip, zones.BufferZstd} {
		buf, err := zones.NewBuffer(lk, "web", "events", &zones.BufferOptions{Compression: comp, FlushRecords: 100, InstanceID: fmt.Sprintf("i%d", i)})
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
	for l, err := range zones.ListRaw(ctx, lk, "web", "events", &zones.RawListOptions{SkipMetadata: true}) {
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
	if _, err := zones.Land(ctx, lk, "web", "events", "a-again.jsonl", strings.NewReader(string(data)), &zones.LandOptions{AllowDuplicates: true, ObjectName: "again.jsonl"}); err != nil {
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
