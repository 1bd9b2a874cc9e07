package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakekit/lakekit/lake/driver"
)

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
