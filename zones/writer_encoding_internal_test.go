package zones

import (
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestWithEncodingsKeepsTheFastPath: the schema naming dictionary columns
// equals the row type's (parquet-go then maps T's fields to columns
// directly instead of building a row per value) and keeps column order.
func TestWithEncodingsKeepsTheFastPath(t *testing.T) {
	type row struct {
		B string `parquet:"b"`
		A string `parquet:"a"`
		N int64  `parquet:"n"`
	}
	s := parquet.SchemaOf(row{})
	e := withEncodings(s, map[string]bool{"a": true}, &parquet.RLEDictionary)
	if !parquet.EqualNodes(s, e) {
		t.Fatalf("schema with encodings %v differs from %v", e, s)
	}
	var got []string
	for _, f := range e.Fields() {
		got = append(got, f.Name())
	}
	if len(got) != 3 || got[0] != "b" || got[1] != "a" || got[2] != "n" {
		t.Fatalf("columns %v, want [b a n]", got)
	}
	if e.Fields()[1].Encoding() != &parquet.RLEDictionary || e.Fields()[0].Encoding() != nil {
		t.Fatalf("encodings %v %v, want none on b and RLE_DICTIONARY on a", e.Fields()[0].Encoding(), e.Fields()[1].Encoding())
	}
}
