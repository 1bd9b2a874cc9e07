package testaws

import (
	"context"
	"fmt"
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

// failureTB records what a test would report, to watch the model check fail
// a test without failing this one.
type failureTB struct {
	testing.TB
	errors   []string
	cleanups []func()
}

func (f *failureTB) Helper()           {}
func (f *failureTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failureTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// TestModelCheckFailsTheTest: Config installs the model check, so a request
// that breaks the service's model (here an unknown S3 storage class) fails the
// test that built the config when it ends, although gofakes3 answers it.
func TestModelCheckFailsTheTest(t *testing.T) {
	ctx := context.Background()
	ft := &failureTB{TB: t}
	cfg := StartFakeS3(t).Config(ft)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("ok"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("cold"), Body: strings.NewReader("v"), StorageClass: "COLDEST"}); err != nil {
		t.Fatal(err)
	}
	for _, fn := range ft.cleanups {
		fn()
	}
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], `S3 PutObject: StorageClass: "COLDEST" is not one of`) {
		t.Fatalf("reported %q, want one violation for the storage class", ft.errors)
	}
}
