// Package logcodec is the one encoding and layout of a table's commit log
// and audit events, shared by zones (which writes them) and lake (whose
// History lists them), so that the two can never disagree.
//
// Every object is JSON; objects over CompressOver bytes are stored
// zstd-compressed (a commit listing 100 files with their column statistics
// shrinks about 7×), which a reader tells by the zstd magic number. Small
// objects stay plain JSON to read by eye.
//
// Layout under a table's prefix ("<database>/<table>" within its zone):
//
//	_lakekit/log/<20-digit version>.json       one commit per table version
//	_lakekit/checkpoint/<20-digit version>.json
//	_lakekit/_last_checkpoint
//	_lakekit/audit/<20-digit unix nanos>-<kind>-<random>.json   events that are not versions (vacuum)
package logcodec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

const (
	// CompressOver is the size (bytes of JSON) above which an object is
	// stored zstd-compressed.
	CompressOver = 4 << 10
	// MaxObject bounds a decompressed object, against hostile input.
	MaxObject = 512 << 20
)

// Directories under a table's prefix.
const (
	LogDir         = "_lakekit/log/"
	CheckpointDir  = "_lakekit/checkpoint/"
	LastCheckpoint = "_lakekit/_last_checkpoint"
	AuditDir       = "_lakekit/audit/"
)

// ZstdMagic starts every compressed object.
var ZstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

var (
	enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxObject))
)

// Encode renders a log object: JSON, compressed when over CompressOver.
func Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(b) <= CompressOver {
		return b, err
	}
	return enc.EncodeAll(b, make([]byte, 0, len(b)/4)), nil
}

// Decode parses an object written by Encode, plain or compressed.
func Decode(b []byte, v any) error {
	if bytes.HasPrefix(b, ZstdMagic) {
		d, err := dec.DecodeAll(b, nil)
		if err != nil {
			return fmt.Errorf("corrupt zstd log object: %w", err)
		}
		b = d
	}
	return json.Unmarshal(b, v)
}

// CommitKey is the key of a table version's commit object, relative to the
// zone: "<tablePrefix>/_lakekit/log/<20-digit version>.json".
func CommitKey(tablePrefix string, version int64) string {
	return fmt.Sprintf("%s/%s%020d.json", tablePrefix, LogDir, version)
}

// CheckpointKey is the key of the checkpoint of a version.
func CheckpointKey(tablePrefix string, version int64) string {
	return fmt.Sprintf("%s/%s%020d.json", tablePrefix, CheckpointDir, version)
}

// ParseCommitKey returns the version of a key under LogDir
// ("<tablePrefix>/_lakekit/log/00000000000000000007.json" → 7).
func ParseCommitKey(tablePrefix, key string) (int64, bool) {
	name, ok := strings.CutPrefix(key, tablePrefix+"/"+LogDir)
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(name, ".json")
	if !ok || len(digits) != 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}

// AuditID makes the id of an audit event that happened at t:
// "<20-digit unix nanos>-<kind>-<suffix>", so that ids (and keys) sort by
// time. kind and suffix are lower case letters, digits, '_' or '-'.
func AuditID(t time.Time, kind, suffix string) string {
	return fmt.Sprintf("%020d-%s-%s", t.UnixNano(), kind, suffix)
}

// ValidAuditID reports whether id has the form AuditID makes.
func ValidAuditID(id string) bool {
	if len(id) < 22 || len(id) > 200 || id[20] != '-' {
		return false
	}
	for i := 0; i < 20; i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	for i := 21; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// AuditKey is the key of the audit event id under a table's prefix.
func AuditKey(tablePrefix, id string) string {
	return tablePrefix + "/" + AuditDir + id + ".json"
}

// ParseAuditKey returns the id of an audit event's key and whether key is one.
func ParseAuditKey(tablePrefix, key string) (string, bool) {
	name, ok := strings.CutPrefix(key, tablePrefix+"/"+AuditDir)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(name, ".json")
	if !ok || !ValidAuditID(id) {
		return "", false
	}
	return id, true
}
