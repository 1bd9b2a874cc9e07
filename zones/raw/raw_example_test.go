package raw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

// Land a partner's CSV file as-is in the raw zone; landing the same bytes
// again is reported as a duplicate; List shows what transforms will read.
func ExampleLand() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()

	csv := "order_id,amount\n1,9.99\n2,19.50\n"
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) // normally left zero: now
	l, err := raw.Land(ctx, lk, "partner_a", "orders", "Orders May.CSV", strings.NewReader(csv),
		&raw.LandOptions{Records: 2, IngestTime: at})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Key)
	fmt.Println(l.ContentType, l.Records, l.SHA256[:12])

	// the partner uploads the same file again, under another name: Land
	// writes nothing and returns the existing object's description with
	// ErrDuplicate (the only error that comes with a non-nil *Landed)
	dup, err := raw.Land(ctx, lk, "partner_a", "orders", "orders-may-resend.csv", strings.NewReader(csv), nil)
	switch {
	case errors.Is(err, raw.ErrDuplicate):
		fmt.Println("duplicate of", dup.Key == l.Key)
	case err != nil:
		panic(err) // dup is nil
	}

	for o, err := range raw.List(ctx, lk, "partner_a", "orders", nil) {
		if err != nil {
			panic(err)
		}
		fmt.Println(o.IngestDate, o.OriginalName, o.Size, o.Records)
	}
	// Output:
	// partner_a/orders/ingest_date=2024-05-01/20240501T120000.000000Z-6d2a005cd0dd08e6.csv
	// text/csv 2 6d2a005cd0dd
	// duplicate of true
	// 2024-05-01 Orders May.CSV 31 2
}
