// The quickstart's data: deterministic clickstream events, as browsers
// would send them, about 1% of them malformed.

package main

import (
	"math/rand"
	"strconv"
	"time"
)

// Start is the first day of generated events; Days how many days they span.
var Start = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// Days is the number of daily partitions the generator spreads events over.
const Days = 7

// Referrers and countries of generated events (Pages and Devices are in
// pipeline.go: its rules accept them).
var (
	Referrers = []string{"", "https://www.google.com/", "https://duckduckgo.com/", "https://t.co/x", "https://news.example.org/", "https://mail.example.com/"}
	countries = []string{"de", "fr", "us", "jp", "br", "in", "gb", "es", "it", "nl"}
)

// Malformed kinds, one of which spoils about 1% of generated records.
const (
	badTruncated = iota // not valid JSON
	badTimestamp        // ts is not a timestamp: fails to decode
	badNoUser           // user_id missing: rule "required"
	badDuration         // negative duration: rule "range"
	badPage             // a page the site does not have: rule "enum"
	badKinds
)

// Generator produces deterministic clickstream events as JSON lines: the
// same seed gives the same bytes. About 1 in 100 records is malformed in one
// of five ways (see the bad* kinds), so the pipeline has something to
// quarantine.
type Generator struct {
	rng  *rand.Rand
	n    int64
	buf  []byte
	Bad  int64 // malformed records generated so far
	Good int64 // well-formed records generated so far
}

// NewGenerator returns a generator for seed.
func NewGenerator(seed int64) *Generator {
	return &Generator{rng: rand.New(rand.NewSource(seed))}
}

// Next returns the next record as one JSON line (with its newline). The
// slice is reused by the next call.
func (g *Generator) Next() []byte {
	r := g.rng
	i := g.n
	g.n++
	day := int(i % Days)
	ts := Start.Add(time.Duration(day)*24*time.Hour + time.Duration(r.Int63n(int64(24*time.Hour)))).Truncate(time.Millisecond)
	user := r.Intn(20000)
	page := Pages[pageIndex(r)]
	bad := -1
	if r.Intn(100) == 0 {
		bad = r.Intn(badKinds)
		g.Bad++
	} else {
		g.Good++
	}
	b := g.buf[:0]
	b = append(b, `{"event_id":"e`...)
	b = strconv.AppendInt(b, i, 10)
	b = append(b, `","ts":"`...)
	if bad == badTimestamp {
		b = append(b, "yesterday"...)
	} else {
		b = ts.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	b = append(b, '"')
	if bad != badNoUser {
		b = append(b, `,"user_id":"u`...)
		b = strconv.AppendInt(b, int64(user), 10)
		b = append(b, '"')
	}
	b = append(b, `,"session_id":"s`...)
	b = strconv.AppendInt(b, int64(user), 36)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(day), 10)
	b = append(b, `","page":"`...)
	if bad == badPage {
		b = append(b, "/wp-admin.php"...)
	} else {
		b = append(b, page...)
	}
	b = append(b, `","referrer":"`...)
	b = append(b, Referrers[r.Intn(len(Referrers))]...)
	b = append(b, `","country":"`...)
	b = append(b, countries[user%len(countries)]...)
	b = append(b, `","device":"`...)
	b = append(b, Devices[user%len(Devices)]...)
	b = append(b, `","duration_ms":`...)
	d := int64(200 + r.ExpFloat64()*4000)
	if bad == badDuration {
		d = -d
	}
	b = strconv.AppendInt(b, d, 10)
	b = append(b, '}')
	if bad == badTruncated {
		b = b[:len(b)/2]
	}
	b = append(b, '\n')
	g.buf = b
	return b
}

// pageIndex skews traffic towards the first pages.
func pageIndex(r *rand.Rand) int {
	x := r.ExpFloat64() * 2.2
	if i := int(x); i < len(Pages) {
		return i
	}
	return r.Intn(len(Pages))
}
