package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

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

	// CheckBucket makes OpenStore ask S3 once (HeadBucket) that the bucket
	// exists, so a misspelt bucket fails there with an error matching
	// lake.ErrNotFound instead of at the first write. The s3:// URL opener
	// (lake.Open) always checks. A 403 answer passes: see the package doc.
	CheckBucket bool

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
	client S3API
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
// start with prefix (keys are relative to it): an *s3.Client, or any S3API
// (an instrumented client, a stub in a test). Build an *s3.Client with
// s3.NewFromConfig: s3.New without the config's checksum settings leaves
// checksums off. New sends no request: the bucket is not checked.
func New(client S3API, bucket, prefix string, opts *Options) (*Driver, error) {
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
// returns a store over bucket/prefix. It sends no request unless
// Options.CheckBucket asks it to check that the bucket exists.
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
	if o.CheckBucket {
		if err := d.checkBucket(ctx); err != nil {
			return nil, err
		}
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

// As implements driver.Driver: **s3.Client (when the driver runs over
// one) and **transfermanager.Client.
func (d *Driver) As(i any) bool {
	switch p := i.(type) {
	case **s3.Client:
		c, ok := d.client.(*s3.Client)
		if !ok {
			return false
		}
		*p = c
	case **transfermanager.Client:
		*p = d.tm
	default:
		return false
	}
	return true
}

// Close implements driver.Driver. The S3 client holds nothing to release.
func (d *Driver) Close() error { return nil }
