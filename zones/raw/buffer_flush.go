package raw

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The flushing side of Buffer: the flusher goroutines, one flush attempt
// with its backoff, and the encoding of a batch.

func (b *Buffer) flusher() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.stopped {
			b.flushCond.Wait()
		}
		if b.stopped {
			b.mu.Unlock()
			return
		}
		c := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.mu.Unlock()
		b.flushBatch(c)
	}
}

// flushBatch lands c, retrying with backoff until it lands or the buffer
// stops. A batch that did not land stays in outstanding.
func (b *Buffer) flushBatch(c *bufferBatch) {
	for {
		err := b.attempt(c)
		if err == nil {
			return
		}
		backoff := b.backoff(c.attempts)
		b.log.Warn("raw: buffer flush failed; retrying", "seq", c.seq, "records", c.records,
			"attempt", c.attempts, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-b.ctx.Done():
			t.Stop()
			// put it back so Close can report it; never dropped silently
			b.mu.Lock()
			b.queue = append(b.queue, c)
			b.mu.Unlock()
			return
		}
	}
}

// backoff is a full-jitter exponential backoff: a random duration between
// MinBackoff and min(MaxBackoff, MinBackoff·2^(attempt-1)).
func (b *Buffer) backoff(attempt int) time.Duration {
	d := b.o.MinBackoff
	for i := 1; i < attempt && d < b.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, b.o.MaxBackoff)
	lo := b.o.MinBackoff
	if d <= lo {
		return lo
	}
	return lo + time.Duration(mrand.Int64N(int64(d-lo)))
}

func (b *Buffer) objectName(c *bufferBatch) string {
	return fmt.Sprintf("%s-%s-%08d%s", c.sealedAt.Format(rawTimeLayout), b.o.InstanceID, c.seq, b.ext)
}

func (b *Buffer) attempt(c *bufferBatch) error {
	start := time.Now()
	c.attempts++
	if c.payload == nil {
		p, err := b.encode(c.data)
		if err != nil {
			return err
		}
		c.payload = p
		c.sum = sha256.Sum256(p)
	}
	name := b.objectName(c)
	lo := &LandOptions{ObjectName: name, IngestTime: c.sealedAt, AllowDuplicates: true, Records: c.records,
		ContentType: b.ctype, ContentEncoding: string(b.o.Compression), Metadata: b.o.Metadata}
	payload := c.payload
	l, err := landObject(b.ctx, b.lk, b.raw, b.source, b.dataset, "", lo,
		func() io.Reader { return bytes.NewReader(payload) }, int64(len(payload)), c.sum)
	f := BufferFlush{Seq: c.seq, Reason: c.reason, Records: c.records, Bytes: int64(len(c.data)),
		StoredBytes: int64(len(payload)), Attempt: c.attempts, Duration: time.Since(start), Err: err}
	b.recordFlush(f)
	b.mu.Lock()
	if err != nil {
		b.stats.FlushErrors++
		b.lastErr = err
		f.Key = b.source + "/" + b.dataset + "/ingest_date=" + c.sealedAt.Format(IngestDateLayout) + "/" + name
	} else {
		f.Key = l.Key
		delete(b.outstanding, c.seq)
		b.stats.Flushes++
		b.stats.RecordsFlushed += c.records
		b.stats.BytesFlushed += int64(len(c.data))
		b.stats.BytesStored += int64(len(payload))
		b.stats.BufferedBytes -= int64(len(c.data))
		b.stats.BufferedRecs -= c.records
		if len(b.outstanding) == 0 {
			b.lastErr = nil
		}
		b.recycle(c)
	}
	f.Stats = b.stats
	b.notifyLocked()
	b.mu.Unlock()
	if err == nil {
		b.log.Debug("raw: buffer flushed", "key", f.Key, "seq", c.seq, "reason", c.reason,
			"records", f.Records, "bytes", f.Bytes, "stored_bytes", f.StoredBytes, "attempt", f.Attempt, "took", f.Duration)
	}
	if b.o.OnFlush != nil {
		b.o.OnFlush(f)
	}
	return err
}

var (
	bufferGzipWriters sync.Pool
	bufferBatchBufs   sync.Pool // *[]byte of landed batches, reused by new ones
)

func (b *Buffer) newBatchData() []byte {
	if p, ok := bufferBatchBufs.Get().(*[]byte); ok && cap(*p) <= 2*b.o.FlushBytes+64<<10 {
		return (*p)[:0]
	}
	return make([]byte, 0, min(b.o.FlushBytes+4<<10, 1<<20))
}

// recycle returns a landed batch's memory for reuse.
func (b *Buffer) recycle(c *bufferBatch) {
	d := c.data
	c.data, c.payload = nil, nil
	if cap(d) >= 64<<10 {
		d = d[:0]
		bufferBatchBufs.Put(&d)
	}
}

func (b *Buffer) encode(data []byte) ([]byte, error) {
	switch b.o.Compression {
	case BufferGzip:
		var out bytes.Buffer
		out.Grow(len(data)/3 + 64)
		zw, _ := bufferGzipWriters.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(&out)
		} else {
			zw.Reset(&out)
		}
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		bufferGzipWriters.Put(zw)
		return out.Bytes(), nil
	case BufferZstd:
		return b.zenc.EncodeAll(data, make([]byte, 0, len(data)/3+64)), nil
	}
	return data, nil
}
