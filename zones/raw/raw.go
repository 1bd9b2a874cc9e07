package raw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

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

// escapeRawName makes an original file name safe for object metadata (S3
// allows only US-ASCII there): percent-encoded, at most 1024 bytes.
func escapeRawName(n string) string {
	e := url.PathEscape(n)
	if len(e) <= 1024 {
		return e
	}
	var b strings.Builder
	for _, r := range n {
		er := url.PathEscape(string(r))
		if b.Len()+len(er) > 1024 {
			break
		}
		b.WriteString(er)
	}
	return b.String()
}

// rawExtension returns the sanitised extension of an original file name,
// ".csv", ".jsonl.gz", or "" when it has none or an odd one.
func rawExtension(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(name)
	parts := strings.Split(name, ".")
	if len(parts) < 2 || parts[0] == "" && len(parts) == 2 {
		return ""
	}
	ext := ""
	for i := len(parts) - 1; i >= 1 && i >= len(parts)-2; i-- {
		p := parts[i]
		if p == "" || len(p) > 10 || !isAlnum(p) {
			break
		}
		ext = "." + p + ext
	}
	return ext
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ContentType returns the content type Land assumes for a file name by
// its extension (a fixed table, the same on every machine), or
// application/octet-stream.
func ContentType(name string) string {
	ext := rawExtension(name)
	if i := strings.LastIndexByte(ext, '.'); i > 0 {
		switch ext[i:] {
		case ".gz", ".zst", ".bz2", ".zip":
			// the encoding says how to unpack; the type is the inner one
			if t, ok := rawTypes[ext[:i]]; ok {
				return t
			}
		}
		ext = ext[i:]
	}
	if t, ok := rawTypes[ext]; ok {
		return t
	}
	return "application/octet-stream"
}

var rawTypes = map[string]string{
	".json":    "application/json",
	".jsonl":   "application/x-ndjson",
	".ndjson":  "application/x-ndjson",
	".csv":     "text/csv",
	".tsv":     "text/tab-separated-values",
	".txt":     "text/plain",
	".xml":     "application/xml",
	".parquet": "application/vnd.apache.parquet",
	".avro":    "application/avro",
	".orc":     "application/x-orc",
	".gz":      "application/gzip",
	".zst":     "application/zstd",
	".zip":     "application/zip",
}

// rawSpool holds a landed stream: in memory when small, else in a temp file.
type rawSpool struct {
	mem  []byte
	f    *os.File
	size int64
	sum  [32]byte
}

func (s *rawSpool) reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

func (s *rawSpool) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

type rawCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r rawCtxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

var rawCopyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func spoolRaw(ctx context.Context, r io.Reader, limit int64, dir string) (*rawSpool, error) {
	h := sha256.New()
	tee := io.TeeReader(rawCtxReader{ctx, r}, h)
	var mem bytes.Buffer
	n, err := mem.ReadFrom(io.LimitReader(tee, limit+1))
	if err != nil {
		return nil, err
	}
	sp := &rawSpool{size: n}
	if n <= limit {
		sp.mem = mem.Bytes()
		h.Sum(sp.sum[:0])
		return sp, nil
	}
	f, err := os.CreateTemp(dir, "lakekit-land-*")
	if err != nil {
		return nil, err
	}
	sp.f = f
	if _, err := f.Write(mem.Bytes()); err != nil {
		sp.close()
		return nil, err
	}
	mem = bytes.Buffer{}
	bp := rawCopyBufs.Get().(*[]byte)
	m, err := io.CopyBuffer(struct{ io.Writer }{f}, tee, *bp)
	rawCopyBufs.Put(bp)
	if err != nil {
		sp.close()
		return nil, err
	}
	sp.size += m
	h.Sum(sp.sum[:0])
	return sp, nil
}

// ListOptions select what List returns. A nil *ListOptions lists
// everything with metadata, in lakekit's own layout.
type ListOptions struct {
	// Layout says which objects under the dataset's prefix are input and
	// in which order; nil means LakekitLayout (what Land and Buffer write).
	Layout Layout
	// Since skips objects whose ingest date is before Since's UTC date.
	Since time.Time
	// SkipMetadata leaves out the per-object metadata (one Stat, an S3 HEAD,
	// per object): only Key, Location, Source, Dataset, IngestDate,
	// IngestTime (where the layout reads it from the key), Size, ETag,
	// ModTime, Kind and Partition are set.
	SkipMetadata bool
	// OnSkip is called, in key order, for each object List does not yield:
	// Unaccepted (no rule of the layout accepts it; also logged as a
	// warning), Held (logged at info) and Ignored (logged at debug), with
	// Landed.Kind saying which.
	OnSkip func(Landed)
}

// statConcurrency bounds the Stats List runs at once.
const statConcurrency = 8

// List yields the objects under the raw prefix <source>/<dataset>/ that
// the layout (ListOptions.Layout; lakekit's by default) accepts as Input
// or ErrorOutput, in the order the layout reads them — for lakekit's
// layout by ingest date, and within a date by object name, which for
// generated names (Land's and the Buffer's) is the ingest time. Each comes
// with its key, size, ETag, ingest date and (unless SkipMetadata)
// metadata: what transforms need to read raw input incrementally. Objects
// it does not yield go to ListOptions.OnSkip and the lake's log; none is
// passed over in silence. An error ends the sequence as (Landed{}, err).
func List(ctx context.Context, lk *lake.Lake, source, dataset string, opts *ListOptions) iter.Seq2[Landed, error] {
	return func(yield func(Landed, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
		}
		if o.Layout == nil {
			o.Layout = defaultLayout
		}
		fail := func(err error) { yield(Landed{}, fmt.Errorf("raw: list %s/%s: %w", source, dataset, err)) }
		store, err := rawZoneStore(lk, source, dataset)
		if err != nil {
			fail(err)
			return
		}
		if c, ok := o.Layout.(interface{ Check() error }); ok {
			if err := c.Check(); err != nil {
				fail(err)
				return
			}
		}
		since := ""
		if !o.Since.IsZero() {
			since = o.Since.UTC().Format(IngestDateLayout)
		}
		log := lk.Logger().With("source", source, "dataset", dataset, "layout", o.Layout.Name())
		skip := func(l Landed, k Kind) {
			l.Kind = k
			switch k {
			case Unaccepted:
				log.Warn("raw: object not accepted by the layout; not read", "key", l.Key)
			case Held:
				log.Info("raw: object held back by the layout", "key", l.Key)
			default:
				log.Debug("raw: object ignored by the layout", "key", l.Key)
			}
			if o.OnSkip != nil {
				o.OnSkip(l)
			}
		}
		base := source + "/" + dataset + "/"
		var page []Landed
		for e, err := range store.List(ctx, base, nil) {
			if err != nil {
				fail(err)
				return
			}
			if e.IsDir {
				continue
			}
			l := Landed{Key: e.Key, Location: store.Location(e.Key), Source: source, Dataset: dataset,
				Size: e.Size, ETag: e.ETag, ModTime: e.ModTime}
			switch k := o.Layout.Classify(e.Key[len(base):], &l); k {
			case Input, ErrorOutput:
				if l.IngestDate >= since {
					l.Kind = k
					page = append(page, l)
				}
			default:
				skip(l, k)
			}
		}
		page, held := o.Layout.Arrange(page)
		for _, l := range held {
			skip(l, Held)
		}
		if !o.SkipMetadata {
			if err := statRawPage(ctx, store, page); err != nil {
				fail(err)
				return
			}
		}
		for _, l := range page {
			if l.Key == "" {
				continue
			}
			if !yield(l, nil) {
				return
			}
		}
	}
}

// statRawPage fills in the metadata of listed objects, a few Stats at a time.
func statRawPage(ctx context.Context, raw *lake.Store, page []Landed) error {
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, statConcurrency)
		mu   sync.Mutex
		errs []error
	)
	for i := range page {
		sem <- struct{}{}
		wg.Add(1)
		go func(l *Landed) {
			defer func() { <-sem; wg.Done() }()
			a, err := raw.Stat(ctx, l.Key)
			if err != nil {
				if errors.Is(err, lake.ErrNotFound) { // deleted since the listing
					l.Key = ""
					return
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			full := landedFromAttrs(raw, a)
			full.Source, full.Dataset, full.IngestDate = l.Source, l.Dataset, l.IngestDate
			full.Kind, full.Partition = l.Kind, l.Partition
			if full.IngestTime.IsZero() {
				full.IngestTime = l.IngestTime
			}
			if full.ETag == "" {
				full.ETag = l.ETag
			}
			if full.ModTime.IsZero() {
				full.ModTime = l.ModTime
			}
			*l = *full
		}(&page[i])
	}
	wg.Wait()
	return errors.Join(errs...)
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
