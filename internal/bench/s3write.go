package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "s3_write", what: "rows committed to S3 (gofakes3) vs transfermanager uploading the same Parquet bytes", run: s3Write})
}

// s3UploadWorkers is how many objects the peer uploads at once
// (transfermanager's default part concurrency).
const s3UploadWorkers = 5

// parquetObject is one data file of the peer's upload.
type parquetObject struct {
	key  string
	data []byte
}

func s3Write(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	const bucket = "bench"
	// The peer's bytes: the same rows written by the same writer into a
	// scratch file lake (not timed).
	dir, err := c.scratch("s3write-bytes")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fd, err := filestore.New(dir, &filestore.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	flk, err := lake.New(lake.NewStore(fd), nil)
	if err != nil {
		return nil, err
	}
	fds, err := zones.NewDataset(flk, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
	if err != nil {
		flk.Close()
		return nil, err
	}
	fres, err := writeEvents(ctx, fds, rows)
	flk.Close()
	if err != nil {
		return nil, fmt.Errorf("peer bytes: %w", err)
	}
	var objs []parquetObject
	var total int64
	for _, f := range fres.Files {
		b, err := os.ReadFile(filepath.Join(dir, string(lake.Curated), filepath.FromSlash(f.Key)))
		if err != nil {
			return nil, fmt.Errorf("peer bytes: %w", err)
		}
		objs = append(objs, parquetObject{key: "peer/" + f.Key, data: b})
		total += int64(len(b))
	}
	os.RemoveAll(dir)

	var lkBytes int64
	var lkPuts, peerPuts int
	lk, pv, lks, pvs, err := measureTimed(c,
		func(rep int) (float64, error) {
			f := startFakeS3()
			defer f.Close()
			cfg, err := awsConfig(ctx, f.srv.URL)
			if err != nil {
				return 0, err
			}
			t0 := time.Now()
			store, err := s3store.OpenStore(ctx, cfg, bucket, "lake", nil)
			if err != nil {
				return 0, err
			}
			l, err := lake.New(store, nil)
			if err != nil {
				return 0, err
			}
			defer l.Close()
			ds, err := zones.NewDataset(l, lake.Curated, benchDB, benchTable, datasetOptions(c.tmp))
			if err != nil {
				return 0, err
			}
			res, err := writeEvents(ctx, ds, rows)
			if err != nil {
				return 0, fmt.Errorf("lakekit write to S3: %w", err)
			}
			d := time.Since(t0)
			lkBytes = res.Bytes
			lkPuts = f.count("PUT data")
			return float64(len(rows)) / d.Seconds(), nil
		},
		func(rep int) (float64, error) {
			f := startFakeS3()
			defer f.Close()
			cfg, err := awsConfig(ctx, f.srv.URL)
			if err != nil {
				return 0, err
			}
			t0 := time.Now()
			client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
			tm := transfermanager.New(client)
			if err := uploadAll(ctx, tm, bucket, objs); err != nil {
				return 0, fmt.Errorf("transfermanager: %w", err)
			}
			d := time.Since(t0)
			peerPuts = f.count("PUT data")
			return float64(len(rows)) / d.Seconds(), nil
		})
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "rows/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(lk, 0),
		Peer:           fmt.Sprintf("transfermanager UploadObject of the same Parquet bytes (already encoded), %d objects at once, default options", s3UploadWorkers),
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"lakekit_bytes":     lkBytes,
			"peer_bytes":        total,
			"objects":           len(objs),
			"lakekit_data_puts": lkPuts,
			"peer_data_puts":    peerPuts,
			"server":            "gofakes3 (s3mem) behind httptest on loopback, a fresh server per sample",
			"notes":             "lakekit: zones writer over lake/s3store (open, write in 10k-row batches, commit), timed from opening the store to the commit; the peer only uploads bytes encoded beforehand by the same writer, so the ratio includes lakekit's Parquet encoding (compare write_vs_parquetgo for the encoding alone)",
		},
	}
	r.finish(lk/pv, target{op: ">=", value: 0.9}, 0.9)
	return r, nil
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
