package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"time"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// dmsFile is one generated change file.
type dmsFile struct {
	name string
	data []byte
	rows int64
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

// fullLoad is LOAD00000001.csv: every row as an insert.
func (g *generator) fullLoad() dmsFile {
	var b bytes.Buffer
	b.WriteString(header)
	ts := g.tick()
	for _, id := range g.ids {
		b.WriteString(line("I", ts, id, g.live[id]))
	}
	return dmsFile{name: "LOAD00000001.csv", data: b.Bytes(), rows: int64(len(g.ids))}
}

// batch is one CDC file of about a tenth of the table's size.
func (g *generator) batch(i int) dmsFile {
	var b bytes.Buffer
	b.WriteString(header)
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
		b.WriteString(l)
		rows++
	}
	if i > 0 {
		// the rows the previous file started with change again ...
		prev := g.history[i-1]
		for _, s := range prev[:min(5, len(prev))] {
			if _, ok := g.live[s.id]; ok {
				b.WriteString(g.update(s.id, i))
				rows++
			}
		}
		// ... and a restarted task re-sends the start of the file before
		// it: those changes are older than what the table holds (stale)
		if i > 1 {
			old := g.history[i-2]
			for _, s := range old[:min(5, len(old))] {
				b.WriteString(s.line)
				rows++
			}
		}
		b.WriteString(line("X", g.tick(), 1, &row{name: "broken", email: "x", country: "de"}))
		rows++
	}
	g.history = append(g.history, lines)
	name := fmt.Sprintf("%s.csv", g.now.Format("20060102-150405000"))
	return dmsFile{name: name, data: b.Bytes(), rows: rows}
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
