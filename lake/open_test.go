package lake_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

// TestOpenMissingParent: a directory lake's folder is made where asked, but
// a missing parent (a typo in the path) is refused with lake.ErrNotFound
// naming it, and nothing is created; ?create=true makes the parents,
// ?create=false refuses even a missing lake folder.
func TestOpenMissingParent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	typo := filepath.Join(dir, "dta", "lake")
	_, err := lake.Open(ctx, typo, nil)
	if !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("Open(%q) = %v, want lake.ErrNotFound", typo, err)
	}
	if msg := err.Error(); !strings.Contains(msg, filepath.Join(dir, "dta")) || !strings.Contains(msg, "create=true") {
		t.Errorf("the error names neither the missing parent nor the fix: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dta")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused open created the parent: %v", err)
	}

	// the lake folder itself is made when its parent exists
	for _, u := range []string{filepath.Join(dir, "a"), "file://" + filepath.Join(dir, "b")} {
		lk, err := lake.Open(ctx, u, nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		lk.Close()
	}
	for _, name := range []string{"a", "b"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || !st.IsDir() {
			t.Errorf("lake folder %s not made: %v", name, err)
		}
	}

	// ?create=true makes the missing parents
	deep := filepath.Join(dir, "x", "y", "lake")
	lk, err := lake.Open(ctx, "file://"+deep+"?create=true", nil)
	if err != nil {
		t.Fatalf("Open with create=true: %v", err)
	}
	lk.Close()
	if _, err := os.Stat(deep); err != nil {
		t.Fatalf("create=true did not make %s: %v", deep, err)
	}

	// ?create=false wants the folder to exist already
	_, err = lake.Open(ctx, "file://"+filepath.Join(dir, "c")+"?create=false", nil)
	if !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("Open of a missing folder with create=false = %v, want lake.ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("create=false made the folder: %v", err)
	}
	lk, err = lake.Open(ctx, "file://"+filepath.Join(dir, "a")+"?create=false", nil)
	if err != nil {
		t.Fatalf("Open of an existing folder with create=false: %v", err)
	}
	lk.Close()
}

// TestOpenErrorRedactsParameterURLs: a URL given as a parameter (an S3
// endpoint) may carry user:password; an open error shows it without.
func TestOpenErrorRedactsParameterURLs(t *testing.T) {
	_, err := lake.Open(context.Background(), "gopher://h/x?endpoint=http://user:hunter2@127.0.0.1:1", nil)
	if err == nil {
		t.Fatal("an unknown scheme opened")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "user") {
		t.Fatalf("the error shows the endpoint's credentials: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("the error lost the endpoint's host: %v", err)
	}
}
