package memstore_test

import (
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) *lake.Store {
		return lake.NewStore(memstore.New())
	}, nil)
}
