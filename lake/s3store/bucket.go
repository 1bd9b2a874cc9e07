package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lakekit/lakekit/lake/driver"
)

// checkBucket asks S3 once, with HeadBucket, whether the driver's bucket
// exists, so a misspelt bucket fails when the lake is opened instead of at
// its first write. A bucket that does not exist is an error matching
// driver.ErrNotFound (lake.ErrNotFound); one in another region than the
// client's is an error naming its region. 403 Forbidden passes: the bucket
// exists (S3 answers 404 for a missing one whatever the caller's rights),
// and HeadBucket needs s3:ListBucket on the whole bucket, which a role
// confined to the lake's prefix may lack; its first read or write reports
// what it may not do.
func (d *Driver) checkBucket(ctx context.Context) error {
	_, err := d.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(d.bucket)})
	if err == nil {
		return nil
	}
	where := "s3://" + d.bucket + "/" + d.prefix
	code, status := errorCode(err), httpStatus(err)
	switch {
	case status == http.StatusForbidden:
		return nil
	case status == http.StatusNotFound || code == "NotFound" || code == "NoSuchBucket":
		return fmt.Errorf("s3store: open %s: bucket %q does not exist (misspelt? region %s): %w (%w)",
			where, d.bucket, d.region(), driver.ErrNotFound, err)
	}
	if region := bucketRegion(err); region != "" && region != d.region() {
		return fmt.Errorf("s3store: open %s: bucket %q is in region %s, not %s (set ?region=%s in the URL, or the config's region): %w",
			where, d.bucket, region, d.region(), region, err)
	}
	var nerr *net.OpError
	if errors.As(err, &nerr) {
		return fmt.Errorf("s3store: open %s: S3 cannot be reached: %w", where, err)
	}
	return fmt.Errorf("s3store: open %s: check bucket %q: %w", where, d.bucket, err)
}

// bucketRegion returns the x-amz-bucket-region header of a failed
// response: S3 sends it on HeadBucket whatever the outcome.
func bucketRegion(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}
