package testaws

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestPeersAnswer(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]func() aws.Config{
		"gofakes3": func() aws.Config { return StartFakeS3(t).Config(t) },
		"moto":     func() aws.Config { return StartMoto(t).Config(t) },
	} {
		t.Run(name, func(t *testing.T) {
			c := s3.NewFromConfig(cfg(), func(o *s3.Options) { o.UsePathStyle = true })
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
				t.Fatal(err)
			}
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("w"), IfNoneMatch: aws.String("*")})
			if err == nil || !strings.Contains(err.Error(), "PreconditionFailed") {
				t.Fatalf("conditional put on an existing key: %v, want PreconditionFailed", err)
			}
		})
	}
}
