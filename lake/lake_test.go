package lake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
)

func TestHostileNamesRefused(t *testing.T) {
	long := strings.Repeat("a", 256)
	names := []struct{ kind, name string }{
		{lake.KindTable, "../x"},
		{lake.KindTable, "a/../../b"},
		{lake.KindTable, "/etc/passwd"},
		{lake.KindTable, "a\x00b"},
		{lake.KindTable, long},
		{lake.KindTable, "Clicks"},
		{lake.KindDatabase, ""},
		{lake.KindDatabase, "sales-eu"},
		{lake.KindColumn, "user id"},
		{lake.KindPartition, "dt;drop"},
	}
	for _, n := range names {
		err := lake.ValidateName(n.kind, n.name)
		if !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("ValidateName(%s, %q) = %v, want ErrInvalidName", n.kind, n.name, err)
			continue
		}
		if !strings.Contains(err.Error(), n.kind) {
			t.Errorf("error %q does not name the kind %q", err, n.kind)
		}
	}
	if err := lake.ValidateName(lake.KindTable, strings.Repeat("a", 255)); err != nil {
		t.Errorf("255 characters is Glue's limit and must pass: %v", err)
	}
	if _, err := lake.TablePrefix("sales", "../orders"); !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("TablePrefix with a hostile table: %v", err)
	}
	for _, k := range []string{"../x", "a/../../b", "/abs", "a\x00b"} {
		if err := lake.ValidateKey(k); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("ValidateKey(%q) = %v", k, err)
		}
	}
}

func TestPartitionValues(t *testing.T) {
	bad := []lake.Partition{
		{{Key: "dt", Value: ""}},
		{{Key: "dt", Value: "a\x00b"}},
		{{Key: "dt", Value: "line\nbreak"}},
		{{Key: "dt", Value: strings.Repeat("v", 257)}},
		{{Key: "dt", Value: string([]byte{0xff, 0xfe})}},
		{{Key: "DT", Value: "x"}},
		{{Key: "dt", Value: "1"}, {Key: "dt", Value: "2"}},
	}
	for _, p := range bad {
		if _, err := p.Path(); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Path(%q) = %v, want ErrInvalidName", p, err)
		}
	}
	// hostile but valid values are escaped and stay inside one segment each
	for _, v := range []string{"..", "../../etc", "a/b", "k=v", "50%", "a b", "é", "x#y?z*", `"quoted"`, "\\"} {
		p := lake.Partition{{Key: "k", Value: v}, {Key: "j", Value: "1"}}
		path, err := p.Path()
		if err != nil {
			t.Errorf("Path(%q): %v", v, err)
			continue
		}
		segs := strings.Split(path, "/")
		if len(segs) != 2 || !strings.HasPrefix(segs[0], "k=") || segs[1] != "j=1" {
			t.Errorf("value %q escaped to %q: left its segment", v, path)
		}
		if err := lake.ValidateKey("db/t/" + path + "/f.parquet"); err != nil {
			t.Errorf("escaped path %q is not a valid key: %v", path, err)
		}
		back, err := lake.ParsePartitionPath(path)
		if err != nil || back[0].Value != v {
			t.Errorf("round trip of %q: %q, %v", v, back, err)
		}
	}
	if _, err := lake.ParsePartitionPath("dt=2024/notakv"); !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("segment without '=': %v", err)
	}
	if _, err := lake.ParsePartitionPath("dt=%zz"); !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("bad escape: %v", err)
	}
}

func TestEscapeMatchesHive(t *testing.T) {
	// Hive's FileUtils.escapePathName on these characters
	cases := map[string]string{
		"2024-01-01 10:00:00": "2024-01-01 10%3A00%3A00",
		"a/b":                 "a%2Fb",
		"a=b":                 "a%3Db",
		"100%":                "100%25",
		"{x}":                 "%7Bx}",
		"[1]":                 "%5B1%5D",
		"plain_value-1.0":     "plain_value-1.0",
	}
	for in, want := range cases {
		if got := lake.EscapePartitionValue(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	cases := map[string]string{"Click Events": "click_events", "__a--b__": "a_b", "日本": "", "Sales2024": "sales2024"}
	for in, want := range cases {
		if got := lake.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
		if got := lake.SanitizeName(in); got != "" && lake.ValidateName(lake.KindTable, got) != nil {
			t.Errorf("SanitizeName(%q) = %q is not valid", in, got)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	_, err := lake.Open(ctx, "s3://bucket/prefix", nil)
	if !errors.Is(err, lake.ErrUnknownScheme) || !strings.Contains(err.Error(), `import _ "github.com/lakekit/lakekit/lake/s3store"`) {
		// the s3 driver is not imported by this test package
		t.Errorf("s3 without the driver import: %v", err)
	}
	_, err = lake.Open(ctx, "gopher://x", nil)
	if !errors.Is(err, lake.ErrUnknownScheme) || !strings.Contains(err.Error(), "file, mem") {
		t.Errorf("unknown scheme: %v", err)
	}
	for _, bad := range []string{"", "://x", "file://user:secret@host/x"} {
		_, err := lake.Open(ctx, bad, nil)
		if err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the credential: %v", err)
		}
	}
	dir := t.TempDir()
	for _, u := range []string{"file://" + dir, dir, "file://" + dir + "/sub?create=true"} {
		lk, err := lake.Open(ctx, u, nil)
		if err != nil {
			t.Errorf("Open(%q): %v", u, err)
			continue
		}
		lk.Close()
	}
	if _, err := lake.Open(ctx, "file://"+dir+"/missing?create=false", nil); err == nil {
		t.Error("a missing directory with create=false opened")
	}
	for _, u := range []string{"file://" + dir + "?crate=false", "file://" + dir + "?create=maybe", "mem://?x=1"} {
		if _, err := lake.Open(ctx, u, nil); !errors.Is(err, lake.ErrInvalidURL) {
			t.Errorf("Open(%q) = %v, want ErrInvalidURL for the unknown parameter", u, err)
		}
	}
	// named memory lakes are shared within the process
	a, err := lake.Open(ctx, "mem://shared-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store().PutBytes(ctx, "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	b, _ := lake.Open(ctx, "mem://shared-test", nil)
	if ok, _ := b.Store().Exists(ctx, "k"); !ok {
		t.Error("mem://shared-test is not shared")
	}
	c, _ := lake.Open(ctx, "mem://", nil)
	if ok, _ := c.Store().Exists(ctx, "k"); ok {
		t.Error("mem:// is not new")
	}
}

func TestURLMux(t *testing.T) {
	var m lake.URLMux // the zero value works
	if _, err := m.OpenStore(context.Background(), "mem://"); !errors.Is(err, lake.ErrUnknownScheme) {
		t.Fatalf("empty mux: %v", err)
	}
	m.Register("mem", lake.StoreURLOpenerFunc(func(ctx context.Context, u *url.URL) (driver.Driver, error) {
		return memstore.New(), nil
	}))
	if _, err := m.OpenStore(context.Background(), "mem://"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a scheme twice did not panic")
		}
	}()
	m.Register("mem", lake.StoreURLOpenerFunc(nil))
}

func TestZones(t *testing.T) {
	ctx := context.Background()
	if _, err := lake.Open(ctx, "mem://", &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{lake.Curated: {RequireEncryption: true}}}); !errors.Is(err, lake.ErrEncryptionRequired) {
		t.Fatalf("zone requiring encryption without a key: %v", err)
	}
	if _, err := lake.Open(ctx, "mem://", &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{lake.Raw: {Compression: "lz5"}}}); err == nil {
		t.Fatal("unknown compression accepted")
	}
	lk, err := lake.Open(ctx, "mem://", &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{
		lake.Curated: {KMSKeyID: "alias/curated", RequireEncryption: true},
		"sandbox":    {},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := lk.ZoneNames(); len(got) != 4 || got[3] != "sandbox" {
		t.Fatalf("ZoneNames = %v", got)
	}
	if _, err := lk.Zone("nope"); !errors.Is(err, lake.ErrInvalidName) {
		t.Fatalf("unknown zone: %v", err)
	}
	cur := lk.MustZone(lake.Curated)
	if cur.Config().Compression != lake.Zstd || cur.Config().Retention != lake.DefaultRetention {
		t.Fatalf("defaults not applied: %+v", cur.Config())
	}
	if err := cur.Store().PutBytes(ctx, "db/t/f", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	a, err := lk.Store().Stat(ctx, "curated/db/t/f")
	if err != nil {
		t.Fatal(err)
	}
	if a.SSEKMSKeyID != "alias/curated" {
		t.Fatalf("zone key not applied: %q", a.SSEKMSKeyID)
	}
	sys, err := lk.System("catalog")
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.PutBytes(ctx, "x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := lk.Store().Exists(ctx, "_lakekit/catalog/x"); !ok {
		t.Fatal("system store not under _lakekit/")
	}
	if got := lk.Store().Location("curated/db/t/"); got != "curated/db/t/" && !strings.HasPrefix(got, "mem://") {
		t.Fatalf("Location = %q", got)
	}
}

// countingDriver counts Get calls and the bytes they return.
type countingDriver struct {
	driver.Driver
	gets  atomic.Int64
	bytes atomic.Int64
}

func (c *countingDriver) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, *driver.Attributes, error) {
	c.gets.Add(1)
	rc, a, err := c.Driver.Get(ctx, key, off, n)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	c.bytes.Add(int64(len(b)))
	return io.NopCloser(bytes.NewReader(b)), a, err
}

// Reading a whole small object fetches each byte once: read-ahead stops at
// the cached tail, and a prefetch skips what is cached.
func TestObjectReaderFetchesBytesOnce(t *testing.T) {
	ctx := context.Background()
	cd := &countingDriver{Driver: memstore.New()}
	s := lake.NewStore(cd)
	data := bytes.Repeat([]byte("0123456789"), 30000) // 300 kB: tail 64 KiB, read-ahead 1 MiB
	if err := s.PutBytes(ctx, "f", data, nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.OpenReader(ctx, "f", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	all, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("read back: %v", err)
	}
	if got := cd.bytes.Load(); got != int64(len(data)) {
		t.Fatalf("fetched %d bytes for a %d-byte object", got, len(data))
	}
	r2, _ := s.OpenReader(ctx, "f", nil)
	defer r2.Close()
	before := cd.bytes.Load()
	// a range that ends inside the cached tail fetches only its uncached head
	if err := r2.Prefetch(lake.Range{Off: 200000, Len: 100000}); err != nil {
		t.Fatal(err)
	}
	if got := cd.bytes.Load() - before; got != int64(len(data))-200000-64<<10 {
		t.Fatalf("prefetch fetched %d bytes, want only the uncached %d", got, int64(len(data))-200000-64<<10)
	}
}

func TestObjectReaderRequests(t *testing.T) {
	ctx := context.Background()
	cd := &countingDriver{Driver: memstore.New()}
	s := lake.NewStore(cd)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	if err := s.PutBytes(ctx, "f.parquet", data, nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.OpenReader(ctx, "f.parquet", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if cd.gets.Load() != 1 {
		t.Fatalf("open cost %d requests, want 1 (tail + size)", cd.gets.Load())
	}
	// the footer: last 8 bytes, then the footer body, come from the tail
	p := make([]byte, 8)
	if _, err := r.ReadAt(p, r.Size()-8); err != nil || !bytes.Equal(p, data[len(data)-8:]) {
		t.Fatalf("tail read: %v", err)
	}
	if _, err := r.ReadAt(make([]byte, 30000), r.Size()-30008); err != nil {
		t.Fatal(err)
	}
	if cd.gets.Load() != 1 {
		t.Fatalf("footer reads cost %d requests, want the tail's 1", cd.gets.Load())
	}
	// two column chunks close together: one coalesced request
	if err := r.Prefetch(lake.Range{Off: 100, Len: 50000}, lake.Range{Off: 60000, Len: 70000}); err != nil {
		t.Fatal(err)
	}
	if cd.gets.Load() != 2 {
		t.Fatalf("prefetch of two nearby ranges cost %d requests in all, want 2", cd.gets.Load())
	}
	buf := make([]byte, 70000)
	if _, err := r.ReadAt(buf, 60000); err != nil || !bytes.Equal(buf, data[60000:130000]) {
		t.Fatalf("read after prefetch: %v", err)
	}
	if cd.gets.Load() != 2 {
		t.Fatalf("a prefetched read cost another request")
	}
}

func TestFileStoreStaysInRoot(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	root := filepath.Join(parent, "lake")
	lk, err := lake.Open(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../outside", "a/../../outside", "/tmp/outside"} {
		if err := lk.Store().PutBytes(ctx, k, []byte("x"), nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Put(%q) = %v", k, err)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Fatalf("something was written outside the root: %v", entries)
	}
}
