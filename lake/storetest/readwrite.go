package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
)

func testPutGet(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	data := payload(300<<10, 1)
	must(t, s.Put(ctx, "a/b/c.bin", bytes.NewReader(data), int64(len(data)), nil))
	if got := read(t, s, "a/b/c.bin"); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, differs from the %d put", len(got), len(data))
	}
	a, err := s.Stat(ctx, "a/b/c.bin")
	must(t, err)
	if a.Size != int64(len(data)) || a.Key != "a/b/c.bin" {
		t.Fatalf("stat: size %d key %q, want %d %q", a.Size, a.Key, len(data), "a/b/c.bin")
	}
	if ok, err := s.Exists(ctx, "a/b/c.bin"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if ok, err := s.Exists(ctx, "a/b"); ok || err != nil {
		t.Fatalf("Exists(prefix) = %v, %v; a prefix is not an object", ok, err)
	}
}

func testOverwrite(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	must(t, s.PutBytes(ctx, "k", []byte("one"), nil))
	a1, err := s.Stat(ctx, "k")
	must(t, err)
	must(t, s.PutBytes(ctx, "k", []byte("second"), nil))
	if got := string(read(t, s, "k")); got != "second" {
		t.Fatalf("after overwrite got %q", got)
	}
	a2, err := s.Stat(ctx, "k")
	must(t, err)
	if a1.ETag == a2.ETag {
		t.Fatalf("ETag %q did not change when the content did", a1.ETag)
	}
}

func testEmpty(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	must(t, s.PutBytes(ctx, "empty", nil, nil))
	if got := read(t, s, "empty"); len(got) != 0 {
		t.Fatalf("empty object read %d bytes", len(got))
	}
	a, err := s.Stat(ctx, "empty")
	must(t, err)
	if a.Size != 0 {
		t.Fatalf("size %d", a.Size)
	}
}

func testUnknownSize(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	data := payload(70<<10, 2)
	// a reader that is not seekable and of unknown size
	r := iotest.HalfReader(bytes.NewReader(data))
	must(t, s.Put(ctx, "stream", r, -1, nil))
	if got := read(t, s, "stream"); !bytes.Equal(got, data) {
		t.Fatalf("streamed put read back %d bytes, want %d", len(got), len(data))
	}
}

func testNotFound(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	if _, err := s.Get(ctx, "missing/key"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "missing/key"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("Stat missing: %v, want ErrNotFound", err)
	}
	if _, err := s.OpenReader(ctx, "missing/key", nil); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("OpenReader missing: %v, want ErrNotFound", err)
	}
	if _, _, err := s.GetRange(ctx, "missing/key", -8, -1); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("GetRange missing: %v, want ErrNotFound", err)
	}
}

func testRanges(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	data := payload(10000, 3)
	must(t, s.PutBytes(ctx, "r", data, nil))
	cases := []struct {
		off, n     int64
		start, end int
	}{
		{0, 10, 0, 10},
		{100, 900, 100, 1000},
		{9990, 100, 9990, 10000}, // past the end is clipped
		{5000, -1, 5000, 10000},  // to the end
		{-8, -1, 9992, 10000},    // suffix
		{-20000, -1, 0, 10000},   // suffix longer than the object
	}
	for _, c := range cases {
		rc, a, err := s.GetRange(ctx, "r", c.off, c.n)
		must(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		must(t, err)
		if !bytes.Equal(got, data[c.start:c.end]) {
			t.Errorf("GetRange(%d, %d): got %d bytes, want bytes [%d:%d]", c.off, c.n, len(got), c.start, c.end)
		}
		if a.Size != int64(len(data)) {
			t.Errorf("GetRange(%d, %d): attributes size %d, want the whole object's %d", c.off, c.n, a.Size, len(data))
		}
	}
}

func testReaderAt(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	data := payload(3<<20+123, 4)
	must(t, s.PutBytes(ctx, "big.parquet", data, nil))
	r, err := s.OpenReader(ctx, "big.parquet", &lake.ReaderOptions{TailSize: 4096, ReadAhead: 64 << 10, MaxCached: 256 << 10})
	must(t, err)
	defer r.Close()
	if r.Size() != int64(len(data)) {
		t.Fatalf("Size %d, want %d", r.Size(), len(data))
	}
	rng := rand.New(rand.NewSource(5))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		seed := rng.Int63()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for i := 0; i < 50; i++ {
				off := rng.Int63n(int64(len(data)))
				n := rng.Intn(200 << 10)
				p := make([]byte, n)
				got, err := r.ReadAt(p, off)
				want := min(n, len(data)-int(off))
				if got != want || (got < n && err != io.EOF) || (got == n && err != nil) {
					t.Errorf("ReadAt(%d bytes at %d) = %d, %v; want %d", n, off, got, err, want)
					return
				}
				if !bytes.Equal(p[:got], data[off:off+int64(got)]) {
					t.Errorf("ReadAt(%d bytes at %d): wrong bytes", n, off)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := r.ReadAt(make([]byte, 1), int64(len(data))); err != io.EOF {
		t.Fatalf("ReadAt at the end: %v, want io.EOF", err)
	}
	// the io.ReaderAt works as an io.SectionReader, the way parquet-go uses it
	sr := io.NewSectionReader(r, 0, r.Size())
	all, err := io.ReadAll(sr)
	must(t, err)
	if !bytes.Equal(all, data) {
		t.Fatal("sequential read through the ReaderAt differs")
	}
	// Prefetch of ranges then reads inside them
	r2, err := s.OpenReader(ctx, "big.parquet", nil)
	must(t, err)
	defer r2.Close()
	must(t, r2.Prefetch(lake.Range{Off: 1000, Len: 5000}, lake.Range{Off: 7000, Len: 100}))
	p := make([]byte, 100)
	_, err = r2.ReadAt(p, 7000)
	must(t, err)
	if !bytes.Equal(p, data[7000:7100]) {
		t.Fatal("read after Prefetch differs")
	}
}

func testAttributes(t *testing.T, s *lake.Store, o Options) {
	ctx := context.Background()
	opts := &lake.PutOptions{
		ContentType: "application/x-ndjson",
		Metadata:    map[string]string{"source": "web", "sha256": "abc123"},
		SSEKMSKeyID: "alias/lake-raw",
	}
	must(t, s.PutBytes(ctx, "m/obj.json", []byte(`{"a":1}`), opts))
	a, err := s.Stat(ctx, "m/obj.json")
	must(t, err)
	if a.ContentType != opts.ContentType {
		t.Errorf("content type %q, want %q", a.ContentType, opts.ContentType)
	}
	if diff := cmp.Diff(opts.Metadata, a.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if !o.NoSSEReadback && a.SSEKMSKeyID != opts.SSEKMSKeyID {
		t.Errorf("SSE KMS key %q, want %q", a.SSEKMSKeyID, opts.SSEKMSKeyID)
	}
	if err := s.PutBytes(ctx, "m/bad", nil, &lake.PutOptions{Metadata: map[string]string{"Bad Key": "v"}}); !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("metadata key with space and upper case: %v, want ErrInvalidName", err)
	}
}

func testEncryptionRequired(t *testing.T, s *lake.Store, o Options) {
	ctx := context.Background()
	enc := s.WithEncryption("", true)
	if err := enc.PutBytes(ctx, "secret", []byte("x"), nil); !errors.Is(err, lake.ErrEncryptionRequired) {
		t.Fatalf("unencrypted put to a zone requiring SSE: %v", err)
	}
	if _, err := s.Stat(ctx, "secret"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("a refused put wrote the object: %v", err)
	}
	enc = s.WithEncryption("arn:aws:kms:eu-west-1:111122223333:key/zone", true)
	must(t, enc.PutBytes(ctx, "secret", []byte("x"), nil))
	a, err := s.Stat(ctx, "secret")
	must(t, err)
	if !o.NoSSEReadback && a.SSEKMSKeyID != "arn:aws:kms:eu-west-1:111122223333:key/zone" {
		t.Fatalf("zone key not applied: %q", a.SSEKMSKeyID)
	}
}

func testCanceled(t *testing.T, s *lake.Store, _ Options) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := payload(1<<20, 6)
	if err := s.Put(ctx, "c", bytes.NewReader(data), int64(len(data)), nil); err == nil {
		t.Fatal("Put with a canceled context succeeded")
	}
	if _, err := s.Stat(context.Background(), "c"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("a canceled put left an object: %v", err)
	}
}

func testShortBody(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	must(t, s.PutBytes(ctx, "keep", []byte("old"), nil))
	// the body is shorter than promised: the put fails and the old object stays
	err := s.Put(ctx, "keep", bytes.NewReader([]byte("new")), 10, nil)
	if err == nil {
		t.Fatal("Put with a short body succeeded")
	}
	if got := string(read(t, s, "keep")); got != "old" {
		t.Fatalf("failed put replaced the object with %q", got)
	}
	// a body that fails midway
	err = s.Put(ctx, "keep", io.MultiReader(bytes.NewReader([]byte("partial")), iotest.ErrReader(errors.New("boom"))), -1, nil)
	if err == nil {
		t.Fatal("Put with a failing body succeeded")
	}
	if got := string(read(t, s, "keep")); got != "old" {
		t.Fatalf("failed put replaced the object with %q", got)
	}
}
