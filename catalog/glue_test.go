package catalog_test

import (
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
)

func motoGlue(t *testing.T) (*catalog.Glue, *testaws.Moto) {
	t.Helper()
	m := testaws.StartMoto(t)
	return catalog.NewGlueFromConfig(m.Config(t), nil), m
}
