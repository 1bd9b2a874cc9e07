package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/lakekit/lakekit/iceberg"
	"github.com/lakekit/lakekit/internal/eventgen"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func init() {
	register(scenario{name: "iceberg_vs_hive", what: "the same rows through zones.Dataset as Iceberg (Options.Format) vs Hive-style: write and read rows/s, bytes", run: icebergVsHive})
}

// iceEvent is eventgen.Event with its day as a tagged partition field, so
// that one row type serves both formats (Iceberg partitions by tagged
// fields; Options.PartitionBy is Hive-style only). Hive-style keeps dt in
// the path, Iceberg in the files as well (the spec keeps partition source
// columns in the data).
type iceEvent struct {
	ID      int64     `parquet:"id"`
	TS      time.Time `parquet:"ts"`
	User    string    `parquet:"user_id"`
	Amount  float64   `parquet:"amount"`
	Country string    `parquet:"country"`
	URL     string    `parquet:"url"`
	DT      string    `parquet:"dt" lakekit:"partition"`
}

func iceEvents(rows []eventgen.Event) []iceEvent {
	out := make([]iceEvent, len(rows))
	for i, e := range rows {
		out[i] = iceEvent{ID: e.ID, TS: e.TS, User: e.User, Amount: e.Amount, Country: e.Country, URL: e.URL,
			DT: e.TS.UTC().Format(time.DateOnly)}
	}
	return out
}

// formatSample is one side's write and read of the rows.
type formatSample struct {
	writeRate, readRate float64
	bytes               int64
	files               int
	allocWrite          uint64 // bytes allocated by the write (runtime.MemStats.TotalAlloc)
}

// formatRun writes rows into a new file lake under dir through a dataset
// (Iceberg when withIceberg), then reads them all back, and times both.
func formatRun(ctx context.Context, c *config, rows []iceEvent, withIceberg bool) (*formatSample, error) {
	dir, err := c.scratch("format")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	lk, err := openFileLake(ctx, filepath.Join(dir, "lake"))
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	opts := &zones.Options[iceEvent]{TempDir: c.tmp}
	if withIceberg {
		cat, err := iceberg.LocalCatalog(filepath.Join(dir, "iceberg"))
		if err != nil {
			return nil, err
		}
		opts.Format = iceberg.Format[iceEvent](cat, nil)
	}
	ds, err := zones.NewDataset(lk, lake.Curated, benchDB, benchTable, opts)
	if err != nil {
		return nil, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	t0 := time.Now()
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(rows); i += writeBatch {
		if err := w.Write(ctx, rows[i:min(i+writeBatch, len(rows))]); err != nil {
			w.Abort(ctx)
			return nil, err
		}
	}
	if _, err := w.Commit(ctx); err != nil {
		return nil, err
	}
	s := &formatSample{writeRate: float64(len(rows)) / time.Since(t0).Seconds()}
	runtime.ReadMemStats(&ms)
	s.allocWrite = ms.TotalAlloc - alloc0
	t0 = time.Now()
	var n int
	if err := ds.ReadBatches(ctx, nil, func(b []iceEvent) error { n += len(b); return nil }); err != nil {
		return nil, err
	}
	s.readRate = float64(n) / time.Since(t0).Seconds()
	if n != len(rows) {
		return nil, fmt.Errorf("read %d rows back, wrote %d", n, len(rows))
	}
	s.bytes, s.files, err = dirSize(dir, ".parquet")
	return s, err
}

func icebergVsHive(ctx context.Context, c *config) (*Result, error) {
	rows := iceEvents(c.data())
	var ice, hive []*formatSample
	side := func(withIceberg bool, out *[]*formatSample) func(int) (float64, error) {
		return func(rep int) (float64, error) {
			s, err := formatRun(ctx, c, rows, withIceberg)
			if err != nil {
				return 0, err
			}
			if rep >= 0 {
				*out = append(*out, s)
			}
			return s.writeRate, nil
		}
	}
	lk, pv, lks, pvs, err := measureTimed(c, side(true, &ice), side(false, &hive))
	if err != nil {
		return nil, err
	}
	readRates := func(ss []*formatSample) []float64 {
		var out []float64
		for _, s := range ss {
			out = append(out, s.readRate)
		}
		return out
	}
	iceRead, hiveRead := median(readRates(ice)), median(readRates(hive))
	last := len(ice) - 1
	r := &Result{
		Unit:           "write rows/s (higher is better; ratio = Iceberg/Hive-style)",
		Lakekit:        round(lk, 0),
		Peer:           "the same rows through the same zones.Dataset API, Hive-style (lakekit's own format)",
		PeerValue:      round(pv, 0),
		Reps:           c.reps,
		Rows:           len(rows),
		Partitions:     c.partitions,
		LakekitSamples: roundAll(lks, 0),
		PeerSamples:    roundAll(pvs, 0),
		Extra: map[string]any{
			"iceberg_read_rows_s":     round(iceRead, 0),
			"hive_read_rows_s":        round(hiveRead, 0),
			"read_ratio":              round(iceRead/hiveRead, 3),
			"iceberg_files":           ice[last].files,
			"hive_files":              hive[last].files,
			"iceberg_write_alloc_mib": round(float64(ice[last].allocWrite)/(1<<20), 1),
			"hive_write_alloc_mib":    round(float64(hive[last].allocWrite)/(1<<20), 1),
			"notes":                   "both sides: a fresh file lake, zones.NewDataset of the same row type (dt a tagged partition field), NewWriter, 10k-row Writes, Commit, then ReadBatches of everything; Iceberg: Options.Format = iceberg.Format over a local catalog (iceberg-go metadata, manifests and commits; data files encoded by package iceberg's streaming Writer with parquet-go as the rows come, one per partition (up to 128 open at once), written out at Commit or when one fills); bytes are the .parquet data files (Iceberg's also hold dt); *_write_alloc_mib is bytes allocated during the write (runtime TotalAlloc), not a peak",
		},
	}
	r.finish(lk/pv, target{}, 0)
	r.setBytes(ice[last].bytes, hive[last].bytes, 1.25)
	return r, nil
}
