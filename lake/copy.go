package lake

import (
	"context"
	"fmt"

	"github.com/lakekit/lakekit/lake/driver"
)

// Copy copies the object srcKey of src to dstKey of s, keeping the source.
// When both stores share one driver that implements driver.Copier (S3:
// CopyObject, no data through the client) the copy is server side;
// otherwise the bytes stream through the client. The destination gets s's
// encryption (a zone's KMS key), the source's content type and metadata.
// dstKey is written create-only: an existing object there is ErrExists.
func (s *Store) Copy(ctx context.Context, dstKey string, src *Store, srcKey string) error {
	fd, err := s.full("copy", dstKey)
	if err != nil {
		return err
	}
	fs, err := src.full("copy", srcKey)
	if err != nil {
		return err
	}
	if s.needSSE && s.kmsKey == "" {
		return fmt.Errorf("lake: copy to %q: %w", dstKey, ErrEncryptionRequired)
	}
	if c, ok := s.d.(driver.Copier); ok && s.d == src.d {
		return s.wrap("copy", srcKey, c.Copy(ctx, fs, fd, &driver.PutOptions{IfNotExists: true, SSEKMSKeyID: s.kmsKey}))
	}
	rc, a, err := src.d.Get(ctx, fs, 0, -1)
	if err != nil {
		return src.wrap("copy", srcKey, err)
	}
	defer rc.Close()
	if err := src.checkEncrypted(srcKey, a); err != nil {
		return err
	}
	do := &driver.PutOptions{IfNotExists: true, ContentType: a.ContentType, Metadata: a.Metadata, SSEKMSKeyID: s.kmsKey}
	return s.wrap("copy", dstKey, s.d.Put(ctx, fd, rc, a.Size, do))
}
