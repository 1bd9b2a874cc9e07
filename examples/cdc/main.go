// Command cdc keeps a curated current-state table from database change
// files as AWS DMS writes them to S3: CSV with an Op column (I, U, D), a
// commit timestamp and the row's columns (DMS settings: AddColumnName,
// IncludeOpForFullLoad, TimestampColumnName=cdc_ts). The files land in the
// raw zone as they are; a CDC merge applies them to crm.customers in the
// curated zone: last write wins by commit time, deletes leave tombstones so
// a late, older update cannot bring a row back, and only the partitions a
// batch touches are rewritten, atomically.
//
//	go run ./examples/cdc                          # full load, then three change files
//	go run ./examples/cdc -customers 50000 -batches 10 -lake ./lake
//
// To make it yours: point a DMS task's S3 target at the raw zone
// (raw/<source>/<table>/), change Change and Customer to your table's
// columns, and run the merge after each DMS file (or on a schedule).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func main() { mainWith("cdc", run) }

// Change is one row of a DMS change file.
type Change struct {
	Op      string    `csv:"Op"`
	CDCTS   time.Time `csv:"cdc_ts"`
	ID      int64     `csv:"id"`
	Name    string    `csv:"name"`
	Email   string    `csv:"email"`
	Country string    `csv:"country"`
	Balance float64   `csv:"balance"`
}

// Customer is the current state of one customer in curated crm.customers.
type Customer struct {
	ID        int64     `parquet:"id"`
	Name      string    `parquet:"name"`
	Email     string    `parquet:"email"`
	Balance   float64   `parquet:"balance"`
	UpdatedAt time.Time `parquet:"updated_at"`
	Country   string    `parquet:"country" lakekit:"partition"`
}

// Spec says how changes apply: by id, ordered by commit time.
var Spec = transform.MergeSpec[Change, Customer, int64, int64]{
	Op:    func(c Change) transform.Op { return transform.Op(c.Op) },
	Key:   func(c Change) int64 { return c.ID },
	Order: func(c Change) int64 { return c.CDCTS.UnixMicro() },
	Image: func(c Change) Customer {
		return Customer{ID: c.ID, Name: c.Name, Email: c.Email, Balance: c.Balance, UpdatedAt: c.CDCTS.UTC(), Country: c.Country}
	},
	RowKey:   func(c Customer) int64 { return c.ID },
	RowOrder: func(c Customer) int64 { return c.UpdatedAt.UnixMicro() },
}

// Summary is the last line of output.
type Summary struct {
	Lake              string `json:"lake"`
	RawFiles          int    `json:"raw_files"`
	ChangeRows        int64  `json:"change_rows"`
	Inserted          int64  `json:"inserted"`
	Updated           int64  `json:"updated"`
	Deleted           int64  `json:"deleted"`
	Stale             int64  `json:"stale"`
	QuarantinedRows   int64  `json:"quarantined_rows"`
	CuratedRows       int64  `json:"curated_rows"`
	CuratedPartitions int    `json:"curated_partitions"`
	CuratedVersion    int64  `json:"curated_version"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cdc", flag.ContinueOnError)
	lakeURL := fs.String("lake", "", "lake URL or directory (default: a new directory under the current one)")
	customers := fs.Int("customers", 2000, "rows in the full load")
	batches := fs.Int("batches", 3, "change files after the full load")
	seed := fs.Int64("seed", 1, "seed of the change generator")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *customers <= 0 || *batches < 0 {
		return usagef("-customers must be positive and -batches not negative")
	}
	if *lakeURL == "" {
		d, err := os.MkdirTemp(".", "cdc-lake-")
		if err != nil {
			return err
		}
		if *lakeURL, err = filepath.Abs(d); err != nil {
			return err
		}
	}
	lk, err := openLake(ctx, *lakeURL, nil)
	if err != nil {
		return err
	}
	defer lk.Close()
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lake       %s\n", where(lk))

	state, err := zones.NewDataset[Customer](lk, lake.Curated, "crm", "customers",
		&zones.Options[Customer]{Catalog: cat, Description: "customers, current state, from DMS change files"})
	if err != nil {
		return err
	}
	merge, err := transform.Merge("customers_cdc",
		transform.FromRaw(lk, "dms", "customers", transform.CSV[Change](nil)), state, Spec,
		&transform.MergeOptions{Rules: []transform.Rule{transform.Enum("Op", "I", "U", "D"), transform.Required("cdc_ts"),
			transform.Range("id", 1, 1<<62), transform.Required("country")}, Caller: "examples/cdc"})
	if err != nil {
		return err
	}

	s := Summary{Lake: *lakeURL}
	gen := newGenerator(*seed, *customers)
	apply := func(label string, files []dmsFile) error {
		for _, f := range files {
			l, err := raw.Land(ctx, lk, "dms", "customers", f.name, bytesReader(f.data), &raw.LandOptions{Records: f.rows})
			if errors.Is(err, raw.ErrDuplicate) {
				fmt.Fprintf(stdout, "skipped    %s: already landed as raw/%s\n", f.name, l.Key)
				continue
			}
			if err != nil {
				return fmt.Errorf("landing %s: %w", f.name, err)
			}
			s.RawFiles++
			s.ChangeRows += f.rows
			fmt.Fprintf(stdout, "landed     %s → raw/%s (%d changes)\n", f.name, l.Key, f.rows)
		}
		res, err := merge.Run(ctx)
		if err != nil {
			return err
		}
		m := res.Merge
		s.Inserted += m.Inserted
		s.Updated += m.Updated
		s.Deleted += m.Deleted
		s.Stale += m.Stale
		s.QuarantinedRows += res.Rejected
		fmt.Fprintf(stdout, "merge      %s: %d changes → %d inserted, %d updated, %d deleted, %d stale, %d quarantined; %d commit in %s\n",
			label, res.RowsIn, m.Inserted, m.Updated, m.Deleted, m.Stale, res.Rejected, len(res.Versions), fmtSeconds(res.Duration))
		return nil
	}
	if err := apply("full load", []dmsFile{gen.fullLoad()}); err != nil {
		return err
	}
	// DMS writes a change file every minute or so; merge each as it lands
	for i := range *batches {
		f := gen.batch(i)
		if err := apply(f.name, []dmsFile{f}); err != nil {
			return err
		}
	}

	snap, err := state.Table().Snapshot(ctx, 0)
	if err != nil {
		return err
	}
	s.CuratedRows, s.CuratedPartitions, s.CuratedVersion = snap.Rows(), len(snap.Partitions()), snap.Version
	fmt.Fprintf(stdout, "curated    crm.customers version %d: %d customers in %d partitions\n", snap.Version, snap.Rows(), len(snap.Partitions()))
	out, _ := json.Marshal(s)
	fmt.Fprintln(stdout, string(out))
	return nil
}
