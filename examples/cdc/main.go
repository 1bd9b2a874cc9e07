// Command cdc keeps a curated current-state table from the files an AWS
// DMS task writes to its S3 target, read where and as DMS writes them:
// under the target's BucketFolder, raw/dms/customers/ in the raw zone,
// DMS puts <schema>/<table>/LOAD00000001.csv … (the full load, a
// hexadecimal counter), then change files named by commit time
// (20240501-2000010000.csv), under date folders with DatePartitionEnabled
// (2024/05/01/…); CSV with a header row (AddColumnName) or Parquet. Rows
// carry an Op column (I, U, D; on full-load rows only with
// IncludeOpForFullLoad), a commit timestamp (TimestampColumnName=cdc_ts)
// and the row's columns. The example plays DMS: it writes those files into
// the raw zone; raw.DMSLayout reads them in DMS's order (the whole full
// load, then the changes by time) and a CDC merge applies them to
// crm.customers in the curated zone: last write wins by commit time,
// deletes leave tombstones so a late, older update cannot bring a row
// back, and only the partitions a batch touches are rewritten, atomically.
//
//	go run ./examples/cdc                          # full load in 18 files, then three change files
//	go run ./examples/cdc -format parquet -op-for-full-load=false -date-folders=false
//	go run ./examples/cdc -customers 50000 -batches 10 -lake ./lake
//
// To make it yours: set the DMS task's S3 target endpoint's BucketName and
// BucketFolder to the raw zone's raw/<source>/<dataset> (raw.RenderDMS
// renders the settings), give raw.DMSLayout the same date-partition
// settings and your schema and table, change Change and Customer to your
// table's columns, and run the merge on a schedule or when a file lands.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func main() { mainWith("cdc", run) }

// The source table, as DMS names its folder: <schema>/<table>/.
const dmsSchema, dmsTable = "public", "customers"

// decoder reads DMS's CSV files (with a header row: AddColumnName) and
// its Parquet files into Change; columns map by name, so full-load files
// without the Op column decode too.
var decoder = transform.DecoderFunc[Change](func(ctx context.Context, r io.Reader, source string) iter.Seq2[transform.Decoded[Change], error] {
	if strings.HasSuffix(source, ".parquet") {
		return transform.Parquet[Change](nil).Decode(ctx, r, source)
	}
	return transform.CSV[Change](nil).Decode(ctx, r, source)
})

// Change is one row of a DMS file.
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
	Op: func(c Change) transform.Op {
		if c.Op == "" { // a full-load row without IncludeOpForFullLoad
			return transform.Insert
		}
		return transform.Op(c.Op)
	},
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
	Unaccepted        int    `json:"unaccepted_files"`
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
	format := fs.String("format", "csv", "DMS DataFormat: csv or parquet")
	opFull := fs.Bool("op-for-full-load", true, "DMS IncludeOpForFullLoad: full-load rows carry the Op column")
	dated := fs.Bool("date-folders", true, "DMS DatePartitionEnabled: change files under YYYY/MM/DD folders")
	loadFiles := fs.Int("load-files", 18, "files the full load is split into")
	atEnd := fs.Bool("merge-at-end", false, "write every file first, then merge once (else merge after the full load and after each change file)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if *customers <= 0 || *batches < 0 || *loadFiles <= 0 {
		return usagef("-customers and -load-files must be positive and -batches not negative")
	}
	if *format != "csv" && *format != "parquet" {
		return usagef("-format must be csv or parquet, not %q", *format)
	}
	dms := dmsFormat{Parquet: *format == "parquet", OpInFullLoad: *opFull, DateFolders: *dated, LoadFiles: *loadFiles}
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
	// DMS's layout under raw/dms/customers/: the source table's folder
	layout := &raw.DMSLayout{Schema: dmsSchema, Table: dmsTable, DatePartition: dms.DateFolders}
	merge, err := transform.Merge("customers_cdc",
		transform.FromRaw(lk, "dms", "customers", decoder, transform.WithLayout(layout)), state, Spec,
		&transform.MergeOptions{Rules: []transform.Rule{
			// "": a full-load row without the Op column is an insert
			transform.Enum("Op", "I", "U", "D", ""), transform.Required("cdc_ts"),
			transform.Range("id", 1, 1<<62), transform.Required("country")}, Caller: "examples/cdc"})
	if err != nil {
		return err
	}

	s := Summary{Lake: *lakeURL}
	gen := newGenerator(*seed, *customers)
	store := lk.MustZone(lake.Raw).Store()
	// write plays DMS: it puts a file where DMS puts it. A file DMS
	// already wrote (a rerun of the example) is left alone.
	write := func(f dmsFile) error {
		key := "dms/customers/" + dmsSchema + "/" + dmsTable + "/" + f.name
		if _, err := store.Stat(ctx, key); err == nil {
			fmt.Fprintf(stdout, "exists     raw/%s\n", key)
			return nil
		}
		if err := store.Put(ctx, key, bytes.NewReader(f.data), int64(len(f.data)), nil); err != nil {
			return fmt.Errorf("writing %s: %w", key, err)
		}
		s.RawFiles++
		s.ChangeRows += f.rows
		fmt.Fprintf(stdout, "dms wrote  raw/%s (%d rows)\n", key, f.rows)
		return nil
	}
	mergeNow := func(label string) error {
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
		s.Unaccepted += res.Unaccepted
		fmt.Fprintf(stdout, "merge      %s: %d files, %d changes → %d inserted, %d updated, %d deleted, %d stale, %d quarantined; %d commits in %s\n",
			label, res.Files, res.RowsIn, m.Inserted, m.Updated, m.Deleted, m.Stale, res.Rejected, len(res.Versions), fmtSeconds(res.Duration))
		return nil
	}
	load, err := gen.fullLoad(dms)
	if err != nil {
		return err
	}
	for _, f := range load {
		if err := write(f); err != nil {
			return err
		}
	}
	if !*atEnd {
		if err := mergeNow("full load"); err != nil {
			return err
		}
	}
	// DMS writes a change file every minute or so; merge each as it lands
	for i := range *batches {
		f, err := gen.batch(i, dms)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			return err
		}
		if !*atEnd {
			if err := mergeNow(f.name); err != nil {
				return err
			}
		}
	}
	if *atEnd {
		if err := mergeNow("all files"); err != nil {
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
