package filestore_test

import (
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) *lake.Store {
		d, err := filestore.New(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return lake.NewStore(d)
	}, nil)
}
