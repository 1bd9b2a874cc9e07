package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lakekit/lakekit/internal/backoff"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
)

// Defaults of Options.
const (
	DefaultPartSize           = 8 << 20
	DefaultMultipartThreshold = 8 << 20
	DefaultConcurrency        = 4
	DefaultConflictRetries    = 6
	// MinPartSize is the smallest part S3 accepts (except the last one).
	MinPartSize = 5 << 20
	// maxDeleteBatch is how many keys one DeleteObjects call takes.
	maxDeleteBatch = 1000
)

// Options tune a Driver. A nil *Options means defaults.
type Options struct {
	// MultipartThreshold: a body of at least this many bytes, or of unknown
	// size that reaches it, is uploaded in parts through the transfer
	// manager; smaller ones go in one PutObject. Default 8 MiB.
	MultipartThreshold int64
	// PartSize is the size of each part of a multipart upload, at least
	// 5 MiB. Default 8 MiB. Memory held by one Put is about
	// PartSize × (Concurrency+1).
	PartSize int64
	// Concurrency bounds the parts of one Put uploaded at once. Default 4.
	Concurrency int
	// ConflictRetries bounds how often a create-if-absent put is retried,
	// with jittered exponential backoff, when S3 answers 409
	// ConditionalRequestConflict (another conditional write of the key was
	// in flight). Default 6; a negative value disables retries.
	ConflictRetries int

	// Caller, when set, is the identity the driver reports for the audit
	// trail (lake.CallerIdentifier): a service name or a principal ARN. No
	// STS call is made then.
	Caller string
	// NoCallerLookup switches the STS GetCallerIdentity lookup off: the
	// caller stays unknown unless Caller or lake.Options.Caller sets it.
	NoCallerLookup bool
	// STSClientOptions are applied to the STS client of the caller lookup.
	// It starts from the S3 client's region, credentials, HTTP client,
	// logger and endpoint (an emulator such as moto serves both services
	// on one endpoint; on AWS the endpoint is unset and STS resolves its
	// own); set o.BaseEndpoint here for an STS VPC endpoint, say.
	STSClientOptions []func(*sts.Options)

	// The fields below are used only where this package builds the S3
	// client (OpenStore and the s3:// URL opener).

	// UsePathStyle forces path-style addressing (http://host/bucket/key).
	// It is switched on automatically when the endpoint's host is an IP
	// address or localhost (MinIO, moto, gofakes3).
	UsePathStyle bool
	// ClientOptions are applied to the s3.Options of the client, after the
	// aws.Config: set a custom HTTP client (o.HTTPClient), a retryer, or an
	// endpoint here. Do not use config.WithHTTPClient for a custom HTTP
	// client where AWS_CA_BUNDLE is set: LoadDefaultConfig then fails.
	ClientOptions []func(*s3.Options)
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MultipartThreshold == 0 {
		r.MultipartThreshold = DefaultMultipartThreshold
	}
	if r.PartSize == 0 {
		r.PartSize = DefaultPartSize
	}
	if r.Concurrency == 0 {
		r.Concurrency = DefaultConcurrency
	}
	if r.ConflictRetries == 0 {
		r.ConflictRetries = DefaultConflictRetries
	}
	switch {
	case r.MultipartThreshold < 0:
		return r, fmt.Errorf("s3store: MultipartThreshold %d is negative", r.MultipartThreshold)
	case r.PartSize < MinPartSize:
		return r, fmt.Errorf("s3store: PartSize %d is below S3's minimum part size of %d bytes (5 MiB)", r.PartSize, MinPartSize)
	case r.Concurrency < 0:
		return r, fmt.Errorf("s3store: Concurrency %d is negative", r.Concurrency)
	}
	return r, nil
}

// Driver is the S3 driver. Its methods are safe for concurrent use.
type Driver struct {
	client *s3.Client
	tm     *transfermanager.Client
	bucket string
	prefix string // "" or ends with "/"
	opts   Options
	caller callerLookup
}

var (
	_ driver.Driver         = (*Driver)(nil)
	_ driver.Locator        = (*Driver)(nil)
	_ lake.CallerIdentifier = (*Driver)(nil)
	_ driver.Mover          = (*Driver)(nil)
	_ driver.KeyLimiter     = (*Driver)(nil)
)

// New returns a driver over client for the objects of bucket whose keys
// start with prefix (keys are relative to it). Build the client with
// s3.NewFromConfig: s3.New without the config's checksum settings leaves
// checksums off.
func New(client *s3.Client, bucket, prefix string, opts *Options) (*Driver, error) {
	if client == nil {
		return nil, errors.New("s3store: New: client is nil")
	}
	if err := ValidateBucketName(bucket); err != nil {
		return nil, err
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := lake.ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("s3store: prefix: %w", err)
		}
		prefix += "/"
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Driver{client: client, bucket: bucket, prefix: prefix, opts: o}
	d.tm = transfermanager.New(client, func(t *transfermanager.Options) {
		t.PartSizeBytes = o.PartSize
		t.Concurrency = o.Concurrency
		t.MultipartUploadThreshold = max(o.MultipartThreshold, 1)
		t.GetObjectType = tmtypes.GetObjectRanges // moto ignores partNumber
	})
	return d, nil
}

// OpenStore builds an S3 client from cfg (s3.NewFromConfig, honouring
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 and Options.ClientOptions) and
// returns a store over bucket/prefix.
func OpenStore(ctx context.Context, cfg aws.Config, bucket, prefix string, opts *Options) (*lake.Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var ps *bool
	if o.UsePathStyle {
		ps = aws.Bool(true)
	}
	d, err := New(newClient(cfg, "", ps, o.ClientOptions), bucket, prefix, &o)
	if err != nil {
		return nil, err
	}
	return lake.NewStore(d), nil
}

// newClient builds the client. endpoint (if set) wins over the config and
// the environment; pathStyle nil means automatic: on for an IP or localhost
// endpoint.
func newClient(cfg aws.Config, endpoint string, pathStyle *bool, extra []func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		for _, f := range extra {
			f(o)
		}
		switch {
		case pathStyle != nil:
			o.UsePathStyle = *pathStyle
		case o.BaseEndpoint != nil && isLocalEndpoint(*o.BaseEndpoint):
			o.UsePathStyle = true
		}
	})
}

// isLocalEndpoint reports whether an endpoint URL's host is an IP address or
// localhost, where virtual-hosted buckets (bucket.host) cannot resolve.
func isLocalEndpoint(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || net.ParseIP(h) != nil
}

// ValidateBucketName checks S3's bucket naming rules (3–63 characters of
// lower case letters, digits, '.' and '-', starting and ending with a letter
// or digit, not an IP address). The error wraps lake.ErrInvalidName.
func ValidateBucketName(b string) error {
	bad := func(rule string) error {
		return fmt.Errorf("s3store: invalid bucket name %q: %s: %w", b, rule, driver.ErrInvalidName)
	}
	if b == "" {
		return bad("must not be empty")
	}
	if len(b) < 3 || len(b) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad("may hold only lower case letters, digits, '.' and '-'")
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return bad("must start and end with a letter or digit")
	}
	if strings.Contains(b, "..") {
		return bad("must not contain two adjacent periods")
	}
	if net.ParseIP(b) != nil {
		return bad("must not be formatted as an IP address")
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func (d *Driver) key(k string) string { return d.prefix + k }

// MaxKeyLength implements driver.KeyLimiter: S3's 1,024 bytes less the
// driver's own prefix.
func (d *Driver) MaxKeyLength() int { return lake.MaxKeyLength - len(d.prefix) }

// Bucket returns the bucket name.
func (d *Driver) Bucket() string { return d.bucket }

// Prefix returns the key prefix within the bucket ("" or ending in "/").
func (d *Driver) Prefix() string { return d.prefix }

// Location implements driver.Locator: s3://bucket/<prefix>/key.
func (d *Driver) Location(key string) string {
	return "s3://" + d.bucket + "/" + d.prefix + key
}

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

// Get implements driver.Driver with one GetObject: a Range header for a
// part of the object, a suffix range (bytes=-N) when off < 0.
func (d *Driver) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *driver.Attributes, error) {
	if length == 0 && off >= 0 {
		a, err := d.Stat(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), a, nil
	}
	in := &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(key))}
	ranged := true
	switch {
	case off < 0:
		in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10))
	case length < 0 && off == 0:
		ranged = false
	case length < 0:
		in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10) + "-")
	default:
		in.Range = aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+length-1, 10))
	}
	out, err := d.client.GetObject(ctx, in, func(o *s3.Options) {
		// objects put in parts, and ranges, often carry no checksum to
		// check; that is not worth a log line per read
		o.DisableLogOutputChecksumValidationSkipped = true
		if ranged {
			// a range has no checksum of its own; some servers echo the
			// whole object's, which must not be checked against a part
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	if err != nil {
		if ranged && errorCode(err) == "InvalidRange" {
			if off < 0 {
				// A suffix of an empty object, or (on some servers) one
				// longer than the object, which S3 answers with the whole
				// object: the whole object is the answer.
				return d.Get(ctx, key, 0, -1)
			}
			// The range starts at or past the end: no bytes to return,
			// but the object exists.
			a, serr := d.Stat(ctx, key)
			if serr != nil {
				return nil, nil, serr
			}
			return io.NopCloser(bytes.NewReader(nil)), a, nil
		}
		return nil, nil, d.mapErr("get", key, err)
	}
	a := &driver.Attributes{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ModTime:     aws.ToTime(out.LastModified),
		ETag:        aws.ToString(out.ETag),
		ContentType: aws.ToString(out.ContentType),
		Metadata:    lowerKeys(out.Metadata),
		SSEKMSKeyID: aws.ToString(out.SSEKMSKeyId),
	}
	var rc io.ReadCloser = out.Body
	if cr := aws.ToString(out.ContentRange); cr != "" {
		total, err := parseContentRangeTotal(cr)
		if err != nil {
			out.Body.Close()
			return nil, nil, fmt.Errorf("s3store: get %s: %w", d.Location(key), err)
		}
		a.Size = total
	} else if ranged {
		// the server ignored the range and sent the whole object
		start, end := driver.ClampRange(a.Size, off, length)
		if _, err := io.CopyN(io.Discard, out.Body, start); err != nil {
			out.Body.Close()
			return nil, nil, d.mapErr("get", key, err)
		}
		rc = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(out.Body, end-start), out.Body}
	}
	return rc, a, nil
}

// parseContentRangeTotal returns the total size of "bytes 0-9/100".
func parseContentRangeTotal(cr string) (int64, error) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 || cr[i+1:] == "*" {
		return 0, fmt.Errorf("Content-Range %q carries no total size", cr)
	}
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("Content-Range %q: bad total size", cr)
	}
	return n, nil
}

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Stat implements driver.Driver with HeadObject.
func (d *Driver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(key))})
	if err != nil {
		return nil, d.mapErr("stat", key, err)
	}
	return &driver.Attributes{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ModTime:     aws.ToTime(out.LastModified),
		ETag:        aws.ToString(out.ETag),
		ContentType: aws.ToString(out.ContentType),
		Metadata:    lowerKeys(out.Metadata),
		SSEKMSKeyID: aws.ToString(out.SSEKMSKeyId),
	}, nil
}

// maxCopySize is the largest object one CopyObject request copies (5 GiB).
const maxCopySize = 5 << 30

// Move implements driver.Mover: CopyObject (server side, no data through
// the client; content type and metadata are copied, the KMS key is given
// again) then DeleteObject of the source. Objects over 5 GiB, which one
// CopyObject cannot copy, go through the client (get + multipart put).
func (d *Driver) Move(ctx context.Context, src, dst string, opts *driver.PutOptions) error {
	in := &s3.CopyObjectInput{
		Bucket:     aws.String(d.bucket),
		Key:        aws.String(d.key(dst)),
		CopySource: aws.String(copySource(d.bucket, d.key(src))),
	}
	if opts != nil && opts.SSEKMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(opts.SSEKMSKeyID)
	}
	_, err := d.client.CopyObject(ctx, in)
	if err = d.mapErr("move", src, err); err != nil {
		if errors.Is(err, driver.ErrNotFound) {
			if _, serr := d.Stat(ctx, dst); serr == nil {
				return nil // an earlier or concurrent move finished
			}
			return err
		}
		a, serr := d.Stat(ctx, src)
		if serr != nil || a.Size <= maxCopySize {
			return err
		}
		rc, a, gerr := d.Get(ctx, src, 0, -1)
		if gerr != nil {
			return gerr
		}
		defer rc.Close()
		po := &driver.PutOptions{ContentType: a.ContentType, Metadata: a.Metadata, SSEKMSKeyID: a.SSEKMSKeyID}
		if opts != nil && opts.SSEKMSKeyID != "" {
			po.SSEKMSKeyID = opts.SSEKMSKeyID
		}
		if err := d.Put(ctx, dst, rc, a.Size, po); err != nil {
			return err
		}
	}
	return d.Delete(ctx, []string{src})
}

// copySource renders CopyObject's x-amz-copy-source: the bucket and the
// key, each path segment URL-encoded (a Hive-escaped "%2F" in a key must
// arrive as "%2F", not as "/").
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return bucket + "/" + strings.Join(segs, "/")
}

// Delete implements driver.Driver: one DeleteObject for one key, otherwise
// DeleteObjects in batches of 1000. Keys S3 could not delete are reported
// one by one in the error.
func (d *Driver) Delete(ctx context.Context, keys []string) error {
	if len(keys) == 1 {
		_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(keys[0]))})
		if err != nil && !errors.Is(d.mapErr("delete", keys[0], err), driver.ErrNotFound) {
			return d.mapErr("delete", keys[0], err)
		}
		return nil
	}
	var errs []error
	for start := 0; start < len(keys); start += maxDeleteBatch {
		batch := keys[start:min(start+maxDeleteBatch, len(keys))]
		objs := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			objs[i] = types.ObjectIdentifier{Key: aws.String(d.key(k))}
		}
		out, err := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(d.bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return errors.Join(append(errs, d.mapErr("delete", fmt.Sprintf("%d keys from %s", len(batch), batch[0]), err))...)
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) == "NoSuchKey" {
				continue
			}
			errs = append(errs, fmt.Errorf("s3store: delete s3://%s/%s: %s: %s", d.bucket, aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message)))
		}
	}
	return errors.Join(errs...)
}

// List implements driver.Driver with the ListObjectsV2 paginator. With a
// delimiter, CommonPrefixes become IsDir entries, merged with the objects
// in key order.
func (d *Driver) List(ctx context.Context, opts driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	return func(yield func(driver.ListEntry, error) bool) {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(d.prefix + opts.Prefix)}
		if opts.Delimiter != "" {
			in.Delimiter = aws.String(opts.Delimiter)
		}
		p := s3.NewListObjectsV2Paginator(d.client, in)
		last := ""
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(driver.ListEntry{}, d.mapErr("list", opts.Prefix, err))
				return
			}
			objs, dirs := page.Contents, page.CommonPrefixes
			for len(objs) > 0 || len(dirs) > 0 {
				var e driver.ListEntry
				if len(dirs) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(dirs[0].Prefix) {
					o := objs[0]
					objs = objs[1:]
					e = driver.ListEntry{
						Key:     strings.TrimPrefix(aws.ToString(o.Key), d.prefix),
						Size:    aws.ToInt64(o.Size),
						ModTime: aws.ToTime(o.LastModified),
						ETag:    aws.ToString(o.ETag),
					}
				} else {
					e = driver.ListEntry{Key: strings.TrimPrefix(aws.ToString(dirs[0].Prefix), d.prefix), IsDir: true}
					dirs = dirs[1:]
				}
				if e.IsDir && e.Key == last {
					continue // a common prefix repeated across pages
				}
				last = e.Key
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// As implements driver.Driver: **s3.Client and **transfermanager.Client.
func (d *Driver) As(i any) bool {
	switch p := i.(type) {
	case **s3.Client:
		*p = d.client
	case **transfermanager.Client:
		*p = d.tm
	default:
		return false
	}
	return true
}

// Close implements driver.Driver. The S3 client holds nothing to release.
func (d *Driver) Close() error { return nil }
