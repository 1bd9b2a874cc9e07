package s3store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
)

// OpenStore over an aws.Config. Here the S3 is an in-process gofakes3; on
// AWS, drop the endpoint option and let LoadDefaultConfig find credentials.
func ExampleOpenStore() {
	ctx := context.Background()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server())
	defer srv.Close()

	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("key", "secret", "")))
	if err != nil {
		log.Fatal(err)
	}
	store, err := s3store.OpenStore(ctx, cfg, "example-bucket", "lakes/sales", &s3store.Options{
		// an endpoint set here wins over AWS_ENDPOINT_URL; a 127.0.0.1
		// endpoint turns on path-style addressing by itself
		ClientOptions: []func(*s3.Options){func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL) }},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	l, err := lake.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	raw := l.MustZone(lake.Raw).Store()
	if err := raw.Create(ctx, "orders/_lakekit/00001.json", []byte(`{"v":1}`), nil); err != nil {
		log.Fatal(err)
	}
	err = raw.Create(ctx, "orders/_lakekit/00001.json", []byte(`{"v":1}`), nil)
	fmt.Println("second create exists:", errors.Is(err, lake.ErrExists))
	fmt.Println(raw.Location("orders/_lakekit/00001.json"))
	// Output:
	// second create exists: true
	// s3://example-bucket/lakes/sales/raw/orders/_lakekit/00001.json
}
