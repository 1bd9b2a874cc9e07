package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
)

// TestDeferredPutsAreSyncedBySync: a put with Deferred fsyncs nothing;
// Sync then fsyncs each object, its metadata sidecar and the folders that
// hold them (a put without Deferred fsyncs its file and folder itself). A
// missing key is ErrNotFound.
func TestDeferredPutsAreSyncedBySync(t *testing.T) {
	ctx := context.Background()
	root, s := newFileStore(t)
	stop := filestore.RecordFsyncs()
	must(t, s.PutBytes(ctx, "t/dt=1/a.parquet", []byte("a"), &lake.PutOptions{Deferred: true}))
	must(t, s.PutBytes(ctx, "t/dt=2/b.parquet", []byte("b"), &lake.PutOptions{Deferred: true, Metadata: map[string]string{"source": "x"}}))
	if got := stop(); len(got) != 0 {
		t.Fatalf("deferred puts fsync'd %v", got)
	}
	stop = filestore.RecordFsyncs()
	must(t, s.Sync(ctx, []string{"t/dt=1/a.parquet", "t/dt=2/b.parquet"}))
	got := stop()
	meta := filepath.Join(root, ".lakekit-meta", "t", "dt=2", "b.parquet.json")
	for _, want := range []string{
		filepath.Join(root, "t", "dt=1", "a.parquet"), filepath.Join(root, "t", "dt=1"),
		filepath.Join(root, "t", "dt=2", "b.parquet"), filepath.Join(root, "t", "dt=2"),
		meta, filepath.Dir(meta),
	} {
		if !slices.Contains(got, want) {
			t.Errorf("Sync did not fsync %s (fsync'd %v)", want, got)
		}
	}
	stop = filestore.RecordFsyncs()
	must(t, s.PutBytes(ctx, "t/dt=3/c.parquet", []byte("c"), nil))
	if got := stop(); len(got) != 2 || filepath.Dir(got[0]) != filepath.Join(root, "t", "dt=3") || got[1] != filepath.Join(root, "t", "dt=3") {
		t.Errorf("a put without Deferred fsync'd %v, want its temporary file and its folder", got)
	}
	if err := s.Sync(ctx, []string{"t/dt=1/a.parquet", "t/dt=9/missing.parquet"}); !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("Sync of a missing key: %v, want ErrNotFound", err)
	}
}

// TestImpliedContentType: an object whose content type is the one its
// extension implies gets no metadata sidecar and still reports it; another
// type gets a sidecar, which a later put with the implied type removes.
func TestImpliedContentType(t *testing.T) {
	ctx := context.Background()
	root, s := newFileStore(t)
	sidecar := filepath.Join(root, ".lakekit-meta", "t", "a.parquet.json")
	check := func(step, want string, hasSidecar bool) {
		t.Helper()
		a, err := s.Stat(ctx, "t/a.parquet")
		if err != nil || a.ContentType != want {
			t.Fatalf("%s: content type %q (%v), want %q", step, a.ContentType, err, want)
		}
		if _, err := os.Stat(sidecar); (err == nil) != hasSidecar {
			t.Fatalf("%s: sidecar present = %v, want %v", step, err == nil, hasSidecar)
		}
	}
	must(t, s.PutBytes(ctx, "t/a.parquet", []byte("1"), &lake.PutOptions{ContentType: "application/vnd.apache.parquet"}))
	check("implied type", "application/vnd.apache.parquet", false)
	must(t, s.PutBytes(ctx, "t/a.parquet", []byte("2"), &lake.PutOptions{ContentType: "text/plain"}))
	check("another type", "text/plain", true)
	must(t, s.PutBytes(ctx, "t/a.parquet", []byte("3"), &lake.PutOptions{ContentType: "application/vnd.apache.parquet"}))
	check("implied type again", "application/vnd.apache.parquet", false)
	must(t, s.Move(ctx, "t/a.parquet", "t/moved.bin"))
	if a, err := s.Stat(ctx, "t/moved.bin"); err != nil || a.ContentType != "application/vnd.apache.parquet" {
		t.Fatalf("moved to a name implying no type: %q %v, want the parquet type kept", a.ContentType, err)
	}
	must(t, s.PutBytes(ctx, "t/b.bin", []byte("4"), nil))
	if a, err := s.Stat(ctx, "t/b.bin"); err != nil || a.ContentType != "" {
		t.Fatalf("no type, no implied one: %q %v", a.ContentType, err)
	}
}

// newFileStore opens a file store in a new directory.
func newFileStore(t *testing.T) (string, *lake.Store) {
	t.Helper()
	root := t.TempDir()
	d, err := filestore.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return root, lake.NewStore(d)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
