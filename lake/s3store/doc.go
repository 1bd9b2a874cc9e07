// Package s3store is the Amazon S3 driver of lake stores, on aws-sdk-go-v2.
//
// Importing it registers the "s3" scheme on lake.DefaultURLMux, so
//
//	lk, err := lake.Open(ctx, "s3://my-bucket/lakes/sales?region=eu-west-1", nil)
//
// opens a lake whose keys live under s3://my-bucket/lakes/sales/. In code,
// OpenStore(ctx, cfg, bucket, prefix, opts) builds the client from an
// aws.Config (config.LoadDefaultConfig), and New wraps a client you built
// yourself (with s3.NewFromConfig), or any S3API: an instrumented client,
// a stub in a test.
//
// # URL
//
//	s3://BUCKET[/PREFIX][?PARAM=VALUE&...]
//
// The AWS configuration comes from config.LoadDefaultConfig: the usual
// credential chain, AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_S3, AWS_CA_BUNDLE. Parameters override it:
//
//	parameter            value
//	region               AWS region, e.g. eu-west-1; required unless AWS_REGION or the profile sets one
//	endpoint             S3 endpoint URL, e.g. http://127.0.0.1:9000 (MinIO, moto); wins over AWS_ENDPOINT_URL*
//	path_style           true|false: path-style addressing; default true when the endpoint host is an IP or localhost
//	profile              shared config profile name
//	part_size            multipart part size in bytes, at least 5242880 (default 8 MiB)
//	concurrency          parts of one put uploaded at once (default 4)
//	multipart_threshold  bytes from which a put uses multipart upload (default 8 MiB)
//
// An unknown parameter, a URL without a bucket or a bad value is refused with
// an error matching lake.ErrInvalidURL that names the problem. Credentials
// never go in the URL.
//
// # Opening a bucket that is not there
//
// Opening an s3:// URL (lake.Open, lake.OpenStore) sends one HeadBucket, so
// a misspelt bucket fails at open with an error matching lake.ErrNotFound
// that names the bucket, and a bucket in another region than the client's
// with an error naming its region (S3 reports it even to callers without
// rights on the bucket). A 403 answer passes: the bucket exists, and
// HeadBucket needs s3:ListBucket on the whole bucket, which a role confined
// to the lake's prefix may lack. OpenStore checks the same way when
// Options.CheckBucket is set; New sends no request. Nothing creates a
// bucket: make it with infrastructure code.
//
// # Writes
//
// A Put is atomic, as S3 makes every PutObject and CompleteMultipartUpload:
// readers see the old object or the whole new one. Bodies smaller than
// MultipartThreshold go in one PutObject with a seekable body (a reader that
// is not an io.ReadSeeker+io.ReaderAt is buffered up to the threshold); larger
// bodies, and streams of unknown size that reach it, go through the
// feature/s3/transfermanager multipart upload with Concurrency parts in
// flight, so memory stays near PartSize × (Concurrency+1). A body that ends
// early or fails aborts the upload and leaves the old object.
//
// Create-if-absent (lake.Store.Create) sends If-None-Match: * and maps S3's
// 412 PreconditionFailed to lake.ErrExists. S3 answers 409
// ConditionalRequestConflict when conditional writes of one key race; such
// a create is sent again after a jittered backoff (Options.ConflictRetries);
// a streamed body of unknown length cannot be sent again and fails with
// lake.ErrPrecondition instead.
// A multipart create first checks with HeadObject that the key is absent (to
// spare a useless upload); the atomic check is the conditional
// CompleteMultipartUpload, which S3 and moto honour (gofakes3 v1.2.0 does not).
//
// SSE-KMS: a put with a KMS key (PutOptions.SSEKMSKeyID, a zone's KMSKeyID,
// Store.WithEncryption) sends x-amz-server-side-encryption: aws:kms and
// x-amz-server-side-encryption-aws-kms-key-id. Stat and Get report the key S3
// returns, with the content type and user metadata.
//
// # Reads
//
// Get sends one GetObject: a Range header for part of an object, and a
// suffix range (bytes=-N) for the last N bytes, whose Content-Range also
// gives the object's size. So lake.Store.OpenReader costs one request for a
// Parquet footer, and ObjectReader.Prefetch one more for the column chunks it
// coalesces.
//
// # Errors
//
// Errors wrap a lake sentinel and the SDK error, so errors.Is and
// errors.As(&smithy.APIError) both work:
//
//	NoSuchKey, NotFound, 404                      lake.ErrNotFound
//	PreconditionFailed (412) on a create          lake.ErrExists
//	PreconditionFailed otherwise                  lake.ErrPrecondition
//	ConditionalRequestConflict after its retries  lake.ErrPrecondition
//	SlowDown, 503, 429 after the SDK's retries     lake.ErrThrottled
//
// NoSuchBucket is reported as such, not as a missing object. Delete of many
// keys uses DeleteObjects in batches of 1000 and reports every key S3 could
// not delete.
//
// # Caller identity
//
// The driver implements lake.CallerIdentifier, so commits record whom the
// lake acts as when the application names no caller: Options.Caller when
// set; else it asks STS GetCallerIdentity once per driver — with the S3
// client's region, credentials, HTTP client and endpoint (an emulator such
// as moto answers STS on its S3 endpoint; on AWS no endpoint is set and
// STS resolves its own; Options.STSClientOptions adjust it) — without
// retries and within CallerLookupTimeout, and caches the ARN or the
// failure. Options.NoCallerLookup switches the call off.
// sts:GetCallerIdentity needs no IAM permission.
//
// # As
//
// lake.Store.As and Driver.As accept:
//
//	**s3.Client                  the client the driver sends requests with, when it is one
//	**transfermanager.Client     the transfer manager used for multipart uploads
package s3store
