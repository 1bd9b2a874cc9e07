package parquetx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// checkWholeFile runs the reader's pre-decode checks over every column chunk
// of a Parquet file.
func checkWholeFile(b []byte) error {
	r := bytes.NewReader(b)
	if err := CheckFooter(r, int64(len(b))); err != nil {
		return err
	}
	f, err := parquet.OpenFile(r, int64(len(b)))
	if err != nil {
		return err
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			off, n, err := ChunkRange(&cc.MetaData, int64(len(b)))
			if err != nil {
				return err
			}
			leaf, ok := f.Schema().Lookup(cc.MetaData.PathInSchema...)
			if !ok {
				return fmt.Errorf("no column %v", cc.MetaData.PathInSchema)
			}
			if err := CheckChunk(b[off:off+n], &cc.MetaData, rg.NumRows, leaf.MaxRepetitionLevel > 0); err != nil {
				return err
			}
		}
	}
	return nil
}

type checkRow struct {
	ID    int64    `parquet:"id"`
	Name  *string  `parquet:"name,optional"`
	Kind  string   `parquet:"kind,dict"`
	Tags  []int32  `parquet:"tags,list"`
	Score float64  `parquet:"score"`
	Blob  []byte   `parquet:"blob"`
	More  []string `parquet:"more"`
}

// The checks must never refuse a well-formed file: every codec, both data
// page versions, dictionary, optional, repeated and list columns, many pages
// per chunk (files written by DuckDB: duckdb_test.go).
func TestPageCheckAcceptsWellFormedFiles(t *testing.T) {
	rows := make([]checkRow, 5000)
	for i := range rows {
		r := checkRow{ID: int64(i), Kind: []string{"a", "b", "c"}[i%3], Score: float64(i) / 7, Blob: bytes.Repeat([]byte{byte(i)}, i%50)}
		if i%4 != 0 {
			s := strings.Repeat("x", i%97)
			r.Name = &s
		}
		for k := 0; k < i%5; k++ {
			r.Tags = append(r.Tags, int32(i*k))
			r.More = append(r.More, fmt.Sprint(k))
		}
		rows[i] = r
	}
	codecs := []compress.Codec{&parquet.Uncompressed, &parquet.Snappy, &parquet.Gzip, &parquet.Zstd}
	for _, codec := range codecs {
		for _, version := range []int{1, 2} {
			t.Run(fmt.Sprintf("parquet-go/%s/v%d", codec, version), func(t *testing.T) {
				var buf bytes.Buffer
				w := parquet.NewGenericWriter[checkRow](&buf, parquet.Compression(codec), parquet.DataPageVersion(version),
					parquet.PageBufferSize(4<<10), parquet.MaxRowsPerRowGroup(2000))
				if _, err := w.Write(rows); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if err := checkWholeFile(buf.Bytes()); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func pageHeaderBytes(t *testing.T, h format.PageHeader) []byte {
	t.Helper()
	b, err := thrift.Marshal(new(thrift.CompactProtocol), &h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dataPage(u, c, n int32) format.PageHeader {
	return format.PageHeader{Type: format.DataPage, UncompressedPageSize: u, CompressedPageSize: c,
		DataPageHeader: thrift.New(format.DataPageHeader{NumValues: n})}
}

// Claims a corrupt file makes are refused before anything is allocated for
// them, with an error naming the field.
func TestPageCheckRefusesHostileClaims(t *testing.T) {
	zenc, _ := zstd.NewWriter(nil)
	frame := zenc.EncodeAll(bytes.Repeat([]byte("abcd"), 1000), nil) // content size 4000 in its header
	hugeWindow := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00}
	snappyClaim := binary.AppendUvarint(nil, 1<<30)
	cc := func(codec format.CompressionCodec, values int64) *format.ColumnMetaData {
		return &format.ColumnMetaData{PathInSchema: []string{"c"}, Codec: codec, NumValues: values}
	}
	with := func(h format.PageHeader, payload []byte) []byte {
		return append(pageHeaderBytes(t, h), payload...)
	}
	v2 := func(levels int32, payload int) format.PageHeader {
		return format.PageHeader{Type: format.DataPageV2, UncompressedPageSize: int32(payload), CompressedPageSize: int32(payload),
			DataPageHeaderV2: thrift.New(format.DataPageHeaderV2{NumValues: 10, NumRows: 10, DefinitionLevelsByteLength: levels})}
	}
	cases := []struct {
		name  string
		chunk []byte
		cc    *format.ColumnMetaData
		rows  int64
		want  string
	}{
		{"compressed size past the chunk", with(dataPage(10, 1<<30, 10), make([]byte, 10)), cc(format.Uncompressed, 10), 10, "compressed_page_size 1073741824"},
		{"huge uncompressed size", with(dataPage(1<<30, 10, 10), make([]byte, 10)), cc(format.Snappy, 10), 10, "uncompressed_page_size 1073741824"},
		{"huge num_values", with(dataPage(10, 10, 1<<30), make([]byte, 10)), cc(format.Uncompressed, 1<<31), 1 << 31, "num_values 1073741824"},
		{"more values than the chunk", with(dataPage(10, 10, 11), make([]byte, 10)), cc(format.Uncompressed, 10), 10, "more values than the column chunk's 10"},
		{"fewer values than the chunk", with(dataPage(10, 10, 9), make([]byte, 10)), cc(format.Uncompressed, 10), 10, "hold 9 values, the column chunk claims 10"},
		{"chunk claims more values than rows", with(dataPage(10, 10, 20), make([]byte, 10)), cc(format.Uncompressed, 20), 10, "20 values in a row group of 10 rows"},
		{"zstd content size over the page size", with(dataPage(100, int32(len(frame)), 10), frame), cc(format.Zstd, 10), 10, "zstd frames decode to more than"},
		{"zstd window too large", with(dataPage(100, int32(len(hugeWindow)), 10), hugeWindow), cc(format.Zstd, 10), 10, "zstd window"},
		{"zstd block past the page", with(dataPage(4000, int32(len(frame)-5), 10), frame[:len(frame)-5]), cc(format.Zstd, 10), 10, "overruns the page"},
		{"snappy length over the page size", with(dataPage(100, int32(len(snappyClaim)), 10), snappyClaim), cc(format.Snappy, 10), 10, "snappy block decodes to 1073741824"},
		{"v2 level lengths past the page", with(v2(50, 10), make([]byte, 10)), cc(format.Uncompressed, 10), 10, "level lengths"},
		{"dictionary larger than its bytes", with(format.PageHeader{Type: format.DictionaryPage, UncompressedPageSize: 4, CompressedPageSize: 4,
			DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: 1 << 20})}, make([]byte, 4)), cc(format.Uncompressed, 0), 0, "dictionary of 1048576 values"},
		{"page type without its header", pageHeaderBytes(t, format.PageHeader{Type: format.DataPage}), cc(format.Uncompressed, 0), 0, "no header for its type"},
		{"truncated header", pageHeaderBytes(t, dataPage(10, 10, 10))[:4], cc(format.Uncompressed, 10), 10, "page header at chunk byte 0"},
		{"unknown page type", with(format.PageHeader{Type: 9, DataPageHeader: thrift.New(format.DataPageHeader{})}, nil), cc(format.Uncompressed, 0), 0, "unknown page type 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckChunk(c.chunk, c.cc, c.rows, false)
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("CheckChunk = %v, want an ErrCorrupt naming %q", err, c.want)
			}
		})
	}
	// a repeated column may hold more values than rows
	ok := with(dataPage(10, 10, 20), make([]byte, 10))
	if err := CheckChunk(ok, cc(format.Uncompressed, 20), 10, true); err != nil {
		t.Fatalf("repeated column: %v", err)
	}
}

// The footer's thrift is walked before parquet-go decodes it.
func TestFooterCheckRefusesHostileThrift(t *testing.T) {
	file := func(footer []byte) []byte {
		b := append([]byte("PAR1"), footer...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(footer)))
		return append(b, "PAR1"...)
	}
	deep := bytes.Repeat([]byte{0x1c}, 200) // field 1, struct, nested 200 deep
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"binary length past the footer", file([]byte{0x18, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x', 0}), "length 4294967295 overruns"},
		{"list size past the footer", file([]byte{0x19, 0xfc, 0xff, 0xff, 0xff, 0x07, 0}), "overruns"},
		{"nesting too deep", file(deep), "too deep"},
		{"unknown type", file([]byte{0x1e, 0}), "unknown thrift type 14"},
		{"footer length past the file", append(append([]byte("PAR1xx"), 0xff, 0xff, 0, 0), "PAR1"...), "footer length 65535"},
		{"no magic", []byte("PAR1xxxxxxxxxxxx"), "PAR1 magic"},
		{"too short", []byte("PAR1"), "shorter than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckFooter(bytes.NewReader(c.file), int64(len(c.file)))
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("CheckFooter = %v, want an ErrCorrupt naming %q", err, c.want)
			}
		})
	}
}
