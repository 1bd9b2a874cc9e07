package s3store_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
)

// stubS3 is a hand-written s3store.S3API holding one object: the way a
// service tests code over an S3 lake without AWS or an emulator. It
// implements the calls this test makes; the embedded interface is nil, so
// any other call panics and shows up. It has no Options method.
type stubS3 struct {
	s3store.S3API
	keys []string // keys asked for, with the bucket
}

func (s *stubS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	s.keys = append(s.keys, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	if aws.ToString(in.Key) != "lakes/sales/curated/a.json" {
		return nil, &s3types.NotFound{Message: aws.String("Not Found")}
	}
	return &s3.HeadObjectOutput{ContentLength: aws.Int64(2), ETag: aws.String(`"e1"`), ContentType: aws.String("application/json")}, nil
}

func (s *stubS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	s.keys = append(s.keys, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader("{}")), ContentLength: aws.Int64(2), ETag: aws.String(`"e1"`)}, nil
}

// TestDriverOverStubClient: New takes any S3API; the driver sends its
// requests to it under the prefix, maps its errors to lake's sentinels,
// and without an Options method the caller lookup says to set
// Options.Caller and As does not claim an *s3.Client.
func TestDriverOverStubClient(t *testing.T) {
	ctx := context.Background()
	stub := &stubS3{}
	d, err := s3store.New(stub, "bucket", "lakes/sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := lake.NewStore(d)
	b, err := st.ReadAll(ctx, "curated/a.json")
	if err != nil || string(b) != "{}" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	if _, err := st.Stat(ctx, "curated/missing.json"); !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("Stat of a missing key: %v, want lake.ErrNotFound", err)
	}
	if got := strings.Join(stub.keys, " "); !strings.Contains(got, "bucket/lakes/sales/curated/a.json") || !strings.Contains(got, "bucket/lakes/sales/curated/missing.json") {
		t.Errorf("requests for %s; want keys under the prefix", got)
	}
	if _, err := d.CallerIdentity(ctx); err == nil || !strings.Contains(err.Error(), "Options.Caller") {
		t.Errorf("CallerIdentity over a client without Options: %v, want an error pointing at Options.Caller", err)
	}
	var c *s3.Client
	if d.As(&c) {
		t.Error("As(**s3.Client) succeeded over a stub")
	}
}
