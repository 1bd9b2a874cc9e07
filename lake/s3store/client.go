package s3store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the Amazon S3 client the driver calls, the uploads
// and downloads of its transfer manager included: an *s3.Client has these
// methods. New takes any value that has them, so a service can hand in an
// instrumented client or a test a stub.
//
// A client that also has an Options() s3.Options method, as *s3.Client
// does, lends its region, credentials, HTTP client and endpoint to the STS
// client of the caller lookup (see Driver.CallerIdentity); without it the
// lookup fails and the caller is unknown unless Options.Caller names it.
type S3API interface {
	transfermanager.S3APIClient
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// clientOptions returns the client's s3.Options when it has an Options
// method (an *s3.Client does).
func (d *Driver) clientOptions() (s3.Options, bool) {
	c, ok := d.client.(interface{ Options() s3.Options })
	if !ok {
		return s3.Options{}, false
	}
	return c.Options(), true
}

// region is the client's region, for error messages ("" when the client
// does not say).
func (d *Driver) region() string {
	o, _ := d.clientOptions()
	return o.Region
}
