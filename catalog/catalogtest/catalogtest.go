// Package catalogtest is the conformance suite every catalog.Catalog
// implementation runs: the local catalog on each store, and the Glue
// catalog against moto_server. Run it from a test:
//
//	func TestConformance(t *testing.T) {
//		catalogtest.RunConformance(t, func(t *testing.T) catalog.Catalog { return newCatalog(t) }, nil)
//	}
//
// Each subtest works in its own databases (named "ct_<case>_<n>"), so one
// catalog instance may serve every subtest.
package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/catalog"
)

// Options adapt the suite to an implementation. A nil *Options means
// defaults (everything checked).
type Options struct {
	// SkipStaleVersionID skips the check that UpdateTable with a stale
	// VersionID fails with ErrConflict, for a backend that ignores it (prove
	// it elsewhere).
	SkipStaleVersionID bool
	// SkipSearch skips Search, for a backend without it.
	SkipSearch bool
}

var dbCounter atomic.Int64

func dbName(t *testing.T) string {
	name := strings.ToLower(t.Name())
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return fmt.Sprintf("ct_%s_%d", b.String(), dbCounter.Add(1))
}

// RunConformance runs the suite; newCatalog is called once per subtest.
func RunConformance(t *testing.T, newCatalog func(t *testing.T) catalog.Catalog, opts *Options) {
	var o Options
	if opts != nil {
		o = *opts
	}
	cases := []struct {
		name string
		fn   func(t *testing.T, c catalog.Catalog, o Options)
	}{
		{"Databases", testDatabases},
		{"Tables", testTables},
		{"UpdateTable", testUpdateTable},
		{"EvolutionAllowed", testEvolutionAllowed},
		{"EvolutionRefused", testEvolutionRefused},
		{"Partitions", testPartitions},
		{"PartitionFilters", testPartitionFilters},
		{"ConcurrentPartitions", testConcurrentPartitions},
		{"Search", testSearch},
		{"BadInput", testBadInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newCatalog(t), o)
		})
	}
}

func ctx() context.Context { return context.Background() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %v", what, err, target)
	}
}

func newDB(t *testing.T, c catalog.Catalog) string {
	t.Helper()
	name := dbName(t)
	must(t, c.CreateDatabase(ctx(), catalog.Database{Name: name, Description: "conformance"}))
	return name
}

// sampleTable is a partitioned table with business metadata.
func sampleTable(db, name string) *catalog.Table {
	return &catalog.Table{
		Database: db,
		Name:     name,
		Location: "s3://bucket/curated/" + db + "/" + name + "/",
		Format:   "parquet",
		Schema: catalog.Schema{
			Columns: []catalog.Column{
				{Name: "id", Type: "bigint", Required: true, Comment: "order id"},
				{Name: "email", Type: "string", Comment: "customer e-mail", Classification: "PII"},
				{Name: "amount", Type: "decimal(10,2)"},
				{Name: "qty", Type: "int"},
				{Name: "score", Type: "float"},
				{Name: "tags", Type: "array<string>"},
				{Name: "attrs", Type: "map<string,bigint>"},
				{Name: "addr", Type: "struct<city:string,zip:int>", Parameters: map[string]string{"origin": "crm"}},
			},
			PartitionKeys: []catalog.Column{
				{Name: "dt", Type: "date", Required: true},
				{Name: "hour", Type: "int", Required: true},
			},
		},
		Description: "orders placed in the shop",
		Owner:       "team-orders",
		Steward:     "alice",
		Parameters:  map[string]string{"domain": "sales", "tier": "gold"},
	}
}

var tableCmp = []cmp.Option{
	cmpopts.IgnoreFields(catalog.Table{}, "VersionID", "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(catalog.Schema{}, "CreatedAt"),
	cmpopts.EquateEmpty(),
}

func getTable(t *testing.T, c catalog.Catalog, db, name string) *catalog.Table {
	t.Helper()
	got, err := c.GetTable(ctx(), db, name)
	if err != nil {
		t.Fatalf("GetTable(%s.%s): %v", db, name, err)
	}
	return got
}
