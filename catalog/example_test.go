package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
)

type Order struct {
	ID     int64     `parquet:"id"`
	Amount int64     `parquet:"amount,decimal(2:12)"`
	Email  *string   `parquet:"email" lakekit:"pii,comment=customer e-mail"`
	Items  []string  `parquet:"items,list"`
	Day    time.Time `parquet:"-" lakekit:"partition,name=dt"`
}

func ExampleSchemaOf() {
	s, err := catalog.SchemaOf[Order]()
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range s.Columns {
		fmt.Printf("%s %s required=%v", c.Name, c.Type, c.Required)
		if c.Classification != "" {
			fmt.Printf(" %s (%s)", c.Classification, c.Comment)
		}
		fmt.Println()
	}
	for _, k := range s.PartitionKeys {
		fmt.Printf("partition %s %s\n", k.Name, k.Type)
	}
	// Output:
	// id bigint required=true
	// amount decimal(12,2) required=true
	// email string required=false PII (customer e-mail)
	// items array<string> required=true
	// partition dt date
}

func ExampleLocal() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://example-local", nil)
	if err != nil {
		log.Fatal(err)
	}
	cat, err := catalog.OpenLocal(lk)
	if err != nil {
		log.Fatal(err)
	}
	schema, err := catalog.SchemaOf[Order]()
	if err != nil {
		log.Fatal(err)
	}
	if err := cat.CreateDatabase(ctx, catalog.Database{Name: "sales"}); err != nil {
		log.Fatal(err)
	}
	t := &catalog.Table{
		Database: "sales", Name: "orders", Schema: schema,
		Location: lk.MustZone(lake.ZoneName("curated")).Store().Location("sales/orders/"),
		Owner:    "team-orders", Description: "orders placed in the shop",
	}
	if err := cat.CreateTable(ctx, t); err != nil {
		log.Fatal(err)
	}
	err = cat.AddPartitions(ctx, "sales", "orders", []catalog.Partition{
		{Values: []string{"2024-01-01"}}, {Values: []string{"2024-01-02"}}, {Values: []string{"2024-02-01"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for p, err := range cat.Partitions(ctx, "sales", "orders", "dt < '2024-02-01'") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.Values[0], p.Location)
	}

	// Evolution: a new nullable column is a new schema version...
	t.Schema.Columns = append(t.Schema.Columns, catalog.Column{Name: "coupon", Type: "string"})
	if err := cat.UpdateTable(ctx, t, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("schema version", t.Schema.Version)
	// ...dropping one is refused.
	t.Schema.Columns = t.Schema.Columns[1:]
	err = cat.UpdateTable(ctx, t, nil)
	fmt.Println(errors.Is(err, catalog.ErrIncompatibleSchema), err)
	// Output:
	// 2024-01-01 mem://example-local/curated/sales/orders/dt=2024-01-01/
	// 2024-01-02 mem://example-local/curated/sales/orders/dt=2024-01-02/
	// schema version 2
	// true catalog: table sales.orders: catalog: incompatible schema change: column "id" is dropped (dropping or renaming a column is refused)
}

func ExampleCreateTableDDL() {
	s, _ := catalog.SchemaOf[Order]()
	t := &catalog.Table{Database: "sales", Name: "orders", Schema: s, Location: "s3://lake/curated/sales/orders/"}
	ddl, err := catalog.CreateTableDDL(t, &catalog.DDLOptions{Projection: &catalog.Projection{
		Keys: map[string]catalog.KeyProjection{"dt": {Type: catalog.ProjectDate, Range: "2024-01-01,NOW", Format: "yyyy-MM-dd"}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ddl)
	// Output:
	// CREATE EXTERNAL TABLE `sales`.`orders` (
	//   `id` bigint,
	//   `amount` decimal(12,2),
	//   `email` string COMMENT 'customer e-mail',
	//   `items` array<string>
	// )
	// PARTITIONED BY (
	//   `dt` date
	// )
	// STORED AS PARQUET
	// LOCATION 's3://lake/curated/sales/orders/'
	// TBLPROPERTIES (
	//   'classification'='parquet',
	//   'projection.dt.format'='yyyy-MM-dd',
	//   'projection.dt.range'='2024-01-01,NOW',
	//   'projection.dt.type'='date',
	//   'projection.enabled'='true',
	//   'storage.location.template'='s3://lake/curated/sales/orders/dt=${dt}/'
	// )
}

func ExampleCompileFilter() {
	keys := []catalog.Column{{Name: "region", Type: "string"}, {Name: "hour", Type: "int"}}
	f, err := catalog.CompileFilter("region IN ('eu', 'us') AND hour BETWEEN 8 AND 17", keys)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Match([]string{"eu", "9"}), f.Match([]string{"eu", "20"}), f.Match([]string{"ap", "9"}))
	_, err = catalog.CompileFilter("region = 'eu' AND", keys)
	fmt.Println(err)
	// Output:
	// true false false
	// catalog: invalid input: filter "region = 'eu' AND" at position 18: expected a partition key or a value, found end of expression
}
