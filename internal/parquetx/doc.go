// Package parquetx holds the checks lakekit runs on a Parquet file before
// parquet-go decodes it, so that a corrupt or hostile file gives an error
// instead of exhausting memory or crashing the process.
//
// parquet-go trusts the sizes a file claims before it reads the bytes they
// describe: a thrift length or list size is allocated up front (up to 2 GiB
// from one varint), a page header's compressed and uncompressed sizes size
// its buffers, num_values sizes the level and value buffers, and a zstd
// frame's content size or a snappy block's decoded length sizes the
// decompressor's output. A few flipped bits can so claim gigabytes.
// CheckFooter and CheckChunk walk those structures first, on bytes the
// reader has fetched anyway, and bound every claim by the bytes actually
// present or by a limit no sane writer reaches. Only then does parquet-go
// decode.
//
// What it owns: the footer's thrift walk (CheckFooter), a column chunk's
// placement in the file (ChunkRange), the page headers and compressed
// frames of a column chunk (CheckChunk), the codecs a reader lets through
// to parquet-go's decoders (CheckCodecs), and turning a parquet-go panic
// on a corrupt file into an error (Recover). What it does not: opening,
// fetching or decoding files (zones' reader does that, calling these
// checks on the way).
//
// # Errors
//
// Every refusal wraps ErrCorrupt and names the column, page or field that
// was wrong; an error reading the file is returned as it is. Callers map
// ErrCorrupt to their own sentinel (zones reports it as zones.ErrInvalid).
package parquetx
