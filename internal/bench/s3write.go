package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "s3_write", what: "rows committed to S3 (gofakes3, and moto when present) vs the same writer encoding into memory and transfermanager uploading the files", run: s3Write})
}

// s3UploadWorkers is how many objects the peer uploads at once
// (transfermanager's default part concurrency).
const s3UploadWorkers = 5

// parquetObject is one data file of the peer's upload.
type parquetObject struct {
	key  string
	data []byte
}

// s3Server is an S3 endpoint for one sample: a fresh gofakes3, or a fresh
// bucket on the scenario's moto_server.
type s3Server struct {
	endpoint, bucket string
	close            func()
	requests         func() map[string]int // nil: not counted (moto)
}

// s3Target makes the server of each sample. Both sides use the clients
// users get (lakekit: OpenStore's; the peer: s3.NewFromConfig's).
type s3Target struct {
	name   string
	server func(ctx context.Context) (*s3Server, error)
}

// start makes a sample's server and the AWS config of clients to it.
func (tg *s3Target) start(ctx context.Context) (*s3Server, aws.Config, error) {
	srv, err := tg.server(ctx)
	if err != nil {
		return nil, aws.Config{}, err
	}
	cfg, err := awsConfig(ctx, srv.endpoint)
	if err != nil {
		srv.close()
		return nil, aws.Config{}, err
	}
	return srv, cfg, nil
}

// requestCounter counts the requests a server answers, by kind: "PUT
// data" (a PutObject or UploadPart of a .parquet key), "COPY data"
// (CopyObject), "DELETE data", "GET other", ...
type requestCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *requestCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Method
		if m == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" {
			m = "COPY"
		}
		if m == http.MethodPost && r.URL.Query().Has("delete") {
			m = "DELETES"
		}
		c.mu.Lock()
		if c.ops == nil {
			c.ops = map[string]int{}
		}
		c.ops[m+" "+keyKind(r.URL.Path)]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *requestCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}

// counts returns the requests counted so far (nil when not counted).
func (s *s3Server) counts() map[string]int {
	if s.requests == nil {
		return nil
	}
	return s.requests()
}

// s3Sample is what one sample of either side measured.
type s3Sample struct {
	encode, upload time.Duration // peer: encoding into memory, uploading
	write, commit  time.Duration // lakekit: Write calls, Commit
	requests       map[string]int
	bytes          int64
}

// lakekitS3 writes rows through the zones writer over lake/s3store and
// commits, timed from opening the store to the commit.
func lakekitS3(ctx context.Context, c *config, tg *s3Target, rows []eventgen.Event) (s3Sample, error) {
	srv, cfg, err := tg.start(ctx)
	if err != nil {
		return s3Sample{}, err
	}
	defer srv.close()
	t0 := time.Now()
	store, err := s3store.OpenStore(ctx, cfg, srv.bucket, "lake", nil)
	if err != nil {
		return s3Sample{}, err
	}
	l, err := lake.New(store, nil)
	if err != nil {
		return s3Sample{}, err
	}
	defer l.Close()
	ds, err := zones.NewDataset(l, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return s3Sample{}, err
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		return s3Sample{}, err
	}
	for i := 0; i < len(rows); i += writeBatch {
		if err := w.Write(ctx, rows[i:min(i+writeBatch, len(rows))]); err != nil {
			w.Abort(ctx)
			return s3Sample{}, err
		}
	}
	t1 := time.Now()
	res, err := w.Commit(ctx)
	if err != nil {
		return s3Sample{}, fmt.Errorf("lakekit commit to S3: %w", err)
	}
	t2 := time.Now()
	if res.Rows != int64(len(rows)) {
		return s3Sample{}, fmt.Errorf("commit holds %d rows, wrote %d", res.Rows, len(rows))
	}
	return s3Sample{write: t1.Sub(t0), commit: t2.Sub(t1), requests: srv.counts(), bytes: res.Bytes}, nil
}

// encodeInMemory writes rows with the same zones writer and options into
// an in-memory lake and returns its data files.
func encodeInMemory(ctx context.Context, c *config, rows []eventgen.Event) ([]parquetObject, error) {
	l, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	ds, err := zones.NewDataset(l, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		return nil, err
	}
	res, err := writeEvents(ctx, ds, rows)
	if err != nil {
		return nil, err
	}
	store := l.MustZone(lake.Curated).Store()
	objs := make([]parquetObject, 0, len(res.Files))
	for _, f := range res.Files {
		rc, err := store.Get(ctx, f.Key)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		objs = append(objs, parquetObject{key: "peer/" + f.Key, data: b})
	}
	return objs, nil
}

// peerS3 is the fair peer: the same writer encodes the rows into memory,
// then transfermanager uploads the files; both are timed. With objs
// given, only the upload runs (the literal peer: bytes encoded before).
func peerS3(ctx context.Context, c *config, tg *s3Target, rows []eventgen.Event, objs []parquetObject) (s3Sample, error) {
	srv, cfg, err := tg.start(ctx)
	if err != nil {
		return s3Sample{}, err
	}
	defer srv.close()
	t0 := time.Now()
	if objs == nil {
		if objs, err = encodeInMemory(ctx, c, rows); err != nil {
			return s3Sample{}, fmt.Errorf("peer encode: %w", err)
		}
	}
	t1 := time.Now()
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if err := uploadAll(ctx, transfermanager.New(client), srv.bucket, objs); err != nil {
		return s3Sample{}, fmt.Errorf("transfermanager: %w", err)
	}
	t2 := time.Now()
	var n int64
	for _, o := range objs {
		n += int64(len(o.data))
	}
	return s3Sample{encode: t1.Sub(t0), upload: t2.Sub(t1), requests: srv.counts(), bytes: n}, nil
}

// uploadAll uploads objs with tm, s3UploadWorkers at a time.
func uploadAll(ctx context.Context, tm *transfermanager.Client, bucket string, objs []parquetObject) error {
	work := make(chan parquetObject)
	errs := make(chan error, s3UploadWorkers)
	var wg sync.WaitGroup
	for w := 0; w < s3UploadWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(o.key),
					Body: bytes.NewReader(o.data), ContentLength: aws.Int64(int64(len(o.data))),
				})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", o.key, err)
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, o := range objs {
		select {
		case work <- o:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs
}

// median of durations, in seconds.
func medianSeconds(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return round(s[len(s)/2].Seconds(), 3)
}

// s3Run is one target's measurement: the interleaved lakekit and fair
// peer samples, then the literal peer's.
type s3Run struct {
	lk, pv, literal float64
	lks, pvs        []float64
	lkS, pvS, litS  []s3Sample
}

func (r *s3Run) extra(prefix string, rows int) map[string]any {
	var enc, up, wr, cm, lit []time.Duration
	for _, s := range r.pvS {
		enc, up = append(enc, s.encode), append(up, s.upload)
	}
	for _, s := range r.lkS {
		wr, cm = append(wr, s.write), append(cm, s.commit)
	}
	for _, s := range r.litS {
		lit = append(lit, s.upload)
	}
	// lakekit's S3 path on its own: its time minus the peer's encoding
	// (same writer, same rows), against the peer's upload
	lkS3 := float64(rows)/max(r.lk, 1) - medianSeconds(enc)
	e := map[string]any{
		prefix + "lakekit_write_s":      medianSeconds(wr),
		prefix + "lakekit_commit_s":     medianSeconds(cm),
		prefix + "peer_encode_s":        medianSeconds(enc),
		prefix + "peer_upload_s":        medianSeconds(up),
		prefix + "literal_peer_rows_s":  round(r.literal, 0),
		prefix + "literal_ratio":        round(r.lk/max(r.literal, 1), 4),
		prefix + "lakekit_s3_path_s":    round(lkS3, 3),
		prefix + "s3_path_ratio":        round(medianSeconds(up)/max(lkS3, 0.001), 4),
		prefix + "literal_peer_samples": roundAll(r.litSamples(rows), 0),

		prefix + "lakekit_bytes":           r.lkS[len(r.lkS)-1].bytes,
		prefix + "peer_bytes":              r.pvS[len(r.pvS)-1].bytes,
		prefix + "fair_peer_rows_s_sample": roundAll(r.pvs, 0),
	}
	if req := r.lkS[len(r.lkS)-1].requests; req != nil {
		e[prefix+"lakekit_data_puts"] = req["PUT data"] + req["COPY data"]
		e[prefix+"lakekit_requests"] = req
		e[prefix+"peer_data_puts"] = r.pvS[len(r.pvS)-1].requests["PUT data"]
	}
	return e
}

func (r *s3Run) litSamples(rows int) []float64 {
	out := make([]float64, len(r.litS))
	for i, s := range r.litS {
		out[i] = float64(rows) / s.upload.Seconds()
	}
	return out
}

// measureS3 runs both sides on one target, interleaved, then the literal
// peer (upload of bytes encoded beforehand) reps times.
func measureS3(ctx context.Context, c *config, tg *s3Target, rows []eventgen.Event, pre []parquetObject) (*s3Run, error) {
	r := &s3Run{}
	var mu sync.Mutex
	var err error
	r.lk, r.pv, r.lks, r.pvs, err = measureTimed(c,
		func(rep int) (float64, error) {
			s, err := lakekitS3(ctx, c, tg, rows)
			if err != nil {
				return 0, err
			}
			if rep >= 0 { // not the warm-up
				mu.Lock()
				r.lkS = append(r.lkS, s)
				mu.Unlock()
			}
			return float64(len(rows)) / (s.write + s.commit).Seconds(), nil
		},
		func(rep int) (float64, error) {
			s, err := peerS3(ctx, c, tg, rows, nil)
			if err != nil {
				return 0, err
			}
			if rep >= 0 {
				mu.Lock()
				r.pvS = append(r.pvS, s)
				mu.Unlock()
			}
			return float64(len(rows)) / (s.encode + s.upload).Seconds(), nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tg.name, err)
	}
	var lit []float64
	for rep := 0; rep < c.reps; rep++ {
		s, err := peerS3(ctx, c, tg, rows, pre)
		if err != nil {
			return nil, fmt.Errorf("%s literal peer: %w", tg.name, err)
		}
		r.litS = append(r.litS, s)
		lit = append(lit, float64(len(rows))/s.upload.Seconds())
	}
	sort.Float64s(lit)
	r.literal = lit[len(lit)/2]
	return r, nil
}

// gofakes3Target serves each sample from a fresh gofakes3.
func gofakes3Target() *s3Target {
	return &s3Target{name: "gofakes3", server: func(context.Context) (*s3Server, error) {
		var c requestCounter
		srv := httptest.NewServer(c.wrap(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()))
		return &s3Server{endpoint: srv.URL, bucket: "bench", close: srv.Close, requests: c.counts}, nil
	}}
}

// motoTarget serves each sample from a new bucket of one moto_server,
// reset between samples so its memory does not grow with them.
func motoTarget(m *moto) *s3Target {
	n := 0
	return &s3Target{name: "moto", server: func(ctx context.Context) (*s3Server, error) {
		n++
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint+"/moto-api/reset", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("moto reset: %w", err)
		}
		resp.Body.Close()
		cfg, err := awsConfig(ctx, m.endpoint)
		if err != nil {
			return nil, err
		}
		bucket := fmt.Sprintf("bench-%d", n)
		client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return nil, fmt.Errorf("moto create bucket: %w", err)
		}
		return &s3Server{endpoint: m.endpoint, bucket: bucket, close: func() {}}, nil
	}}
}

func s3Write(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	// the literal peer's bytes: the same rows, same writer (not timed)
	pre, err := encodeInMemory(ctx, c, rows)
	if err != nil {
		return nil, fmt.Errorf("peer bytes: %w", err)
	}
	fake, err := measureS3(ctx, c, gofakes3Target(), rows, pre)
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "rows/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(fake.lk, 0),
		Peer:           fmt.Sprintf("the same zones writer and options encoding into an in-memory lake, then transfermanager UploadObject of its files, %d at once (both timed)", s3UploadWorkers),
		PeerValue:      round(fake.pv, 0),
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(fake.lks, 0),
		PeerSamples:    roundAll(fake.pvs, 0),
		Extra:          fake.extra("", len(rows)),
	}
	r.Extra["objects"] = len(pre)
	r.Extra["server"] = "gofakes3 (s3mem) behind httptest on loopback, a fresh server per sample, requests counted by the server (lakekit_data_puts = PUT + COPY of data files, as before); moto_server 5.2.1 on loopback, one process reset between samples, a new bucket each, not counted"
	r.Extra["notes"] = "fair comparison: both sides encode the same rows with the same writer; lakekit also stages, commits and copies into place on S3, the peer just uploads. " +
		"lakekit is timed from opening the store to the commit (write = the Write calls, commit = Commit: last encoding, uploads, log, copies). " +
		"literal_* is the issue's literal peer, transfermanager uploading bytes encoded beforehand (so its ratio is mostly Parquet encoding); " +
		"lakekit_s3_path_s = lakekit's time minus the peer's median encode time, s3_path_ratio = peer_upload_s / lakekit_s3_path_s (derived from medians of different samples); moto_* the same on moto_server"
	m, err := startMoto(ctx)
	switch {
	case errors.Is(err, errSkip):
		r.Extra["moto"] = strings.TrimPrefix(err.Error(), errSkip.Error()+": ")
	case err != nil:
		return nil, err
	default:
		defer m.stop()
		mr, err := measureS3(ctx, c, motoTarget(m), rows, pre)
		if err != nil {
			return nil, err
		}
		for k, v := range mr.extra("moto_", len(rows)) {
			r.Extra[k] = v
		}
		r.Extra["moto_ratio"] = round(mr.lk/mr.pv, 4)
		r.Extra["moto_lakekit_rows_s"] = round(mr.lk, 0)
		r.Extra["moto_peer_rows_s"] = round(mr.pv, 0)
		r.Extra["moto_met"] = mr.lk/mr.pv >= 0.9
	}
	r.finish(fake.lk/fake.pv, target{op: ">=", value: 0.9}, 0.9)
	return r, nil
}
