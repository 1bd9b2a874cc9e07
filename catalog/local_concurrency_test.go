package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
)

// addColumn reads the table, adds a nullable column and updates, retrying
// on ErrConflict as a zone writer does.
func addColumn(ctx context.Context, c catalog.Catalog, db, table, col string) error {
	for {
		t, err := c.GetTable(ctx, db, table)
		if err != nil {
			return err
		}
		t.Schema.Columns = append(t.Schema.Columns, catalog.Column{Name: col, Type: "string"})
		err = c.UpdateTable(ctx, t, nil)
		if errors.Is(err, catalog.ErrConflict) {
			continue
		}
		return err
	}
}

// TestLocalConcurrentUpdates: 8 writers, each with its own catalog over its
// own store driver on one directory (as separate processes would be), add a
// column each and partitions in several batches. Nothing may be lost.
func TestLocalConcurrentUpdates(t *testing.T) {
	for _, kind := range []string{"file", "memory"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			mem := memstore.New()
			open := func() *catalog.Local {
				var d driver.Driver = mem
				if kind == "file" {
					fd, err := filestore.New(dir, &filestore.Options{NoSync: true})
					if err != nil {
						t.Fatal(err)
					}
					d = fd
				}
				lk, err := lake.New(lake.NewStore(d), nil)
				if err != nil {
					t.Fatal(err)
				}
				c, err := catalog.OpenLocal(lk)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			c0 := open()
			if err := c0.CreateDatabase(ctx, catalog.Database{Name: "db"}); err != nil {
				t.Fatal(err)
			}
			if err := c0.CreateTable(ctx, &catalog.Table{Database: "db", Name: "t", Location: "file:///x/",
				Schema: catalog.Schema{
					Columns:       []catalog.Column{{Name: "id", Type: "bigint"}},
					PartitionKeys: []catalog.Column{{Name: "w", Type: "int"}, {Name: "n", Type: "int"}},
				}}); err != nil {
				t.Fatal(err)
			}
			const writers, batches, perBatch = 8, 5, 3
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := open()
					for b := range batches {
						var ps []catalog.Partition
						for i := range perBatch {
							ps = append(ps, catalog.Partition{Values: []string{fmt.Sprint(w), fmt.Sprint(b*perBatch + i)}})
						}
						if err := c.AddPartitions(ctx, "db", "t", ps); err != nil {
							errs <- err
							return
						}
						if b == 2 {
							if err := addColumn(ctx, c, "db", "t", fmt.Sprintf("col_%d", w)); err != nil {
								errs <- err
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			got, err := c0.GetTable(ctx, "db", "t")
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Schema.Columns) != 1+writers || got.Schema.Version != 1+writers {
				t.Errorf("after %d concurrent column adds: %d columns, schema version %d", writers, len(got.Schema.Columns), got.Schema.Version)
			}
			for w := range writers {
				found := false
				for _, c := range got.Schema.Columns {
					found = found || c.Name == fmt.Sprintf("col_%d", w)
				}
				if !found {
					t.Errorf("column col_%d lost", w)
				}
			}
			vs, err := c0.SchemaVersions(ctx, "db", "t")
			if err != nil || len(vs) != 1+writers {
				t.Errorf("SchemaVersions: %d versions, %v", len(vs), err)
			}
			n := 0
			for p, err := range c0.Partitions(ctx, "db", "t", "") {
				if err != nil {
					t.Fatal(err)
				}
				_ = p
				n++
			}
			if n != writers*batches*perBatch {
				t.Errorf("%d partitions, want %d", n, writers*batches*perBatch)
			}
			// A fresh reader (no hints cached anywhere but the store) agrees.
			n = 0
			for _, err := range open().Partitions(ctx, "db", "t", "w = 3") {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != batches*perBatch {
				t.Errorf("writer 3 has %d partitions, want %d", n, batches*perBatch)
			}
		})
	}
}

// countingDriver counts the requests that reach the store.
type countingDriver struct {
	driver.Driver
	gets, stats, lists atomic.Int64
}

func (d *countingDriver) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, *driver.Attributes, error) {
	d.gets.Add(1)
	return d.Driver.Get(ctx, key, off, n)
}

func (d *countingDriver) Stat(ctx context.Context, key string) (*driver.Attributes, error) {
	d.stats.Add(1)
	return d.Driver.Stat(ctx, key)
}

func (d *countingDriver) List(ctx context.Context, o driver.ListOptions) iter.Seq2[driver.ListEntry, error] {
	d.lists.Add(1)
	return d.Driver.List(ctx, o)
}

// TestLocalReadsAreCheap: reading a table with many versions and
// partitions costs a handful of requests, thanks to the hints.
func TestLocalReadsAreCheap(t *testing.T) {
	ctx := context.Background()
	cd := &countingDriver{Driver: memstore.New()}
	c := catalog.NewLocal(lake.NewStore(cd))
	if err := c.CreateDatabase(ctx, catalog.Database{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	tb := &catalog.Table{Database: "db", Name: "t", Schema: catalog.Schema{
		Columns: []catalog.Column{{Name: "id", Type: "bigint"}}, PartitionKeys: []catalog.Column{{Name: "n", Type: "int"}}}}
	if err := c.CreateTable(ctx, tb); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		tb.Description = fmt.Sprint("update ", i)
		if err := c.UpdateTable(ctx, tb, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.AddPartitions(ctx, "db", "t", []catalog.Partition{{Values: []string{fmt.Sprint(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	cd.gets.Store(0)
	cd.stats.Store(0)
	cd.lists.Store(0)
	got, err := c.GetTable(ctx, "db", "t")
	if err != nil || got.Description != "update 99" {
		t.Fatalf("GetTable: %v %v", got, err)
	}
	if r := cd.gets.Load() + cd.stats.Load() + cd.lists.Load(); r > 4 || cd.lists.Load() > 0 {
		t.Errorf("GetTable of a table with 101 versions made %d gets, %d stats, %d lists", cd.gets.Load(), cd.stats.Load(), cd.lists.Load())
	}
	cd.gets.Store(0)
	cd.stats.Store(0)
	n := 0
	for _, err := range c.Partitions(ctx, "db", "t", "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("%d partitions", n)
	}
	// table (hint, probe, version) + head + snapshot + log entries after it (<32) + one miss
	if r := cd.gets.Load() + cd.stats.Load(); r > 3+2+32+1 || cd.lists.Load() > 0 {
		t.Errorf("Partitions over 100 log entries made %d gets, %d stats, %d lists", cd.gets.Load(), cd.stats.Load(), cd.lists.Load())
	}
}
