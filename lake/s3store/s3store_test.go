package s3store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/lake/storetest"
)

var bucketSeq atomic.Int64

// newBucket creates a fresh bucket on the peer behind cfg and returns a
// store over it, scoped under prefix, with the bucket's name.
func newBucket(t testing.TB, cfg aws.Config, prefix string, opts *s3store.Options) (*lake.Store, string) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("lakekit-test-%d", bucketSeq.Add(1))
	s, err := s3store.OpenStore(ctx, cfg, name, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client(t, s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, name
}

func client(t testing.TB, s *lake.Store) *s3.Client {
	t.Helper()
	var c *s3.Client
	if !s.As(&c) || c == nil {
		t.Fatal("As(**s3.Client) = false")
	}
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func payload(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func TestConformance(t *testing.T) {
	t.Run("gofakes3", func(t *testing.T) {
		cfg := testaws.StartFakeS3(t).Config(t)
		storetest.RunConformance(t, func(t *testing.T) *lake.Store {
			s, _ := newBucket(t, cfg, "lake/root", nil)
			return s
		}, nil)
	})
	t.Run("moto", func(t *testing.T) {
		cfg := testaws.StartMoto(t).Config(t)
		storetest.RunConformance(t, func(t *testing.T) *lake.Store {
			s, _ := newBucket(t, cfg, "lake/root", nil)
			return s
		}, nil)
	})
}

// opOf names the S3 operation of a recorded request.
func opOf(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodPost && q.Has("delete"):
		return "DeleteObjects"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodGet && q.Has("list-type"):
		return "ListObjectsV2"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodDelete:
		return "DeleteObject"
	}
	return r.Method
}

// countOps counts the recorded requests by S3 operation.
func countOps(reqs []*http.Request) map[string]int {
	n := map[string]int{}
	for _, r := range reqs {
		n[opOf(r)]++
	}
	return n
}

// onlyReader hides every method but Read (no Seek, no ReadAt, no size).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func roundTrip64(t *testing.T, s *lake.Store, name string, body func([]byte) (io.Reader, int64)) time.Duration {
	t.Helper()
	ctx := context.Background()
	data := payload(64<<20, 7)
	want := sha256.Sum256(data)
	start := time.Now()
	r, size := body(data)
	must(t, s.Put(ctx, name, r, size, nil))
	rc, err := s.Get(ctx, name)
	must(t, err)
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	must(t, err)
	took := time.Since(start)
	if n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("%s: read back %d bytes with another hash than the %d put", name, n, len(data))
	}
	return took
}

func TestMultipart64MiB(t *testing.T) {
	f := testaws.StartFakeS3(t)
	s, _ := newBucket(t, f.Config(t), "p", nil)
	for _, c := range []struct {
		name string
		body func([]byte) (io.Reader, int64)
	}{
		{"seekable", func(b []byte) (io.Reader, int64) { return bytes.NewReader(b), int64(len(b)) }},
		{"stream-known-size", func(b []byte) (io.Reader, int64) { return onlyReader{bytes.NewReader(b)}, int64(len(b)) }},
		{"stream-unknown-size", func(b []byte) (io.Reader, int64) { return onlyReader{bytes.NewReader(b)}, -1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.ResetRequests()
			took := roundTrip64(t, s, "big/"+c.name, c.body)
			ops := countOps(f.Requests())
			t.Logf("gofakes3 64 MiB put+get (%s): %v; requests %v", c.name, took.Round(time.Millisecond), ops)
			// 64 MiB in 8 MiB parts
			if ops["CreateMultipartUpload"] != 1 || ops["UploadPart"] != 8 || ops["CompleteMultipartUpload"] != 1 || ops["PutObject"] != 0 {
				t.Fatalf("want one multipart upload of 8 parts, got %v", ops)
			}
		})
	}
}

func TestMultipart64MiBMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	s, _ := newBucket(t, testaws.StartMoto(t).Config(t), "p", nil)
	took := roundTrip64(t, s, "big/moto", func(b []byte) (io.Reader, int64) { return onlyReader{bytes.NewReader(b)}, -1 })
	t.Logf("moto 64 MiB put+get: %v", took.Round(time.Millisecond))
	// a multipart object's ETag is "<md5 of the part md5s>-<parts>"
	a, err := s.Stat(context.Background(), "big/moto")
	must(t, err)
	if !strings.HasSuffix(a.ETag, `-8"`) {
		t.Fatalf("ETag %s: want the ETag of an 8-part multipart upload", a.ETag)
	}
}

func TestSuffixRangeIsOneGET(t *testing.T) {
	ctx := context.Background()
	f := testaws.StartFakeS3(t)
	s, _ := newBucket(t, f.Config(t), "", nil)
	data := payload(1<<20, 8)
	must(t, s.PutBytes(ctx, "obj", data, nil))
	f.ResetRequests()
	rc, a, err := s.GetRange(ctx, "obj", -8, -1)
	must(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	must(t, err)
	if !bytes.Equal(got, data[len(data)-8:]) {
		t.Fatalf("last 8 bytes: got %x, want %x", got, data[len(data)-8:])
	}
	if a.Size != int64(len(data)) {
		t.Fatalf("size %d, want the whole object's %d", a.Size, len(data))
	}
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Header.Get("Range") != "bytes=-8" {
		for _, r := range reqs {
			t.Logf("%s %s Range=%q", r.Method, r.URL, r.Header.Get("Range"))
		}
		t.Fatalf("reading the last 8 bytes sent %d requests, want one GET with Range: bytes=-8", len(reqs))
	}
}

func TestEmptyObjectRanges(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]func() aws.Config{
		"gofakes3": func() aws.Config { return testaws.StartFakeS3(t).Config(t) },
		"moto":     func() aws.Config { return testaws.StartMoto(t).Config(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newBucket(t, cfg(), "", nil)
			must(t, s.PutBytes(ctx, "empty", nil, nil))
			must(t, s.PutBytes(ctx, "ten", []byte("0123456789"), nil))
			for _, c := range []struct {
				key       string
				off, n    int64
				want      string
				wantTotal int64
			}{
				{"empty", -8, -1, "", 0},
				{"empty", 0, 10, "", 0},
				{"empty", 5, -1, "", 0},
				{"ten", 20, 5, "", 10},
				{"ten", 10, -1, "", 10},
				{"ten", -100, -1, "0123456789", 10},
				{"ten", 3, 0, "", 10},
			} {
				rc, a, err := s.GetRange(ctx, c.key, c.off, c.n)
				if err != nil {
					t.Errorf("GetRange(%s, %d, %d): %v", c.key, c.off, c.n, err)
					continue
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				must(t, err)
				if string(got) != c.want || a.Size != c.wantTotal {
					t.Errorf("GetRange(%s, %d, %d) = %q size %d, want %q size %d", c.key, c.off, c.n, got, a.Size, c.want, c.wantTotal)
				}
			}
			r, err := s.OpenReader(ctx, "empty", nil)
			must(t, err)
			if r.Size() != 0 {
				t.Fatalf("OpenReader(empty).Size() = %d", r.Size())
			}
			if n, err := r.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
				t.Fatalf("ReadAt on an empty object = %d, %v; want 0, EOF", n, err)
			}
			r.Close()
		})
	}
}

const testKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func sseHeaders(r *http.Request) (string, string) {
	return r.Header.Get("X-Amz-Server-Side-Encryption"), r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
}

func TestSSEKMSHeaders(t *testing.T) {
	ctx := context.Background()
	f := testaws.StartFakeS3(t)
	opts := &s3store.Options{MultipartThreshold: 5 << 20, PartSize: 5 << 20}
	root, _ := newBucket(t, f.Config(t), "lake", opts)

	check := func(t *testing.T, want string, ops ...string) {
		t.Helper()
		seen := 0
		for _, r := range f.Requests() {
			op := opOf(r)
			if !slices.Contains(ops, op) {
				continue
			}
			seen++
			alg, key := sseHeaders(r)
			if want == "" && (alg != "" || key != "") {
				t.Errorf("%s %s: SSE headers %q %q sent, want none", op, r.URL.Path, alg, key)
			}
			if want != "" && (alg != "aws:kms" || key != want) {
				t.Errorf("%s %s: X-Amz-Server-Side-Encryption %q, key id %q; want aws:kms, %q", op, r.URL.Path, alg, key, want)
			}
		}
		if seen == 0 {
			t.Fatalf("no %v request recorded", ops)
		}
	}

	t.Run("WithEncryption", func(t *testing.T) {
		f.ResetRequests()
		must(t, root.WithEncryption(testKey, true).PutBytes(ctx, "enc/a", []byte("secret"), nil))
		check(t, testKey, "PutObject")
		a, err := root.Stat(ctx, "enc/a")
		must(t, err)
		if a.SSEKMSKeyID != testKey {
			t.Fatalf("Stat reports KMS key %q, want %q", a.SSEKMSKeyID, testKey)
		}
	})
	l, err := lake.New(root, &lake.Options{Zones: map[lake.ZoneName]lake.ZoneConfig{
		lake.Raw:     {KMSKeyID: testKey, RequireEncryption: true},
		lake.Curated: {KMSKeyID: "alias/curated"},
	}})
	must(t, err)
	t.Run("ZoneKey", func(t *testing.T) {
		f.ResetRequests()
		must(t, l.MustZone(lake.Raw).Store().PutBytes(ctx, "events/1.json", []byte(`{"a":1}`), nil))
		check(t, testKey, "PutObject")
	})
	t.Run("ZoneKeyCreate", func(t *testing.T) {
		f.ResetRequests()
		must(t, l.MustZone(lake.Curated).Store().Create(ctx, "db/t/_lakekit/00001.json", []byte(`{}`), nil))
		check(t, "alias/curated", "PutObject")
		for _, r := range f.Requests() {
			if r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "*" {
				t.Fatalf("create sent no If-None-Match: *")
			}
		}
	})
	t.Run("ZoneKeyMultipart", func(t *testing.T) {
		f.ResetRequests()
		data := payload(11<<20, 9)
		must(t, l.MustZone(lake.Raw).Store().Put(ctx, "big.bin", onlyReader{bytes.NewReader(data)}, -1, nil))
		if ops := countOps(f.Requests()); ops["CreateMultipartUpload"] != 1 || ops["UploadPart"] != 3 {
			t.Fatalf("want a multipart upload of 3 parts, got %v", ops)
		}
		// the key goes with CreateMultipartUpload; parts inherit it
		check(t, testKey, "CreateMultipartUpload")
	})
	t.Run("NoKey", func(t *testing.T) {
		f.ResetRequests()
		must(t, l.MustZone(lake.Cleaned).Store().PutBytes(ctx, "x", []byte("plain"), nil))
		check(t, "", "PutObject")
	})
	t.Run("RequiredRefusedBeforeSending", func(t *testing.T) {
		f.ResetRequests()
		err := root.WithEncryption("", true).PutBytes(ctx, "nokey", []byte("x"), nil)
		if !errors.Is(err, lake.ErrEncryptionRequired) {
			t.Fatalf("got %v, want ErrEncryptionRequired", err)
		}
		if n := len(f.Requests()); n != 0 {
			t.Fatalf("a refused put sent %d requests", n)
		}
	})
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	f := testaws.StartFakeS3(t)
	isolateAWSEnv(t)

	l, err := lake.Open(ctx, "s3://url-bucket/teams/sales?region=us-east-1&endpoint="+f.Endpoint, nil)
	must(t, err)
	defer l.Store().Close()
	raw := l.MustZone(lake.Raw).Store()
	must(t, raw.PutBytes(ctx, "orders/2024/a.json", []byte(`{"id":1}`), nil))

	// the object is under the prefix in the bucket
	c := client(t, l.Store())
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("url-bucket"), Key: aws.String("teams/sales/raw/orders/2024/a.json")}); err != nil {
		t.Fatalf("object not at teams/sales/raw/orders/2024/a.json in the bucket: %v", err)
	}
	// neighbours outside the prefix stay invisible, even one sharing its letters
	for _, k := range []string{"teams/salesforce/raw/x", "teams/other/raw/y", "z"} {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("url-bucket"), Key: aws.String(k), Body: strings.NewReader("n")})
		must(t, err)
	}
	es, err := l.Store().ListAll(ctx, "", nil)
	must(t, err)
	if len(es) != 1 || es[0].Key != "raw/orders/2024/a.json" {
		t.Fatalf("lake lists %+v, want only raw/orders/2024/a.json", es)
	}
	dirs, err := l.Store().ListAll(ctx, "", &lake.ListOptions{Delimiter: "/"})
	must(t, err)
	if len(dirs) != 1 || dirs[0].Key != "raw/" || !dirs[0].IsDir {
		t.Fatalf("lake lists with delimiter %+v, want raw/", dirs)
	}
	if got, want := raw.Location("orders/2024/a.json"), "s3://url-bucket/teams/sales/raw/orders/2024/a.json"; got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}

	// the endpoint from AWS_ENDPOINT_URL, path style found by itself
	t.Setenv("AWS_ENDPOINT_URL", f.Endpoint)
	l2, err := lake.Open(ctx, "s3://url-bucket/teams/sales?region=us-east-1", nil)
	must(t, err)
	b, err := l2.MustZone(lake.Raw).Store().ReadAll(ctx, "orders/2024/a.json")
	must(t, err)
	if string(b) != `{"id":1}` {
		t.Fatalf("read through AWS_ENDPOINT_URL: %q", b)
	}
	var tm *transfermanager.Client
	if !l2.Store().As(&tm) || tm == nil {
		t.Fatal("As(**transfermanager.Client) = false")
	}
}

// isolateAWSEnv keeps the developer's AWS files and instance metadata out
// of the test: static credentials from the environment only.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
}

func TestOpenURLErrors(t *testing.T) {
	ctx := context.Background()
	isolateAWSEnv(t)
	for _, c := range []struct{ url, want string }{
		{"s3://", "names no bucket"},
		{"s3:///prefix?region=us-east-1", "names no bucket"},
		{"s3://Bad_Bucket/p?region=us-east-1", "invalid bucket name"},
		{"s3://bkt/p?region=us-east-1&colour=blue", `unknown URL parameter "colour"`},
		{"s3://bkt/p?region=us-east-1&path_style=maybe", "path_style"},
		{"s3://bkt/p?region=us-east-1&endpoint=127.0.0.1:9000", "endpoint"},
		{"s3://bkt/p?region=us-east-1&part_size=1024", "minimum part size"},
		{"s3://bkt/p?region=us-east-1&concurrency=-2", "concurrency"},
		{"s3://bkt/../etc?region=us-east-1", "prefix"},
		{"s3://bkt/p", "no AWS region"},
	} {
		_, err := lake.Open(ctx, c.url, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lake.Open(%q) = %v, want an error containing %q", c.url, err, c.want)
		}
	}
	_, err := lake.Open(ctx, "s3://", nil)
	if !errors.Is(err, lake.ErrInvalidURL) {
		t.Errorf("lake.Open(s3://): %v, want ErrInvalidURL", err)
	}
	_, err = lake.Open(ctx, "s3://bkt/../etc?region=us-east-1", nil)
	if !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("hostile prefix: %v, want ErrInvalidName", err)
	}
}

func TestNewValidates(t *testing.T) {
	c := s3.NewFromConfig(testaws.Config(t, "http://127.0.0.1:1"))
	if _, err := s3store.New(nil, "bkt", "", nil); err == nil {
		t.Error("New(nil client) succeeded")
	}
	for _, b := range []string{"", "ab", "UPPER", "a_b", "-ab", "ab-", "a..b", "192.168.1.1", strings.Repeat("b", 64)} {
		if _, err := s3store.New(c, b, "", nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("bucket %q: %v, want ErrInvalidName", b, err)
		}
	}
	for _, p := range []string{"../x", "a/../b", "a//b", "x\x00"} {
		if _, err := s3store.New(c, "bkt", p, nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("prefix %q: %v, want ErrInvalidName", p, err)
		}
	}
	if _, err := s3store.New(c, "bkt", "", &s3store.Options{PartSize: 1 << 20}); err == nil {
		t.Error("PartSize of 1 MiB accepted")
	}
	d, err := s3store.New(c, "my.bucket-1", "/lakes/a/", nil)
	must(t, err)
	if got, want := d.Location("raw/x"), "s3://my.bucket-1/lakes/a/raw/x"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	var got *s3.Client
	if !d.As(&got) || got != c {
		t.Error("As(**s3.Client) did not give the client")
	}
	var wrong *string
	if d.As(&wrong) {
		t.Error("As(**string) = true")
	}
}

func TestErrorsKeepAPIError(t *testing.T) {
	ctx := context.Background()
	s, _ := newBucket(t, testaws.StartFakeS3(t).Config(t), "", nil)
	must(t, s.Create(ctx, "k", []byte("1"), nil))
	err := s.Create(ctx, "k", []byte("2"), nil)
	var ae smithy.APIError
	if !errors.Is(err, lake.ErrExists) || !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailed" {
		t.Fatalf("second create: %v; want ErrExists wrapping the PreconditionFailed API error", err)
	}
	_, err = s.Get(ctx, "missing")
	if !errors.Is(err, lake.ErrNotFound) || !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchKey" {
		t.Fatalf("get missing: %v; want ErrNotFound wrapping NoSuchKey", err)
	}
}

// BenchmarkRoundTrip64MiB puts 64 MiB (multipart, 8 parts) and reads it back
// from an in-process gofakes3.
func BenchmarkRoundTrip64MiB(b *testing.B) {
	ctx := context.Background()
	f := testaws.StartFakeS3(b)
	s, _ := newBucket(b, f.Config(b), "bench", nil)
	data := payload(64<<20, 1)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		must(b, s.PutBytes(ctx, "big", data, nil))
		rc, err := s.Get(ctx, "big")
		must(b, err)
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		must(b, err)
		if n != int64(len(data)) {
			b.Fatalf("read %d bytes", n)
		}
	}
}

// TestKeyLengthFidelityCountsThePrefix: S3 limits the whole key to 1,024
// bytes, the driver's own prefix included; a key that only fits without it
// is refused before any request, naming the rule.
func TestKeyLengthFidelityCountsThePrefix(t *testing.T) {
	fake := testaws.StartFakeS3(t)
	st, err := s3store.OpenStore(context.Background(), fake.Config(t), "lake", strings.Repeat("p", 100), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("k", 1000) // 1,000 + the 101-byte prefix > 1,024
	fake.ResetRequests()
	if err := st.PutBytes(context.Background(), key, []byte("x"), nil); !errors.Is(err, lake.ErrInvalidName) || !strings.Contains(err.Error(), "1024") {
		t.Fatalf("put of a key too long with the prefix: %v, want ErrInvalidName", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d requests sent for a key S3 refuses", n)
	}
}
