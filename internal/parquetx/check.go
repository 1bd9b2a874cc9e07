package parquetx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// Limits on what a file may claim, above anything a sane writer produces.
const (
	// maxPageBytes bounds a page's compressed and uncompressed size. Writers
	// cut pages at about 1 MiB (parquet-go 256 KiB, parquet-mr and Arrow
	// 1 MiB); only a single value larger than this makes a bigger page.
	maxPageBytes = 128 << 20
	// maxPageValues bounds the values of one page. Writers cut pages at
	// 20,000 rows (parquet-mr, Arrow) or by bytes (parquet-go, at most one
	// value per bit of a 256 KiB page).
	maxPageValues = 1 << 22
	// maxZstdWindow is the largest zstd window accepted, the reference
	// decoder's default limit (windowLog 27).
	maxZstdWindow = 1 << 27
	// maxThriftDepth bounds struct and list nesting in thrift input; the
	// Parquet footer nests about 6 deep.
	maxThriftDepth = 64
)

// ErrCorrupt is wrapped by every error that refuses a file: its message
// is "corrupt Parquet file", followed by what was wrong.
var ErrCorrupt = errors.New("corrupt Parquet file")

// corruptf reports a file refused by these checks.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// CheckFooter validates the thrift encoding of a file's footer (the
// FileMetaData) before parquet-go decodes it: every length and list size
// must fit in the footer's bytes. r reads the file; size is its length.
func CheckFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return corruptf("%d bytes is shorter than the magic bytes and a footer", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("read footer length: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return corruptf("the file does not end with the PAR1 magic bytes")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n <= 0 || n > size-12 {
		return corruptf("footer length %d does not fit in a %d-byte file", n, size)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, size-8-n); err != nil {
		return fmt.Errorf("read footer: %w", err)
	}
	w := thriftWalker{b: b}
	if err := w.skip(tStruct, 0); err != nil {
		return corruptf("footer: %v", err)
	}
	return nil
}

// ChunkRange returns where a column chunk's pages are, checked to lie in
// the file between the leading magic bytes and the footer.
func ChunkRange(cc *format.ColumnMetaData, size int64) (off, n int64, err error) {
	off = cc.DataPageOffset
	if d := cc.DictionaryPageOffset; d > 0 && d < off {
		off = d
	}
	n = cc.TotalCompressedSize
	if off < 4 || n < 0 || off > size || n > size-off {
		return 0, 0, corruptf("column %s claims bytes [%d, +%d) of a %d-byte file",
			strings.Join(cc.PathInSchema, "."), off, n, size)
	}
	return off, n, nil
}

// CheckChunk walks the pages of one column chunk (b holds its bytes) and
// checks every header and compressed frame against what the chunk holds.
// rows is the row group's row count; repeated says the column has a
// repetition level (so a page may hold more values than rows).
func CheckChunk(b []byte, cc *format.ColumnMetaData, rows int64, repeated bool) error {
	col := strings.Join(cc.PathInSchema, ".")
	if rows < 0 || cc.NumValues < 0 || (!repeated && cc.NumValues > rows) {
		return corruptf("column %s claims %d values in a row group of %d rows", col, cc.NumValues, rows)
	}
	var values int64
	for pos := 0; pos < len(b); {
		start := pos
		w := thriftWalker{b: b, pos: pos}
		h, err := w.pageHeader()
		if err != nil {
			return corruptf("column %s: page header at chunk byte %d: %v", col, pos, err)
		}
		bad := func(format string, args ...any) error {
			return corruptf("column %s: page at chunk byte %d: %s", col, start, fmt.Sprintf(format, args...))
		}
		pos = w.pos
		switch {
		case h.compressed < 0 || int64(h.compressed) > int64(len(b)-pos):
			return bad("compressed_page_size %d, but %d bytes remain in the chunk", h.compressed, len(b)-pos)
		case h.uncompressed < 0 || h.uncompressed > maxPageBytes:
			return bad("uncompressed_page_size %d is out of range [0, %d]", h.uncompressed, maxPageBytes)
		case h.numValues < 0 || h.numValues > maxPageValues:
			return bad("num_values %d is out of range [0, %d]", h.numValues, maxPageValues)
		}
		page := b[pos : pos+int(h.compressed)]
		pos += int(h.compressed)
		compressed := cc.Codec != format.Uncompressed
		switch h.typ {
		case format.DictionaryPage:
			// a dictionary entry takes at least one byte
			if int64(h.numValues) > int64(h.uncompressed)+1 {
				return bad("dictionary of %d values in %d bytes", h.numValues, h.uncompressed)
			}
		case format.DataPage, format.DataPageV2:
			values += int64(h.numValues)
			if values > cc.NumValues {
				return bad("the pages hold more values than the column chunk's %d", cc.NumValues)
			}
			if h.typ == format.DataPageV2 {
				levels := int64(h.repLevelBytes) + int64(h.defLevelBytes)
				if h.repLevelBytes < 0 || h.defLevelBytes < 0 || levels > int64(len(page)) || levels > int64(h.uncompressed) {
					return bad("level lengths %d+%d do not fit in the page", h.repLevelBytes, h.defLevelBytes)
				}
				if h.numNulls < 0 || h.numNulls > h.numValues || h.numRows < 0 || h.numRows > h.numValues {
					return bad("num_nulls %d or num_rows %d is out of range for %d values", h.numNulls, h.numRows, h.numValues)
				}
				page = page[levels:]
				h.uncompressed -= int32(levels)
				compressed = compressed && h.v2Compressed
			}
		case format.IndexPage:
			continue
		default:
			return bad("unknown page type %d", h.typ)
		}
		if compressed {
			if err := checkFrames(cc.Codec, page, int64(h.uncompressed)); err != nil {
				return bad("%s: %v", cc.Codec, err)
			}
		}
	}
	if values != cc.NumValues {
		return corruptf("column %s: the pages hold %d values, the column chunk claims %d", col, values, cc.NumValues)
	}
	return nil
}

// checkFrames checks the headers of a compressed page: the decompressor
// must not be told to allocate more than the page's uncompressed size.
func checkFrames(codec format.CompressionCodec, src []byte, limit int64) error {
	switch codec {
	case format.Snappy:
		n, k := binary.Uvarint(src)
		if k <= 0 {
			return errors.New("bad snappy length header")
		}
		if n > uint64(limit) {
			return fmt.Errorf("snappy block decodes to %d bytes, the page header says %d", n, limit)
		}
	case format.Zstd:
		var total uint64
		for len(src) > 0 {
			var h zstd.Header
			rest, err := h.DecodeAndStrip(src)
			if err != nil {
				return fmt.Errorf("zstd frame header: %v", err)
			}
			if h.Skippable {
				if uint64(h.SkippableSize) > uint64(len(rest)) {
					return errors.New("zstd skippable frame overruns the page")
				}
				src = rest[h.SkippableSize:]
				continue
			}
			if !h.SingleSegment && h.WindowSize > maxZstdWindow {
				return fmt.Errorf("zstd window of %d bytes is over the %d limit", h.WindowSize, maxZstdWindow)
			}
			if h.HasFCS {
				if total += h.FrameContentSize; total > uint64(limit) {
					return fmt.Errorf("zstd frames decode to more than the page header's %d bytes", limit)
				}
			}
			if src, err = skipZstdBlocks(rest, h.HasCheckSum); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipZstdBlocks walks the blocks of one zstd frame and returns what
// follows it.
func skipZstdBlocks(b []byte, checksum bool) ([]byte, error) {
	const maxBlock = 128 << 10
	for {
		if len(b) < 3 {
			return nil, errors.New("zstd block header overruns the page")
		}
		hdr := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		b = b[3:]
		last, typ, size := hdr&1 == 1, (hdr>>1)&3, int(hdr>>3)
		if size > maxBlock {
			return nil, fmt.Errorf("zstd block of %d bytes is over the format's %d", size, maxBlock)
		}
		stored := size
		switch typ {
		case 1: // RLE: one byte repeated size times
			stored = 1
		case 3:
			return nil, errors.New("zstd block of the reserved type")
		}
		if stored > len(b) {
			return nil, errors.New("zstd block overruns the page")
		}
		b = b[stored:]
		if last {
			break
		}
	}
	if checksum {
		if len(b) < 4 {
			return nil, errors.New("zstd checksum overruns the page")
		}
		b = b[4:]
	}
	return b, nil
}

// pageHeader is what CheckChunk needs of a thrift PageHeader.
type pageHeader struct {
	typ                          format.PageType
	uncompressed, compressed     int32
	numValues, numNulls, numRows int32
	repLevelBytes, defLevelBytes int32
	v2Compressed                 bool
}

// pageHeader reads a PageHeader struct (parquet.thrift), keeping the fields
// CheckChunk checks and skipping the rest (statistics, CRC).
func (w *thriftWalker) pageHeader() (pageHeader, error) {
	h := pageHeader{typ: -1, v2Compressed: true}
	var seen [4]bool
	readI32 := func(dst *int32, typ byte) (bool, error) {
		if typ != tI32 {
			return false, fmt.Errorf("field of thrift type %d where i32 is expected", typ)
		}
		v, err := w.i32()
		*dst = v
		return true, err
	}
	var typ int32
	err := w.fields(0, func(id int16, t byte) (bool, error) {
		switch id {
		case 1:
			seen[0] = true
			return readI32(&typ, t)
		case 2:
			seen[1] = true
			return readI32(&h.uncompressed, t)
		case 3:
			seen[2] = true
			return readI32(&h.compressed, t)
		case 5, 7: // data_page_header, dictionary_page_header: num_values is field 1
			if t != tStruct {
				return false, fmt.Errorf("page header field %d of thrift type %d", id, t)
			}
			seen[3] = true
			return true, w.fields(1, func(id int16, t byte) (bool, error) {
				if id == 1 {
					return readI32(&h.numValues, t)
				}
				return false, nil
			})
		case 8: // data_page_header_v2
			if t != tStruct {
				return false, fmt.Errorf("page header field 8 of thrift type %d", t)
			}
			seen[3] = true
			return true, w.fields(1, func(id int16, t byte) (bool, error) {
				switch id {
				case 1:
					return readI32(&h.numValues, t)
				case 2:
					return readI32(&h.numNulls, t)
				case 3:
					return readI32(&h.numRows, t)
				case 5:
					return readI32(&h.defLevelBytes, t)
				case 6:
					return readI32(&h.repLevelBytes, t)
				case 7:
					if t != tTrue && t != tFalse {
						return false, fmt.Errorf("is_compressed of thrift type %d", t)
					}
					h.v2Compressed = t == tTrue
					return true, nil
				}
				return false, nil
			})
		}
		return false, nil
	})
	if err != nil {
		return h, err
	}
	h.typ = format.PageType(typ)
	if !seen[0] || !seen[1] || !seen[2] {
		return h, errors.New("a required field (type, uncompressed_page_size, compressed_page_size) is missing")
	}
	if !seen[3] && h.typ != format.IndexPage {
		return h, fmt.Errorf("page of type %s has no header for its type", h.typ)
	}
	return h, nil
}
