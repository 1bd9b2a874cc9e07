package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// dmsFile is one generated file, named as DMS names it: its key relative
// to the table's folder (<schema>/<table>/), "LOAD00000001.csv" or, with
// date folders, "2024/05/01/20240501-080001000.csv".
type dmsFile struct {
	name string
	data []byte
	rows int64
}

// dmsFormat is how DMS writes its files (the S3 target's settings).
type dmsFormat struct {
	Parquet      bool // DataFormat parquet, else csv with AddColumnName
	OpInFullLoad bool // IncludeOpForFullLoad
	DateFolders  bool // DatePartitionEnabled (YYYYMMDD, SLASH)
	LoadFiles    int  // files the full load is split into (MaxFileSize)
}

// dmsRow is a change row as DMS writes it in a Parquet file (cdc_ts, the
// TimestampColumnName column, is a string as in DMS's output).
type dmsRow struct {
	Op      string  `parquet:"Op"`
	CDCTS   string  `parquet:"cdc_ts"`
	ID      int64   `parquet:"id"`
	Name    string  `parquet:"name"`
	Email   string  `parquet:"email"`
	Country string  `parquet:"country"`
	Balance float64 `parquet:"balance"`
}

// dmsLoadRow is a full-load row without the Op column.
type dmsLoadRow struct {
	CDCTS   string  `parquet:"cdc_ts"`
	ID      int64   `parquet:"id"`
	Name    string  `parquet:"name"`
	Email   string  `parquet:"email"`
	Country string  `parquet:"country"`
	Balance float64 `parquet:"balance"`
}

// encode renders CSV lines (Op first) as the file DMS writes in format f;
// withOp false drops the Op column.
func (f dmsFormat) encode(lines []string, withOp bool) ([]byte, error) {
	var rows []dmsRow
	for _, l := range lines {
		r, err := csv.NewReader(strings.NewReader(l)).Read()
		if err != nil {
			return nil, err
		}
		id, _ := strconv.ParseInt(r[2], 10, 64)
		bal, _ := strconv.ParseFloat(r[6], 64)
		rows = append(rows, dmsRow{Op: r[0], CDCTS: r[1], ID: id, Name: r[3], Email: r[4], Country: r[5], Balance: bal})
	}
	var b bytes.Buffer
	switch {
	case !f.Parquet:
		if withOp {
			b.WriteString(header)
		} else {
			b.WriteString(strings.TrimPrefix(header, "Op,"))
		}
		for _, l := range lines {
			if !withOp {
				l = l[strings.IndexByte(l, ',')+1:]
			}
			b.WriteString(l)
		}
	case withOp:
		if err := parquet.Write(&b, rows); err != nil {
			return nil, err
		}
	default:
		load := make([]dmsLoadRow, len(rows))
		for i, r := range rows {
			load[i] = dmsLoadRow{CDCTS: r.CDCTS, ID: r.ID, Name: r.Name, Email: r.Email, Country: r.Country, Balance: r.Balance}
		}
		if err := parquet.Write(&b, load); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func (f dmsFormat) ext() string {
	if f.Parquet {
		return ".parquet"
	}
	return ".csv"
}

// generator makes DMS-style change files from a model of the source table:
// a full load, then batches of inserts, updates and deletes in commit order.
// From the third batch on, each also repeats a few older changes (as a
// restarted DMS task does), and every batch after the first holds one row
// with an unknown operation.
type generator struct {
	rng     *rand.Rand
	now     time.Time
	next    int64
	live    map[int64]*row
	ids     []int64
	history [][]sent // the lines of each batch
}

// sent is a change line and the key it changed.
type sent struct {
	id   int64
	line string
}

type row struct {
	name, email, country string
	balance              float64
}

var countries = []string{"de", "fr", "us", "jp", "br"}

const header = "Op,cdc_ts,id,name,email,country,balance\n"

func newGenerator(seed int64, n int) *generator {
	g := &generator{rng: rand.New(rand.NewSource(seed)), now: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), live: map[int64]*row{}}
	for range n {
		g.insert()
	}
	return g
}

func (g *generator) insert() int64 {
	g.next++
	id := g.next
	g.live[id] = &row{name: fmt.Sprintf("Customer %d", id), email: fmt.Sprintf("c%d@example.com", id),
		country: countries[id%int64(len(countries))], balance: float64(g.rng.Intn(100000)) / 100}
	g.ids = append(g.ids, id)
	return id
}

func (g *generator) tick() string {
	g.now = g.now.Add(time.Duration(1+g.rng.Intn(500)) * time.Millisecond)
	return g.now.Format("2006-01-02 15:04:05.000000")
}

func line(op, ts string, id int64, r *row) string {
	return fmt.Sprintf("%s,%s,%d,%s,%s,%s,%.2f\n", op, ts, id, r.name, r.email, r.country, r.balance)
}

// fullLoad is the full load, every row an insert, split into f.LoadFiles
// files named by DMS's hexadecimal counter: LOAD00000001 … LOAD00000009,
// LOAD0000000A, …
func (g *generator) fullLoad(f dmsFormat) ([]dmsFile, error) {
	n := max(1, f.LoadFiles)
	var out []dmsFile
	for k := range n {
		var lines []string
		for j := k * len(g.ids) / n; j < (k+1)*len(g.ids)/n; j++ {
			id := g.ids[j]
			lines = append(lines, line("I", g.tick(), id, g.live[id]))
		}
		data, err := f.encode(lines, f.OpInFullLoad)
		if err != nil {
			return nil, err
		}
		out = append(out, dmsFile{name: fmt.Sprintf("LOAD%08X%s", k+1, f.ext()), data: data, rows: int64(len(lines))})
	}
	return out, nil
}

// batch is one CDC file of about a tenth of the table's size. Batches are
// half a day apart, so with date folders they spread over several dates.
func (g *generator) batch(i int, f dmsFormat) (dmsFile, error) {
	g.now = g.now.Add(12 * time.Hour)
	var out []string
	var rows int64
	var lines []sent
	n := max(10, len(g.live)/10)
	for range n {
		var l string
		var id int64
		switch k := g.rng.Intn(10); {
		case k < 2:
			id = g.insert()
			l = line("I", g.tick(), id, g.live[id])
		case k < 4 && len(g.live) > 1:
			id = g.pick()
			l = line("D", g.tick(), id, g.live[id])
			delete(g.live, id)
		default:
			if len(g.live) == 0 {
				continue
			}
			id = g.pick()
			l = g.update(id, i)
		}
		lines = append(lines, sent{id, l})
		out = append(out, l)
		rows++
	}
	if i > 0 {
		// the rows the previous file started with change again ...
		prev := g.history[i-1]
		for _, s := range prev[:min(5, len(prev))] {
			if _, ok := g.live[s.id]; ok {
				out = append(out, g.update(s.id, i))
				rows++
			}
		}
		// ... and a restarted task re-sends the start of the file before
		// it: those changes are older than what the table holds (stale)
		if i > 1 {
			old := g.history[i-2]
			for _, s := range old[:min(5, len(old))] {
				out = append(out, s.line)
				rows++
			}
		}
		out = append(out, line("X", g.tick(), 1, &row{name: "broken", email: "x", country: "de"}))
		rows++
	}
	g.history = append(g.history, lines)
	data, err := f.encode(out, true)
	if err != nil {
		return dmsFile{}, err
	}
	// DMS names a change file by time: 20240501-0800010000.csv
	name := g.now.Format("20060102-150405") + fmt.Sprintf("%04d", g.now.Nanosecond()/100000) + f.ext()
	if f.DateFolders {
		name = g.now.Format("2006/01/02/") + name
	}
	return dmsFile{name: name, data: data, rows: rows}, nil
}

// update changes a live row's balance (and sometimes its e-mail).
func (g *generator) update(id int64, batch int) string {
	r := g.live[id]
	r.balance = float64(g.rng.Intn(100000)) / 100
	if g.rng.Intn(4) == 0 {
		r.email = fmt.Sprintf("c%d.%d@example.org", id, batch)
	}
	return line("U", g.tick(), id, r)
}

// pick returns a live id.
func (g *generator) pick() int64 {
	for {
		id := g.ids[g.rng.Intn(len(g.ids))]
		if _, ok := g.live[id]; ok {
			return id
		}
	}
}
