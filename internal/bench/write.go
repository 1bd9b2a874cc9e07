package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "write_vs_parquetgo", what: "zone writer vs parquet-go GenericWriter, 100 files, zstd", run: writeVsParquetGo})
	register(scenario{name: "write_vs_duckdb", what: "zone writer vs DuckDB COPY ... PARTITION_BY (dt)", run: writeVsDuckDB})
}

// timeLakekitWrite writes rows into a fresh file lake and returns rows/s
// and the bytes of the data files.
func timeLakekitWrite(ctx context.Context, c *config, rows []eventgen.Event) (rate float64, bytes int64, files int, err error) {
	return timeLakekitWriteWith(ctx, c, rows, datasetOptions(c.tmp))
}

func timeLakekitWriteWith(ctx context.Context, c *config, rows []eventgen.Event, opts *zones.Options[eventgen.Event]) (rate float64, bytes int64, files int, err error) {
	dir, err := c.scratch("lakekit-write")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	res, err := writeLakekitTableWith(ctx, dir, rows, opts)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("lakekit write: %w", err)
	}
	d := time.Since(t0)
	return float64(len(rows)) / d.Seconds(), res.Bytes, len(res.Files), nil
}

// parquetGoWrite is the peer: the same rows routed by day into one
// parquet-go GenericWriter per partition (default options, zstd), one file
// each under dir/dt=<day>/, in the same batches the zone writer gets.
func parquetGoWrite(dir string, rows []eventgen.Event) (files int, err error) {
	type part struct {
		f   *os.File
		w   *parquet.GenericWriter[eventgen.Event]
		buf []eventgen.Event
	}
	parts := map[string]*part{}
	var order []*part
	defer func() {
		for _, p := range order {
			p.f.Close()
		}
	}()
	codec := &zstd.Codec{}
	for i := 0; i < len(rows); i += writeBatch {
		batch := rows[i:min(i+writeBatch, len(rows))]
		var touched []*part
		for k := range batch {
			day := eventgen.Day(batch[k])
			p := parts[day]
			if p == nil {
				pdir := filepath.Join(dir, "dt="+day)
				if err := os.MkdirAll(pdir, 0o755); err != nil {
					return 0, err
				}
				f, err := os.Create(filepath.Join(pdir, "part-0.parquet"))
				if err != nil {
					return 0, err
				}
				p = &part{f: f, w: parquet.NewGenericWriter[eventgen.Event](f, parquet.Compression(codec))}
				parts[day] = p
				order = append(order, p)
			}
			if len(p.buf) == 0 {
				touched = append(touched, p)
			}
			p.buf = append(p.buf, batch[k])
		}
		for _, p := range touched {
			if _, err := p.w.Write(p.buf); err != nil {
				return 0, err
			}
			p.buf = p.buf[:0]
		}
	}
	for _, p := range order {
		if err := p.w.Close(); err != nil {
			return 0, err
		}
		if err := p.f.Close(); err != nil {
			return 0, err
		}
	}
	return len(order), nil
}

func writeVsParquetGo(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	var lkBytes, peerBytes int64
	var lkFiles, peerFiles int
	lk, pv, lks, pvs, err := measureTimed(c,
		func(int) (float64, error) {
			rate, b, f, err := timeLakekitWrite(ctx, c, rows)
			lkBytes, lkFiles = b, f
			return rate, err
		},
		func(int) (float64, error) {
			dir, err := c.scratch("parquetgo-write")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(dir)
			t0 := time.Now()
			if _, err := parquetGoWrite(dir, rows); err != nil {
				return 0, fmt.Errorf("parquet-go write: %w", err)
			}
			d := time.Since(t0)
			peerBytes, peerFiles, err = dirSize(dir, ".parquet")
			return float64(len(rows)) / d.Seconds(), err
		})
	if err != nil {
		return nil, err
	}
	// A diagnostic, not the number: the same write with pages buffered in
	// memory (Options.InMemoryBuffers), once, to show what spilling costs.
	var inMem float64
	if !c.short {
		opts := datasetOptions(c.tmp)
		opts.InMemoryBuffers = true
		if inMem, _, _, err = timeLakekitWriteWith(ctx, c, rows, opts); err != nil {
			return nil, fmt.Errorf("lakekit write with in-memory buffers: %w", err)
		}
	}
	r := &Result{
		Unit:           "rows/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(lk, 0),
		Peer:           "parquet-go GenericWriter, default options, zstd, one file per partition",
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"lakekit_bytes": lkBytes, "lakekit_files": lkFiles,
			"peer_bytes": peerBytes, "peer_files": peerFiles,
			"lakekit_inmemory_buffers_rows_s": round(inMem, 0),
			"notes":                           "lakekit: zones writer with default options (pages spilled to temp files, file lake with fsync, atomic commit); both sides route the same 10k-row batches by day; lakekit_inmemory_buffers_rows_s is a single run after the reps with Options.InMemoryBuffers (0 with -short)",
		},
	}
	lim := measureZstdLimit(rows)
	r.Extra["zstd_limit_rows_s"] = round(lim.RowsPerSec, 0)
	r.Extra["zstd_limit_mb_s_per_core"] = round(lim.MBPerSecCore, 1)
	r.Extra["zstd_limit_cores"] = lim.Cores
	r.Extra["lakekit_of_zstd_limit"] = round(lk/lim.RowsPerSec, 3)
	r.Extra["limit_notes"] = "zstd_limit_rows_s: the rows' columns as PLAIN 16 KiB pages (the writer's page size; " +
		"uncompressed bytes as parquet-go's default writer lays them out) compressed with parquet-go's zstd codec on every core, once after the reps: " +
		"no writer of these rows with this codec is faster. lakekit_of_zstd_limit is lakekit's median over it: the rest of its time is " +
		"encoding values (reflection over the rows, delta/dictionary), routing rows to partitions, page indexes, spooling and the fsync'd commit. " +
		"Measured 2026-12-07 after pipelined writes and one sync per commit (-cpuprofile, tagfocus scenario, 3 reps + the in-memory run, load ~2 on 2 cores): " +
		"lakekit spent 1.48 s of CPU per million rows, the peer 1.70 s (0.87x); zstd's EncodeAll was 50% of lakekit's (0.74 s per run: delta and dictionary " +
		"encodings leave it fewer bytes to compress) and 71% of the peer's (1.21 s); routing rows to partitions 13%, spooling pages 13%, uploads 4%. " +
		"Before (one core waiting while the caller routed each batch, an fsync'd upload per file) lakekit used 1.2 of the 2 cores; " +
		"with less CPU per row than the peer, two cores bound this ratio near 2/0.87 = 2.3 on an idle machine"
	r.finish(lk/pv, target{op: ">=", value: 1.3}, 1.3)
	// The bytes target is stated against DuckDB's COPY of the same rows
	// (issue 16), here as in write_vs_duckdb: one COPY, not timed.
	duckBytes, err := duckDBBytes(ctx, c, rows)
	if err != nil {
		return nil, err
	}
	r.Extra["bytes_peer"] = "DuckDB COPY ... PARTITION_BY (dt), COMPRESSION zstd of the same rows (one untimed run); peer_bytes in extra is parquet-go's"
	r.setBytes(lkBytes, duckBytes, 1.0)
	r.requireBytes()
	return r, nil
}

// duckDBBytes loads rows into DuckDB and returns the bytes of one COPY ...
// PARTITION_BY (dt) of them (the reference the write scenarios' bytes
// target is stated on).
func duckDBBytes(ctx context.Context, c *config, rows []eventgen.Event) (int64, error) {
	ddb, err := loadDuckDB(ctx, rows)
	if err != nil {
		return 0, err
	}
	defer ddb.Close()
	base, err := c.scratch("duckdb-bytes")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "out")
	if _, err := ddb.copyPartitioned(ctx, dir); err != nil {
		return 0, fmt.Errorf("duckdb copy: %w", err)
	}
	n, _, err := dirSize(dir, ".parquet")
	return n, err
}

// requireBytes makes Met hold only when the bytes target holds too: the
// issue states both on each write scenario.
func (r *Result) requireBytes() {
	if r.Met == nil || r.BytesMet == nil {
		return
	}
	ok := *r.Met && *r.BytesMet
	r.Met = &ok
	r.Target += " and bytes " + r.BytesTarget + "x DuckDB's"
}

// duckDB holds the rows in an in-memory DuckDB table t (with dt), loaded
// once with the Appender; loading is not timed.
type duckDB struct {
	db *sql.DB
}

func loadDuckDB(ctx context.Context, rows []eventgen.Event) (*duckDB, error) {
	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	d := &duckDB{db: db}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id BIGINT, ts TIMESTAMPTZ, user_id VARCHAR, amount DOUBLE, country VARCHAR, url VARCHAR, dt VARCHAR)`); err != nil {
		d.Close()
		return nil, err
	}
	sc, err := db.Conn(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	err = sc.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "t")
		if err != nil {
			return err
		}
		for i := range rows {
			e := &rows[i]
			if err := a.AppendRow(e.ID, e.TS, e.User, e.Amount, e.Country, e.URL, eventgen.Day(*e)); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
	sc.Close() // the only connection: give it back before the next query
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("duckdb load: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		d.Close()
		return nil, err
	}
	if n != len(rows) {
		d.Close()
		return nil, fmt.Errorf("duckdb load: table holds %d rows, appended %d", n, len(rows))
	}
	return d, nil
}

func (d *duckDB) Close() error { return d.db.Close() }

func sqlQuote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// copyPartitioned is the DuckDB peer: COPY the table to dir partitioned by
// dt with zstd. It returns the rows copied.
func (d *duckDB) copyPartitioned(ctx context.Context, dir string) (int64, error) {
	res, err := d.db.ExecContext(ctx, `COPY (SELECT * FROM t) TO `+sqlQuote(dir)+` (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func writeVsDuckDB(ctx context.Context, c *config) (*Result, error) {
	rows := c.data()
	ddb, err := loadDuckDB(ctx, rows)
	if err != nil {
		return nil, err
	}
	defer ddb.Close()
	var lkBytes, peerBytes int64
	var lkFiles, peerFiles int
	lk, pv, lks, pvs, err := measureTimed(c,
		func(int) (float64, error) {
			rate, b, f, err := timeLakekitWrite(ctx, c, rows)
			lkBytes, lkFiles = b, f
			return rate, err
		},
		func(int) (float64, error) {
			base, err := c.scratch("duckdb-write")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(base)
			dir := filepath.Join(base, "out")
			t0 := time.Now()
			n, err := ddb.copyPartitioned(ctx, dir)
			if err != nil {
				return 0, fmt.Errorf("duckdb copy: %w", err)
			}
			d := time.Since(t0)
			if n != int64(len(rows)) {
				return 0, fmt.Errorf("duckdb copy wrote %d rows, want %d", n, len(rows))
			}
			peerBytes, peerFiles, err = dirSize(dir, ".parquet")
			return float64(len(rows)) / d.Seconds(), err
		})
	if err != nil {
		return nil, err
	}
	var threads int
	_ = ddb.db.QueryRowContext(ctx, `SELECT current_setting('threads')`).Scan(&threads)
	r := &Result{
		Unit:           "rows/s (higher is better; ratio = lakekit/peer)",
		Lakekit:        round(lk, 0),
		Peer:           "DuckDB COPY (SELECT * FROM t) TO dir (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd) from an in-memory table",
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"lakekit_bytes": lkBytes, "lakekit_files": lkFiles,
			"peer_bytes": peerBytes, "peer_files": peerFiles,
			"duckdb_threads": threads,
			"notes":          "loading rows into DuckDB (Appender) is not timed; lakekit's rows are Go structs already in memory",
		},
	}
	r.finish(lk/pv, target{op: ">=", value: 1.5}, 1.5)
	r.setBytes(lkBytes, peerBytes, 1.0)
	r.requireBytes()
	return r, nil
}
