package zones

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/internal/parquetx"
)

// The checks a Parquet file passes before parquet-go decodes it live in
// internal/parquetx; zones reports what they refuse as ErrInvalid too.

// checkFooter checks the footer's thrift before parquet-go decodes it
// (parquetx.CheckFooter).
func checkFooter(r io.ReaderAt, size int64) error {
	return invalidParquet(parquetx.CheckFooter(r, size))
}

// checkCodecs refuses column chunks in a codec lakekit never writes
// (parquetx.CheckCodecs).
func checkCodecs(md *format.FileMetaData) error {
	return invalidParquet(parquetx.CheckCodecs(md))
}

// invalidParquet reports a file internal/parquetx refused as ErrInvalid
// too, zones' sentinel for bad input; other errors (reading the file)
// pass unchanged.
func invalidParquet(err error) error {
	if errors.Is(err, parquetx.ErrCorrupt) && !errors.Is(err, ErrInvalid) {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return err
}
