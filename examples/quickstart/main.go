// Command quickstart opens a local lake, lands a batch of generated
// clickstream events in the raw zone as JSON lines, and lists what the lake
// holds, zone by zone.
//
//	go run ./examples/quickstart            # a new lake under the current directory
//	go run ./examples/quickstart -lake DIR  # or any lake URL
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"time"

	"github.com/lakekit/lakekit/lake"
)

type event struct {
	ID      int64     `json:"id"`
	TS      time.Time `json:"ts"`
	User    string    `json:"user"`
	Page    string    `json:"page"`
	Country string    `json:"country"`
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lakeURL := fs.String("lake", "", "lake URL or directory (default: a new directory under the current one)")
	rows := fs.Int("rows", 1000, "events to generate")
	seed := fs.Int64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w (flags: -lake URL, -rows N, -seed N)", err)
	}
	if *rows <= 0 {
		return errors.New("-rows must be positive")
	}
	if *lakeURL == "" {
		dir, err := os.MkdirTemp(".", "quickstart-lake-")
		if err != nil {
			return err
		}
		*lakeURL = dir
	}
	lk, err := lake.Open(ctx, *lakeURL, nil)
	if err != nil {
		return err
	}
	defer lk.Close()
	fmt.Fprintf(stdout, "lake: %s\n", *lakeURL)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	rng := rand.New(rand.NewSource(*seed))
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	pages := []string{"/", "/search", "/product", "/cart", "/checkout"}
	countries := []string{"de", "fr", "us", "jp", "br"}
	for i := range *rows {
		enc.Encode(event{
			ID: int64(i), TS: start.Add(time.Duration(rng.Int63n(int64(72 * time.Hour)))),
			User: fmt.Sprintf("u%05d", rng.Intn(5000)), Page: pages[rng.Intn(len(pages))], Country: countries[rng.Intn(len(countries))],
		})
	}
	key := fmt.Sprintf("web/clicks/ingest_date=%s/batch-%d.jsonl", time.Now().UTC().Format("2006-01-02"), *seed)
	raw := lk.MustZone(lake.Raw).Store()
	if err := raw.PutBytes(ctx, key, buf.Bytes(), &lake.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "landed %d events (%d bytes) in raw/%s\n", *rows, buf.Len(), key)

	for _, z := range lk.ZoneNames() {
		n, size := 0, int64(0)
		for e, err := range lk.MustZone(z).Store().List(ctx, "", nil) {
			if err != nil {
				return err
			}
			n++
			size += e.Size
		}
		fmt.Fprintf(stdout, "zone %-8s %4d objects %10d bytes\n", z, n, size)
	}
	out, _ := json.Marshal(map[string]any{"lake": *lakeURL, "raw_records": *rows})
	fmt.Fprintln(stdout, string(out))
	return nil
}
