package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/lakekit/lakekit/lake"
)

// testCopy: Store.Copy copies an object (server side where the driver can)
// with its content type and metadata, keeps the source, writes the
// destination create-only, and reports a missing source as ErrNotFound.
func testCopy(t *testing.T, s *lake.Store, o Options) {
	ctx := context.Background()
	body := payload(90_000, 7)
	opts := &lake.PutOptions{ContentType: "application/vnd.apache.parquet", Metadata: map[string]string{"source": "athena"}}
	src, dst := "unload/q1/dt=2024-01-01/20240101_0001", "t/_lakekit/staging/a1/part-1.parquet"
	must(t, s.PutBytes(ctx, src, body, opts))
	must(t, s.Copy(ctx, dst, s, src))
	if got := read(t, s, dst); !bytes.Equal(got, body) {
		t.Fatalf("copied object has %d bytes, want %d", len(got), len(body))
	}
	if got := read(t, s, src); !bytes.Equal(got, body) {
		t.Fatalf("the source changed: %d bytes", len(got))
	}
	a, err := s.Stat(ctx, dst)
	must(t, err)
	if a.ContentType != opts.ContentType || a.Metadata["source"] != "athena" {
		t.Errorf("copied object's attributes: %q %v", a.ContentType, a.Metadata)
	}
	if err := s.Copy(ctx, dst, s, src); !errors.Is(err, lake.ErrExists) {
		t.Fatalf("copy onto an existing object: %v, want ErrExists", err)
	}
	if err := s.Copy(ctx, "t/x", s, "t/none"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("copy of a missing object: %v, want ErrNotFound", err)
	}
	// between two stores over one backend (a zone and the lake's root)
	sub, err := s.Sub("zone")
	must(t, err)
	must(t, sub.Copy(ctx, "db/t/part-2.parquet", s, src))
	if got := read(t, s, "zone/db/t/part-2.parquet"); !bytes.Equal(got, body) {
		t.Fatalf("copy into a sub-store: %d bytes", len(got))
	}
}
