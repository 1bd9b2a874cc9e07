package query_test

import (
	"fmt"

	"github.com/lakekit/lakekit/query"
)

// Athena binds parameters given as typed SQL literals; the SQL keeps its ?.
func ExampleExecutionParameters() {
	params, err := query.ExecutionParameters([]any{"it's", 42, 1.5, query.Date{Year: 2024, Month: 1, Day: 31}})
	if err != nil {
		panic(err)
	}
	for _, p := range params {
		fmt.Println(p)
	}
	// Output:
	// 'it''s'
	// 42
	// DOUBLE '1.5'
	// DATE '2024-01-31'
}

func ExampleCopySQL() {
	s, err := query.CopySQL("sales.orders", "s3://lake/curated/sales/orders/region=eu/", "arn:aws:iam::123456789012:role/loader", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	// Output:
	// COPY "sales"."orders" FROM 's3://lake/curated/sales/orders/region=eu/' IAM_ROLE 'arn:aws:iam::123456789012:role/loader' FORMAT AS PARQUET
}

func ExampleAthenaCost() {
	// 250 GiB scanned at $5 per TB
	fmt.Printf("$%.2f\n", query.AthenaCost(250<<30, query.DefaultPricePerTB))
	// Output:
	// $1.22
}
