package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
)

type event struct {
	ID    int64   `parquet:"id"`
	Text  string  `parquet:"text"`
	Value float64 `parquet:"value"`
	Tag   string  `parquet:"tag"`
}

// TestParquetFooterAndOneColumn reads the footer and one column of a Parquet
// file of a few MiB through Store.OpenReader, the way a query engine reads
// one column, and counts the GETs the fake S3 receives: the tail with the
// footer, then one coalesced request for the column's chunk.
func TestParquetFooterAndOneColumn(t *testing.T) {
	ctx := context.Background()
	f := testaws.StartFakeS3(t)
	s, _ := newBucket(t, f.Config(t), "lake", nil)

	const rows = 120_000
	rng := rand.New(rand.NewSource(1))
	events := make([]event, rows)
	letters := []byte("abcdefghijklmnopqrstuvwxyz")
	for i := range events {
		txt := make([]byte, 40)
		for j := range txt {
			txt[j] = letters[rng.Intn(len(letters))]
		}
		events[i] = event{ID: int64(i), Text: string(txt), Value: rng.Float64(), Tag: string(letters[i%7])}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[event](&buf)
	if _, err := w.Write(events); err != nil {
		t.Fatal(err)
	}
	must(t, w.Close())
	must(t, s.PutBytes(ctx, "curated/db/t/part-0.parquet", buf.Bytes(), nil))
	t.Logf("parquet file: %d bytes", buf.Len())

	f.ResetRequests()
	r, err := s.OpenReader(ctx, "curated/db/t/part-0.parquet", nil)
	must(t, err)
	defer r.Close()
	pf, err := parquet.OpenFile(r, r.Size(), parquet.SkipMagicBytes(true), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	must(t, err)
	afterFooter := len(f.Requests())

	// the "value" column: prefetch its chunk in every row group, then read it
	col, ok := pf.Schema().Lookup("value")
	if !ok {
		t.Fatal("no column value")
	}
	var ranges []lake.Range
	var chunkBytes int64
	for _, rg := range pf.Metadata().RowGroups {
		md := rg.Columns[col.ColumnIndex].MetaData
		off := md.DataPageOffset
		if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < off {
			off = md.DictionaryPageOffset
		}
		ranges = append(ranges, lake.Range{Off: off, Len: md.TotalCompressedSize})
		chunkBytes += md.TotalCompressedSize
	}
	must(t, r.Prefetch(ranges...))
	var got []float64
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[col.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			must(t, err)
			vals := make([]parquet.Value, p.NumValues())
			n, err := p.Values().ReadValues(vals)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			for _, v := range vals[:n] {
				got = append(got, v.Double())
			}
		}
		pages.Close()
	}
	if len(got) != rows {
		t.Fatalf("read %d values of column value, want %d", len(got), rows)
	}
	for i := range got {
		if got[i] != events[i].Value {
			t.Fatalf("value[%d] = %v, want %v", i, got[i], events[i].Value)
		}
	}
	gets := 0
	for _, q := range f.Requests() {
		if q.Method == http.MethodGet {
			gets++
		}
	}
	t.Logf("footer + one column (%d row groups, column chunk %d of %d bytes): %d GETs (%d after opening the footer); reader counted %d",
		len(pf.RowGroups()), chunkBytes, buf.Len(), gets, afterFooter, r.Requests())
	if afterFooter != 1 {
		t.Errorf("opening the file and its footer sent %d requests, want 1 (the tail)", afterFooter)
	}
	if gets > 3 {
		t.Errorf("footer + one column sent %d GETs, want at most 3", gets)
	}
	if len(f.Requests()) != gets {
		t.Errorf("requests other than GET were sent: %v", countOps(f.Requests()))
	}
}
