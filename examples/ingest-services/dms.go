// The DMS path: a database table replicated by an AWS DMS task whose S3
// target endpoint writes into raw/crm/customers/ (full load, then change
// files), merged into the curated current-state table crm.customers.

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// The raw dataset the DMS endpoint writes into, the source table DMS
// replicates (its folder under the dataset: <schema>/<table>/) and the
// curated table.
const (
	DMSSource       = "crm"
	DMSDataset      = "customers"
	SourceSchema    = "sales"
	SourceTable     = "customers"
	CRMDatabase     = "crm"
	CustomersTable  = "customers"
	TimestampColumn = "cdc_ts"
)

// Change is one row of a DMS file: the Op column (I, U, D; on full-load
// rows too, IncludeOpForFullLoad), the commit timestamp column
// (TimestampColumnName) and the source table's columns, named by the
// header row (AddColumnName).
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

// CustomerSpec says how changes apply: by id, ordered by commit time.
var CustomerSpec = transform.MergeSpec[Change, Customer, int64, int64]{
	Op:    func(c Change) transform.Op { return transform.Op(c.Op) },
	Key:   func(c Change) int64 { return c.ID },
	Order: func(c Change) int64 { return c.CDCTS.UnixMicro() },
	Image: func(c Change) Customer {
		return Customer{ID: c.ID, Name: c.Name, Email: c.Email, Balance: c.Balance, UpdatedAt: c.CDCTS.UTC(), Country: c.Country}
	},
	RowKey:   func(c Customer) int64 { return c.ID },
	RowOrder: func(c Customer) int64 { return c.UpdatedAt.UnixMicro() },
}

func newCustomerMerge(lk *lake.Lake, cat catalog.Catalog, src transform.Source[Change]) (*zones.Dataset[Customer], *transform.Merger[Change, Customer, int64, int64], error) {
	state, err := zones.NewDataset[Customer](lk, lake.Curated, CRMDatabase, CustomersTable,
		&zones.Options[Customer]{Catalog: cat, Description: "customers, current state, replicated by DMS"})
	if err != nil {
		return nil, nil, err
	}
	m, err := transform.Merge("customers_from_dms", src, state, CustomerSpec,
		&transform.MergeOptions{Rules: []transform.Rule{transform.Enum("Op", "I", "U", "D"), transform.Required("cdc_ts"),
			transform.Range("id", 1, 1<<62), transform.Required("country")}, Caller: "examples/ingest-services"})
	return state, m, err
}

// dmsFile is one file as DMS writes it.
type dmsFile struct {
	name string // LOAD00000001.csv, 20240501-0800000123.csv
	data []byte
	rows int
}

// dmsGen makes a source table's full load and changes the way a DMS task
// writes them to S3 with the rendered settings: CSV with a header row, an
// Op column and the commit time in cdc_ts.
type dmsGen struct {
	rng  *rand.Rand
	now  time.Time
	next int64
	live map[int64]customerRow
	ids  []int64
}

type customerRow struct {
	name, email, country string
	balance              float64
}

var countries = []string{"de", "fr", "us", "jp", "br"}

const dmsHeader = "Op,cdc_ts,id,name,email,country,balance\n"

func newDMSGen(seed int64, customers int) *dmsGen {
	g := &dmsGen{rng: rand.New(rand.NewSource(seed)), now: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), live: map[int64]customerRow{}}
	for range customers {
		g.insert()
	}
	return g
}

func (g *dmsGen) insert() int64 {
	g.next++
	id := g.next
	g.live[id] = customerRow{name: fmt.Sprintf("Customer %d", id), email: fmt.Sprintf("c%d@example.com", id),
		country: countries[id%int64(len(countries))], balance: float64(g.rng.Intn(100000)) / 100}
	g.ids = append(g.ids, id)
	return id
}

// tick advances the source's clock and formats it as DMS writes the
// timestamp column: yyyy-MM-dd HH:mm:ss.SSSSSS.
func (g *dmsGen) tick() string {
	g.now = g.now.Add(time.Duration(1+g.rng.Intn(500)) * time.Millisecond)
	return g.now.Format("2006-01-02 15:04:05.000000")
}

func line(op, ts string, id int64, r customerRow) string {
	return fmt.Sprintf("%s,%s,%d,%s,%s,%s,%.2f\n", op, ts, id, r.name, r.email, r.country, r.balance)
}

// fullLoad splits the table into LOAD files of perFile rows, named by
// DMS's hexadecimal counter: LOAD00000001.csv ... LOAD00000009.csv,
// LOAD0000000A.csv, ...
func (g *dmsGen) fullLoad(perFile int) []dmsFile {
	var files []dmsFile
	ts := g.tick()
	for start := 0; start < len(g.ids); start += perFile {
		var b bytes.Buffer
		b.WriteString(dmsHeader)
		end := min(start+perFile, len(g.ids))
		for _, id := range g.ids[start:end] {
			b.WriteString(line("I", ts, id, g.live[id]))
		}
		files = append(files, dmsFile{name: fmt.Sprintf("LOAD%08X.csv", len(files)+1), data: b.Bytes(), rows: end - start})
	}
	return files
}

// changes is one CDC file of about a tenth of the table: inserts, updates
// and deletes in commit order, named by the time DMS wrote it
// (yyyyMMdd-HHmmssSSSS, like 20141029-1134010000.csv); one row of every
// file has an operation DMS never writes, so it is quarantined.
func (g *dmsGen) changes() dmsFile {
	var b bytes.Buffer
	b.WriteString(dmsHeader)
	rows := 0
	for range max(10, len(g.live)/10) {
		switch k := g.rng.Intn(10); {
		case k < 2:
			id := g.insert()
			b.WriteString(line("I", g.tick(), id, g.live[id]))
		case k < 4 && len(g.live) > 1:
			id := g.pick()
			b.WriteString(line("D", g.tick(), id, g.live[id]))
			delete(g.live, id)
		default:
			id := g.pick()
			r := g.live[id]
			r.balance = float64(g.rng.Intn(100000)) / 100
			g.live[id] = r
			b.WriteString(line("U", g.tick(), id, r))
		}
		rows++
	}
	b.WriteString(line("X", g.tick(), 1, customerRow{name: "broken", email: "x", country: "de"}))
	rows++
	name := g.now.Format("20060102-150405") + fmt.Sprintf("%04d", g.now.Nanosecond()/100000) + ".csv"
	return dmsFile{name: name, data: b.Bytes(), rows: rows}
}

func (g *dmsGen) pick() int64 {
	for {
		if id := g.ids[g.rng.Intn(len(g.ids))]; g.live[id] != (customerRow{}) {
			return id
		}
	}
}

// writeLikeDMS puts files where the DMS endpoint with the rendered
// settings writes them (what runs locally and on moto, which replicates
// nothing): <source>/<dataset>/<schema>/<table>/<file> in the raw zone.
// Files already there are left as they are.
func writeLikeDMS(ctx context.Context, lk *lake.Lake, files []dmsFile) error {
	rz := lk.MustZone(lake.Raw).Store()
	for _, f := range files {
		key := DMSSource + "/" + DMSDataset + "/" + SourceSchema + "/" + SourceTable + "/" + f.name
		if err := createOnce(ctx, rz, key, f.data, &lake.PutOptions{ContentType: "text/csv"}); err != nil {
			return err
		}
	}
	return nil
}
