package s3store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakekit/lakekit/lake/driver"
)

var _ driver.Copier = (*Driver)(nil)

// Copy implements driver.Copier with one CopyObject (server side; content
// type and metadata are copied, the destination's KMS key is given again).
// With opts.IfNotExists an existing destination is driver.ErrExists: it is
// checked with a HEAD first, because CopyObject takes no If-None-Match on
// the destination. Objects over 5 GiB, which one CopyObject cannot copy,
// go through the client (get + multipart put, create-only).
func (d *Driver) Copy(ctx context.Context, src, dst string, opts *driver.PutOptions) error {
	if opts != nil && opts.IfNotExists {
		if _, err := d.Stat(ctx, dst); err == nil {
			return fmt.Errorf("s3store: copy to %q: %w", dst, driver.ErrExists)
		}
	}
	a, err := d.Stat(ctx, src)
	if err != nil {
		return err
	}
	if a.Size > maxCopySize {
		rc, a, err := d.Get(ctx, src, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		po := &driver.PutOptions{ContentType: a.ContentType, Metadata: a.Metadata}
		if opts != nil {
			po.SSEKMSKeyID, po.IfNotExists = opts.SSEKMSKeyID, opts.IfNotExists
		}
		return d.Put(ctx, dst, rc, a.Size, po)
	}
	in := &s3.CopyObjectInput{
		Bucket:     aws.String(d.bucket),
		Key:        aws.String(d.key(dst)),
		CopySource: aws.String(copySource(d.bucket, d.key(src))),
	}
	if opts != nil && opts.SSEKMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(opts.SSEKMSKeyID)
	}
	_, err = d.client.CopyObject(ctx, in)
	return d.mapErr("copy", src, err)
}
