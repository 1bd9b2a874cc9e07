package raw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lakekit/lakekit/lake"
)

// Errors of the ingestion buffer.
var (
	// ErrBufferClosed: Add or Flush after Close.
	ErrBufferClosed = errors.New("raw: ingestion buffer closed")
	// ErrBufferFull: Add waited for space (the buffer held MaxBufferedBytes
	// and flushes could not keep up) until its context ended. The record
	// was not added.
	ErrBufferFull = errors.New("raw: ingestion buffer full")
)

// BufferFormat is the record format of a Buffer.
type BufferFormat int

const (
	// BufferJSONLines: each record is one JSON value on one line. A record
	// may end with one '\n' (json.Encoder adds it); any other newline in it
	// is refused. Files: .jsonl, application/x-ndjson.
	BufferJSONLines BufferFormat = iota
	// BufferLines: records are lines of text (CSV rows, log lines); the
	// buffer appends '\n' unless the record ends with one and does not look
	// inside. Files: .txt, text/plain.
	BufferLines
)

// BufferCompression compresses the files a Buffer flushes.
type BufferCompression string

// Compressions of flushed files.
const (
	BufferUncompressed BufferCompression = ""
	BufferGzip         BufferCompression = "gzip" // .gz suffix, content-encoding gzip
	BufferZstd         BufferCompression = "zstd" // .zst suffix, content-encoding zstd
)

// BufferFlushReason says why a batch was flushed.
type BufferFlushReason string

// Flush reasons.
const (
	BufferFlushSize  BufferFlushReason = "size"  // the batch reached FlushBytes
	BufferFlushCount BufferFlushReason = "count" // the batch reached FlushRecords
	BufferFlushAge   BufferFlushReason = "age"   // the batch's first record is FlushInterval old
	BufferFlushFull  BufferFlushReason = "full"  // the buffer reached MaxBufferedBytes
	BufferFlushCall  BufferFlushReason = "flush" // Buffer.Flush
	BufferFlushClose BufferFlushReason = "close" // Buffer.Close
)

// Defaults of BufferOptions.
const (
	DefaultBufferFlushBytes    = 8 << 20
	DefaultBufferFlushInterval = time.Minute
	DefaultBufferMinBackoff    = 100 * time.Millisecond
	DefaultBufferMaxBackoff    = 30 * time.Second
)

// BufferOptions configure a Buffer. A nil *BufferOptions means defaults.
type BufferOptions struct {
	// Format of the records; default BufferJSONLines.
	Format BufferFormat
	// Compression of flushed files; default none.
	Compression BufferCompression
	// FlushBytes flushes a batch when it holds this many bytes (before
	// compression, newlines included); default 8 MiB.
	FlushBytes int
	// FlushRecords flushes a batch when it holds this many records; 0 means
	// no record limit.
	FlushRecords int
	// FlushInterval flushes a batch when its first record is this old;
	// default one minute; negative means never by age.
	FlushInterval time.Duration
	// MaxBufferedBytes bounds the bytes held (the open batch plus batches
	// waiting to be, or being, flushed). When reached, Add blocks until a
	// flush frees space or its context ends. Default 4 × FlushBytes; at
	// least FlushBytes.
	MaxBufferedBytes int64
	// MaxConcurrentFlushes is how many batches upload at once; default 2.
	MaxConcurrentFlushes int
	// MinBackoff and MaxBackoff bound the jittered exponential backoff
	// between attempts of a failed flush; defaults 100ms and 30s. A failed
	// flush is retried until it succeeds or Close gives up.
	MinBackoff, MaxBackoff time.Duration
	// ContentType and Extension of flushed files override the format's
	// (application/x-ndjson and .jsonl for JSON lines). The compression's
	// suffix (.gz, .zst) is appended to Extension.
	ContentType, Extension string
	// InstanceID goes into object names to keep the files of concurrent
	// buffers (one per task) apart; default 8 random hex digits. Letters,
	// digits and '-' only.
	InstanceID string
	// Metadata adds user metadata to every flushed object, as
	// LandOptions.Metadata does (who produced the records, for example).
	Metadata map[string]string
	// OnFlush is called after every flush attempt (Err set when it failed),
	// from the flushing goroutine; several may run at once. Keep it quick:
	// it is the hook for progress displays and metrics.
	OnFlush func(BufferFlush)
	// Logger receives the buffer's logs; nil means the lake's logger.
	Logger *slog.Logger
}

// BufferFlush reports one flush attempt to BufferOptions.OnFlush.
type BufferFlush struct {
	Seq         uint64            // batch number, from 1, per Buffer
	Key         string            // the raw object's key (relative to the raw zone)
	Reason      BufferFlushReason // why the batch was sealed
	Records     int64             // records in the batch
	Bytes       int64             // bytes before compression
	StoredBytes int64             // bytes written
	Attempt     int               // 1 for the first attempt
	Duration    time.Duration     // of this attempt
	Err         error             // nil when the batch landed
	Stats       BufferStats       // the buffer's counters after this attempt
}

// BufferStats are a Buffer's counters.
type BufferStats struct {
	Records        int64 // records added
	Bytes          int64 // bytes added (newlines included)
	RecordsFlushed int64 // records landed in the raw zone
	BytesFlushed   int64 // bytes landed, before compression
	BytesStored    int64 // bytes written to the store (after compression)
	Flushes        int64 // batches landed
	FlushErrors    int64 // failed flush attempts (each retried)
	BufferedBytes  int64 // bytes held now (open batch and unlanded batches)
	BufferedRecs   int64 // records held now
	Waits          int64 // Adds that had to wait for space
}

// Buffer collects records in memory and flushes them as files into the raw
// zone (<source>/<dataset>/ingest_date=YYYY-MM-DD/...) by size, record
// count or age — what Kinesis Data Firehose does, embedded in an ingestion
// service. It is safe for concurrent use.
//
// A failed flush is retried with jittered backoff and never drops records:
// the batch stays in memory, and when the buffer holds MaxBufferedBytes, Add
// blocks (back-pressure) instead of growing. Each batch's object name is
// fixed when the batch is sealed ("<seal time>-<instance>-<seq>.jsonl"), so
// a flush retried after an ambiguous failure overwrites its own object with
// the same bytes instead of adding a copy. Close flushes everything.
type Buffer struct {
	lk              *lake.Lake
	raw             *lake.Store
	source, dataset string
	o               BufferOptions
	log             *slog.Logger
	ext, ctype      string
	zenc            *zstd.Encoder

	ctx    context.Context // flushers' context; canceled when Close ends
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	flushCond   *sync.Cond // flushers wait here for work
	closed      bool
	stopped     bool
	cur         *bufferBatch
	seq         uint64
	queue       []*bufferBatch
	outstanding map[uint64]*bufferBatch // sealed, not landed yet
	changed     chan struct{}           // closed and replaced when space frees or a batch lands or fails
	lastErr     error
	stats       BufferStats

	closeOnce sync.Once
	closeErr  error
}

type bufferBatch struct {
	seq      uint64
	data     []byte
	records  int64
	sealedAt time.Time
	reason   BufferFlushReason
	timer    *time.Timer
	payload  []byte // what is stored, fixed at the first attempt
	sum      [32]byte
	attempts int
}

// NewBuffer returns a Buffer that lands records for source and dataset in
// lk's raw zone. Close it to flush what it holds.
func NewBuffer(lk *lake.Lake, source, dataset string, opts *BufferOptions) (*Buffer, error) {
	raw, err := rawZoneStore(lk, source, dataset)
	if err != nil {
		return nil, fmt.Errorf("raw: new buffer: %w", err)
	}
	var o BufferOptions
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return nil, fmt.Errorf("raw: new buffer %s/%s: %w", source, dataset, err)
	}
	if err := (&LandOptions{Metadata: o.Metadata}).validate(); err != nil {
		return nil, fmt.Errorf("raw: new buffer %s/%s: %w", source, dataset, err)
	}
	o.Metadata = maps.Clone(o.Metadata)
	b := &Buffer{lk: lk, raw: raw, source: source, dataset: dataset, o: o,
		outstanding: map[uint64]*bufferBatch{}, changed: make(chan struct{})}
	b.flushCond = sync.NewCond(&b.mu)
	b.log = o.Logger
	if b.log == nil {
		b.log = lk.Logger()
	}
	b.log = b.log.With("source", source, "dataset", dataset, "buffer", o.InstanceID)
	switch o.Format {
	case BufferJSONLines:
		b.ext, b.ctype = ".jsonl", "application/x-ndjson"
	case BufferLines:
		b.ext, b.ctype = ".txt", "text/plain"
	}
	if o.Extension != "" {
		b.ext = o.Extension
	}
	if o.ContentType != "" {
		b.ctype = o.ContentType
	}
	switch o.Compression {
	case BufferGzip:
		b.ext += ".gz"
	case BufferZstd:
		b.ext += ".zst"
		b.zenc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(o.MaxConcurrentFlushes))
		if err != nil {
			return nil, err
		}
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	for i := 0; i < o.MaxConcurrentFlushes; i++ {
		b.wg.Add(1)
		go b.flusher()
	}
	return b, nil
}

func (o *BufferOptions) fill() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("option "+format+": %w", append(args, ErrInvalid)...)
	}
	switch o.Format {
	case BufferJSONLines, BufferLines:
	default:
		return bad("Format: unknown format %d", o.Format)
	}
	switch o.Compression {
	case BufferUncompressed, BufferGzip, BufferZstd:
	default:
		return bad("Compression: unknown %q (want \"\", gzip or zstd)", o.Compression)
	}
	if o.FlushBytes < 0 || o.FlushRecords < 0 || o.MaxBufferedBytes < 0 || o.MaxConcurrentFlushes < 0 ||
		o.MinBackoff < 0 || o.MaxBackoff < 0 {
		return bad("sizes, counts and backoffs must not be negative")
	}
	if o.FlushBytes == 0 {
		o.FlushBytes = DefaultBufferFlushBytes
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultBufferFlushInterval
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = 4 * int64(o.FlushBytes)
	}
	if o.MaxBufferedBytes < int64(o.FlushBytes) {
		return bad("MaxBufferedBytes %d is less than FlushBytes %d", o.MaxBufferedBytes, o.FlushBytes)
	}
	if o.MaxConcurrentFlushes == 0 {
		o.MaxConcurrentFlushes = 2
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultBufferMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultBufferMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Extension != "" {
		if err := validateRawObjectName("x" + o.Extension); err != nil || o.Extension[0] != '.' || len(o.Extension) > 32 {
			return bad("Extension %q: want a dot and letters, digits, '.', '-', '_'", o.Extension)
		}
	}
	if o.InstanceID == "" {
		var r [4]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		o.InstanceID = hex.EncodeToString(r[:])
	}
	if len(o.InstanceID) > 64 {
		return bad("InstanceID %q: at most 64 characters", o.InstanceID[:16]+"...")
	}
	for i := 0; i < len(o.InstanceID); i++ {
		c := o.InstanceID[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return bad("InstanceID %q: letters, digits and '-' only", o.InstanceID)
		}
	}
	return nil
}

// Add appends one record. It is safe for concurrent use and cheap: the
// record is copied into the open batch; compression and upload happen in
// the background. When the buffer holds MaxBufferedBytes, Add blocks until
// a flush frees space or ctx ends (then the error matches ErrBufferFull and
// ctx's error). A record the format refuses, or larger than
// MaxBufferedBytes, gets an error matching ErrInvalid; after Close, Add
// returns ErrBufferClosed.
func (b *Buffer) Add(ctx context.Context, record []byte) error {
	rec, err := b.check(record)
	if err != nil {
		return err
	}
	need := int64(len(rec)) + 1
	if need > b.o.MaxBufferedBytes {
		return fmt.Errorf("raw: buffer %s/%s: record of %d bytes is larger than MaxBufferedBytes %d: %w",
			b.source, b.dataset, len(rec), b.o.MaxBufferedBytes, ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	waited := false
	var waitStart time.Time
	for {
		if b.closed {
			b.mu.Unlock()
			b.recordWaited(waitStart, "closed")
			return fmt.Errorf("raw: buffer %s/%s: add: %w", b.source, b.dataset, ErrBufferClosed)
		}
		if b.stats.BufferedBytes+need <= b.o.MaxBufferedBytes {
			break
		}
		if b.cur != nil {
			b.sealLocked(BufferFlushFull) // let the flushers take what we have
		}
		if !waited {
			waited = true
			b.stats.Waits++
			waitStart = b.recordWait()
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			b.recordWaited(waitStart, "buffer_full")
			return fmt.Errorf("raw: buffer %s/%s: add waited for space: %w: %w", b.source, b.dataset, ErrBufferFull, ctx.Err())
		}
		b.mu.Lock()
	}
	b.recordWaited(waitStart, "")
	c := b.cur
	if c == nil {
		c = &bufferBatch{data: b.newBatchData()}
		b.cur = c
		if b.o.FlushInterval > 0 {
			c.timer = time.AfterFunc(b.o.FlushInterval, func() {
				b.mu.Lock()
				if b.cur == c {
					b.sealLocked(BufferFlushAge)
				}
				b.mu.Unlock()
			})
		}
	}
	c.data = append(c.data, rec...)
	c.data = append(c.data, '\n')
	c.records++
	b.stats.Records++
	b.stats.Bytes += need
	b.stats.BufferedBytes += need
	b.stats.BufferedRecs++
	switch {
	case len(c.data) >= b.o.FlushBytes:
		b.sealLocked(BufferFlushSize)
	case b.o.FlushRecords > 0 && c.records >= int64(b.o.FlushRecords):
		b.sealLocked(BufferFlushCount)
	}
	b.mu.Unlock()
	return nil
}

// check returns the record without its trailing newline, or an error.
func (b *Buffer) check(record []byte) ([]byte, error) {
	rec := record
	if n := len(rec); n > 0 && rec[n-1] == '\n' {
		rec = rec[:n-1]
	}
	if b.o.Format == BufferJSONLines {
		if len(bytes.TrimSpace(rec)) == 0 {
			return nil, fmt.Errorf("raw: buffer %s/%s: empty JSON-lines record: %w", b.source, b.dataset, ErrInvalid)
		}
		if i := bytes.IndexByte(rec, '\n'); i >= 0 {
			return nil, fmt.Errorf("raw: buffer %s/%s: JSON-lines record contains a newline at byte %d (encode it on one line, e.g. with json.Marshal): %w",
				b.source, b.dataset, i, ErrInvalid)
		}
	}
	return rec, nil
}

// sealLocked closes the open batch and queues it for a flusher.
func (b *Buffer) sealLocked(reason BufferFlushReason) {
	c := b.cur
	if c == nil {
		return
	}
	b.cur = nil
	if c.timer != nil {
		c.timer.Stop()
	}
	b.seq++
	c.seq = b.seq
	c.sealedAt = time.Now().UTC()
	c.reason = reason
	b.queue = append(b.queue, c)
	b.outstanding[c.seq] = c
	b.flushCond.Signal()
}

func (b *Buffer) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Flush seals the open batch and waits until every record added before the
// call has landed, or ctx ends: then the error wraps ctx's error and the
// last flush error. Failed flushes keep being retried in the background.
func (b *Buffer) Flush(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fmt.Errorf("raw: buffer %s/%s: flush: %w", b.source, b.dataset, ErrBufferClosed)
	}
	b.sealLocked(BufferFlushCall)
	target := b.seq
	b.mu.Unlock()
	return b.wait(ctx, target, "flush")
}

// wait blocks until no batch up to seq target is outstanding.
func (b *Buffer) wait(ctx context.Context, target uint64, op string) error {
	for {
		b.mu.Lock()
		var recs, n int64
		for s, c := range b.outstanding {
			if s <= target {
				recs += c.records
				n += int64(len(c.data))
			}
		}
		lastErr, ch := b.lastErr, b.changed
		b.mu.Unlock()
		if recs == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			err := ctx.Err()
			if lastErr != nil {
				err = fmt.Errorf("%w (last flush error: %w)", err, lastErr)
			}
			return fmt.Errorf("raw: buffer %s/%s: %s: %d records (%d bytes) not landed yet: %w",
				b.source, b.dataset, op, recs, n, err)
		}
	}
}

// Close stops accepting records (Add then returns ErrBufferClosed), flushes
// everything the buffer holds, waiting for failed flushes to be retried, and
// stops the background work. If ctx ends first, Close gives up and returns
// an error saying how many records could not be landed, wrapping ctx's error
// and the last flush error; nothing was silently dropped. Give ctx a
// deadline: with a store that keeps failing, Close waits as long as ctx
// allows. Later calls return the first call's result.
func (b *Buffer) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.sealLocked(BufferFlushClose)
		target := b.seq
		b.notifyLocked() // wake blocked Adds: they return ErrBufferClosed
		b.mu.Unlock()
		err := b.wait(ctx, target, "close")
		b.cancel()
		b.mu.Lock()
		b.stopped = true
		b.flushCond.Broadcast()
		b.mu.Unlock()
		b.wg.Wait()
		if b.zenc != nil {
			b.zenc.Close()
		}
		st := b.Stats()
		if err != nil {
			b.log.Error("raw: buffer closed with records not landed", "records", st.BufferedRecs, "bytes", st.BufferedBytes, "err", err)
		} else {
			b.log.Info("raw: buffer closed", "records", st.RecordsFlushed, "flushes", st.Flushes, "flush_errors", st.FlushErrors)
		}
		b.closeErr = err
	})
	return b.closeErr
}

// Stats returns the buffer's counters.
func (b *Buffer) Stats() BufferStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}
