package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakekit/lakekit/internal/backoff"
	"github.com/lakekit/lakekit/lake/driver"
)

// body is a put's body after preparation: either replayable (ra holds n
// bytes and can be read again for a retry) or a stream.
type body struct {
	ra     io.ReaderAt
	n      int64
	stream io.Reader
}

func (b *body) reader() io.ReadSeeker { return io.NewSectionReader(b.ra, 0, b.n) }

// prepare makes r into a body: a seekable io.ReaderAt is used in place; a
// plain reader is buffered up to the multipart threshold, and what is
// longer streams. size >= 0 is checked against what r holds.
func (d *Driver) prepare(ctx context.Context, r io.Reader, size int64) (*body, error) {
	if r == nil {
		r = bytes.NewReader(nil)
	}
	if ra, ok := r.(io.ReaderAt); ok {
		if sk, ok := r.(io.Seeker); ok {
			cur, err := sk.Seek(0, io.SeekCurrent)
			if err == nil {
				end, err := sk.Seek(0, io.SeekEnd)
				if err != nil {
					return nil, err
				}
				if _, err := sk.Seek(cur, io.SeekStart); err != nil {
					return nil, err
				}
				n := end - cur
				if size >= 0 && n != size {
					return nil, fmt.Errorf("body has %d bytes, size says %d", n, size)
				}
				return &body{ra: io.NewSectionReader(ra, cur, n), n: n}, nil
			}
		}
	}
	r = ctxReader{ctx, r} // a slow stream stops when the put is canceled
	limit := d.opts.MultipartThreshold
	if size >= 0 && size < limit {
		limit = size + 1 // one more, to notice a body longer than size
	}
	buf := make([]byte, 0, min(limit, 1<<20))
	bb := bytes.NewBuffer(buf)
	n, err := bb.ReadFrom(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if n < limit { // the reader ended: the whole body is in the buffer
		if size >= 0 && n != size {
			return nil, fmt.Errorf("body has %d bytes, size says %d", n, size)
		}
		return &body{ra: bytes.NewReader(bb.Bytes()), n: n}, nil
	}
	if size >= 0 && size < d.opts.MultipartThreshold {
		return nil, fmt.Errorf("body has more than the %d bytes size says", size)
	}
	stream := io.MultiReader(bytes.NewReader(bb.Bytes()), r)
	if size >= 0 {
		stream = &exactReader{r: stream, left: size}
	}
	return &body{stream: stream, n: size}, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// exactReader fails unless its reader holds exactly left bytes, so a short
// or long body aborts the multipart upload instead of completing it.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		var one [1]byte
		if n, _ := io.ReadFull(e.r, one[:]); n > 0 {
			return 0, errors.New("body is longer than the size given")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("body ended %d bytes short of the size given: %w", e.left, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// Put implements driver.Driver. Small bodies go in one PutObject; large
// ones, and streams that reach MultipartThreshold, through a multipart
// upload. Both are atomic on S3: the object appears whole when the request
// (or CompleteMultipartUpload) succeeds.
func (d *Driver) Put(ctx context.Context, key string, r io.Reader, size int64, opts *driver.PutOptions) error {
	if opts == nil {
		opts = &driver.PutOptions{}
	}
	op := "put"
	if opts.IfNotExists {
		op = "create"
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3store: %s %s: %w", op, d.Location(key), err)
	}
	b, err := d.prepare(ctx, r, size)
	if err != nil {
		return fmt.Errorf("s3store: %s %s: %w", op, d.Location(key), err)
	}
	if b.stream == nil && b.n < d.opts.MultipartThreshold {
		return d.putSingle(ctx, op, key, b, opts)
	}
	return d.putMultipart(ctx, op, key, b, opts)
}

func (d *Driver) putSingle(ctx context.Context, op, key string, b *body, opts *driver.PutOptions) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(d.bucket),
		Key:           aws.String(d.key(key)),
		ContentLength: aws.Int64(b.n),
		Metadata:      opts.Metadata,
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	if opts.SSEKMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(opts.SSEKMSKeyID)
	}
	if opts.IfNotExists {
		in.IfNoneMatch = aws.String("*")
	}
	return d.retryConflicts(ctx, opts.IfNotExists, func() error {
		in.Body = b.reader() // fresh for every attempt
		_, err := d.client.PutObject(ctx, in)
		return d.mapErr(op, key, err)
	})
}

func (d *Driver) putMultipart(ctx context.Context, op, key string, b *body, opts *driver.PutOptions) error {
	if opts.IfNotExists {
		// S3 checks If-None-Match at CompleteMultipartUpload, after every
		// part went up; look first so a create of a present key costs one
		// HEAD instead of the whole upload. The conditional complete below
		// stays the atomic check.
		if _, err := d.Stat(ctx, key); err == nil {
			return fmt.Errorf("s3store: create %s: %w", d.Location(key), driver.ErrExists)
		} else if !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	in := &transfermanager.UploadObjectInput{
		Bucket:   aws.String(d.bucket),
		Key:      aws.String(d.key(key)),
		Metadata: opts.Metadata,
	}
	if b.n >= 0 {
		in.ContentLength = aws.Int64(b.n)
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	if opts.SSEKMSKeyID != "" {
		in.ServerSideEncryption = tmtypes.ServerSideEncryption(types.ServerSideEncryptionAwsKms)
		in.SSEKMSKeyID = aws.String(opts.SSEKMSKeyID)
	}
	if opts.IfNotExists {
		in.IfNoneMatch = aws.String("*")
	}
	retry := opts.IfNotExists && b.stream == nil // only a replayable body can be sent again
	return d.retryConflicts(ctx, retry, func() error {
		if b.stream != nil {
			in.Body = b.stream
		} else {
			in.Body = b.reader()
		}
		_, err := d.tm.UploadObject(ctx, in)
		return d.mapErr(op, key, err)
	})
}

// retryConflicts runs put, and while enabled and the error is a 409
// ConditionalRequestConflict, runs it again after a jittered, growing
// pause, at most ConflictRetries times.
func (d *Driver) retryConflicts(ctx context.Context, enabled bool, put func() error) error {
	for attempt := 0; ; attempt++ {
		err := put()
		if err == nil || !enabled || attempt >= d.opts.ConflictRetries || !isConflict(err) {
			return err
		}
		// 50 ms growing to 3.2 s, in [d/2, 3d/2)
		if cerr := backoff.Sleep(ctx, backoff.Equal(attempt+1, 50*time.Millisecond, 3200*time.Millisecond)); cerr != nil {
			return errors.Join(err, cerr)
		}
	}
}
