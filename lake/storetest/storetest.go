// Package storetest is the conformance suite every lake store driver runs,
// like gocloud.dev's drivertest: call RunConformance from a test named
// TestConformance with a function that returns a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
)

// Options adjust the suite to what a backend can show.
type Options struct {
	// NoSSEReadback: the backend does not report the KMS key in Stat (some
	// S3 fakes); the suite then skips that assertion.
	NoSSEReadback bool
	// Concurrency of the create-if-absent race; default 32.
	Concurrency int
}

// RunConformance runs the suite. newStore must return an empty store; each
// subtest gets its own.
func RunConformance(t *testing.T, newStore func(t *testing.T) *lake.Store, opts *Options) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Concurrency == 0 {
		o.Concurrency = 32
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s *lake.Store, o Options)
	}{
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"EmptyObject", testEmpty},
		{"UnknownSize", testUnknownSize},
		{"NotFound", testNotFound},
		{"CreateIfAbsent", testCreate},
		{"CreateRace", testCreateRace},
		{"Ranges", testRanges},
		{"ReaderAt", testReaderAt},
		{"Attributes", testAttributes},
		{"Delete", testDelete},
		{"List", testList},
		{"ListDelimiter", testListDelimiter},
		{"ListUnusualKeys", testUnusualKeys},
		{"InvalidKeys", testInvalidKeys},
		{"Sub", testSub},
		{"EncryptionRequired", testEncryptionRequired},
		{"Canceled", testCanceled},
		{"ShortBody", testShortBody},
		{"Move", testMove},
		{"Copy", testCopy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s, o)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, s *lake.Store, key string) []byte {
	t.Helper()
	b, err := s.ReadAll(context.Background(), key)
	must(t, err)
	return b
}

func payload(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

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

func putMany(t *testing.T, s *lake.Store, ks []string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, k := range ks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.PutBytes(ctx, k, []byte(k), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func keys(t *testing.T, s *lake.Store, prefix string, o *lake.ListOptions) []string {
	t.Helper()
	es, err := s.ListAll(context.Background(), prefix, o)
	must(t, err)
	var out []string
	for _, e := range es {
		k := e.Key
		if e.IsDir {
			k += "(dir)"
		}
		out = append(out, k)
	}
	return out
}

func testList(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	ks := []string{"t/b", "t/a/2", "t/a/1", "t/a-x", "t/a0", "t/c/d/e", "u/z", "t2/q"}
	putMany(t, s, ks)
	got := keys(t, s, "t/", nil)
	want := []string{"t/a-x", "t/a/1", "t/a/2", "t/a0", "t/b", "t/c/d/e"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(t/) (-want +got):\n%s", diff)
	}
	got = keys(t, s, "t", nil)
	want = []string{"t/a-x", "t/a/1", "t/a/2", "t/a0", "t/b", "t/c/d/e", "t2/q"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(t) (-want +got):\n%s", diff)
	}
	got = keys(t, s, "t/a", nil)
	want = []string{"t/a-x", "t/a/1", "t/a/2", "t/a0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(t/a) (-want +got):\n%s", diff)
	}
	if got := keys(t, s, "nothing/", nil); len(got) != 0 {
		t.Fatalf("List of an absent prefix: %v", got)
	}
	all := keys(t, s, "", nil)
	if !slices.IsSorted(all) || len(all) != len(ks) {
		t.Fatalf("List(\"\") = %v", all)
	}
	es, err := s.ListAll(ctx, "t/b", nil)
	must(t, err)
	if len(es) != 1 || es[0].Size != 3 || es[0].ETag == "" {
		t.Fatalf("entry for t/b: %+v (want size 3 and an ETag)", es)
	}
	// stopping early is allowed
	for range s.List(ctx, "", nil) {
		break
	}
}

func testListDelimiter(t *testing.T, s *lake.Store, _ Options) {
	putMany(t, s, []string{"db/t1/dt=1/a", "db/t1/dt=2/b", "db/t1/_lakekit/v1", "db/t1/file", "db/t2/x"})
	got := keys(t, s, "db/t1/", &lake.ListOptions{Delimiter: "/"})
	want := []string{"db/t1/_lakekit/(dir)", "db/t1/dt=1/(dir)", "db/t1/dt=2/(dir)", "db/t1/file"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List with delimiter (-want +got):\n%s", diff)
	}
	got = keys(t, s, "db/", &lake.ListOptions{Delimiter: "/"})
	want = []string{"db/t1/(dir)", "db/t2/(dir)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(db/) with delimiter (-want +got):\n%s", diff)
	}
}

func testUnusualKeys(t *testing.T, s *lake.Store, _ Options) {
	ks := []string{"p/dt=2024-01-01/a b.json", "p/k=a%2Fb/x", "p/é/ü.txt", "p/k=v=w/q+r", "p/x,y;z@1"}
	putMany(t, s, ks)
	got := keys(t, s, "p/", nil)
	want := slices.Clone(ks)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	for _, k := range ks {
		if string(read(t, s, k)) != k {
			t.Errorf("content of %q wrong", k)
		}
	}
}

// HostileKeys are keys every store must refuse with lake.ErrInvalidName.
var HostileKeys = []string{"", "../x", "a/../../b", "/abs", "a//b", "a/./b", "a\x00b", "a/b/", "..", "a\\b", "x/\n", ".lakekit-tmp-1", strings.Repeat("k", 1025)}

func testInvalidKeys(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	for _, k := range HostileKeys {
		if err := s.PutBytes(ctx, k, []byte("x"), nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Put(%q): %v, want ErrInvalidName", k, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Get(%q): %v, want ErrInvalidName", k, err)
		}
		if err := s.Create(ctx, k, nil, nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Create(%q): %v, want ErrInvalidName", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Delete(%q): %v, want ErrInvalidName", k, err)
		}
	}
	for _, p := range []string{"../", "/x", "a/../"} {
		for _, err := range s.List(ctx, p, nil) {
			if !errors.Is(err, lake.ErrInvalidName) {
				t.Errorf("List(%q): %v, want ErrInvalidName", p, err)
			}
		}
	}
	if got := keys(t, s, "", nil); len(got) != 0 {
		t.Fatalf("hostile keys wrote %v", got)
	}
}

func testSub(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	sub, err := s.Sub("zone/db")
	must(t, err)
	must(t, sub.PutBytes(ctx, "t/f", []byte("v"), nil))
	if string(read(t, s, "zone/db/t/f")) != "v" {
		t.Fatal("Sub store wrote somewhere else")
	}
	if got := keys(t, sub, "", nil); !slices.Equal(got, []string{"t/f"}) {
		t.Fatalf("Sub List = %v, want keys relative to the sub store", got)
	}
	a, err := sub.Stat(ctx, "t/f")
	must(t, err)
	if a.Key != "t/f" {
		t.Fatalf("Sub Stat key %q", a.Key)
	}
	if _, err := s.Sub("../up"); !errors.Is(err, lake.ErrInvalidName) {
		t.Fatalf("Sub(../up): %v", err)
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
