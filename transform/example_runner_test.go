package transform_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"strings"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
	"github.com/lakekit/lakekit/zones/raw"
)

// Transforms with different row types go into one []transform.Runner and
// run in order: raw orders → cleaned (Order) → a daily aggregate
// (DailyRevenue). A run's error wrapping zones.ErrCatalog means the work
// is committed and only the catalog lags, so the loop goes on.
func ExampleRunner() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "transform-runner-*")
	defer os.RemoveAll(dir)
	lk, err := lake.Open(ctx, "file://"+dir, nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()
	batch := `{"id":1,"country":"DE","amount":20,"day":"2024-05-01"}
{"id":2,"country":"FR","amount":15.5,"day":"2024-05-02"}
`
	if _, err := raw.Land(ctx, lk, "shop", "orders", "orders.jsonl", strings.NewReader(batch), nil); err != nil {
		panic(err)
	}
	cleaned, _ := zones.NewDataset[Order](lk, lake.Cleaned, "shop", "orders", nil)
	curated, _ := zones.NewDataset[DailyRevenue](lk, lake.Curated, "shop", "daily_revenue", nil)

	clean, err := transform.New("clean_orders",
		transform.FromRaw(lk, "shop", "orders", transform.JSONLines[Order](nil)),
		transform.Identity[Order](), cleaned, nil)
	if err != nil {
		panic(err)
	}
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

	steps := []transform.Runner{clean, daily}
	for _, s := range steps {
		res, err := s.Run(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d unit(s), %d row(s) out, versions %v\n", s.Name(), res.Units, res.RowsOut, res.Versions)
	}
	// Output:
	// clean_orders: 1 unit(s), 2 row(s) out, versions [1]
	// daily_revenue: 2 unit(s), 2 row(s) out, versions [1 2]
}
