package catalogtest

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/catalog"
)

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
