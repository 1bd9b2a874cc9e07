package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "s3_gets_per_projected_read", what: "GETs to read one column of one file through the S3 store", run: s3GetsPerProjectedRead})
}

const benchRegion = "us-east-1"

// fakeS3 is gofakes3 behind an httptest server that counts requests.
type fakeS3 struct {
	srv *httptest.Server
	mu  sync.Mutex
	// counts by method and kind of key ("data" for .parquet, else "other")
	counts map[string]int
}

func startFakeS3() *fakeS3 {
	f := &fakeS3{counts: map[string]int{}}
	h := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.counts[r.Method+" "+keyKind(r.URL.Path)]++
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	return f
}

func (f *fakeS3) Close() { f.srv.Close() }

func (f *fakeS3) reset() {
	f.mu.Lock()
	f.counts = map[string]int{}
	f.mu.Unlock()
}

func (f *fakeS3) count(methodKind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[methodKind]
}

// awsConfig is a config for a loopback endpoint with static test
// credentials, loaded the way users load theirs.
func awsConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(benchRegion),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("bench", "bench", "")),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithRetryMaxAttempts(3),
	)
}

// rangedReaderAt is the peer: a plain io.ReaderAt over one S3 object where
// every ReadAt is one ranged GetObject, with no tail prefetch, cache or
// coalescing.
type rangedReaderAt struct {
	ctx            context.Context
	client         *s3.Client
	bucket, key    string
	size           int64
	mu             sync.Mutex
	gets, getBytes int64
}

func (r *rangedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.size)
	out, err := r.client.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1)),
	}, func(o *s3.Options) {
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p[:end-off])
	r.mu.Lock()
	r.gets++
	r.getBytes += int64(n)
	r.mu.Unlock()
	if err != nil {
		return n, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// amountOnly projects the one column both sides read.
type amountOnly struct {
	Amount float64 `parquet:"amount"`
}

func s3GetsPerProjectedRead(ctx context.Context, c *config) (*Result, error) {
	f := startFakeS3()
	defer f.Close()
	cfg, err := awsConfig(ctx, f.srv.URL)
	if err != nil {
		return nil, err
	}
	const bucket, prefix = "bench", "lake"
	store, err := s3store.OpenStore(ctx, cfg, bucket, prefix, nil)
	if err != nil {
		return nil, err
	}
	lk, err := lake.New(store, nil)
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	// one partition, one file: every row on the same day
	n := min(c.rows, 1_000_000)
	rows := eventgen.Generate(n, 1, 2)
	ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return nil, err
	}
	res, err := writeEvents(ctx, ds, rows)
	if err != nil {
		return nil, fmt.Errorf("write to S3: %w", err)
	}
	if len(res.Files) != 1 {
		return nil, fmt.Errorf("the write made %d files, want 1", len(res.Files))
	}
	file := res.Files[0]
	var wantSum float64
	for i := range rows {
		wantSum += rows[i].Amount
	}
	rows = nil
	checkSum := func(side string, got int64, sum float64) error {
		if got != int64(n) {
			return fmt.Errorf("%s read %d values, want %d", side, got, n)
		}
		if d := sum - wantSum; d > 1e-6*wantSum || d < -1e-6*wantSum {
			return fmt.Errorf("%s: sum %f, want %f", side, sum, wantSum)
		}
		return nil
	}
	var lkOther, peerHeads int
	var peerBytes int64
	lkv, pv, lks, pvs, err := measure(c,
		func(int) (float64, error) {
			// a fresh dataset: the commit log is read again (counted apart)
			ds, err := zones.NewDataset[eventgen.Event](lk, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
			if err != nil {
				return 0, err
			}
			f.reset()
			var got int64
			var sum float64
			err = ds.ReadBatches(ctx, &zones.ReadOptions{Columns: []string{"amount"}}, func(b []eventgen.Event) error {
				got += int64(len(b))
				for i := range b {
					sum += b[i].Amount
				}
				return nil
			})
			if err != nil {
				return 0, fmt.Errorf("lakekit read: %w", err)
			}
			lkOther = f.count("GET other")
			return float64(f.count("GET data")), checkSum("lakekit", got, sum)
		},
		func(int) (float64, error) {
			client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
			key := prefix + "/" + string(lake.Curated) + "/" + file.Key
			f.reset()
			head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return 0, fmt.Errorf("peer head %s: %w", key, err)
			}
			ra := &rangedReaderAt{ctx: ctx, client: client, bucket: bucket, key: key, size: aws.ToInt64(head.ContentLength)}
			pf, err := parquet.OpenFile(ra, ra.size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(256<<10))
			if err != nil {
				return 0, fmt.Errorf("peer open: %w", err)
			}
			var got int64
			var sum float64
			buf := make([]amountOnly, 4096)
			for _, rg := range pf.RowGroups() {
				r := parquet.NewGenericRowGroupReader[amountOnly](rg)
				for {
					k, err := r.Read(buf)
					for i := range buf[:k] {
						sum += buf[i].Amount
					}
					got += int64(k)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						r.Close()
						return 0, fmt.Errorf("peer read: %w", err)
					}
				}
				r.Close()
			}
			peerHeads = f.count("HEAD data")
			peerBytes = ra.getBytes
			if int(ra.gets) != f.count("GET data") {
				return 0, fmt.Errorf("peer counted %d GETs, the server %d", ra.gets, f.count("GET data"))
			}
			return float64(ra.gets), checkSum("peer", got, sum)
		})
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "GET requests on the data file (lower is better; ratio = peer/lakekit)",
		Lakekit:        lkv,
		Peer:           "parquet-go over a plain ranged-GET io.ReaderAt (one GET per ReadAt, no tail prefetch or coalescing), same open options",
		PeerValue:      pv,
		LowerIsBetter:  true,
		Reps:           c.reps,
		Rows:           n,
		Partitions:     1,
		LakekitSamples: lks,
		PeerSamples:    pvs,
		Extra: map[string]any{
			"file_bytes":       file.Size,
			"column":           "amount",
			"lakekit_log_gets": lkOther,
			"peer_heads":       peerHeads,
			"peer_get_bytes":   peerBytes,
			"server":           "gofakes3 (s3mem) behind httptest on loopback, requests counted by the server",
			"notes":            "lakekit: zones Dataset.ReadBatches(Columns: amount) on a fresh dataset over lake/s3store; its commit-log GETs are counted apart (lakekit_log_gets)",
		},
	}
	r.finish(lkv, target{op: "<=", value: 3}, pv/3)
	return r, nil
}
