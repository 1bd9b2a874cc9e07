// Command partner-files takes partner CSV files from a drop folder — where
// an SFTP server (AWS Transfer Family on AWS) puts them — into the lake:
// each file lands in the raw zone as it is, with its SHA-256 and original
// name, a file whose content was already landed is recognised as a
// duplicate, a file whose checksum sidecar (NAME.sha256) does not match is
// refused, and the landed files are validated into the cleaned zone, bad
// rows quarantined.
//
//	go run ./examples/partner-files                       # a sample drop folder and a new lake here
//	go run ./examples/partner-files -drop /srv/sftp/acme -lake ./lake -partner acme
//
// Processed files move to <drop>/processed/, duplicates to
// <drop>/duplicates/, refused files to <drop>/rejected/, so the folder only
// ever holds what is new. Run it on a schedule, or on every upload.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

func main() { mainWith("partner-files", run) }

// Order is one row of a partner's orders file, as the partner writes it.
type Order struct {
	OrderID   string    `csv:"order_id"`
	OrderDate time.Time `csv:"order_date"`
	Customer  string    `csv:"customer"`
	SKU       string    `csv:"sku"`
	Quantity  int64     `csv:"quantity"`
	UnitPrice float64   `csv:"unit_price"`
	Currency  string    `csv:"currency"`
}

// CleanOrder is a validated order in the cleaned zone, partitioned by day.
type CleanOrder struct {
	OrderID   string    `parquet:"order_id"`
	OrderDate time.Time `parquet:"order_date"`
	Customer  string    `parquet:"customer"`
	SKU       string    `parquet:"sku"`
	Quantity  int64     `parquet:"quantity"`
	UnitPrice float64   `parquet:"unit_price"`
	Amount    float64   `parquet:"amount"`
	Currency  string    `parquet:"currency"`
	Partner   string    `parquet:"partner"`
	DT        string    `parquet:"dt" lakekit:"partition"`
}

// Rules validate the partner's rows.
var Rules = []transform.Rule{
	transform.Required("order_id"),
	transform.Required("order_date"),
	transform.Required("customer"),
	transform.Regexp("sku", `^[A-Z]{3}-[0-9]{4}$`),
	transform.Range("quantity", 1, 10000),
	transform.Range("unit_price", 0, 100000),
	transform.Enum("currency", "EUR", "USD", "GBP"),
}

// Summary is the last line of output.
type Summary struct {
	Lake            string `json:"lake"`
	Drop            string `json:"drop"`
	Files           int    `json:"files"`
	Landed          int    `json:"landed"`
	Duplicates      int    `json:"duplicates"`
	Rejected        int    `json:"rejected"`
	RawRecords      int64  `json:"raw_records"`
	CleanedRows     int64  `json:"cleaned_rows"`
	QuarantinedRows int64  `json:"quarantined_rows"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("partner-files", flag.ContinueOnError)
	drop := fs.String("drop", "", "the drop folder (default: a new folder under the current one, filled with sample files)")
	lakeURL := fs.String("lake", "", "lake URL or directory (default: a new directory under the current one)")
	partner := fs.String("partner", "acme", "the partner's name: the raw zone source and the cleaned table's prefix")
	dataset := fs.String("dataset", "orders", "what the files hold: the raw zone dataset")
	sample := fs.Bool("sample", false, "write sample files into the drop folder first (implied when -drop is not given)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	for _, n := range []string{*partner, *dataset} {
		if err := lake.ValidateName(lake.KindSource, n); err != nil {
			return usagef("-partner/-dataset: %v", err)
		}
	}
	if *drop == "" {
		d, err := os.MkdirTemp(".", "partner-drop-")
		if err != nil {
			return err
		}
		if *drop, err = filepath.Abs(d); err != nil {
			return err
		}
		*sample = true
	}
	if *lakeURL == "" {
		d, err := os.MkdirTemp(".", "partner-lake-")
		if err != nil {
			return err
		}
		if *lakeURL, err = filepath.Abs(d); err != nil {
			return err
		}
	}
	if st, err := os.Stat(*drop); err != nil || !st.IsDir() {
		return fmt.Errorf("drop folder %s: not a directory (%v)", *drop, err)
	}
	if *sample {
		if err := writeSamples(*drop); err != nil {
			return fmt.Errorf("writing sample files: %w", err)
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
	fmt.Fprintf(stdout, "drop folder %s → lake %s raw/%s/%s\n", *drop, where(lk), *partner, *dataset)

	s := Summary{Lake: *lakeURL, Drop: *drop}
	files, err := dropped(*drop)
	if err != nil {
		return err
	}
	for _, name := range files {
		s.Files++
		res, err := landOne(ctx, lk, *drop, name, *partner, *dataset)
		if err != nil {
			return err
		}
		switch res.outcome {
		case "landed":
			s.Landed++
			s.RawRecords += res.records
			fmt.Fprintf(stdout, "landed     %s → raw/%s (%d records, sha256 %s…)\n", name, res.landed.Key, res.records, res.landed.SHA256[:12])
		case "duplicates":
			s.Duplicates++
			fmt.Fprintf(stdout, "duplicate  %s: same content as raw/%s (%s)\n", name, res.landed.Key, res.landed.OriginalName)
		case "rejected":
			s.Rejected++
			fmt.Fprintf(stdout, "rejected   %s: %s\n", name, res.reason)
		}
		if err := move(*drop, name, res.outcome); err != nil {
			return err
		}
	}

	// raw → cleaned: validated rows partitioned by order day
	table := *partner + "_" + *dataset
	cleaned, err := zones.NewDataset[CleanOrder](lk, lake.Cleaned, "partners", table,
		&zones.Options[CleanOrder]{Catalog: cat, Description: "orders from partner files, validated"})
	if err != nil {
		return err
	}
	tr, err := transform.New("clean_"+table,
		transform.FromRaw(lk, *partner, *dataset, transform.CSV[Order](nil)),
		transform.Map(func(_ context.Context, o Order) (CleanOrder, error) {
			d := o.OrderDate.UTC()
			return CleanOrder{OrderID: o.OrderID, OrderDate: d, Customer: o.Customer, SKU: o.SKU, Quantity: o.Quantity,
				UnitPrice: o.UnitPrice, Amount: float64(o.Quantity) * o.UnitPrice, Currency: o.Currency,
				Partner: *partner, DT: d.Format(time.DateOnly)}, nil
		}),
		cleaned, &transform.Options[CleanOrder]{Rules: Rules, FilesPerUnit: 1, Caller: "examples/partner-files"})
	if err != nil {
		return err
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	s.CleanedRows, s.QuarantinedRows = res.RowsOut, res.Rejected
	fmt.Fprintf(stdout, "clean      %d files, %d records → %d rows in cleaned partners.%s, %d quarantined in partners.%s%s in %s\n",
		res.Files, res.RowsIn, res.RowsOut, table, res.Rejected, table, transform.QuarantineSuffix, fmtSeconds(res.Duration))
	out, _ := json.Marshal(s)
	fmt.Fprintln(stdout, string(out))
	return nil
}

// dropped lists the files waiting in the drop folder in arrival order
// (modification time, then name);
// checksum sidecars and hidden or partial uploads are not data.
func dropped(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".sha256") ||
			strings.HasSuffix(n, ".part") || strings.HasSuffix(n, ".filepart") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		files = append(files, file{n, info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].name < files[j].name
	})
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names, nil
}

type landResult struct {
	outcome string // landed, duplicates, rejected (the folder it moves to)
	landed  *raw.Landed
	records int64
	reason  string
}

// landOne checks a file against its sidecar, counts its records and lands
// it. The checksum is computed while reading: the file is read once to
// count and hash, and once by Land (which hashes again and stores it).
func landOne(ctx context.Context, lk *lake.Lake, dir, name, partner, dataset string) (*landResult, error) {
	path := filepath.Join(dir, name)
	sum, records, err := inspect(path)
	if err != nil {
		return &landResult{outcome: "rejected", reason: err.Error()}, nil
	}
	if want, ok, err := sidecar(path); err != nil {
		return nil, err
	} else if ok && want != sum {
		return &landResult{outcome: "rejected", reason: fmt.Sprintf("checksum mismatch: %s.sha256 says %s…, the file is %s…", name, want[:12], sum[:12])}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	landed, err := raw.Land(ctx, lk, partner, dataset, name, f, &raw.LandOptions{Records: records,
		Metadata: map[string]string{"partner": partner}})
	if errors.Is(err, raw.ErrDuplicate) {
		return &landResult{outcome: "duplicates", landed: landed}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("landing %s: %w", name, err)
	}
	if landed.SHA256 != sum {
		return nil, fmt.Errorf("landing %s: the lake recorded sha256 %s, the file is %s", name, landed.SHA256, sum)
	}
	return &landResult{outcome: "landed", landed: landed, records: records}, nil
}

// inspect hashes a file and counts its CSV records (the header aside).
func inspect(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	r := csv.NewReader(io.TeeReader(f, h))
	r.FieldsPerRecord = -1
	var n int64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, fmt.Errorf("not a CSV file: %v", err)
		}
		n++
	}
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), max(n-1, 0), nil
}

// sidecar reads NAME.sha256 (sha256sum's format: the hex digest first).
func sidecar(path string) (string, bool, error) {
	b, err := os.ReadFile(path + ".sha256")
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return "", true, nil
	}
	return strings.ToLower(fields[0]), true, nil
}

// move files a processed file (and its sidecar) away from the drop folder.
func move(dir, name, to string) error {
	if to == "landed" {
		to = "processed"
	}
	dest := filepath.Join(dir, to)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	for _, n := range []string{name, name + ".sha256"} {
		err := os.Rename(filepath.Join(dir, n), filepath.Join(dest, n))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
