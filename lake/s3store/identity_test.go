package s3store_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
)

func identifier(t *testing.T, s *lake.Store) lake.CallerIdentifier {
	t.Helper()
	id, ok := s.Driver().(lake.CallerIdentifier)
	if !ok {
		t.Fatal("the S3 driver does not implement lake.CallerIdentifier")
	}
	return id
}

// TestCallerIdentityMoto: the driver asks STS (moto, on the S3 endpoint)
// who its credentials are, and the lake reports that ARN as its caller.
func TestCallerIdentityMoto(t *testing.T) {
	ctx := context.Background()
	moto := testaws.StartMoto(t)
	cfg := moto.Config(t)
	want := moto.CallerARN(t)

	s, _ := newBucket(t, cfg, "lake", nil)
	got, err := identifier(t, s).CallerIdentity(ctx)
	if err != nil || got != want {
		t.Fatalf("CallerIdentity = %q, %v; want %q", got, err, want)
	}
	lk, err := lake.New(s, nil)
	must(t, err)
	if got := lk.Caller(ctx); got != want {
		t.Fatalf("Lake.Caller = %q, want %q", got, want)
	}
	if a := lk.Audit(ctx, ""); a.Caller != want || a.PID == 0 || a.Host == "" {
		t.Fatalf("Lake.Audit = %+v, want caller %q with host and pid", a, want)
	}
	if a := lk.Audit(ctx, "ingest-svc"); a.Caller != "ingest-svc" {
		t.Fatalf("Lake.Audit with a caller = %+v, want ingest-svc", a)
	}

	// set explicitly: on the lake, or on the store
	lk2, err := lake.New(s, &lake.Options{Caller: "svc-a"})
	must(t, err)
	if got := lk2.Caller(ctx); got != "svc-a" {
		t.Fatalf("Lake.Caller with Options.Caller = %q", got)
	}
	s3, _ := newBucket(t, cfg, "lake", &s3store.Options{Caller: "svc-b"})
	if got, err := identifier(t, s3).CallerIdentity(ctx); got != "svc-b" || err != nil {
		t.Fatalf("CallerIdentity with Options.Caller = %q, %v", got, err)
	}
	s4, _ := newBucket(t, cfg, "lake", &s3store.Options{NoCallerLookup: true})
	if got, err := identifier(t, s4).CallerIdentity(ctx); got != "" || err == nil {
		t.Fatalf("CallerIdentity with NoCallerLookup = %q, %v; want an error", got, err)
	}

	// the URL's endpoint is where STS is asked too
	isolateAWSEnv(t)
	if _, err := client(t, s4).CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("url-bucket")}); err != nil {
		t.Fatal(err)
	}
	lk3, err := lake.Open(ctx, "s3://url-bucket/p?region=us-east-1&endpoint="+moto.Endpoint, nil)
	must(t, err)
	defer lk3.Close()
	if got := lk3.Caller(ctx); got != want {
		t.Fatalf("Lake.Caller of an s3:// URL = %q, want %q", got, want)
	}
}

// TestCallerIdentityNoSTS: gofakes3 speaks no STS; the caller is unknown,
// asked once (the failure is cached), and the lookup does not hang.
func TestCallerIdentityNoSTS(t *testing.T) {
	ctx := context.Background()
	f := testaws.StartFakeS3(t)
	s, _ := newBucket(t, f.Config(t), "lake", nil)
	lk, err := lake.New(s, nil)
	must(t, err)
	f.ResetRequests()
	start := time.Now()
	for range 3 {
		if got := lk.Caller(ctx); got != "" {
			t.Fatalf("Lake.Caller on gofakes3 = %q, want unknown", got)
		}
	}
	if d := time.Since(start); d > lake.CallerLookupTimeout+time.Second {
		t.Fatalf("three Caller calls took %v, more than the lookup's bound", d)
	}
	if _, err := identifier(t, s).CallerIdentity(ctx); err == nil {
		t.Fatal("CallerIdentity on gofakes3 succeeded")
	}
	if n := len(f.Requests()); n != 1 {
		t.Fatalf("gofakes3 got %d requests for 4 identity lookups, want 1 (cached failure)", n)
	}
}

// TestCallerIdentityTimeout: an endpoint that never answers costs at most
// CallerLookupTimeout once; the identity is then unknown.
func TestCallerIdentityTimeout(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := s3store.OpenStore(ctx, testaws.Config(t, srv.URL), "hang-bucket", "", nil)
	must(t, err)
	lk, err := lake.New(s, nil)
	must(t, err)
	start := time.Now()
	if got := lk.Caller(ctx); got != "" {
		t.Fatalf("Caller = %q from a silent endpoint", got)
	}
	if d := time.Since(start); d < lake.CallerLookupTimeout/2 || d > lake.CallerLookupTimeout+time.Second {
		t.Fatalf("the lookup took %v, want about %v", d, lake.CallerLookupTimeout)
	}
	start = time.Now()
	lk.Caller(ctx)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("the second Caller call took %v: the failure was not cached", d)
	}
	// a caller whose context ends does not wait for the lookup
	s2, err := s3store.OpenStore(ctx, testaws.Config(t, srv.URL), "hang-bucket", "", nil)
	must(t, err)
	lk2, err := lake.New(s2, nil)
	must(t, err)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if got := lk2.Caller(cctx); got != "" {
		t.Fatalf("Caller = %q from a silent endpoint", got)
	}
	if d := time.Since(start); d > lake.CallerLookupTimeout/2 {
		t.Fatalf("Caller with a context ending after 100ms took %v", d)
	}
}
