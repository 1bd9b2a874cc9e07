package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
)

// faultS3 is gofakes3 behind a hook that may answer a request itself, the
// way real S3 answers in cases the fakes never produce (409 conflicts on
// racing conditional writes, SlowDown, per-key delete failures).
type faultS3 struct {
	srv *httptest.Server

	mu   sync.Mutex
	hook func(w http.ResponseWriter, r *http.Request) bool
	reqs []*http.Request
}

func startFaultS3(t *testing.T) *faultS3 {
	f := &faultS3{}
	h := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.Clone(context.Background())
		c.Body = nil
		f.mu.Lock()
		f.reqs = append(f.reqs, c)
		hook := f.hook
		f.mu.Unlock()
		if hook != nil && hook(w, r) {
			io.Copy(io.Discard, r.Body)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *faultS3) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.hook, f.reqs = h, nil
	f.mu.Unlock()
}

func (f *faultS3) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// store returns a store on a fresh bucket; the client makes one attempt per
// call, so the counts below are the driver's own.
func (f *faultS3) store(t *testing.T, opts *s3store.Options) *lake.Store {
	var o s3store.Options
	if opts != nil {
		o = *opts
	}
	o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	s, _ := newBucket(t, testaws.Config(t, f.srv.URL), "", &o)
	return s
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test</Message><RequestId>1</RequestId></Error>`, code)
}

func isConditionalPut(r *http.Request) bool {
	return r.Method == http.MethodPut && r.Header.Get("If-None-Match") == "*"
}

func TestCreateRetriesConditionalConflict(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, nil)
	var mu sync.Mutex
	conflicts := 2
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if isConditionalPut(r) && conflicts > 0 {
			conflicts--
			s3Error(w, http.StatusConflict, "ConditionalRequestConflict")
			return true
		}
		return false
	})
	must(t, s.Create(ctx, "log/1", []byte("winner"), nil))
	if n := countOps(f.requests())["PutObject"]; n != 3 {
		t.Fatalf("%d PUTs, want 3 (two answered 409, then the one that wins)", n)
	}
	b, err := s.ReadAll(ctx, "log/1")
	must(t, err)
	if string(b) != "winner" {
		t.Fatalf("content after retries %q", b)
	}
}

func TestCreateConflictRetriesAreBounded(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, &s3store.Options{ConflictRetries: 3})
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if isConditionalPut(r) {
			s3Error(w, http.StatusConflict, "ConditionalRequestConflict")
			return true
		}
		return false
	})
	err := s.Create(ctx, "log/1", []byte("x"), nil)
	var ae smithy.APIError
	if !errors.Is(err, lake.ErrPrecondition) || !errors.As(err, &ae) || ae.ErrorCode() != "ConditionalRequestConflict" {
		t.Fatalf("got %v, want ErrPrecondition wrapping ConditionalRequestConflict", err)
	}
	if n := countOps(f.requests())["PutObject"]; n != 4 {
		t.Fatalf("%d PUTs, want 1 + 3 retries", n)
	}
	// a plain put is not conditional: a 409 there is not retried
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut {
			s3Error(w, http.StatusConflict, "ConditionalRequestConflict")
			return true
		}
		return false
	})
	if err := s.PutBytes(ctx, "k", []byte("x"), nil); err == nil {
		t.Fatal("put answered 409 succeeded")
	}
	if n := countOps(f.requests())["PutObject"]; n != 1 {
		t.Fatalf("plain put sent %d times, want 1", n)
	}
}

func TestThrottledMapsToErrThrottled(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, nil)
	must(t, s.PutBytes(ctx, "k", []byte("v"), nil))
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		s3Error(w, http.StatusServiceUnavailable, "SlowDown")
		return true
	})
	_, err := s.Get(ctx, "k")
	var ae smithy.APIError
	if !errors.Is(err, lake.ErrThrottled) || !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
		t.Fatalf("get answered SlowDown: %v, want ErrThrottled wrapping the API error", err)
	}
	if err := s.PutBytes(ctx, "k", []byte("v"), nil); !errors.Is(err, lake.ErrThrottled) {
		t.Fatalf("put answered SlowDown: %v, want ErrThrottled", err)
	}
	for _, err := range s.List(ctx, "", nil) {
		if !errors.Is(err, lake.ErrThrottled) {
			t.Fatalf("list answered SlowDown: %v, want ErrThrottled", err)
		}
	}
}

func TestDeleteReportsKeysNotDeleted(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, nil)
	var keys []string
	for i := range 2500 {
		keys = append(keys, fmt.Sprintf("d/%04d", i))
	}
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte("<Key>d/1500</Key>")) {
				w.Header().Set("Content-Type", "application/xml")
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Error><Key>d/1500</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>`)
				return true
			}
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>`)
			return true
		}
		return false
	})
	err := s.DeleteMany(ctx, keys)
	if err == nil || !strings.Contains(err.Error(), "d/1500") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("got %v, want an error naming d/1500 and AccessDenied", err)
	}
	if n := countOps(f.requests())["DeleteObjects"]; n != 3 {
		t.Fatalf("%d DeleteObjects calls for 2500 keys, want 3 (batches of 1000)", n)
	}
}

func TestMultipartCreate(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, &s3store.Options{MultipartThreshold: 5 << 20, PartSize: 5 << 20})
	data := payload(7<<20, 11)
	f.setHook(nil)
	must(t, s.Create(ctx, "big", data, nil))
	ops := countOps(f.requests())
	if ops["CreateMultipartUpload"] != 1 || ops["UploadPart"] != 2 {
		t.Fatalf("want a multipart upload of 2 parts, got %v", ops)
	}
	for _, r := range f.requests() {
		if opOf(r) == "CompleteMultipartUpload" && r.Header.Get("If-None-Match") != "*" {
			t.Fatal("CompleteMultipartUpload of a create sent without If-None-Match: *")
		}
	}
	// a second create of the key is refused before any part is sent
	f.setHook(nil)
	err := s.Create(ctx, "big", payload(7<<20, 12), nil)
	if !errors.Is(err, lake.ErrExists) {
		t.Fatalf("second multipart create: %v, want ErrExists", err)
	}
	if ops := countOps(f.requests()); ops["CreateMultipartUpload"] != 0 || ops["UploadPart"] != 0 {
		t.Fatalf("refused create still uploaded: %v", ops)
	}
	// a server that refuses at CompleteMultipartUpload (as S3 does when the
	// key appeared meanwhile) gives ErrExists too, and the upload is aborted
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if opOf(r) == "CompleteMultipartUpload" {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return true
		}
		return false
	})
	err = s.Create(ctx, "big2", data, nil)
	if !errors.Is(err, lake.ErrExists) {
		t.Fatalf("create refused at complete: %v, want ErrExists", err)
	}
	if ops := countOps(f.requests()); ops["AbortMultipartUpload"] != 1 {
		t.Fatalf("refused complete: requests %v, want one AbortMultipartUpload", ops)
	}
}

func TestMultipartFailureKeepsOldObject(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, &s3store.Options{MultipartThreshold: 5 << 20, PartSize: 5 << 20})
	must(t, s.PutBytes(ctx, "obj", []byte("old"), nil))
	for name, r := range map[string]struct {
		r    io.Reader
		size int64
	}{
		"failing-stream": {io.MultiReader(bytes.NewReader(payload(12<<20, 1)), iotest.ErrReader(errors.New("disk gone"))), -1},
		"short-stream":   {onlyReader{bytes.NewReader(payload(12<<20, 1))}, 13 << 20},
		"long-stream":    {onlyReader{bytes.NewReader(payload(12<<20, 1))}, 11 << 20},
	} {
		f.setHook(nil)
		if err := s.Put(ctx, "obj", r.r, r.size, nil); err == nil {
			t.Fatalf("%s: put succeeded", name)
		}
		ops := countOps(f.requests())
		if ops["CreateMultipartUpload"] != 1 || ops["CompleteMultipartUpload"] != 0 || ops["AbortMultipartUpload"] != 1 {
			t.Errorf("%s: requests %v, want an upload begun and aborted, never completed", name, ops)
		}
		b, err := s.ReadAll(ctx, "obj")
		must(t, err)
		if string(b) != "old" {
			t.Fatalf("%s: a failed put replaced the object (%d bytes)", name, len(b))
		}
	}
	// a too-long body smaller than the threshold fails before sending
	f.setHook(nil)
	if err := s.Put(ctx, "obj", onlyReader{strings.NewReader("longer than said")}, 4, nil); err == nil {
		t.Fatal("put of a body longer than its size succeeded")
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("a body of the wrong size sent %d requests", n)
	}
}

func TestMultipartConcurrencyIsBounded(t *testing.T) {
	ctx := context.Background()
	f := startFaultS3(t)
	s := f.store(t, &s3store.Options{MultipartThreshold: 5 << 20, PartSize: 5 << 20, Concurrency: 2})
	var mu sync.Mutex
	inflight, most := 0, 0
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if opOf(r) != "UploadPart" {
			return false
		}
		mu.Lock()
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		time.Sleep(40 * time.Millisecond) // let the uploader start all it may
		mu.Lock()
		inflight--
		mu.Unlock()
		return false
	})
	data := payload(30<<20, 3)
	must(t, s.PutBytes(ctx, "big", data, nil))
	if n := countOps(f.requests())["UploadPart"]; n != 6 {
		t.Fatalf("%d parts, want 6", n)
	}
	if most != 2 {
		t.Fatalf("at most %d parts were in flight at once, want 2 (Options.Concurrency)", most)
	}
	b, err := s.ReadAll(ctx, "big")
	must(t, err)
	if !bytes.Equal(b, data) {
		t.Fatal("object differs after a bounded multipart upload")
	}
}
