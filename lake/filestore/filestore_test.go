package filestore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) *lake.Store {
		d, err := filestore.New(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return lake.NewStore(d)
	}, nil)
}

// TestConcurrentMovesOfOneObject: committers roll each other's staged
// files forward, so several may move one object at once: every mover
// succeeds, and the object arrives whole with its metadata.
func TestConcurrentMovesOfOneObject(t *testing.T) {
	ctx := context.Background()
	d, err := filestore.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := lake.NewStore(d)
	for round := range 50 {
		src, dst := fmt.Sprintf("t/_lakekit/staging/a/%d.parquet", round), fmt.Sprintf("t/dt=x/%d.parquet", round)
		if err := s.PutBytes(ctx, src, []byte("data"), &lake.PutOptions{ContentType: "application/vnd.apache.parquet"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- s.Move(ctx, src, dst) }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent move: %v", round, err)
			}
		}
		a, err := s.Stat(ctx, dst)
		if err != nil || a.ContentType != "application/vnd.apache.parquet" || a.Size != 4 {
			t.Fatalf("round %d: moved object %+v %v", round, a, err)
		}
	}
}
