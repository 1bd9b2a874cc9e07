package zones

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// A corrupt Parquet file must give an error, never exhaust memory, and
// parquet-go trusts the sizes a file claims before it reads the bytes they
// describe: a thrift length or list size is allocated up front (up to 2 GiB
// from one varint), a page header's compressed and uncompressed sizes size
// its buffers, num_values sizes the level and value buffers, and a zstd
// frame's content size or a snappy block's decoded length sizes the
// decompressor's output. A few flipped bits can so claim gigabytes.
//
// checkFooter and checkChunk walk those structures first, on bytes the
// reader has fetched anyway, and bound every claim by the bytes actually
// present or by a limit no sane writer reaches (maxPageBytes,
// maxPageValues). Only then does parquet-go decode.
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

// corruptf reports a file refused by these checks.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("corrupt Parquet file: "+format+": %w", append(args, ErrInvalid)...)
}

// checkFooter validates the thrift encoding of a file's footer (the
// FileMetaData) before parquet-go decodes it: every length and list size
// must fit in the footer's bytes. r reads the file; size is its length.
func checkFooter(r io.ReaderAt, size int64) error {
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

// chunkRange returns where a column chunk's pages are, checked to lie in
// the file between the leading magic bytes and the footer.
func chunkRange(cc *format.ColumnMetaData, size int64) (off, n int64, err error) {
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

// checkChunk walks the pages of one column chunk (b holds its bytes) and
// checks every header and compressed frame against what the chunk holds.
// rows is the row group's row count; repeated says the column has a
// repetition level (so a page may hold more values than rows).
func checkChunk(b []byte, cc *format.ColumnMetaData, rows int64, repeated bool) error {
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

// pageHeader is what checkChunk needs of a thrift PageHeader.
type pageHeader struct {
	typ                          format.PageType
	uncompressed, compressed     int32
	numValues, numNulls, numRows int32
	repLevelBytes, defLevelBytes int32
	v2Compressed                 bool
}

// Thrift compact protocol type codes.
const (
	tTrue   = 1
	tFalse  = 2
	tI8     = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

// thriftWalker reads thrift compact protocol from b, refusing any length or
// count that the remaining bytes cannot hold.
type thriftWalker struct {
	b   []byte
	pos int
}

func (w *thriftWalker) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, io.ErrUnexpectedEOF
	}
	c := w.b[w.pos]
	w.pos++
	return c, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.pos:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	w.pos += n
	return v, nil
}

// i32 reads a zigzag varint that must fit in an int32.
func (w *thriftWalker) i32() (int32, error) {
	u, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	v := int64(u>>1) ^ -int64(u&1)
	if v != int64(int32(v)) {
		return 0, fmt.Errorf("i32 value %d out of range", v)
	}
	return int32(v), nil
}

// count reads a length or element count, each unit taking at least one of
// the remaining bytes.
func (w *thriftWalker) count(n uint64) (int, error) {
	if n > uint64(len(w.b)-w.pos) {
		return 0, fmt.Errorf("length %d overruns the %d bytes left", n, len(w.b)-w.pos)
	}
	return int(n), nil
}

// length reads a varint length or element count (see count).
func (w *thriftWalker) length() (int, error) {
	u, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	return w.count(u)
}

// fields calls fn for each field of a struct; fn returns false to have the
// field's value skipped.
func (w *thriftWalker) fields(depth int, fn func(id int16, typ byte) (bool, error)) error {
	if depth > maxThriftDepth {
		return errors.New("thrift nesting too deep")
	}
	var id int16
	for {
		c, err := w.byte()
		if err != nil {
			return err
		}
		if c == 0 {
			return nil
		}
		typ := c & 0x0f
		if d := c >> 4; d != 0 {
			id += int16(d)
		} else {
			v, err := w.i32()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		handled := false
		if fn != nil {
			if handled, err = fn(id, typ); err != nil {
				return err
			}
		}
		if !handled {
			if err := w.skip(typ, depth+1); err != nil {
				return err
			}
		}
	}
}

// skip steps over one value of the given type.
func (w *thriftWalker) skip(typ byte, depth int) error {
	if depth > maxThriftDepth {
		return errors.New("thrift nesting too deep")
	}
	switch typ {
	case tTrue, tFalse:
		return nil // in a field header; list elements of type bool take a byte (see skipElem)
	case tI8:
		_, err := w.byte()
		return err
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		if len(w.b)-w.pos < 8 {
			return io.ErrUnexpectedEOF
		}
		w.pos += 8
		return nil
	case tBinary:
		n, err := w.length()
		if err != nil {
			return err
		}
		w.pos += n
		return nil
	case tList, tSet:
		c, err := w.byte()
		if err != nil {
			return err
		}
		size, elem := uint64(c>>4), c&0x0f
		if size == 15 {
			if size, err = w.uvarint(); err != nil {
				return err
			}
		}
		n, err := w.count(size)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := w.skipElem(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := w.length()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := w.skipElem(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.skipElem(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		return w.fields(depth, nil)
	default:
		return fmt.Errorf("unknown thrift type %d", typ)
	}
}

// skipElem steps over a list, set or map element: booleans there take a byte.
func (w *thriftWalker) skipElem(typ byte, depth int) error {
	if typ == tTrue || typ == tFalse {
		_, err := w.byte()
		return err
	}
	return w.skip(typ, depth)
}

// pageHeader reads a PageHeader struct (parquet.thrift), keeping the fields
// checkChunk checks and skipping the rest (statistics, CRC).
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
