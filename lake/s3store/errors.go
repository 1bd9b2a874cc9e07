package s3store

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lakekit/lakekit/lake/driver"
)

// errorCode returns the S3 error code of err ("NoSuchKey"), or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status of the response that failed, or 0.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isConflict: S3 answers 409 ConditionalRequestConflict when conditional
// writes of one key race; the write may be sent again.
func isConflict(err error) bool {
	return errorCode(err) == "ConditionalRequestConflict"
}

var throttleCodes = map[string]bool{
	"SlowDown":                               true,
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"TooManyRequestsException":               true,
	"RequestThrottled":                       true,
	"ServiceUnavailable":                     true,
	"ProvisionedThroughputExceededException": true,
}

// mapErr wraps an SDK error with the driver sentinel it stands for, keeping
// the SDK error reachable with errors.As (smithy.APIError).
func (d *Driver) mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	where := d.Location(key)
	code, status := errorCode(err), httpStatus(err)
	var sentinel error
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("s3store: %s %s: bucket %q does not exist: %w", op, where, d.bucket, err)
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		sentinel = driver.ErrNotFound
	case code == "PreconditionFailed" || status == http.StatusPreconditionFailed:
		if op == "create" {
			sentinel = driver.ErrExists
		} else {
			sentinel = driver.ErrPrecondition
		}
	case isConflict(err):
		// retries (if any) are spent: the outcome of the racing write decides
		sentinel = driver.ErrPrecondition
	case throttleCodes[code] || status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		sentinel = driver.ErrThrottled
	}
	if sentinel == nil {
		return fmt.Errorf("s3store: %s %s: %w", op, where, err)
	}
	return fmt.Errorf("s3store: %s %s: %w (%w)", op, where, sentinel, err)
}
