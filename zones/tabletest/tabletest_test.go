package tabletest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones/tabletest"
)

func lakeOn(t *testing.T, st *lake.Store) *lake.Lake {
	t.Helper()
	lk, err := lake.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

// TestTableFormat runs the table-format conformance suite on every store.
func TestTableFormat(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		tabletest.Run(t, func(t *testing.T) *lake.Lake { return lakeOn(t, lake.NewStore(memstore.New())) })
	})
	t.Run("file", func(t *testing.T) {
		tabletest.Run(t, func(t *testing.T) *lake.Lake {
			d, err := filestore.New(t.TempDir(), &filestore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return lakeOn(t, lake.NewStore(d))
		})
	})
	t.Run("faultstore", func(t *testing.T) {
		// a quarter of the log creates land but reports a failure: Commit must
		// find out and answer definitely
		tabletest.Run(t, func(t *testing.T) *lake.Lake {
			fd := faultstore.Wrap(memstore.New(), &faultstore.Options{Seed: 7})
			fd.SetRules(faultstore.Rule{Op: faultstore.OpCreate, KeyContains: "/_lakekit/log/", Probability: 0.25, Fault: faultstore.FailAfter})
			return lakeOn(t, lake.NewStore(fd))
		})
	})
	t.Run("s3-gofakes3", func(t *testing.T) {
		fake := testaws.StartFakeS3(t)
		n := 0
		tabletest.Run(t, func(t *testing.T) *lake.Lake {
			n++
			st, err := s3store.OpenStore(context.Background(), fake.Config(t), "lake", "p"+string(rune('a'+n)), nil)
			if err != nil {
				t.Fatal(err)
			}
			return lakeOn(t, st)
		})
	})
	t.Run("s3-moto", func(t *testing.T) {
		m := testaws.StartMoto(t)
		cfg := m.Config(t)
		if _, err := s3.NewFromConfig(cfg).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
			t.Fatal(err)
		}
		n := 0
		tabletest.Run(t, func(t *testing.T) *lake.Lake {
			n++
			st, err := s3store.OpenStore(context.Background(), cfg, "lake", "p"+string(rune('a'+n)), nil)
			if err != nil {
				t.Fatal(err)
			}
			return lakeOn(t, st)
		})
	})
}
