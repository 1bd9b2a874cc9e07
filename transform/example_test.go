package transform_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"sort"
	"strings"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// Order is an order as the shop's producers send it (JSON lines).
type Order struct {
	ID      int64   `json:"id" parquet:"id"`
	Country string  `json:"country" parquet:"country"`
	Amount  float64 `json:"amount" parquet:"amount"`
	Day     string  `json:"day" parquet:"day" lakekit:"partition"`
}

// DailyRevenue is a curated aggregate per day.
type DailyRevenue struct {
	Day     string  `parquet:"day" lakekit:"partition"`
	Orders  int64   `parquet:"orders"`
	Revenue float64 `parquet:"revenue"`
}

// Raw JSON lines → validated, typed cleaned table (bad records to
// quarantine) → a per-day aggregate in curated, recomputed per partition.
// A second run finds nothing new.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "transform-example-*")
	defer os.RemoveAll(dir)
	lk, err := lake.Open(ctx, "file://"+dir, nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()

	batch := `{"id":1,"country":"DE","amount":20,"day":"2024-05-01"}
{"id":2,"country":"FR","amount":15.5,"day":"2024-05-01"}
{"id":3,"country":"XX","amount":7,"day":"2024-05-02"}
{"id":4,"country":"DE","amount":"lots","day":"2024-05-02"}
{"id":5,"country":"DE","amount":12,"day":"2024-05-02"}
`
	if _, err := raw.Land(ctx, lk, "shop", "orders", "orders.jsonl", strings.NewReader(batch), nil); err != nil {
		panic(err)
	}

	cleaned, _ := zones.NewDataset[Order](lk, lake.Cleaned, "shop", "orders", nil)
	clean, err := transform.New("clean_orders",
		transform.FromRaw(lk, "shop", "orders", transform.JSONLines[Order](nil)),
		transform.Identity[Order](), cleaned,
		&transform.Options[Order]{Rules: []transform.Rule{
			transform.Enum("country", "DE", "FR"),
			transform.Range("amount", 0, 10_000),
		}})
	if err != nil {
		panic(err)
	}
	res, err := clean.Run(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("cleaned: in %d, out %d, rejected %d\n", res.RowsIn, res.RowsOut, res.Rejected)
	rejects, _ := clean.QuarantineDataset().ReadAll(ctx, nil)
	for _, q := range rejects {
		fmt.Printf("quarantined line %d: %s: %s\n", q.Line, q.Rule, q.Reason)
	}

	curated, _ := zones.NewDataset[DailyRevenue](lk, lake.Curated, "shop", "daily_revenue", nil)
	daily, err := transform.New("daily_revenue", transform.FromDataset(cleaned),
		transform.PerPartition(func(ctx context.Context, p lake.Partition, rows iter.Seq2[Order, error], emit func(DailyRevenue)) error {
			day, _ := p.Get("day")
			out := DailyRevenue{Day: day}
			for o, err := range rows {
				if err != nil {
					return err
				}
				out.Orders++
				out.Revenue += o.Amount
			}
			emit(out)
			return nil
		}),
		curated, &transform.Options[DailyRevenue]{Mode: zones.OverwritePartitions})
	if err != nil {
		panic(err)
	}
	if _, err := daily.Run(ctx); err != nil {
		panic(err)
	}
	rows, _ := curated.ReadAll(ctx, nil)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Day < rows[j].Day })
	for _, r := range rows {
		fmt.Printf("%s: %d orders, %.2f\n", r.Day, r.Orders, r.Revenue)
	}

	again, _ := clean.Run(ctx)
	fmt.Println("second run, units:", again.Units)
	// Output:
	// cleaned: in 5, out 3, rejected 2
	// quarantined line 3: enum: "XX" is not one of DE, FR
	// quarantined line 4: decode: field amount: cannot use JSON string as float64
	// 2024-05-01: 2 orders, 35.50
	// 2024-05-02: 1 orders, 12.00
	// second run, units: 0
}
