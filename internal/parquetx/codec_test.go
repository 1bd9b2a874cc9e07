package parquetx

import (
	"errors"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/format"
)

// Only the codecs lakekit writes reach parquet-go's decoders; any other
// is refused naming the column and the codec.
func TestCheckCodecs(t *testing.T) {
	md := func(codecs ...format.CompressionCodec) *format.FileMetaData {
		var rg format.RowGroup
		for i, c := range codecs {
			rg.Columns = append(rg.Columns, format.ColumnChunk{MetaData: format.ColumnMetaData{
				PathInSchema: []string{"s", string(rune('a' + i))}, Codec: c}})
		}
		return &format.FileMetaData{RowGroups: []format.RowGroup{rg}}
	}
	if err := CheckCodecs(md(format.Uncompressed, format.Snappy, format.Gzip, format.Zstd)); err != nil {
		t.Fatalf("the codecs lakekit writes: %v", err)
	}
	for _, c := range []format.CompressionCodec{format.Lz4Raw, format.Lz4, format.Brotli, format.LZO, 42} {
		err := CheckCodecs(md(format.Zstd, c))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "column s.b") {
			t.Errorf("codec %s: %v, want an ErrCorrupt naming column s.b", c, err)
		}
	}
}

// A panic while decoding becomes an ErrCorrupt naming what was read; a
// function that does not panic keeps its own result.
func TestRecover(t *testing.T) {
	decode := func(fail bool, own error) (err error) {
		defer Recover(&err, "read part-0.parquet")
		if fail {
			var s []int
			_ = s[3] // what parquet-go does on some corrupt files
		}
		return own
	}
	err := decode(true, nil)
	if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), "read part-0.parquet: corrupt Parquet file: ") ||
		!strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("after a panic: %v, want an ErrCorrupt naming the file and the panic", err)
	}
	own := errors.New("no such object")
	if err := decode(false, own); err != own {
		t.Fatalf("without a panic: %v, want the function's own error", err)
	}
	if err := decode(false, nil); err != nil {
		t.Fatalf("without a panic: %v, want nil", err)
	}
}
