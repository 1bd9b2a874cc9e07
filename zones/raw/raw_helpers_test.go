package raw_test

// Test helpers shared by the raw-landing and buffer tests: lakes on each
// store, a fault-injecting driver wrapper, and a decoder of landed records.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones/raw"
)

// rawFaultDriver wraps a driver and injects faults into puts of keys under
// the raw zone ("raw/..."): failures (optionally after the put went
// through: an ambiguous failure) and stalls.
type rawFaultDriver struct {
	driver.Driver

	mu        sync.Mutex
	failPuts  int           // fail this many more raw puts
	ambiguous bool          // store the object before failing
	stall     chan struct{} // when non-nil, raw puts wait until it is closed

	rawPuts   atomic.Int64 // raw puts attempted
	failed    atomic.Int64 // raw puts failed by injection
	stalledAt atomic.Int64 // raw puts currently stalled
}

func (d *rawFaultDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	if !strings.HasPrefix(key, "raw/") {
		return d.Driver.Put(ctx, key, body, size, opts)
	}
	d.rawPuts.Add(1)
	d.mu.Lock()
	stall := d.stall
	fail := d.failPuts > 0
	if fail {
		d.failPuts--
	}
	amb := d.ambiguous
	d.mu.Unlock()
	if stall != nil {
		d.stalledAt.Add(1)
		select {
		case <-stall:
		case <-ctx.Done():
			d.stalledAt.Add(-1)
			return ctx.Err()
		}
		d.stalledAt.Add(-1)
	}
	if fail {
		d.failed.Add(1)
		if amb {
			if err := d.Driver.Put(ctx, key, body, size, opts); err != nil {
				return err
			}
			return fmt.Errorf("injected failure after the put of %q went through: %w", key, driver.ErrThrottled)
		}
		return fmt.Errorf("injected failure of the put of %q: %w", key, driver.ErrThrottled)
	}
	return d.Driver.Put(ctx, key, body, size, opts)
}

func (d *rawFaultDriver) setFail(n int, ambiguous bool) {
	d.mu.Lock()
	d.failPuts, d.ambiguous = n, ambiguous
	d.mu.Unlock()
}

func (d *rawFaultDriver) setStall(ch chan struct{}) {
	d.mu.Lock()
	d.stall = ch
	d.mu.Unlock()
}

// rawFaultLake returns a memory lake whose driver injects faults.
func rawFaultLake(t testing.TB) (*lake.Lake, *rawFaultDriver) {
	t.Helper()
	fd := &rawFaultDriver{Driver: memstore.New()}
	lk, err := lake.New(lake.NewStore(fd), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk, fd
}

func rawMemLake(t testing.TB) *lake.Lake {
	t.Helper()
	lk, err := lake.Open(context.Background(), "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

func rawFileLake(t testing.TB) *lake.Lake {
	t.Helper()
	d, err := filestore.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(lake.NewStore(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

var rawBucketSeq atomic.Int64

// rawS3Lake returns a lake on a fresh bucket of an in-process gofakes3.
func rawS3Lake(t testing.TB) *lake.Lake {
	t.Helper()
	ctx := context.Background()
	cfg := testaws.StartFakeS3(t).Config(t)
	name := fmt.Sprintf("lakekit-zones-raw-%d", rawBucketSeq.Add(1))
	s, err := s3store.OpenStore(ctx, cfg, name, "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	var c *s3.Client
	if !s.As(&c) {
		t.Fatal("As(**s3.Client) = false")
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	lk, err := lake.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	return lk
}

// rawLakes are the stores every landing test runs on.
var rawLakes = []struct {
	name string
	open func(testing.TB) *lake.Lake
}{
	{"mem", rawMemLake},
	{"file", rawFileLake},
	{"s3", rawS3Lake},
}

// rawKeys lists every object key in the lake (root-relative).
func rawKeys(t testing.TB, lk *lake.Lake, prefix string) []string {
	t.Helper()
	es, err := lk.Store().ListAll(context.Background(), prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}

// rawReadLines reads every object landed for source/dataset, decompresses
// it by its content-encoding metadata, and returns all lines in key order,
// with the objects listed.
func rawReadLines(t testing.TB, lk *lake.Lake, source, dataset string) ([]string, []raw.Landed) {
	t.Helper()
	ctx := context.Background()
	store := lk.MustZone(lake.Raw).Store()
	var lines []string
	var objs []raw.Landed
	for l, err := range raw.List(ctx, lk, source, dataset, nil) {
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, l)
		b, err := store.ReadAll(ctx, l.Key)
		if err != nil {
			t.Fatal(err)
		}
		b = rawDecode(t, l.ContentEncoding, b)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for sc.Scan() {
			lines = append(lines, sc.Text())
			n++
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if l.Records != 0 && int64(n) != l.Records {
			t.Errorf("%s: %d lines, metadata says %d records", l.Key, n, l.Records)
		}
	}
	return lines, objs
}

func rawDecode(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	switch enc {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case "zstd":
		zr, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		out, err := zr.DecodeAll(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("unknown content encoding %q", enc)
	return nil
}
