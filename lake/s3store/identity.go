package s3store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// CallerLookupTimeout bounds the driver's one STS GetCallerIdentity call.
const CallerLookupTimeout = 2 * time.Second

// errNoLookup: Options.NoCallerLookup is set.
var errNoLookup = errors.New("s3store: caller lookup is switched off (Options.NoCallerLookup)")

// callerLookup caches the driver's identity: the first call asks STS, every
// later one gets its answer — the ARN, or the first error (a failure is not
// retried, so a backend without STS slows one commit, not all).
type callerLookup struct {
	once sync.Once
	arn  string
	err  error
}

// CallerIdentity implements lake.CallerIdentifier: Options.Caller when set,
// else the ARN STS GetCallerIdentity answers for the driver's credentials
// ("arn:aws:sts::123456789012:assumed-role/ingest/task-1"), asked once per
// driver, bounded by CallerLookupTimeout, with no retries. The answer, or
// the failure, is cached.
func (d *Driver) CallerIdentity(ctx context.Context) (string, error) {
	if d.opts.Caller != "" {
		return d.opts.Caller, nil
	}
	c := &d.caller
	c.once.Do(func() {
		if d.opts.NoCallerLookup {
			c.err = errNoLookup
			return
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CallerLookupTimeout)
		defer cancel()
		sc, err := d.stsClient()
		var out *sts.GetCallerIdentityOutput
		if err == nil {
			out, err = sc.GetCallerIdentity(lctx, &sts.GetCallerIdentityInput{})
		}
		switch {
		case err != nil:
			c.err = fmt.Errorf("s3store: caller identity: %w", err)
		case aws.ToString(out.Arn) == "":
			c.err = errors.New("s3store: caller identity: STS answered no ARN")
		default:
			c.arn = aws.ToString(out.Arn)
		}
	})
	return c.arn, c.err
}

// stsClient builds the STS client of the lookup from the S3 client's
// settings, so that it talks to the same place with the same credentials.
func (d *Driver) stsClient() (*sts.Client, error) {
	o, ok := d.clientOptions()
	if !ok {
		return nil, fmt.Errorf("the S3 client (%T) has no Options method to build an STS client from; set Options.Caller", d.client)
	}
	return sts.New(sts.Options{
		Region:           o.Region,
		Credentials:      o.Credentials,
		HTTPClient:       o.HTTPClient,
		BaseEndpoint:     o.BaseEndpoint,
		Logger:           o.Logger,
		ClientLogMode:    o.ClientLogMode,
		AppID:            o.AppID,
		RetryMaxAttempts: 1, // best effort: a failure means "unknown", not a retry
	}, d.opts.STSClientOptions...), nil
}
