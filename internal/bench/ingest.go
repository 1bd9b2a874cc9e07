package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/zones/raw"
)

func init() {
	register(scenario{name: "ingest_buffer", what: "records/s through raw.Buffer (32 goroutines, zstd) vs one os.File + zstd encoder", run: ingestBuffer})
}

// ingestGoroutines is how many producers call Buffer.Add at once.
const ingestGoroutines = 32

// jsonEvent is an event as a producer sends it, and the cleaned row type of
// the JSON transform scenario: json and parquet names agree, so DuckDB's
// read_json and lakekit's decoder see the same columns.
type jsonEvent struct {
	ID      int64     `json:"id" parquet:"id"`
	TS      time.Time `json:"ts" parquet:"ts,timestamp(microsecond)"`
	User    string    `json:"user_id" parquet:"user_id"`
	Amount  float64   `json:"amount" parquet:"amount"`
	Country string    `json:"country" parquet:"country"`
	URL     string    `json:"url" parquet:"url"`
}

// jsonRecords returns the run's rows as JSON records (no newline), one per
// event.
func jsonRecords(rows []eventgen.Event) ([][]byte, int64, error) {
	out := make([][]byte, len(rows))
	var total int64
	for i := range rows {
		e := &rows[i]
		b, err := json.Marshal(jsonEvent{ID: e.ID, TS: e.TS, User: e.User, Amount: e.Amount, Country: e.Country, URL: e.URL})
		if err != nil {
			return nil, 0, err
		}
		out[i] = b
		total += int64(len(b)) + 1
	}
	return out, total, nil
}

func ingestBuffer(ctx context.Context, c *config) (*Result, error) {
	recs, total, err := jsonRecords(c.data())
	if err != nil {
		return nil, err
	}
	var lkStats raw.BufferStats
	var peerStored int64
	lk, pv, lks, pvs, err := measureTimed(c,
		func(int) (float64, error) {
			dir, err := c.scratch("ingest-lakekit")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(dir)
			l, err := openFileLake(ctx, dir)
			if err != nil {
				return 0, err
			}
			defer l.Close()
			b, err := raw.NewBuffer(l, "bench", "events", &raw.BufferOptions{Compression: raw.BufferZstd, FlushInterval: -1})
			if err != nil {
				return 0, err
			}
			t0 := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, ingestGoroutines)
			for g := 0; g < ingestGoroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := g; i < len(recs); i += ingestGoroutines {
						if err := b.Add(ctx, recs[i]); err != nil {
							errs <- err
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Close(ctx)
				return 0, fmt.Errorf("buffer add: %w", err)
			}
			if err := b.Close(ctx); err != nil {
				return 0, fmt.Errorf("buffer close: %w", err)
			}
			d := time.Since(t0)
			lkStats = b.Stats()
			if lkStats.RecordsFlushed != int64(len(recs)) || lkStats.BytesFlushed != total {
				return 0, fmt.Errorf("buffer landed %d records (%d bytes), added %d (%d bytes)", lkStats.RecordsFlushed, lkStats.BytesFlushed, len(recs), total)
			}
			return float64(len(recs)) / d.Seconds(), nil
		},
		func(int) (float64, error) {
			dir, err := c.scratch("ingest-peer")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(dir)
			t0 := time.Now()
			n, err := zstdFileWrite(filepath.Join(dir, "events.jsonl.zst"), recs)
			if err != nil {
				return 0, fmt.Errorf("peer: %w", err)
			}
			d := time.Since(t0)
			peerStored = n
			return float64(len(recs)) / d.Seconds(), nil
		})
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "records/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(lk, 0),
		Peer:           "one goroutine writing the same records, newline-separated, through a zstd encoder (klauspost/compress, default level) into one os.File, fsync'd",
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           len(recs),
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"record_bytes":         total,
			"goroutines":           ingestGoroutines,
			"lakekit_flushes":      lkStats.Flushes,
			"lakekit_stored_bytes": lkStats.BytesStored,
			"lakekit_waits":        lkStats.Waits,
			"peer_stored_bytes":    peerStored,
			"notes":                "lakekit: raw.NewBuffer on a file lake (fsync on), Compression zstd, default 8 MiB batches, no age flush; 32 goroutines Add the records (each the same JSON bytes the peer writes), timed until Close has landed every batch",
		},
	}
	r.finish(lk/pv, target{op: ">=", value: 0.8}, 0.8)
	return r, nil
}

// zstdFileWrite is the ingest peer: every record and a newline through one
// zstd encoder into one file, synced and closed. It returns the file's size.
func zstdFileWrite(path string, recs [][]byte) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	enc, err := zstd.NewWriter(bw)
	if err != nil {
		return 0, err
	}
	nl := []byte{'\n'}
	for _, r := range recs {
		if _, err := enc.Write(r); err != nil {
			return 0, err
		}
		if _, err := enc.Write(nl); err != nil {
			return 0, err
		}
	}
	if err := enc.Close(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), f.Close()
}
