package zones_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// encRow has a column of each kind the writer picks an encoding for.
type encRow struct {
	ID     int64   `parquet:"id"`
	Day    int32   `parquet:"day"`
	Kind   string  `parquet:"kind"`         // 5 values: a dictionary
	Note   string  `parquet:"note"`         // every value distinct: PLAIN
	Tagged string  `parquet:"tagged,plain"` // few values, but the tag says PLAIN
	Ptr    *string `parquet:"ptr,optional"` // not a top-level string: never sampled
	Bucket string  `parquet:"bucket" lakekit:"partition"`
}

func makeEncRows(n int) []encRow {
	out := make([]encRow, n)
	for i := range out {
		s := fmt.Sprintf("p%d", i%3)
		out[i] = encRow{ID: int64(i), Day: int32(19000 + i/1000), Kind: kinds[i%len(kinds)],
			Note: fmt.Sprintf("note %08d %x", i, i*7919), Tagged: kinds[i%2], Bucket: fmt.Sprintf("b%d", i%4)}
		if i%5 != 0 {
			out[i].Ptr = &s
		}
	}
	return out
}

// writeEncRows writes rows in batches of batch and returns the dataset and
// the committed files' paths.
func writeEncRows(t *testing.T, rows []encRow, batch int) (*zones.Dataset[encRow], []string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := zones.NewDataset[encRow](fileLake(t, dir), lake.Curated, "sales", "enc", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += batch {
		if err := w.Write(ctx, rows[i:min(i+batch, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range res.Files {
		paths = append(paths, filepath.Join(dir, "curated", f.Key))
	}
	return ds, paths
}

// columnEncodings returns each column's encodings in a file, as its
// footer lists them.
func columnEncodings(t *testing.T, path string) map[string][]format.Encoding {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]format.Encoding{}
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			name := c.MetaData.PathInSchema[0]
			for _, e := range c.MetaData.Encoding {
				if !slices.Contains(out[name], e) {
					out[name] = append(out[name], e)
				}
			}
		}
	}
	return out
}

// TestWriterEncodings checks the encodings the writer chooses where the
// tags name none, and that the rows read back exactly.
func TestWriterEncodings(t *testing.T) {
	rows := makeEncRows(20_000)
	ds, paths := writeEncRows(t, rows, 5000)
	if len(paths) != 4 {
		t.Fatalf("%d files, want 4", len(paths))
	}
	for _, p := range paths {
		enc := columnEncodings(t, p)
		want := map[string]format.Encoding{
			"id": format.DeltaBinaryPacked, "day": format.DeltaBinaryPacked,
			"kind": format.RLEDictionary, "note": format.Plain, "tagged": format.Plain, "ptr": format.Plain,
		}
		for col, e := range want {
			if !slices.Contains(enc[col], e) {
				t.Errorf("%s: column %s has encodings %v, want %v among them", filepath.Base(p), col, enc[col], e)
			}
		}
		for _, col := range []string{"note", "tagged", "ptr"} {
			if slices.Contains(enc[col], format.RLEDictionary) {
				t.Errorf("%s: column %s has a dictionary: %v", filepath.Base(p), col, enc[col])
			}
		}
	}
	got, err := ds.ReadAll(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
	}
	for i := range rows {
		a, b := rows[i], got[i]
		if a.ID != b.ID || a.Day != b.Day || a.Kind != b.Kind || a.Note != b.Note || a.Tagged != b.Tagged || a.Bucket != b.Bucket ||
			(a.Ptr == nil) != (b.Ptr == nil) || (a.Ptr != nil && *a.Ptr != *b.Ptr) {
			t.Fatalf("row %d read back as %+v, wrote %+v", i, b, a)
		}
	}
}

// TestWriterDictionarySample: the dictionary columns are chosen from the
// first batch of at least 64 rows; a smaller first batch waits, and a
// column whose first rows are mostly distinct stays PLAIN.
func TestWriterDictionarySample(t *testing.T) {
	rows := makeEncRows(4000)
	for i := range rows[:1000] { // kind distinct in the sampled batch
		rows[i].Kind = fmt.Sprintf("k%d", i)
	}
	_, paths := writeEncRows(t, rows, 1000)
	for _, p := range paths {
		if enc := columnEncodings(t, p); slices.Contains(enc["kind"], format.RLEDictionary) {
			t.Errorf("%s: kind has a dictionary though its sampled values were distinct: %v", filepath.Base(p), enc["kind"])
		}
	}
	rows = makeEncRows(4000)
	_, paths = writeEncRows(t, rows, 10) // the first batches (10 rows) are too small to judge
	for _, p := range paths {
		if enc := columnEncodings(t, p); slices.Contains(enc["kind"], format.RLEDictionary) {
			t.Errorf("%s: kind has a dictionary chosen from 10 rows: %v", filepath.Base(p), enc["kind"])
		}
	}
	_, paths = writeEncRows(t, rows[:4000], 100)
	for _, p := range paths {
		if enc := columnEncodings(t, p); !slices.Contains(enc["kind"], format.RLEDictionary) {
			t.Errorf("%s: kind (5 values) has no dictionary after a first batch of 100 rows: %v", filepath.Base(p), enc["kind"])
		}
	}
}
