package raw

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/lakekit/lakekit/lake"
)

// Landed describes an object in the raw zone.
type Landed struct {
	// Key is relative to the raw zone's store
	// (lk.MustZone(lake.Raw).Store()):
	// "<source>/<dataset>/ingest_date=YYYY-MM-DD/<object name>".
	Key string
	// Location is where the object lives as a URL ("s3://bucket/raw/...").
	Location string
	// Source and Dataset the object was landed for.
	Source, Dataset string
	// IngestDate is the ingest_date partition value, YYYY-MM-DD (UTC).
	IngestDate string
	// IngestTime is when it was landed (from the metadata; zero when
	// metadata was not read).
	IngestTime time.Time
	// Size in bytes as stored.
	Size int64
	// ETag changes whenever the content changes. Set by List and on a
	// duplicate; Land leaves it empty (a put does not return it).
	ETag string
	// ModTime is the store's modification time (List).
	ModTime time.Time
	// SHA256 is the hex SHA-256 of the stored bytes.
	SHA256 string
	// OriginalName is the file name the caller gave Land (not trusted: it
	// never becomes part of a key except for a sanitised extension).
	OriginalName string
	// ContentType and ContentEncoding of the bytes.
	ContentType, ContentEncoding string
	// Records is the number of records when known at landing, else 0.
	Records int64
	// Metadata is the object's whole user metadata (the Meta* keys and
	// any LandOptions.Metadata).
	Metadata map[string]string
	// Kind is what the listing's Layout made of the object: Input or
	// ErrorOutput for what List yields; Unaccepted, Held or Ignored for
	// what it passes to ListOptions.OnSkip.
	Kind Kind
	// Partition holds what the layout read from the key besides the
	// ingest date: Firehose's dynamic partitioning keys, DMS's "schema"
	// and "table"; nil for lakekit's and the plain layout.
	Partition map[string]string
}

func landedFromAttrs(raw *lake.Store, a *lake.Attributes) *Landed {
	l := &Landed{Key: a.Key, Location: raw.Location(a.Key), Size: a.Size, ETag: a.ETag, ModTime: a.ModTime,
		ContentType: a.ContentType, Metadata: a.Metadata}
	if l.Metadata == nil {
		l.Metadata = map[string]string{}
	}
	fillLandedMeta(l, l.Metadata)
	if l.ContentType == "" {
		l.ContentType = l.Metadata[MetaContentType]
	}
	parts := strings.SplitN(a.Key, "/", 3)
	if len(parts) == 3 {
		l.Source, l.Dataset = parts[0], parts[1]
	}
	l.IngestDate = rawKeyDate(a.Key)
	return l
}

func fillLandedMeta(l *Landed, m map[string]string) {
	l.SHA256 = m[MetaSHA256]
	l.ContentEncoding = m[MetaContentEncoding]
	if l.ContentType == "" {
		l.ContentType = m[MetaContentType]
	}
	if v, ok := m[MetaOriginalName]; ok {
		if n, err := url.PathUnescape(v); err == nil {
			l.OriginalName = n
		} else {
			l.OriginalName = v
		}
	}
	if v, ok := m[MetaRecords]; ok {
		l.Records, _ = strconv.ParseInt(v, 10, 64)
	}
	if v, ok := m[MetaIngestTime]; ok {
		l.IngestTime, _ = time.Parse(time.RFC3339Nano, v)
	}
}

// rawKeyDate extracts YYYY-MM-DD from ".../ingest_date=YYYY-MM-DD/...".
func rawKeyDate(key string) string {
	const p = "/ingest_date="
	i := strings.Index(key, p)
	if i < 0 {
		return ""
	}
	rest := key[i+len(p):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// Open reads the landed object's content from the lake, decompressed when
// its content encoding is gzip or zstd (as the Buffer writes them): the
// records as they were added. For the bytes exactly as stored, read Key
// from the raw zone's store. The caller closes the reader.
func (l Landed) Open(ctx context.Context, lk *lake.Lake) (io.ReadCloser, error) {
	if lk == nil {
		return nil, fmt.Errorf("raw: open raw object: nil lake: %w", ErrInvalid)
	}
	z, err := lk.Zone(lake.Raw)
	if err != nil {
		return nil, err
	}
	enc := l.ContentEncoding
	if enc == "" && l.Metadata != nil {
		enc = l.Metadata[MetaContentEncoding]
	}
	switch enc {
	case "", "identity", "gzip", "zstd":
	default:
		return nil, fmt.Errorf("raw: open raw object %q: unknown content encoding %q (read it from the raw zone's store as stored): %w",
			l.Key, enc, ErrInvalid)
	}
	rc, err := z.Store().Get(ctx, l.Key)
	if err != nil {
		return nil, fmt.Errorf("raw: open raw object: %w", err)
	}
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(rc)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("raw: open raw object %q: gzip: %w", l.Key, err)
		}
		return rawDecoded{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	case "zstd":
		zr, err := zstd.NewReader(rc, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("raw: open raw object %q: zstd: %w", l.Key, err)
		}
		return rawDecoded{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	}
	return rc, nil
}

type rawDecoded struct {
	io.Reader
	close func() error
}

func (r rawDecoded) Close() error { return r.close() }
