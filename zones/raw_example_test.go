package zones_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Land a partner's CSV file as-is in the raw zone; landing the same bytes
// again is reported as a duplicate; ListRaw shows what transforms will read.
func ExampleLand() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()

	csv := "order_id,amount\n1,9.99\n2,19.50\n"
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) // normally left zero: now
	l, err := zones.Land(ctx, lk, "partner_a", "orders", "Orders May.CSV", strings.NewReader(csv),
		&zones.LandOptions{Records: 2, IngestTime: at})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Key)
	fmt.Println(l.ContentType, l.Records, l.SHA256[:12])

	// the partner uploads the same file again, under another name
	dup, err := zones.Land(ctx, lk, "partner_a", "orders", "orders-may-resend.csv", strings.NewReader(csv), nil)
	fmt.Println(errors.Is(err, zones.ErrDuplicate), dup.Key == l.Key)

	for o, err := range zones.ListRaw(ctx, lk, "partner_a", "orders", nil) {
		if err != nil {
			panic(err)
		}
		fmt.Println(o.IngestDate, o.OriginalName, o.Size, o.Records)
	}
	// Output:
	// partner_a/orders/ingest_date=2024-05-01/20240501T120000.000000Z-6d2a005cd0dd08e6.csv
	// text/csv 2 6d2a005cd0dd
	// true true
	// 2024-05-01 Orders May.CSV 31 2
}
