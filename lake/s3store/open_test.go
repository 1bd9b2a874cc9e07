package s3store_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
)

// TestOpenMissingBucket: a misspelt bucket is noticed when the lake is
// opened, with lake.ErrNotFound and the bucket's name, on gofakes3 (without
// its bucket-on-first-use mode) and on moto. Once the bucket exists the same
// URL opens.
func TestOpenMissingBucket(t *testing.T) {
	peers := map[string]func(t *testing.T) string{
		"gofakes3": func(t *testing.T) string {
			srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
			t.Cleanup(srv.Close)
			return srv.URL
		},
		"moto": func(t *testing.T) string { return testaws.StartMoto(t).Endpoint },
	}
	for name, start := range peers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			endpoint := start(t)
			isolateAWSEnv(t)
			url := "s3://lakekit-no-such-bucket/sales?region=us-east-1&endpoint=" + endpoint
			_, err := lake.Open(ctx, url, nil)
			if !errors.Is(err, lake.ErrNotFound) {
				t.Fatalf("lake.Open(%q) = %v, want lake.ErrNotFound", url, err)
			}
			if !strings.Contains(err.Error(), `bucket "lakekit-no-such-bucket" does not exist`) {
				t.Errorf("the error does not name the bucket: %v", err)
			}
			cfg := testaws.Config(t, endpoint)
			_, err = s3store.OpenStore(ctx, cfg, "lakekit-no-such-bucket", "sales", &s3store.Options{CheckBucket: true})
			if !errors.Is(err, lake.ErrNotFound) {
				t.Fatalf("OpenStore with CheckBucket = %v, want lake.ErrNotFound", err)
			}
			// without CheckBucket OpenStore sends nothing: the first
			// write is what fails
			st, err := s3store.OpenStore(ctx, cfg, "lakekit-no-such-bucket", "sales", nil)
			if err != nil {
				t.Fatalf("OpenStore without CheckBucket: %v", err)
			}
			if err := st.PutBytes(ctx, "k", []byte("v"), nil); err == nil {
				t.Fatal("a put into a missing bucket succeeded")
			}

			if _, err := client(t, st).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lakekit-no-such-bucket")}); err != nil {
				t.Fatal(err)
			}
			lk, err := lake.Open(ctx, url, nil)
			if err != nil {
				t.Fatalf("lake.Open once the bucket exists: %v", err)
			}
			lk.Close()
		})
	}
}

// TestOpenBucketAnswers: 403 (the bucket exists, the role may not list it)
// opens; a bucket in another region is refused with that region named.
func TestOpenBucketAnswers(t *testing.T) {
	ctx := context.Background()
	var heads atomic.Int64
	var answer atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads.Add(1)
		}
		switch answer.Load().(string) {
		case "forbidden":
			w.WriteHeader(http.StatusForbidden)
		case "moved":
			w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
			w.WriteHeader(http.StatusMovedPermanently)
		}
	}))
	defer srv.Close()
	isolateAWSEnv(t)
	url := "s3://lake-bucket/p?region=us-east-1&endpoint=" + srv.URL

	answer.Store("forbidden")
	lk, err := lake.Open(ctx, url, nil)
	if err != nil {
		t.Fatalf("lake.Open with HeadBucket answering 403: %v", err)
	}
	lk.Close()
	if n := heads.Load(); n != 1 {
		t.Fatalf("%d HEAD requests at open, want 1", n)
	}

	answer.Store("moved")
	_, err = lake.Open(ctx, url, nil)
	if err == nil || !strings.Contains(err.Error(), "is in region eu-west-1, not us-east-1") {
		t.Fatalf("lake.Open of a bucket in eu-west-1 from us-east-1 = %v, want the region named", err)
	}
	if errors.Is(err, lake.ErrNotFound) {
		t.Errorf("a bucket in another region reported as missing: %v", err)
	}
}
