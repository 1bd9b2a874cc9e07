package zones

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Commit-log objects and checkpoints are JSON. Those over
// compressLogOver bytes are stored zstd-compressed (a commit listing 100
// files with their column statistics shrinks about 7×), which a reader
// tells by the zstd magic number; small ones stay plain JSON to read by eye.
const (
	compressLogOver = 4 << 10
	maxLogObject    = 512 << 20 // decompressed, against hostile input
)

var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	logEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	logDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxLogObject))
)

// encodeLog renders a log object: JSON, compressed when large.
func encodeLog(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(b) <= compressLogOver {
		return b, err
	}
	return logEnc.EncodeAll(b, make([]byte, 0, len(b)/4)), nil
}

// decodeLog parses a log object written by encodeLog.
func decodeLog(b []byte, v any) error {
	if bytes.HasPrefix(b, zstdMagic) {
		d, err := logDec.DecodeAll(b, nil)
		if err != nil {
			return fmt.Errorf("corrupt zstd log object: %w", err)
		}
		b = d
	}
	return json.Unmarshal(b, v)
}
