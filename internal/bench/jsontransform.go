package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func init() {
	register(scenario{name: "transform_json_to_parquet", what: "raw JSON lines (1% malformed) -> cleaned typed Parquet with quarantine vs DuckDB read_json ... COPY TO", run: transformJSONToParquet})
}

// jsonFiles is how many raw JSON-lines objects the records are split into
// (two of transform's default units of 8 files).
const jsonFiles = 16

// malformedEvery makes every 100th record malformed (1%).
const malformedEvery = 100

// jsonDay is the dt partition of a decoded record.
func jsonDay(e jsonEvent) (lake.Partition, error) {
	return lake.Partition{{Key: "dt", Value: e.TS.UTC().Format("2006-01-02")}}, nil
}

// writeJSONInput writes the records as jsonFiles JSON-lines files under
// dir, every malformedEvery-th record cut in half (not valid JSON). It
// returns the files and the count of well-formed records.
func writeJSONInput(dir string, recs [][]byte) (files []string, good int, err error) {
	per := (len(recs) + jsonFiles - 1) / jsonFiles
	for f := 0; f*per < len(recs); f++ {
		path := filepath.Join(dir, fmt.Sprintf("events-%02d.jsonl", f))
		fh, err := os.Create(path)
		if err != nil {
			return nil, 0, err
		}
		bw := bufio.NewWriterSize(fh, 1<<20)
		for i := f * per; i < min((f+1)*per, len(recs)); i++ {
			r := recs[i]
			if i%malformedEvery == malformedEvery-1 {
				r = r[:len(r)/2]
			} else {
				good++
			}
			bw.Write(r)
			bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			fh.Close()
			return nil, 0, err
		}
		if err := fh.Close(); err != nil {
			return nil, 0, err
		}
		files = append(files, path)
	}
	return files, good, nil
}

// duckdbJSONCopy is the peer: one statement reading the JSON lines with
// DuckDB's read_json (declared columns, ignore_errors, which reads a
// malformed line as a row of NULLs, so those rows are filtered out) and
// writing them partitioned by day with zstd. It returns the rows written.
func duckdbJSONCopy(ctx context.Context, db *sql.DB, glob, out string) (int64, error) {
	q := `COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS dt FROM read_json(` + sqlQuote(glob) + `,
		format = 'newline_delimited', ignore_errors = true,
		columns = {id: 'BIGINT', ts: 'TIMESTAMPTZ', user_id: 'VARCHAR', amount: 'DOUBLE', country: 'VARCHAR', url: 'VARCHAR'})
		WHERE id IS NOT NULL AND ts IS NOT NULL AND user_id IS NOT NULL AND amount IS NOT NULL AND country IS NOT NULL AND url IS NOT NULL)
		TO ` + sqlQuote(out) + ` (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)`
	res, err := db.ExecContext(ctx, q)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func transformJSONToParquet(ctx context.Context, c *config) (*Result, error) {
	recs, _, err := jsonRecords(c.data())
	if err != nil {
		return nil, err
	}
	in, err := c.scratch("json-input")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(in)
	files, good, err := writeJSONInput(in, recs)
	if err != nil {
		return nil, err
	}
	bad := len(recs) - good
	recs = nil

	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `SET TimeZone = 'UTC'`); err != nil {
		return nil, err
	}

	var lkBytes, peerBytes int64
	var lkFiles, peerFiles int
	var lkRes *transform.Result
	lk, pv, lks, pvs, err := measureTimed(c,
		func(int) (float64, error) {
			dir, err := c.scratch("json-lakekit")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(dir)
			l, err := openFileLake(ctx, dir)
			if err != nil {
				return 0, err
			}
			defer l.Close()
			for _, f := range files { // landing is ingestion: not timed
				b, err := os.ReadFile(f)
				if err != nil {
					return 0, err
				}
				if _, err := raw.Land(ctx, l, "bench", "events", filepath.Base(f), bytes.NewReader(b), nil); err != nil {
					return 0, fmt.Errorf("land %s: %w", f, err)
				}
			}
			out, err := zones.NewDataset[jsonEvent](l, lake.Cleaned, benchDB, benchTable, &zones.Options[jsonEvent]{
				PartitionBy: jsonDay, PartitionKeys: []string{"dt"}, TempDir: c.tmp,
			})
			if err != nil {
				return 0, err
			}
			tr, err := transform.New("bench_clean", transform.FromRaw(l, "bench", "events", transform.JSONLines[jsonEvent](nil)),
				transform.Identity[jsonEvent](), out, nil)
			if err != nil {
				return 0, err
			}
			t0 := time.Now()
			res, err := tr.Run(ctx)
			if err != nil {
				return 0, fmt.Errorf("transform: %w", err)
			}
			d := time.Since(t0)
			if res.RowsOut != int64(good) || res.Rejected != int64(bad) {
				return 0, fmt.Errorf("transform wrote %d rows and quarantined %d, want %d and %d", res.RowsOut, res.Rejected, good, bad)
			}
			lkRes = res
			lkBytes, lkFiles, err = dirSize(filepath.Join(dir, string(lake.Cleaned), benchDB, benchTable), ".parquet")
			return float64(good+bad) / d.Seconds(), err
		},
		func(int) (float64, error) {
			base, err := c.scratch("json-duckdb")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(base)
			out := filepath.Join(base, "out")
			t0 := time.Now()
			n, err := duckdbJSONCopy(ctx, db, filepath.Join(in, "*.jsonl"), out)
			if err != nil {
				return 0, fmt.Errorf("duckdb: %w", err)
			}
			d := time.Since(t0)
			if n != int64(good) {
				return 0, fmt.Errorf("duckdb wrote %d rows, want %d", n, good)
			}
			peerBytes, peerFiles, err = dirSize(out, ".parquet")
			return float64(good+bad) / d.Seconds(), err
		})
	if err != nil {
		return nil, err
	}
	r := &Result{
		Unit:           "input records/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(lk, 0),
		Peer:           "DuckDB COPY (SELECT *, dt FROM read_json(files, newline_delimited, ignore_errors, declared columns) WHERE no column is NULL) TO dir (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)",
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           good + bad,
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"input_files":         len(files),
			"malformed":           bad,
			"lakekit_units":       lkRes.Units,
			"lakekit_bytes":       lkBytes,
			"lakekit_files":       lkFiles,
			"peer_bytes":          peerBytes,
			"peer_files":          peerFiles,
			"bytes_ratio_vs_peer": round(float64(lkBytes)/float64(max(peerBytes, 1)), 4),
			"notes":               "lakekit: transform.New(FromRaw(JSONLines), Identity) into a cleaned dataset partitioned by day on a file lake (fsync on), default options; malformed records go to the quarantine dataset with their bytes (DuckDB drops them); the raw objects are landed with raw.Land before the clock starts; lakekit_bytes counts the cleaned table's data files, quarantine excluded",
		},
	}
	r.finish(lk/pv, target{op: ">=", value: 1.0}, 1.0)
	return r, nil
}
