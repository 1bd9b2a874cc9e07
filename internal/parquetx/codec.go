package parquetx

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go/format"
)

// CheckCodecs refuses column chunks in a codec lakekit never writes
// (uncompressed, snappy, gzip and zstd pass). Such a file is corrupt or
// foreign, and parquet-go's LZ4 decoder grows its buffer without bound on
// corrupt input (a fatal out-of-memory, which no recover catches), so it
// must not reach the decoder.
func CheckCodecs(md *format.FileMetaData) error {
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			switch cc.MetaData.Codec {
			case format.Uncompressed, format.Snappy, format.Zstd, format.Gzip:
			default:
				return fmt.Errorf("column %s is compressed with %s, which lakekit never writes (corrupt or foreign file): %w",
					strings.Join(cc.MetaData.PathInSchema, "."), cc.MetaData.Codec, ErrCorrupt)
			}
		}
	}
	return nil
}

// Recover turns a panic in parquet-go, which panics on some corrupt files
// the checks cannot see, into an error wrapping ErrCorrupt. Call it
// deferred, directly, in the function that decodes (recover only stops a
// panic there): defer parquetx.Recover(&err, "read "+name). what prefixes
// the message; a function that did not panic keeps its error.
func Recover(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %w: %v", what, ErrCorrupt, r)
	}
}
