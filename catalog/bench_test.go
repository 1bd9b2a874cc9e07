package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
)

func benchLocal(b *testing.B) *catalog.Local {
	b.Helper()
	d, err := filestore.New(b.TempDir(), &filestore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	c := catalog.NewLocal(lake.NewStore(d))
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, catalog.Database{Name: "db"}); err != nil {
		b.Fatal(err)
	}
	if err := c.CreateTable(ctx, &catalog.Table{Database: "db", Name: "t", Location: "file:///lake/t/", Schema: catalog.Schema{
		Columns:       []catalog.Column{{Name: "id", Type: "bigint"}, {Name: "v", Type: "string"}},
		PartitionKeys: []catalog.Column{{Name: "dt", Type: "date"}, {Name: "hour", Type: "int"}},
	}}); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkLocalGetTable reads a table with 200 versions on the file store.
func BenchmarkLocalGetTable(b *testing.B) {
	c := benchLocal(b)
	ctx := context.Background()
	t, _ := c.GetTable(ctx, "db", "t")
	for i := range 200 {
		t.Description = fmt.Sprint(i)
		if err := c.UpdateTable(ctx, t, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := c.GetTable(ctx, "db", "t"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalAddPartitions adds batches of 24 partitions (a day of
// hours) to a growing table on the file store.
func BenchmarkLocalAddPartitions(b *testing.B) {
	c := benchLocal(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		ps := make([]catalog.Partition, 24)
		day := fmt.Sprintf("%04d-%02d-%02d", 2000+i/336, 1+i/28%12, 1+i%28)
		for h := range ps {
			ps[h] = catalog.Partition{Values: []string{day, fmt.Sprint(h)}}
		}
		if err := c.AddPartitions(ctx, "db", "t", ps); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalPartitions10k lists 10,000 partitions (in 100 batches) with
// a filter.
func BenchmarkLocalPartitions10k(b *testing.B) {
	c := benchLocal(b)
	ctx := context.Background()
	for i := range 100 {
		ps := make([]catalog.Partition, 100)
		for j := range ps {
			n := i*100 + j
			ps[j] = catalog.Partition{Values: []string{fmt.Sprintf("%04d-%02d-%02d", 2000+n/8064, 1+n/672%12, 1+n/24%28), fmt.Sprint(n % 24)}}
		}
		if err := c.AddPartitions(ctx, "db", "t", ps); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		n := 0
		for _, err := range c.Partitions(ctx, "db", "t", "hour BETWEEN 8 AND 17") {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n == 0 {
			b.Fatal("no partitions")
		}
	}
}
