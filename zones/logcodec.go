package zones

import "github.com/lakekit/lakekit/internal/logcodec"

// Commit-log objects and checkpoints are JSON, zstd-compressed when over
// 4 KiB; internal/logcodec holds the one codec and key layout that zones
// writes and lake.Zone.History reads.

var zstdMagic = logcodec.ZstdMagic

// encodeLog renders a log object: JSON, compressed when large.
func encodeLog(v any) ([]byte, error) { return logcodec.Encode(v) }

// decodeLog parses a log object written by encodeLog.
func decodeLog(b []byte, v any) error { return logcodec.Decode(b, v) }
