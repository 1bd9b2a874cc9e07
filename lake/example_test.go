package lake_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lakekit/lakekit/lake"
)

// Open a lake in memory, land an object in the raw zone, and read it back.
func Example() {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		panic(err)
	}
	defer lk.Close()

	raw := lk.MustZone(lake.Raw).Store()
	if err := raw.PutBytes(ctx, "web/clicks/ingest_date=2024-05-01/batch-1.jsonl", []byte(`{"id":1}`+"\n"), nil); err != nil {
		panic(err)
	}
	for e, err := range lk.Store().List(ctx, "", nil) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Key, e.Size)
	}
	// Output: raw/web/clicks/ingest_date=2024-05-01/batch-1.jsonl 9
}

// A lake in a directory: zones are folders, and create-if-absent is what
// lakekit's commit logs are built on.
func ExampleStore_Create() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lake-example-*")
	defer os.RemoveAll(dir)
	lk, err := lake.Open(ctx, "file://"+dir, nil)
	if err != nil {
		panic(err)
	}
	log := lk.MustZone(lake.Curated).Store()
	fmt.Println(log.Create(ctx, "sales/orders/_lakekit/log/1.json", []byte("{}"), nil))
	err = log.Create(ctx, "sales/orders/_lakekit/log/1.json", []byte("{}"), nil)
	fmt.Println(errors.Is(err, lake.ErrExists))
	// Output:
	// <nil>
	// true
}

// Partition paths are Hive paths with Hive's escaping.
func ExamplePartition_Path() {
	p := lake.Partition{{Key: "dt", Value: "2024-05-01"}, {Key: "page", Value: "/home?x=1"}}
	path, err := p.Path()
	fmt.Println(path, err)
	back, _ := lake.ParsePartitionPath(path)
	fmt.Println(back.Map()["page"])
	// Output:
	// dt=2024-05-01/page=%2Fhome%3Fx%3D1 <nil>
	// /home?x=1
}

// Names are checked against Glue's rules, never rewritten silently.
func ExampleValidateName() {
	fmt.Println(lake.ValidateName(lake.KindTable, "click_events"))
	err := lake.ValidateName(lake.KindTable, "ClickEvents")
	fmt.Println(errors.Is(err, lake.ErrInvalidName))
	fmt.Println(err)
	fmt.Println(lake.SanitizeName("ClickEvents (v2)"))
	// Output:
	// <nil>
	// true
	// lake: invalid table name "ClickEvents": must be lower case (Glue and Athena fold names to lower case): invalid name
	// clickevents_v2
}
