package query_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/enginetest"
)

// TestUnloadToRefusesBeforeRunning: a destination that is not on S3, a
// prefix that is not a folder, an unknown compression and a column type
// the engine cannot write are refused before any statement reaches
// Athena.
func TestUnloadToRefusesBeforeRunning(t *testing.T) {
	ctx := context.Background()
	p := enginetest.StartAthena(t)
	a := newAthena(t, p, nil)
	mem, err := lake.OpenStore(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	s3st, err := s3store.OpenStore(ctx, p.MotoConfig(t), "unload-refused", "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "at", Type: "timestamp"}}
	for name, c := range map[string]struct {
		req  query.UnloadRequest
		want error
	}{
		"not on S3":                  {query.UnloadRequest{SQL: "SELECT 1", Store: mem, Prefix: "u/"}, query.ErrUnsupported},
		"not a folder":               {query.UnloadRequest{SQL: "SELECT 1", Store: mem, Prefix: "u"}, query.ErrInvalid},
		"no store":                   {query.UnloadRequest{SQL: "SELECT 1", Prefix: "u/"}, query.ErrInvalid},
		"empty SQL":                  {query.UnloadRequest{Store: mem, Prefix: "u/"}, query.ErrInvalid},
		"bad partitions":             {query.UnloadRequest{SQL: "SELECT 1", Store: s3st, Prefix: "u/", PartitionBy: []string{"d", "d"}}, query.ErrInvalid},
		"compression":                {query.UnloadRequest{SQL: "SELECT 1", Store: s3st, Prefix: "u/", Compression: "LZO"}, query.ErrInvalid},
		"timestamp":                  {query.UnloadRequest{SQL: "SELECT 1", Store: s3st, Prefix: "u/", Columns: cols}, query.ErrUnsupported},
		"partition key not a column": {query.UnloadRequest{SQL: "SELECT 1", Store: s3st, Prefix: "u/", Columns: cols[:1], PartitionBy: []string{"day"}}, query.ErrInvalid},
	} {
		if _, err := a.UnloadTo(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if n := len(p.Requests("StartQueryExecution")); n != 0 {
		t.Fatalf("%d statements started", n)
	}
}
