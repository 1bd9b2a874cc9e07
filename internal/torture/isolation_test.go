package torture

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/query/duckdb"
	"github.com/lakekit/lakekit/zones"
)

var (
	flagIsoReads   = flag.Int("isolation-reads", 4000, "reads (lakekit reader + DuckDB) during the overwrite-isolation test (acceptance size: 10000)")
	flagIsoCommits = flag.Int("isolation-commits", 100, "OverwritePartitions commits during the overwrite-isolation test")
)

// isoRows is one generation of a partition: perDay rows, all with key gen.
func isoRows(gen string, day string, perDay int) []Row {
	rows := make([]Row, perDay)
	for i := range rows {
		rows[i] = Row{ID: fmt.Sprintf("%s#%s#%d", gen, day, i), Key: gen, Day: day}
	}
	return rows
}

// checkIso: every day present with exactly perDay rows of one generation.
func checkIso(counts map[string][3]int, perDay int) error {
	if len(counts) != len(days) {
		return fmt.Errorf("%d partitions visible, want %d: %v", len(counts), len(days), counts)
	}
	for _, d := range days {
		c, ok := counts[d]
		switch {
		case !ok || c[0] == 0:
			return fmt.Errorf("partition %s empty", d)
		case c[1] != 1:
			return fmt.Errorf("partition %s mixes %d generations", d, c[1])
		case c[0] != perDay || c[2] != perDay:
			return fmt.Errorf("partition %s has %d rows (%d distinct), want %d: duplicated or partial", d, c[0], c[2], perDay)
		}
	}
	return nil
}

// TestOverwriteIsolation: a lakekit reader and the DuckDB engine read the
// table over and over while OverwritePartitions commits replace its
// partitions (and a vacuum removes replaced files past a retention): no
// read sees an empty, mixed or duplicated partition.
//
// The default, 4,000 reads during 100 commits, keeps the package's tests
// near a minute; the acceptance size (10,000 reads, about 35 s alone) is
//
//	go test ./internal/torture -run OverwriteIsolation -isolation-reads 10000 -v
func TestOverwriteIsolation(t *testing.T) {
	if testing.Short() {
		*flagIsoReads = min(*flagIsoReads, 1000)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	fs, err := filestore.New(dir, &filestore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := lake.New(lake.NewStore(fs), &lake.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := zones.NewDataset[Row](lk, lake.Curated, "torture", "iso", &zones.Options[Row]{InMemoryBuffers: true})
	if err != nil {
		t.Fatal(err)
	}
	const perDay = 40
	var first []Row
	for _, d := range days {
		first = append(first, isoRows("g0", d, perDay)...)
	}
	w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, lk, nil, &duckdb.Options{Zones: []lake.ZoneName{lake.Curated}, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	total := *flagIsoReads
	var reads, lakekitReads, duckReads atomic.Int64
	var commits atomic.Int64
	errc := make(chan error, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // writer: paced so the commits spread over the reads
		defer wg.Done()
		rng := rand.New(rand.NewSource(1))
		for i := 1; i <= *flagIsoCommits; i++ {
			for reads.Load() < int64(i*total/(*flagIsoCommits+1)) {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Microsecond):
				}
			}
			var rows []Row
			for _, d := range days {
				if rng.Intn(2) == 0 || len(rows) == 0 && d == days[len(days)-1] {
					rows = append(rows, isoRows(fmt.Sprintf("g%d", i), d, perDay)...)
				}
			}
			w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions})
			if err == nil {
				err = w.Write(ctx, rows)
			}
			if err == nil {
				_, err = w.Commit(ctx)
			}
			if err != nil {
				errc <- fmt.Errorf("commit %d: %w", i, err)
				commits.Store(1 << 30) // let the readers stop
				return
			}
			commits.Add(1)
			if i%10 == 0 {
				if _, err := ds.Vacuum(ctx, 2*time.Second); err != nil {
					errc <- fmt.Errorf("vacuum: %w", err)
					return
				}
			}
		}
	}()
	go func() { // lakekit reader
		defer wg.Done()
		for reads.Load() < int64(total) || commits.Load() < int64(*flagIsoCommits) {
			rows, err := readAll(ctx, ds, 0)
			if err != nil {
				errc <- fmt.Errorf("lakekit read: %w", err)
				return
			}
			counts := map[string][3]int{}
			gens := map[string]map[string]bool{}
			ids := map[string]map[string]bool{}
			for _, r := range rows {
				if gens[r.Day] == nil {
					gens[r.Day], ids[r.Day] = map[string]bool{}, map[string]bool{}
				}
				gens[r.Day][r.Key] = true
				ids[r.Day][r.ID] = true
				c := counts[r.Day]
				c[0]++
				counts[r.Day] = c
			}
			for d, c := range counts {
				c[1], c[2] = len(gens[d]), len(ids[d])
				counts[d] = c
			}
			if err := checkIso(counts, perDay); err != nil {
				errc <- fmt.Errorf("lakekit read %d: %w", lakekitReads.Load()+1, err)
				return
			}
			lakekitReads.Add(1)
			reads.Add(1)
		}
	}()
	go func() { // DuckDB: move the views to the newest snapshot, then query
		defer wg.Done()
		for reads.Load() < int64(total) || commits.Load() < int64(*flagIsoCommits) {
			if err := eng.Refresh(ctx); err != nil {
				errc <- fmt.Errorf("duckdb refresh: %w", err)
				return
			}
			res, err := eng.Query(ctx, `SELECT CAST(day AS VARCHAR), count(*), count(DISTINCT key), count(DISTINCT id) FROM "torture"."iso" GROUP BY 1`)
			if err != nil {
				errc <- fmt.Errorf("duckdb query: %w", err)
				return
			}
			counts := map[string][3]int{}
			for row, err := range res.Rows() {
				if err != nil {
					errc <- fmt.Errorf("duckdb rows: %w", err)
					return
				}
				counts[fmt.Sprint(row[0])] = [3]int{toInt(row[1]), toInt(row[2]), toInt(row[3])}
			}
			if err := checkIso(counts, perDay); err != nil {
				errc <- fmt.Errorf("duckdb read %d: %w", duckReads.Load()+1, err)
				return
			}
			duckReads.Add(1)
			reads.Add(1)
		}
	}()
	go func() { wg.Wait(); close(errc) }()
	start := time.Now()
	for err := range errc {
		close(stop)
		cancel()
		t.Fatal(err)
	}
	if commits.Load() != int64(*flagIsoCommits) {
		t.Fatalf("%d commits made, want %d", commits.Load(), *flagIsoCommits)
	}
	t.Logf("%d reads (%d lakekit, %d DuckDB) during %d OverwritePartitions commits in %v: no empty, mixed or duplicated partition",
		reads.Load(), lakekitReads.Load(), duckReads.Load(), commits.Load(), time.Since(start).Round(time.Millisecond))
}

func toInt(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case int32:
		return int(x)
	case int:
		return x
	case uint64:
		return int(x)
	}
	return -1
}
