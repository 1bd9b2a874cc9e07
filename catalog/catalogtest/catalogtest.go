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
	"slices"
	"strings"
	"sync"
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

func testDatabases(t *testing.T, c catalog.Catalog, o Options) {
	name := dbName(t)
	want := catalog.Database{Name: name, Description: "sales data", Parameters: map[string]string{"owner": "team"}}
	must(t, c.CreateDatabase(ctx(), want))
	got, err := c.GetDatabase(ctx(), name)
	must(t, err)
	if d := cmp.Diff(want, *got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(catalog.Database{}, "LocationURI")); d != "" {
		t.Errorf("GetDatabase (-want +got):\n%s", d)
	}
	wantErr(t, c.CreateDatabase(ctx(), catalog.Database{Name: name}), catalog.ErrExists, "CreateDatabase twice")
	_, err = c.GetDatabase(ctx(), name+"_missing")
	wantErr(t, err, catalog.ErrNoSuchDatabase, "GetDatabase of a missing database")

	second := name + "_b"
	must(t, c.CreateDatabase(ctx(), catalog.Database{Name: second}))
	var names []string
	for db, err := range c.ListDatabases(ctx()) {
		must(t, err)
		names = append(names, db.Name)
	}
	i, j := slices.Index(names, name), slices.Index(names, second)
	if i < 0 || j < 0 || i > j {
		t.Errorf("ListDatabases = %v: want %s before %s", names, name, second)
	}
	if !slices.IsSorted(names) {
		t.Errorf("ListDatabases not sorted: %v", names)
	}

	// A database with a table cannot be deleted.
	must(t, c.CreateTable(ctx(), sampleTable(second, "t")))
	wantErr(t, c.DeleteDatabase(ctx(), second), catalog.ErrInvalid, "DeleteDatabase of a non-empty database")
	if _, err := c.GetDatabase(ctx(), second); err != nil {
		t.Fatalf("refused DeleteDatabase removed it: %v", err)
	}
	must(t, c.DeleteTable(ctx(), second, "t"))
	must(t, c.DeleteDatabase(ctx(), second))
	_, err = c.GetDatabase(ctx(), second)
	wantErr(t, err, catalog.ErrNoSuchDatabase, "GetDatabase after DeleteDatabase")
	wantErr(t, c.DeleteDatabase(ctx(), second), catalog.ErrNoSuchDatabase, "DeleteDatabase twice")
	// The name can be used again.
	must(t, c.CreateDatabase(ctx(), catalog.Database{Name: second}))
	must(t, c.DeleteDatabase(ctx(), second))
}

func testTables(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	want := sampleTable(db, "orders")
	in := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), in))
	if in.VersionID == "" {
		t.Error("CreateTable did not set VersionID")
	}
	want.Schema.Version = 1
	got := getTable(t, c, db, "orders")
	if d := cmp.Diff(want, got, tableCmp...); d != "" {
		t.Errorf("GetTable (-want +got):\n%s", d)
	}
	if got.VersionID != in.VersionID {
		t.Errorf("GetTable VersionID = %q, CreateTable set %q", got.VersionID, in.VersionID)
	}
	wantErr(t, c.CreateTable(ctx(), sampleTable(db, "orders")), catalog.ErrExists, "CreateTable twice")
	wantErr(t, c.CreateTable(ctx(), sampleTable(db+"_missing", "orders")), catalog.ErrNoSuchDatabase, "CreateTable in a missing database")
	_, err := c.GetTable(ctx(), db, "missing")
	wantErr(t, err, catalog.ErrNoSuchTable, "GetTable of a missing table")
	_, err = c.GetTable(ctx(), db+"_missing", "orders")
	wantErr(t, err, catalog.ErrNoSuchDatabase, "GetTable in a missing database")

	for _, n := range []string{"c_t", "a_t", "b_t"} {
		must(t, c.CreateTable(ctx(), sampleTable(db, n)))
	}
	list := func() []string {
		var names []string
		for tb, err := range c.ListTables(ctx(), db) {
			must(t, err)
			if tb.Database != db {
				t.Errorf("ListTables(%s) yielded a table of %s", db, tb.Database)
			}
			names = append(names, tb.Name)
		}
		return names
	}
	if d := cmp.Diff([]string{"a_t", "b_t", "c_t", "orders"}, list()); d != "" {
		t.Errorf("ListTables (-want +got):\n%s", d)
	}
	must(t, c.DeleteTable(ctx(), db, "b_t"))
	_, err = c.GetTable(ctx(), db, "b_t")
	wantErr(t, err, catalog.ErrNoSuchTable, "GetTable after DeleteTable")
	wantErr(t, c.DeleteTable(ctx(), db, "b_t"), catalog.ErrNoSuchTable, "DeleteTable twice")
	if d := cmp.Diff([]string{"a_t", "c_t", "orders"}, list()); d != "" {
		t.Errorf("ListTables after delete (-want +got):\n%s", d)
	}
	// Re-created after delete: a fresh table at schema version 1 with no
	// partitions of its predecessor.
	must(t, c.AddPartitions(ctx(), db, "a_t", []catalog.Partition{{Values: []string{"2024-01-01", "1"}}}))
	must(t, c.DeleteTable(ctx(), db, "a_t"))
	re := sampleTable(db, "a_t")
	re.Description = "second life"
	must(t, c.CreateTable(ctx(), re))
	got = getTable(t, c, db, "a_t")
	if got.Description != "second life" || got.Schema.Version != 1 {
		t.Errorf("re-created table: description %q version %d", got.Description, got.Schema.Version)
	}
	vs, err := c.SchemaVersions(ctx(), db, "a_t")
	must(t, err)
	if len(vs) != 1 {
		t.Errorf("re-created table has %d schema versions, want 1", len(vs))
	}
	if ps := collect(t, c, db, "a_t", ""); len(ps) != 0 {
		t.Errorf("re-created table inherited partitions %v", ps)
	}
}

func testUpdateTable(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), tb))
	first := tb.VersionID

	tb.Description = "all orders"
	tb.Owner = "team-b"
	tb.Parameters["tier"] = "silver"
	must(t, c.UpdateTable(ctx(), tb, nil))
	if tb.VersionID == first || tb.VersionID == "" {
		t.Errorf("UpdateTable VersionID %q -> %q: want a new one", first, tb.VersionID)
	}
	got := getTable(t, c, db, "orders")
	if got.Description != "all orders" || got.Owner != "team-b" || got.Parameters["tier"] != "silver" {
		t.Errorf("update not stored: %+v", got)
	}
	if got.Schema.Version != 1 || tb.Schema.Version != 1 {
		t.Errorf("a metadata-only update changed the schema version to %d/%d", got.Schema.Version, tb.Schema.Version)
	}
	if got.VersionID != tb.VersionID {
		t.Errorf("GetTable VersionID %q, UpdateTable set %q", got.VersionID, tb.VersionID)
	}

	if !o.SkipStaleVersionID {
		stale := sampleTable(db, "orders")
		stale.VersionID = first
		stale.Description = "lost update"
		wantErr(t, c.UpdateTable(ctx(), stale, nil), catalog.ErrConflict, "UpdateTable with a stale VersionID")
		if got := getTable(t, c, db, "orders"); got.Description != "all orders" {
			t.Errorf("stale update was applied: description %q", got.Description)
		}
	}
	missing := sampleTable(db, "missing")
	wantErr(t, c.UpdateTable(ctx(), missing, nil), catalog.ErrNoSuchTable, "UpdateTable of a missing table")
}

func testEvolutionAllowed(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), tb))
	v1 := tb.Schema

	steps := []struct {
		name   string
		change func(s *catalog.Schema)
	}{
		{"add nullable column at the end", func(s *catalog.Schema) {
			s.Columns = append(s.Columns, catalog.Column{Name: "coupon", Type: "string"})
		}},
		{"add nullable column in the middle", func(s *catalog.Schema) {
			s.Columns = slices.Insert(s.Columns, 1, catalog.Column{Name: "channel", Type: "string", Comment: "web or app"})
		}},
		{"widen int to bigint", func(s *catalog.Schema) { setType(s, "qty", "bigint") }},
		{"widen float to double", func(s *catalog.Schema) { setType(s, "score", "double") }},
		{"make required column nullable", func(s *catalog.Schema) { s.Columns[0].Required = false }},
	}
	for i, st := range steps {
		st.change(&tb.Schema)
		if err := c.UpdateTable(ctx(), tb, nil); err != nil {
			t.Fatalf("%s: refused: %v", st.name, err)
		}
		if tb.Schema.Version != i+2 {
			t.Fatalf("%s: schema version %d, want %d", st.name, tb.Schema.Version, i+2)
		}
	}
	got := getTable(t, c, db, "orders")
	if d := cmp.Diff(tb.Schema, got.Schema, tableCmp...); d != "" {
		t.Errorf("schema after evolution (-want +got):\n%s", d)
	}
	vs, err := c.SchemaVersions(ctx(), db, "orders")
	must(t, err)
	if len(vs) != len(steps)+1 {
		t.Fatalf("SchemaVersions: %d versions, want %d", len(vs), len(steps)+1)
	}
	for i, v := range vs {
		if v.Version != i+1 {
			t.Errorf("SchemaVersions[%d].Version = %d", i, v.Version)
		}
	}
	if d := cmp.Diff(v1.Columns, vs[0].Columns, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("version 1 columns (-want +got):\n%s", d)
	}
	v2, err := c.SchemaVersion(ctx(), db, "orders", 2)
	must(t, err)
	if v2.Version != 2 || len(v2.Columns) != len(v1.Columns)+1 || v2.Columns[len(v2.Columns)-1].Name != "coupon" {
		t.Errorf("SchemaVersion(2) = %+v", v2)
	}
	_, err = c.SchemaVersion(ctx(), db, "orders", 99)
	wantErr(t, err, catalog.ErrNoSuchVersion, "SchemaVersion(99)")
	_, err = c.SchemaVersions(ctx(), db, "missing")
	wantErr(t, err, catalog.ErrNoSuchTable, "SchemaVersions of a missing table")
}

func setType(s *catalog.Schema, col, typ string) {
	for i := range s.Columns {
		if s.Columns[i].Name == col {
			s.Columns[i].Type = typ
		}
	}
}

func testEvolutionRefused(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	base := sampleTable(db, "orders")
	base.Schema.Columns = append(base.Schema.Columns, catalog.Column{Name: "big", Type: "bigint"}, catalog.Column{Name: "dbl", Type: "double"})
	must(t, c.CreateTable(ctx(), base))
	before := getTable(t, c, db, "orders")

	cases := []struct {
		name   string
		column string // the error must name it
		change func(s *catalog.Schema)
	}{
		{"drop", "email", func(s *catalog.Schema) { s.Columns = slices.Delete(s.Columns, 1, 2) }},
		{"rename", "email", func(s *catalog.Schema) { s.Columns[1].Name = "mail" }},
		{"narrow bigint to int", "big", func(s *catalog.Schema) { setType(s, "big", "int") }},
		{"narrow double to float", "dbl", func(s *catalog.Schema) { setType(s, "dbl", "float") }},
		{"change string to bigint", "email", func(s *catalog.Schema) { setType(s, "email", "bigint") }},
		{"narrow decimal", "amount", func(s *catalog.Schema) { setType(s, "amount", "decimal(8,2)") }},
		// Athena cannot read Parquet decimals under another precision.
		{"widen decimal precision", "amount", func(s *catalog.Schema) { setType(s, "amount", "decimal(12,2)") }},
		{"add required column", "must", func(s *catalog.Schema) {
			s.Columns = append(s.Columns, catalog.Column{Name: "must", Type: "string", Required: true})
		}},
		{"change partition keys", "partition", func(s *catalog.Schema) { s.PartitionKeys = s.PartitionKeys[:1] }},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			cur := getTable(t, c, db, "orders")
			tc.change(&cur.Schema)
			err := c.UpdateTable(ctx(), cur, nil)
			wantErr(t, err, catalog.ErrIncompatibleSchema, tc.name)
			if !strings.Contains(err.Error(), tc.column) {
				t.Errorf("%s: error %q does not name %q", tc.name, err, tc.column)
			}
			after := getTable(t, c, db, "orders")
			if d := cmp.Diff(before, after, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s: refused change altered the table (-before +after):\n%s", tc.name, d)
			}
			vs, err := c.SchemaVersions(ctx(), db, "orders")
			must(t, err)
			if len(vs) != 1 {
				t.Errorf("%s: refused change recorded a schema version (%d versions)", tc.name, len(vs))
			}
		})
	}
	// Forced, the drop is recorded as version 2.
	cur := getTable(t, c, db, "orders")
	cur.Schema.Columns = slices.Delete(cur.Schema.Columns, 1, 2)
	must(t, c.UpdateTable(ctx(), cur, &catalog.UpdateOptions{Force: true}))
	if cur.Schema.Version != 2 {
		t.Errorf("forced change: version %d, want 2", cur.Schema.Version)
	}
	got := getTable(t, c, db, "orders")
	if len(got.Schema.Columns) != len(before.Schema.Columns)-1 {
		t.Errorf("forced drop not stored: %d columns", len(got.Schema.Columns))
	}
}

func collect(t *testing.T, c catalog.Catalog, db, table, filter string) []catalog.Partition {
	t.Helper()
	var out []catalog.Partition
	for p, err := range c.Partitions(ctx(), db, table, filter) {
		if err != nil {
			t.Fatalf("Partitions(%q): %v", filter, err)
		}
		out = append(out, p)
	}
	return out
}

func values(ps []catalog.Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.Join(p.Values, "/")
	}
	return out
}

func testPartitions(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), tb))
	loc := tb.Location
	parts := []catalog.Partition{
		{Values: []string{"2024-01-02", "10"}, Location: loc + "dt=2024-01-02/hour=10/"},
		{Values: []string{"2024-01-01", "2"}, Parameters: map[string]string{"rows": "42"}},
		{Values: []string{"2024-01-02", "9"}},
	}
	must(t, c.AddPartitions(ctx(), db, "orders", parts))
	got := collect(t, c, db, "orders", "")
	want := []catalog.Partition{
		{Values: []string{"2024-01-01", "2"}, Location: loc + "dt=2024-01-01/hour=2/", Parameters: map[string]string{"rows": "42"}},
		{Values: []string{"2024-01-02", "9"}, Location: loc + "dt=2024-01-02/hour=9/"},
		{Values: []string{"2024-01-02", "10"}, Location: loc + "dt=2024-01-02/hour=10/"},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Partitions after add (-want +got):\n%s", d)
	}
	// Adding again is not an error and leaves existing partitions alone.
	must(t, c.AddPartitions(ctx(), db, "orders", []catalog.Partition{
		{Values: []string{"2024-01-01", "2"}, Location: "s3://elsewhere/"},
		{Values: []string{"2024-01-03", "0"}},
	}))
	got = collect(t, c, db, "orders", "")
	if len(got) != 4 || got[0].Location != want[0].Location {
		t.Errorf("re-adding changed partitions: %+v", got)
	}

	// The atomic overwrite's swap.
	must(t, c.UpdatePartitionLocations(ctx(), db, "orders", []catalog.Partition{
		{Values: []string{"2024-01-02", "9"}, Location: loc + "dt=2024-01-02/hour=9/v2/"},
	}))
	got = collect(t, c, db, "orders", "dt = '2024-01-02' AND hour = 9")
	if len(got) != 1 || got[0].Location != loc+"dt=2024-01-02/hour=9/v2/" {
		t.Errorf("after UpdatePartitionLocations: %+v", got)
	}
	// One missing partition: ErrNoSuchPartition, nothing changed.
	err := c.UpdatePartitionLocations(ctx(), db, "orders", []catalog.Partition{
		{Values: []string{"2024-01-01", "2"}, Location: loc + "moved/"},
		{Values: []string{"2030-01-01", "1"}, Location: loc + "nowhere/"},
	})
	wantErr(t, err, catalog.ErrNoSuchPartition, "UpdatePartitionLocations of a missing partition")
	got = collect(t, c, db, "orders", "dt = '2024-01-01'")
	if len(got) != 1 || got[0].Location != want[0].Location {
		t.Errorf("a failed UpdatePartitionLocations changed %+v", got)
	}
	if got[0].Parameters["rows"] != "42" {
		t.Errorf("partition parameters lost: %+v", got[0])
	}

	// Delete, with a missing partition among them.
	must(t, c.DeletePartitions(ctx(), db, "orders", [][]string{{"2024-01-02", "10"}, {"2031-01-01", "1"}}))
	if d := cmp.Diff([]string{"2024-01-01/2", "2024-01-02/9", "2024-01-03/0"}, values(collect(t, c, db, "orders", ""))); d != "" {
		t.Errorf("after DeletePartitions (-want +got):\n%s", d)
	}
	for p, err := range c.Partitions(ctx(), db, "missing", "") {
		wantErr(t, err, catalog.ErrNoSuchTable, fmt.Sprintf("Partitions of a missing table (%v)", p))
	}
	wantErr(t, c.AddPartitions(ctx(), db, "missing", parts), catalog.ErrNoSuchTable, "AddPartitions to a missing table")
}

func testPartitionFilters(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "events")
	tb.Schema.PartitionKeys = []catalog.Column{
		{Name: "region", Type: "string", Required: true},
		{Name: "dt", Type: "date", Required: true},
		{Name: "hour", Type: "int", Required: true},
	}
	must(t, c.CreateTable(ctx(), tb))
	var parts []catalog.Partition
	for _, r := range []string{"eu", "us"} {
		for _, d := range []string{"2024-01-30", "2024-02-01"} {
			for _, h := range []string{"2", "10"} {
				parts = append(parts, catalog.Partition{Values: []string{r, d, h}})
			}
		}
	}
	must(t, c.AddPartitions(ctx(), db, "events", parts))
	cases := []struct {
		filter string
		want   []string
	}{
		{"", []string{"eu/2024-01-30/2", "eu/2024-01-30/10", "eu/2024-02-01/2", "eu/2024-02-01/10", "us/2024-01-30/2", "us/2024-01-30/10", "us/2024-02-01/2", "us/2024-02-01/10"}},
		{"region = 'eu' AND hour = 10", []string{"eu/2024-01-30/10", "eu/2024-02-01/10"}},
		{"hour > 9 AND region <> 'eu'", []string{"us/2024-01-30/10", "us/2024-02-01/10"}},
		{"dt >= '2024-02-01' AND region = 'us'", []string{"us/2024-02-01/2", "us/2024-02-01/10"}},
		{"region IN ('us') AND (hour < 5 OR dt = '2024-02-01')", []string{"us/2024-01-30/2", "us/2024-02-01/2", "us/2024-02-01/10"}},
		{"dt BETWEEN '2024-01-01' AND '2024-01-31' AND region = 'eu'", []string{"eu/2024-01-30/2", "eu/2024-01-30/10"}},
		{"region = 'nowhere'", nil},
		{"dt LIKE '2024-02%' AND NOT region = 'eu' AND hour != 2", []string{"us/2024-02-01/10"}},
		{"region NOT IN ('eu') AND hour NOT BETWEEN 3 AND 20", []string{"us/2024-01-30/2", "us/2024-02-01/2"}},
		{"`region` = 'us' AND \"hour\" = 10", []string{"us/2024-01-30/10", "us/2024-02-01/10"}},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, values(collect(t, c, db, "events", tc.filter)), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("Partitions(%q) (-want +got):\n%s", tc.filter, d)
		}
	}
	for _, bad := range []string{"region = ", "nokey = 'x'", "region = 'eu' AND (hour = 1", "hour > 'ten'", "region == 'eu'"} {
		for _, err := range c.Partitions(ctx(), db, "events", bad) {
			wantErr(t, err, catalog.ErrInvalid, fmt.Sprintf("Partitions(%q)", bad))
			if !strings.Contains(err.Error(), "position") {
				t.Errorf("Partitions(%q): error %q does not name the position", bad, err)
			}
			break
		}
	}
}

func testConcurrentPartitions(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	must(t, c.CreateTable(ctx(), sampleTable(db, "orders")))
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := catalog.Partition{Values: []string{fmt.Sprintf("2024-01-%02d", w+1), fmt.Sprint(i)}}
				if err := c.AddPartitions(ctx(), db, "orders", []catalog.Partition{p}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := collect(t, c, db, "orders", ""); len(got) != workers*each {
		t.Errorf("%d concurrent adds left %d partitions", workers*each, len(got))
	}
}

func testSearch(t *testing.T, c catalog.Catalog, o Options) {
	if o.SkipSearch {
		t.Skip("Search skipped for this implementation")
	}
	db := newDB(t, c)
	other := newDB(t, c)
	orders := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), orders))
	clicks := &catalog.Table{
		Database: db, Name: "clicks", Location: "s3://bucket/raw/clicks/",
		Schema: catalog.Schema{Columns: []catalog.Column{
			{Name: "url", Type: "string", Comment: "page address"},
			{Name: "session", Type: "string", Classification: "confidential"},
		}},
		Description: "web clickstream",
		Parameters:  map[string]string{"domain": "marketing"},
	}
	must(t, c.CreateTable(ctx(), clicks))
	must(t, c.CreateTable(ctx(), sampleTable(other, "orders_copy")))

	search := func(q catalog.SearchQuery) []string {
		var out []string
		for tb, err := range c.Search(ctx(), q) {
			if err != nil {
				t.Fatalf("Search(%+v): %v", q, err)
			}
			if tb.Database != db && tb.Database != other {
				continue // tables of other subtests sharing the catalog
			}
			out = append(out, tb.Database+"."+tb.Name)
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		q    catalog.SearchQuery
		want []string
	}{
		{catalog.SearchQuery{Database: db}, []string{db + ".clicks", db + ".orders"}},
		{catalog.SearchQuery{Database: db, Text: "CLICK"}, []string{db + ".clicks"}},
		{catalog.SearchQuery{Text: "orders"}, []string{db + ".orders", other + ".orders_copy"}},
		{catalog.SearchQuery{Database: db, Text: "page address"}, []string{db + ".clicks"}},
		{catalog.SearchQuery{Database: db, Column: "email"}, []string{db + ".orders"}},
		{catalog.SearchQuery{Database: db, Parameters: map[string]string{"domain": "marketing"}}, []string{db + ".clicks"}},
		{catalog.SearchQuery{Database: db, Parameters: map[string]string{"tier": ""}}, []string{db + ".orders"}},
		{catalog.SearchQuery{Classification: "PII"}, []string{db + ".orders", other + ".orders_copy"}},
		{catalog.SearchQuery{Database: db, Classification: "confidential"}, []string{db + ".clicks"}},
		{catalog.SearchQuery{Database: db, Text: "nothing-like-this"}, nil},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, search(tc.q), cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
			t.Errorf("Search(%+v) (-want +got):\n%s", tc.q, d)
		}
	}
	// Search shows the business metadata.
	for tb, err := range c.Search(ctx(), catalog.SearchQuery{Database: db, Column: "email"}) {
		must(t, err)
		if tb.Owner != "team-orders" || tb.Steward != "alice" || tb.Description == "" || tb.Schema.Columns[1].Classification != "PII" {
			t.Errorf("Search result lacks business metadata: %+v", tb)
		}
	}
}

func testBadInput(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	wantErr(t, c.CreateDatabase(ctx(), catalog.Database{Name: "Bad-Name"}), catalog.ErrInvalid, "CreateDatabase with an invalid name")
	if _, err := c.GetDatabase(ctx(), "bad_name_never_created"); !errors.Is(err, catalog.ErrNoSuchDatabase) {
		t.Errorf("GetDatabase of a never-created database: %v", err)
	}

	bad := []struct {
		name   string
		change func(tb *catalog.Table)
	}{
		{"invalid table name", func(tb *catalog.Table) { tb.Name = "Orders!" }},
		{"invalid column name", func(tb *catalog.Table) { tb.Schema.Columns[0].Name = "Order Id" }},
		{"duplicate column", func(tb *catalog.Table) { tb.Schema.Columns[1].Name = "id" }},
		{"column duplicates a partition key", func(tb *catalog.Table) { tb.Schema.Columns[1].Name = "dt" }},
		{"unknown type", func(tb *catalog.Table) { tb.Schema.Columns[0].Type = "bigintt" }},
		{"malformed type", func(tb *catalog.Table) { tb.Schema.Columns[0].Type = "array<string" }},
		{"no columns", func(tb *catalog.Table) { tb.Schema.Columns = nil }},
		{"complex partition key", func(tb *catalog.Table) { tb.Schema.PartitionKeys[0].Type = "array<string>" }},
	}
	for _, tc := range bad {
		tb := sampleTable(db, "orders")
		tc.change(tb)
		wantErr(t, c.CreateTable(ctx(), tb), catalog.ErrInvalid, "CreateTable with "+tc.name)
	}
	for tb, err := range c.ListTables(ctx(), db) {
		must(t, err)
		t.Errorf("refused CreateTable left table %s", tb.Name)
	}

	tb := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), tb))
	before := getTable(t, c, db, "orders")
	for _, tc := range bad[1:] {
		u := getTable(t, c, db, "orders")
		tc.change(u)
		wantErr(t, c.UpdateTable(ctx(), u, &catalog.UpdateOptions{Force: true}), catalog.ErrInvalid, "UpdateTable with "+tc.name)
	}
	if d := cmp.Diff(before, getTable(t, c, db, "orders"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("refused updates changed the table (-before +after):\n%s", d)
	}

	must(t, c.AddPartitions(ctx(), db, "orders", []catalog.Partition{{Values: []string{"2024-01-01", "1"}}}))
	badParts := []struct {
		name   string
		values []string
	}{
		{"too few values", []string{"2024-01-01"}},
		{"too many values", []string{"2024-01-01", "1", "x"}},
		{"not a date", []string{"01/02/2024", "1"}},
		{"not an integer", []string{"2024-01-02", "one"}},
		{"empty value", []string{"2024-01-02", ""}},
		{"control character", []string{"2024-01-02", "1\n"}},
	}
	for _, bp := range badParts {
		// A good partition alongside the bad one is not added either.
		err := c.AddPartitions(ctx(), db, "orders", []catalog.Partition{
			{Values: []string{"2024-01-05", "5"}},
			{Values: bp.values},
		})
		wantErr(t, err, catalog.ErrInvalid, "AddPartitions with "+bp.name)
	}
	if d := cmp.Diff([]string{"2024-01-01/1"}, values(collect(t, c, db, "orders", ""))); d != "" {
		t.Errorf("refused AddPartitions changed partitions (-want +got):\n%s", d)
	}
	wantErr(t, c.UpdatePartitionLocations(ctx(), db, "orders", []catalog.Partition{{Values: []string{"x"}, Location: "s3://b/x/"}}),
		catalog.ErrInvalid, "UpdatePartitionLocations with values that don't match the keys")
	wantErr(t, c.DeletePartitions(ctx(), db, "orders", [][]string{{"2024-01-01"}}), catalog.ErrInvalid,
		"DeletePartitions with values that don't match the keys")
	if len(collect(t, c, db, "orders", "")) != 1 {
		t.Error("refused partition changes altered the partitions")
	}
	_, err := c.GetTable(ctx(), "Bad", "orders")
	wantErr(t, err, catalog.ErrInvalid, "GetTable with an invalid database name")
}
