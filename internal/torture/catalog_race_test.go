package torture

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones"
)

// gateDriver stops the first create of a key containing gate until release
// is closed, after telling reached.
type gateDriver struct {
	driver.Driver
	gate             string
	reached, release chan struct{}
	done             bool
}

func (g *gateDriver) Put(ctx context.Context, key string, body io.Reader, size int64, opts *driver.PutOptions) error {
	if !g.done && opts != nil && opts.IfNotExists && strings.Contains(key, g.gate) {
		g.done = true
		close(g.reached)
		<-g.release
	}
	return g.Driver.Put(ctx, key, body, size, opts)
}

func (g *gateDriver) Location(key string) string { return g.Driver.(driver.Locator).Location(key) }

// TestCatalogFollowsCommitOrder: writer A commits an OverwritePartitions
// (version 2) and is slow to tell the catalog; writer B overwrites the same
// partition on top of it (version 3) and tells the catalog first. The
// catalog must end at version 3's location: version 2's files are
// tombstoned and a vacuum deletes them after the retention, so a catalog
// left at version 2 gives Athena an empty partition. The torture test found
// this with two writer processes (seed 70746886, -faults 0 -sync-ops=false
// -proc-every 3); fixed in zones 8e2ba99.
func TestCatalogFollowsCommitOrder(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	open := func(d driver.Driver) (*zones.Dataset[Row], *catalog.Local) {
		lk, err := lake.New(lake.NewStore(d), &lake.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		cat, err := catalog.OpenLocal(lk)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := zones.NewDataset[Row](lk, lake.Curated, "torture", "events", &zones.Options[Row]{Catalog: cat, InMemoryBuffers: true})
		if err != nil {
			t.Fatal(err)
		}
		return ds, cat
	}
	b, cat := open(mem)
	if err := mustWrite(ctx, b, opKey("seed", 0, zones.Append, 1), zones.Append); err != nil {
		t.Fatal(err)
	}
	gd := &gateDriver{Driver: mem, gate: catParts, reached: make(chan struct{}), release: make(chan struct{})}
	a, _ := open(gd)
	errc := make(chan error, 1)
	go func() {
		errc <- mustWrite(ctx, a, opKey("a", 0, zones.OverwritePartitions, 1), zones.OverwritePartitions)
	}()
	<-gd.reached // A's commit (version 2) is in the log; its catalog update waits
	if err := mustWrite(ctx, b, opKey("b", 0, zones.OverwritePartitions, 1), zones.OverwritePartitions); err != nil {
		t.Fatal(err)
	}
	close(gd.release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := catalogMatches(ctx, cat, b); err != nil {
		t.Fatalf("catalog after two overwrites committed in order A, B and registered in order B, A: %v", err)
	}
}
