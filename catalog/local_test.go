package catalog_test

import (
	"context"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/catalog/catalogtest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
)

func memCatalog(t *testing.T) *catalog.Local {
	t.Helper()
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.OpenLocal(lk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileCatalog(t *testing.T) *catalog.Local {
	t.Helper()
	d, err := filestore.New(t.TempDir(), &filestore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
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

func TestConformance(t *testing.T) {
	t.Run("LocalMemory", func(t *testing.T) {
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return memCatalog(t) }, nil)
	})
	t.Run("LocalFile", func(t *testing.T) {
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return fileCatalog(t) }, nil)
	})
	t.Run("GlueMoto", func(t *testing.T) {
		g, _ := motoGlue(t)
		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return g }, nil)
	})
}

var _ = context.Background
