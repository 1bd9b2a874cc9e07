package s3store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/lake/storetest"
)

var bucketSeq atomic.Int64

// newBucket creates a fresh bucket on the peer behind cfg and returns a
// store over it, scoped under prefix.
func newBucket(t *testing.T, cfg aws.Config, prefix string, opts *s3store.Options) *lake.Store {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("lakekit-test-%d", bucketSeq.Add(1))
	s, err := s3store.OpenStore(ctx, cfg, name, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	var c *s3.Client
	if !s.As(&c) {
		t.Fatal("As(**s3.Client) = false")
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Run("gofakes3", func(t *testing.T) {
		cfg := testaws.StartFakeS3(t).Config(t)
		storetest.RunConformance(t, func(t *testing.T) *lake.Store {
			return newBucket(t, cfg, "lake/root", nil)
		}, nil)
	})
	t.Run("moto", func(t *testing.T) {
		cfg := testaws.StartMoto(t).Config(t)
		storetest.RunConformance(t, func(t *testing.T) *lake.Store {
			return newBucket(t, cfg, "lake/root", nil)
		}, nil)
	})
}
