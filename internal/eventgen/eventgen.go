// Package eventgen generates the deterministic 6-column event rows that
// lakekit's tests, benchmarks and examples share: an int64, a microsecond
// timestamp, a string, a float64, a low-cardinality string and a ~60
// character string, spread over a chosen number of daily partitions.
package eventgen

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// Event is one generated row.
type Event struct {
	ID      int64     `parquet:"id"`
	TS      time.Time `parquet:"ts,timestamp(microsecond)"`
	User    string    `parquet:"user_id"`
	Amount  float64   `parquet:"amount"`
	Country string    `parquet:"country"`
	URL     string    `parquet:"url"`
}

// Start is the first day of generated timestamps.
var Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var countries = []string{"de", "fr", "us", "jp", "br", "in", "gb", "es", "it", "nl"}

const letters = "abcdefghijklmnopqrstuvwxyz0123456789"

// Generate returns n events spread evenly over days daily partitions
// (row i falls on day i % days), the same for the same seed.
func Generate(n, days int, seed int64) []Event {
	rng := rand.New(rand.NewSource(seed))
	out := make([]Event, n)
	buf := make([]byte, 40)
	for i := range out {
		day := i % days
		for j := range buf {
			buf[j] = letters[rng.Intn(len(letters))]
		}
		out[i] = Event{
			ID:      int64(i),
			TS:      Start.Add(time.Duration(day)*24*time.Hour + time.Duration(rng.Int63n(int64(24*time.Hour)))).Truncate(time.Microsecond),
			User:    fmt.Sprintf("user-%06d", rng.Intn(100000)),
			Amount:  float64(rng.Intn(1000000)) / 100,
			Country: countries[rng.Intn(len(countries))],
			URL:     "https://shop.example.com/p/" + string(buf) + fmt.Sprintf("?r=%d", rng.Intn(1000)),
		}
	}
	return out
}

// Day returns the dt partition value of an event: its UTC date.
func Day(e Event) string { return e.TS.UTC().Format("2006-01-02") }

// PartitionByDay is a zones PartitionBy function: dt from the timestamp.
func PartitionByDay(e Event) (lake.Partition, error) {
	return lake.Partition{{Key: "dt", Value: Day(e)}}, nil
}
