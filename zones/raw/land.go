package raw

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// ErrDuplicate is returned (wrapped) by Land when the same content (same
// SHA-256) was already landed for the source and dataset. Land returns the
// existing object's description together with it (the one case in which Land
// returns both a *Landed and an error); nothing was written.
var ErrDuplicate = errors.New("raw: content already landed")

// Metadata keys Land stores with every raw object (lake.PutOptions.Metadata;
// S3 user metadata). List reads them back into Landed.
const (
	MetaSource          = "source"
	MetaDataset         = "dataset"
	MetaContentType     = "content-type"
	MetaContentEncoding = "content-encoding" // "gzip", "zstd" when the bytes are compressed
	MetaIngestTime      = "ingest-time"      // RFC 3339, UTC, microseconds
	MetaSHA256          = "sha256"           // hex SHA-256 of the stored bytes
	MetaOriginalName    = "original-name"    // percent-encoded (url.PathEscape)
	MetaRecords         = "records"          // decimal; absent when unknown
)

// rawSystemComponent is the lake.System component holding the checksum index:
// _lakekit/raw/<source>/<dataset>/sha256/<hex>.
const rawSystemComponent = "raw"

// rawTimeLayout starts every generated object name: fixed width, so the
// names of one ingest date sort by ingest time.
const rawTimeLayout = "20060102T150405.000000Z"

// IngestDateLayout formats the ingest_date partition value.
const IngestDateLayout = "2006-01-02"

// rawMemoryLimit is how much of a landed stream Land keeps in memory before
// it spills to a temporary file.
const rawMemoryLimit = 8 << 20

// LandOptions modify Land. A nil *LandOptions means defaults.
type LandOptions struct {
	// ContentType of the bytes; default: derived from the original name's
	// extension (.csv → text/csv, .jsonl → application/x-ndjson, ...),
	// else application/octet-stream.
	ContentType string
	// ContentEncoding says the bytes are compressed ("gzip", "zstd"); it is
	// recorded in the metadata so readers can decompress.
	ContentEncoding string
	// Records is the number of records in the content when the caller knows
	// it; 0 means unknown and is not recorded.
	Records int64
	// IngestTime is the landing's time (it picks the ingest_date partition
	// and starts the object name); zero means now. Set it to retry a landing
	// under the same key.
	IngestTime time.Time
	// ObjectName replaces the generated object name (the last key segment):
	// letters, digits, '.', '-', '_'; not starting with '.' or '_' (Hive
	// readers skip such files); at most 255 bytes. Without it the name is
	// "<ingest time>-<first 16 hex digits of the SHA-256><extension of the
	// original name>", so landing the same bytes at the same time always
	// yields the same key.
	ObjectName string
	// AllowDuplicates lands the content even when the same bytes were landed
	// before, and neither checks nor updates the checksum index.
	AllowDuplicates bool
	// Metadata adds user metadata (keys: lower case letters, digits, '-').
	// It cannot replace the Meta* keys.
	Metadata map[string]string
	// MemoryLimit is how many bytes Land buffers in memory before it spills
	// the stream to a temporary file (the store may need the size before
	// it uploads); default 8 MiB.
	MemoryLimit int64
	// TempDir holds spill files; default os.TempDir().
	TempDir string
}

// rawIndexRecord is the body of a checksum index entry: what the first
// landing of the content wrote (or was about to write), so that a later
// landing can report it or complete it.
type rawIndexRecord struct {
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata"`
}

// Land puts the bytes of r as they are into the raw zone, under
//
//	<source>/<dataset>/ingest_date=YYYY-MM-DD/<object name>
//
// with metadata: source, dataset, content type, ingest time, SHA-256, the
// original name and the record count if known (see the Meta* keys).
// source and dataset must be valid names (lake.ValidateName); name is the
// original file name, kept in the metadata and never trusted as a key.
//
// The content streams: Land hashes it while reading and keeps at most
// LandOptions.MemoryLimit bytes in memory, spilling the rest to a temporary
// file, so large files are never held whole.
//
// Duplicate detection: unless LandOptions.AllowDuplicates, Land records the
// content's SHA-256 in a checksum index in the lake's system area
// (_lakekit/raw/<source>/<dataset>/sha256/<hex>) with a create-if-absent
// write, which is race-free across processes. When the same content was
// landed before, Land returns the existing object's Landed and an error
// matching ErrDuplicate that names its key — the only error that comes with
// a non-nil *Landed (every other error returns nil); of many concurrent landings of
// the same content exactly one object results. If an earlier landing of the
// content recorded itself in the index but its upload did not complete (a
// crash, an ambiguous failure), Land completes it under the recorded key and
// returns success: a retried landing never produces two objects. (So does
// a landing of content whose object was deleted meanwhile; to land such
// content anew, use AllowDuplicates.)
func Land(ctx context.Context, lk *lake.Lake, source, dataset, name string, r io.Reader, opts *LandOptions) (*Landed, error) {
	var o LandOptions
	if opts != nil {
		o = *opts
	}
	raw, err := rawZoneStore(lk, source, dataset)
	if err != nil {
		return nil, fmt.Errorf("raw: land: %w", err)
	}
	if r == nil {
		return nil, fmt.Errorf("raw: land %s/%s: nil reader: %w", source, dataset, ErrInvalid)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("raw: land %s/%s: %w", source, dataset, err)
	}
	sp, err := spoolRaw(ctx, r, o.MemoryLimit, o.TempDir)
	if err != nil {
		return nil, fmt.Errorf("raw: land %s/%s %q: read: %w", source, dataset, name, err)
	}
	defer sp.close()
	return landObject(ctx, lk, raw, source, dataset, name, &o, sp.reader, sp.size, sp.sum)
}

// rawZoneStore checks source and dataset and returns the raw zone's store.
func rawZoneStore(lk *lake.Lake, source, dataset string) (*lake.Store, error) {
	if lk == nil {
		return nil, fmt.Errorf("nil lake: %w", ErrInvalid)
	}
	if err := lake.ValidateName(lake.KindSource, source); err != nil {
		return nil, err
	}
	if err := lake.ValidateName("dataset name", dataset); err != nil {
		return nil, err
	}
	for _, n := range [...]string{source, dataset} {
		if n[0] == '_' {
			return nil, fmt.Errorf("raw: invalid raw name %q: must not start with '_' (Hive readers skip such folders): %w", n, lake.ErrInvalidName)
		}
	}
	z, err := lk.Zone(lake.Raw)
	if err != nil {
		return nil, err
	}
	return z.Store(), nil
}

func (o *LandOptions) validate() error {
	if o.ObjectName != "" {
		if err := validateRawObjectName(o.ObjectName); err != nil {
			return err
		}
	}
	if o.Records < 0 {
		return fmt.Errorf("negative record count %d: %w", o.Records, ErrInvalid)
	}
	for k := range o.Metadata {
		switch k {
		case MetaSource, MetaDataset, MetaContentType, MetaContentEncoding,
			MetaIngestTime, MetaSHA256, MetaOriginalName, MetaRecords:
			return fmt.Errorf("metadata key %q is reserved for lakekit: %w", k, ErrInvalid)
		}
	}
	if o.ContentEncoding != "" && !isRawToken(o.ContentEncoding) {
		return fmt.Errorf("content encoding %q: want a token like gzip or zstd: %w", o.ContentEncoding, ErrInvalid)
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = rawMemoryLimit
	}
	return nil
}

func isRawToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

func validateRawObjectName(n string) error {
	bad := func(rule string) error {
		return fmt.Errorf("raw: invalid raw object name %q: %s: %w", n, rule, lake.ErrInvalidName)
	}
	switch {
	case len(n) > 255:
		return bad("must be at most 255 bytes")
	case n[0] == '.' || n[0] == '_':
		return bad("must not start with '.' or '_' (Hive readers skip such files)")
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return bad("may contain only letters, digits, '.', '-' and '_'")
		}
	}
	return nil
}

// landObject lands size bytes (body returns a fresh reader of them each call)
// whose SHA-256 is sum. o has been validated.
func landObject(ctx context.Context, lk *lake.Lake, raw *lake.Store, source, dataset, origName string,
	o *LandOptions, body func() io.Reader, size int64, sum [32]byte) (*Landed, error) {
	sha := hex.EncodeToString(sum[:])
	t := o.IngestTime
	if t.IsZero() {
		t = time.Now()
	}
	t = t.UTC().Truncate(time.Microsecond)
	date := t.Format(IngestDateLayout)
	objName := o.ObjectName
	if objName == "" {
		objName = t.Format(rawTimeLayout) + "-" + sha[:16] + rawExtension(origName)
	}
	contentType := o.ContentType
	if contentType == "" {
		contentType = ContentType(origName)
	}
	meta := make(map[string]string, len(o.Metadata)+8)
	for k, v := range o.Metadata {
		meta[k] = v
	}
	meta[MetaSource] = source
	meta[MetaDataset] = dataset
	meta[MetaContentType] = contentType
	meta[MetaIngestTime] = t.Format(time.RFC3339Nano)
	meta[MetaSHA256] = sha
	if origName != "" {
		meta[MetaOriginalName] = escapeRawName(origName)
	}
	if o.Records > 0 {
		meta[MetaRecords] = strconv.FormatInt(o.Records, 10)
	}
	if o.ContentEncoding != "" {
		meta[MetaContentEncoding] = o.ContentEncoding
	}
	key := source + "/" + dataset + "/ingest_date=" + date + "/" + objName
	log := lk.Logger().With("source", source, "dataset", dataset)

	if !o.AllowDuplicates {
		sys, err := lk.System(rawSystemComponent)
		if err != nil {
			return nil, err
		}
		idxKey := source + "/" + dataset + "/sha256/" + sha
		rec, err := json.Marshal(rawIndexRecord{Key: key, Size: size, ContentType: contentType, Metadata: meta})
		if err != nil {
			return nil, err
		}
		err = sys.Create(ctx, idxKey, rec, &lake.PutOptions{ContentType: "application/json"})
		switch {
		case err == nil:
			// this landing owns the content: upload below
		case errors.Is(err, lake.ErrExists):
			prev, err := readRawIndex(ctx, sys, idxKey)
			if err != nil {
				return nil, err
			}
			a, err := raw.Stat(ctx, prev.Key)
			if err == nil {
				l := landedFromAttrs(raw, a)
				log.Info("raw: raw content already landed", "key", prev.Key, "sha256", sha, "original_name", origName)
				return l, fmt.Errorf("raw: land %s/%s %q: the same content (sha256 %s) is already landed as %q: %w",
					source, dataset, origName, sha, prev.Key, ErrDuplicate)
			}
			if !errors.Is(err, lake.ErrNotFound) {
				return nil, fmt.Errorf("raw: land %s/%s: check landed object: %w", source, dataset, err)
			}
			// An earlier landing of these bytes claimed the index and did not
			// finish its upload (or is still uploading: the same bytes under
			// the same key make the race harmless). Complete it.
			log.Info("raw: completing an interrupted raw landing", "key", prev.Key, "sha256", sha)
			key, meta, contentType = prev.Key, prev.Metadata, prev.ContentType
		default:
			return nil, fmt.Errorf("raw: land %s/%s: checksum index: %w", source, dataset, err)
		}
	}

	if err := raw.Put(ctx, key, body(), size, &lake.PutOptions{ContentType: contentType, Metadata: meta}); err != nil {
		return nil, fmt.Errorf("raw: land %s/%s %q: %w", source, dataset, origName, err)
	}
	l := &Landed{Key: key, Location: raw.Location(key), Size: size, Metadata: meta}
	fillLandedMeta(l, meta)
	l.ContentType = contentType
	l.Source, l.Dataset, l.IngestDate = source, dataset, rawKeyDate(key)
	log.Debug("raw: landed raw object", "key", key, "bytes", size, "records", o.Records)
	return l, nil
}

func readRawIndex(ctx context.Context, sys *lake.Store, idxKey string) (*rawIndexRecord, error) {
	b, err := sys.ReadAll(ctx, idxKey)
	if err != nil {
		return nil, fmt.Errorf("raw: read checksum index: %w", err)
	}
	var rec rawIndexRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Key == "" {
		return nil, fmt.Errorf("raw: checksum index %s is corrupt (%v): %w", idxKey, err, ErrInvalid)
	}
	if err := lake.ValidateKey(rec.Key); err != nil {
		return nil, fmt.Errorf("raw: checksum index %s names a bad key: %w", idxKey, err)
	}
	return &rec, nil
}
