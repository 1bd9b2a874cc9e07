package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
)

func testDelete(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	for i := range 5 {
		must(t, s.PutBytes(ctx, fmt.Sprintf("d/x/%d", i), []byte("v"), nil))
	}
	must(t, s.Delete(ctx, "d/x/0"))
	if _, err := s.Stat(ctx, "d/x/0"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	must(t, s.Delete(ctx, "d/x/0")) // missing is fine
	must(t, s.DeleteMany(ctx, []string{"d/x/1", "d/x/2", "d/x/nope"}))
	got := keys(t, s, "d/", nil)
	if diff := cmp.Diff([]string{"d/x/3", "d/x/4"}, got); diff != "" {
		t.Fatalf("after DeleteMany (-want +got):\n%s", diff)
	}
	if err := s.DeleteMany(ctx, []string{"d/x/3", "../etc"}); !errors.Is(err, lake.ErrInvalidName) {
		t.Fatalf("DeleteMany with a hostile key: %v", err)
	}
	if _, err := s.Stat(ctx, "d/x/3"); err != nil {
		t.Fatalf("a refused DeleteMany deleted a valid key: %v", err)
	}
	// many keys, more than one S3 DeleteObjects batch would take
	var many []string
	for i := range 1100 {
		k := fmt.Sprintf("many/%04d", i)
		many = append(many, k)
	}
	putMany(t, s, many)
	must(t, s.DeleteMany(ctx, many))
	if got := keys(t, s, "many/", nil); len(got) != 0 {
		t.Fatalf("%d keys left after deleting 1100", len(got))
	}
}

// testMove: Move carries content, content type and metadata to dst and
// removes src; it is idempotent (src gone, dst there: nil); with both
// missing it reports ErrNotFound. Keys with Hive-escaped characters move
// too.
func testMove(t *testing.T, s *lake.Store, o Options) {
	ctx := context.Background()
	body := payload(70_000, 5)
	opts := &lake.PutOptions{ContentType: "application/vnd.apache.parquet", Metadata: map[string]string{"source": "web"}}
	src, dst := "t/_lakekit/staging/a1/part-1.parquet", "t/dt=2024%2F01/part-1.parquet"
	must(t, s.PutBytes(ctx, src, body, opts))
	must(t, s.Move(ctx, src, dst))
	if got := read(t, s, dst); !bytes.Equal(got, body) {
		t.Fatalf("moved object has %d bytes, want %d", len(got), len(body))
	}
	a, err := s.Stat(ctx, dst)
	must(t, err)
	if a.ContentType != opts.ContentType || a.Metadata["source"] != "web" {
		t.Errorf("moved object's attributes: %q %v", a.ContentType, a.Metadata)
	}
	if ok, err := s.Exists(ctx, src); err != nil || ok {
		t.Fatalf("source still exists after Move (%v)", err)
	}
	if err := s.Move(ctx, src, dst); err != nil {
		t.Fatalf("repeated Move: %v, want nil (idempotent)", err)
	}
	if err := s.Move(ctx, "t/none", "t/none2"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("Move of a missing object: %v, want ErrNotFound", err)
	}
}
