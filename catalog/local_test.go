package catalog_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/catalog/catalogtest"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
)

func memCatalog(t *testing.T) *catalog.Local {
	t.Helper()
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileCatalog(t *testing.T) *catalog.Local {
	t.Helper()
	d, err := filestore.New(t.TempDir(), &filestore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(lake.NewStore(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("LocalMemory", func(t *testing.T) {
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return memCatalog(t) }, nil)
	})
	t.Run("LocalFile", func(t *testing.T) {
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return fileCatalog(t) }, nil)
	})
	t.Run("LocalS3", func(t *testing.T) {
		// gofakes3 honours If-None-Match, which create-if-absent relies on.
		cfg := testaws.StartFakeS3(t).Config(t)
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		var n atomic.Int64
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog {
			bucket := fmt.Sprintf("catalog-%d", n.Add(1))
			if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			st, err := s3store.OpenStore(context.Background(), cfg, bucket, "lake", nil)
			if err != nil {
				t.Fatal(err)
			}
			lk, err := lake.New(st, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := catalog.OpenLocal(lk)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, nil)
	})
	t.Run("GlueMoto", func(t *testing.T) {
		g, _ := motoGlue(t)
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return g }, nil)
	})
}
