package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
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

// TestNewRoot: by default the root is made when its parent exists and a
// missing parent is driver.ErrNotFound; Create makes parents; MustExist
// makes nothing.
func TestNewRoot(t *testing.T) {
	dir := t.TempDir()
	if _, err := filestore.New(filepath.Join(dir, "lake"), nil); err != nil {
		t.Fatalf("New under an existing parent: %v", err)
	}
	_, err := filestore.New(filepath.Join(dir, "missing", "lake"), nil)
	if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Fatalf("New under a missing parent = %v, want driver.ErrNotFound naming the parent", err)
	}
	if _, err := filestore.New(filepath.Join(dir, "p", "q", "lake"), &filestore.Options{Create: true}); err != nil {
		t.Fatalf("New with Create: %v", err)
	}
	_, err = filestore.New(filepath.Join(dir, "absent"), &filestore.Options{MustExist: true, Create: true})
	if !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("New with MustExist of a missing root = %v, want driver.ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("MustExist made the root: %v", err)
	}
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := filestore.New(f, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("New over a file = %v, want 'not a directory'", err)
	}
}
