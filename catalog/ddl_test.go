package catalog_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/catalog"
)

func ddlTable() *catalog.Table {
	return &catalog.Table{
		Database: "sales",
		Name:     "orders",
		Location: "s3://lake/curated/sales/orders/",
		Schema: catalog.Schema{
			Columns: []catalog.Column{
				{Name: "id", Type: "bigint", Comment: "order id"},
				{Name: "customer", Type: "struct<name:string,email:string>", Comment: "who's buying"},
				{Name: "amount", Type: "DECIMAL(10, 2)"},
				{Name: "tags", Type: "array<string>"},
			},
			PartitionKeys: []catalog.Column{
				{Name: "dt", Type: "date"},
				{Name: "region", Type: "string"},
			},
		},
		Description: "Orders, one row per order line",
		Parameters:  map[string]string{"domain": "sales", "lakekit.schema_version": "3"},
	}
}

func TestCreateTableDDL(t *testing.T) {
	got, err := catalog.CreateTableDDL(ddlTable(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE EXTERNAL TABLE `sales`.`orders` (\n" +
		"  `id` bigint COMMENT 'order id',\n" +
		"  `customer` struct<name:string,email:string> COMMENT 'who\\'s buying',\n" +
		"  `amount` decimal(10,2),\n" +
		"  `tags` array<string>\n" +
		")\n" +
		"COMMENT 'Orders, one row per order line'\n" +
		"PARTITIONED BY (\n" +
		"  `dt` date,\n" +
		"  `region` string\n" +
		")\n" +
		"STORED AS PARQUET\n" +
		"LOCATION 's3://lake/curated/sales/orders/'\n" +
		"TBLPROPERTIES (\n" +
		"  'classification'='parquet',\n" +
		"  'domain'='sales'\n" +
		")"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DDL (-want +got):\n%s", d)
	}
}

func TestCreateTableDDLProjection(t *testing.T) {
	opts := &catalog.DDLOptions{
		IfNotExists: true,
		Projection: &catalog.Projection{Keys: map[string]catalog.KeyProjection{
			"dt":     {Type: catalog.ProjectDate, Range: "2024-01-01,NOW", Format: "yyyy-MM-dd", Interval: 1, IntervalUnit: "DAYS"},
			"region": {Type: catalog.ProjectEnum, Values: []string{"eu", "us"}},
		}},
		PartitionFiltering: true,
		Compression:        "zstd",
	}
	tb := ddlTable()
	tb.Schema.Columns = tb.Schema.Columns[:1]
	tb.Description = ""
	tb.Parameters = nil
	got, err := catalog.CreateTableDDL(tb, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE EXTERNAL TABLE IF NOT EXISTS `sales`.`orders` (\n" +
		"  `id` bigint COMMENT 'order id'\n" +
		")\n" +
		"PARTITIONED BY (\n" +
		"  `dt` date,\n" +
		"  `region` string\n" +
		")\n" +
		"STORED AS PARQUET\n" +
		"LOCATION 's3://lake/curated/sales/orders/'\n" +
		"TBLPROPERTIES (\n" +
		"  'classification'='parquet',\n" +
		"  'parquet.compression'='ZSTD',\n" +
		"  'partition_filtering.enabled'='true',\n" +
		"  'projection.dt.format'='yyyy-MM-dd',\n" +
		"  'projection.dt.interval'='1',\n" +
		"  'projection.dt.interval.unit'='DAYS',\n" +
		"  'projection.dt.range'='2024-01-01,NOW',\n" +
		"  'projection.dt.type'='date',\n" +
		"  'projection.enabled'='true',\n" +
		"  'projection.region.type'='enum',\n" +
		"  'projection.region.values'='eu,us',\n" +
		"  'storage.location.template'='s3://lake/curated/sales/orders/dt=${dt}/region=${region}/'\n" +
		")"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DDL (-want +got):\n%s", d)
	}
}

func TestProjectionParameters(t *testing.T) {
	tb := ddlTable()
	tb.Schema.PartitionKeys = []catalog.Column{{Name: "hour", Type: "int"}, {Name: "src", Type: "string"}}
	p := &catalog.Projection{
		Keys: map[string]catalog.KeyProjection{
			"hour": {Type: catalog.ProjectInteger, Range: "0,23", Digits: 2},
			"src":  {Type: catalog.ProjectInjected},
		},
		LocationTemplate: "s3://lake/raw/${src}/${hour}/",
	}
	if err := catalog.ApplyProjection(tb, p); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"domain":                    "sales",
		"lakekit.schema_version":    "3",
		"projection.enabled":        "true",
		"projection.hour.type":      "integer",
		"projection.hour.range":     "0,23",
		"projection.hour.digits":    "2",
		"projection.src.type":       "injected",
		"storage.location.template": "s3://lake/raw/${src}/${hour}/",
	}
	if d := cmp.Diff(want, tb.Parameters); d != "" {
		t.Errorf("parameters (-want +got):\n%s", d)
	}
	bad := []catalog.Projection{
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: catalog.ProjectInteger, Range: "0,23"}}},                                                                 // src missing
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: catalog.ProjectInteger, Range: "zero"}, "src": {Type: catalog.ProjectInjected}}},                         // bad range
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: "hourly"}, "src": {Type: catalog.ProjectInjected}}},                                                      // bad type
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: catalog.ProjectDate, Range: "a,b"}, "src": {Type: catalog.ProjectInjected}}},                             // no format
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: catalog.ProjectEnum}, "src": {Type: catalog.ProjectInjected}}},                                           // no values
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: catalog.ProjectInjected}, "src": {Type: catalog.ProjectInjected}, "x": {Type: catalog.ProjectInjected}}}, // not a key
		{Keys: map[string]catalog.KeyProjection{"hour": {Type: catalog.ProjectInjected}, "src": {Type: catalog.ProjectInjected}}, LocationTemplate: "s3://b/${hour}/"},  // template misses src
	}
	for i, p := range bad {
		if _, err := p.Parameters(tb); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("bad projection %d: %v", i, err)
		}
	}
	tb.Location = ""
	if _, err := catalog.CreateTableDDL(tb, nil); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("DDL without location: %v", err)
	}
}
