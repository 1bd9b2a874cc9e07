package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

func testCreate(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	must(t, s.Create(ctx, "log/00001.json", []byte("first"), &lake.PutOptions{ContentType: "application/json"}))
	err := s.Create(ctx, "log/00001.json", []byte("second"), &lake.PutOptions{ContentType: "text/plain"})
	if !errors.Is(err, lake.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	if got := string(read(t, s, "log/00001.json")); got != "first" {
		t.Fatalf("a failed Create changed the object to %q", got)
	}
	a, err := s.Stat(ctx, "log/00001.json")
	must(t, err)
	if a.ContentType != "application/json" {
		t.Fatalf("a failed Create changed the content type to %q", a.ContentType)
	}
	// Put after Create overwrites; Create on a new key works
	must(t, s.Create(ctx, "log/00002.json", []byte("x"), nil))
}

func testCreateRace(t *testing.T, s *lake.Store, o Options) {
	ctx := context.Background()
	var wins, exists atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, o.Concurrency)
	start := make(chan struct{})
	for i := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := s.Create(ctx, "race/commit", []byte(fmt.Sprintf("writer-%02d", i)), nil)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, lake.ErrExists):
				exists.Add(1)
			default:
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	if wins.Load() != 1 || int(exists.Load()) != o.Concurrency-1 {
		t.Fatalf("%d writers: %d won, %d got ErrExists; want exactly 1 winner", o.Concurrency, wins.Load(), exists.Load())
	}
	if got := string(read(t, s, "race/commit")); !strings.HasPrefix(got, "writer-") || len(got) != 9 {
		t.Fatalf("winner's content is %q", got)
	}
}
