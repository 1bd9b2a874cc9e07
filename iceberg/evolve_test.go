package iceberg_test

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/catalog"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
)

type personV1 struct {
	ID    int32   `parquet:"id"`
	Name  string  `parquet:"name"`
	Score float32 `parquet:"score"`
	Old   string  `parquet:"old"`
	Team  string  `parquet:"team" lakekit:"partition"`
}

// personV2 is personV1 evolved: id and score widened, name renamed to
// full_name, old dropped, email (pointer) and age (value) added.
type personV2 struct {
	ID       int64   `parquet:"id"`
	FullName string  `parquet:"full_name" lakekit:"was=name"`
	Score    float64 `parquet:"score"`
	Email    *string `parquet:"email"`
	Age      int32   `parquet:"age"`
	Team     string  `parquet:"team" lakekit:"partition"`
}

func fieldIDs(t *testing.T, cat catalog.Catalog, ident []string) map[string]int {
	t.Helper()
	it, err := cat.LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range it.Schema().Fields() {
		out[f.Name+" "+f.Type.String()] = f.ID
	}
	return out
}

// TestIcebergSchemaEvolution: Open with Evolve brings the table from
// personV1 to personV2 by field ID with the Iceberg rules: a rename keeps
// the field ID (old files read under the new name), int→long and
// float→double widen in place (old files read widened), a dropped column
// is gone from the schema (old files still read, the column ignored), new
// columns are optional with new IDs (old rows read nil / zero). Without
// Evolve the same Open is ErrSchemaMismatch. The old snapshot still reads
// with its own schema in iceberg-go's scan and into personV2 here.
func TestIcebergSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ident := []string{"curated", "people"}
	v1, err := iceberg.Open[personV1](ctx, cat, ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := v1.Append(ctx, []personV1{{1, "ann", 1.5, "x", "red"}, {2, "bob", -2.25, "y", "blue"}})
	if err != nil {
		t.Fatal(err)
	}
	idsBefore := fieldIDs(t, cat, ident)
	if _, err := iceberg.Open[personV2](ctx, cat, ident, nil); !errors.Is(err, iceberg.ErrSchemaMismatch) {
		t.Fatalf("open of the evolved type without Evolve: %v, want ErrSchemaMismatch", err)
	}
	v2, err := iceberg.Open[personV2](ctx, cat, ident, &iceberg.Options{Evolve: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := fieldIDs(t, cat, ident)
	checks := []struct{ now, before string }{
		{"id long", "id int"}, {"full_name string", "name string"}, {"score double", "score float"}, {"team string", "team string"},
	}
	for _, c := range checks {
		if ids[c.now] == 0 || ids[c.now] != idsBefore[c.before] {
			t.Errorf("column %q has field ID %d, want %q's %d", c.now, ids[c.now], c.before, idsBefore[c.before])
		}
	}
	if _, ok := ids["old string"]; ok {
		t.Errorf("dropped column old is still in the schema: %v", ids)
	}
	if ids["email string"] <= idsBefore["team string"] || ids["age int"] <= idsBefore["team string"] || ids["email string"] == ids["age int"] {
		t.Errorf("added columns need new field IDs: %v (before %v)", ids, idsBefore)
	}
	mail := "cy@example.com"
	c2, err := v2.Append(ctx, []personV2{{3, "cy", 3.125, &mail, 40, "red"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []personV2{{1, "ann", 1.5, nil, 0, "red"}, {2, "bob", -2.25, nil, 0, "blue"}, {3, "cy", 3.125, &mail, 40, "red"}}
	sortPeople(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read after evolution (-want +got):\n%s", diff)
	}
	old, err := v2.Read(ctx, &iceberg.ReadOptions{SnapshotID: c1.SnapshotID})
	if err != nil {
		t.Fatal(err)
	}
	sortPeople(old)
	if diff := cmp.Diff(want[:2], old); diff != "" {
		t.Errorf("time travel to the snapshot before evolution (-want +got):\n%s", diff)
	}
	it, err := v2.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{
		"age=40 email=cy@example.com full_name=cy id=3 score=3.125 team=red",
		"age=null email=null full_name=ann id=1 score=1.5 team=red",
		"age=null email=null full_name=bob id=2 score=-2.25 team=blue",
	}, sortedCols(scanColumns(ctx, t, it, c2.SnapshotID))); diff != "" {
		t.Errorf("iceberg-go scan of the current snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"id=1 name=ann old=x score=1.5 team=red",
		"id=2 name=bob old=y score=-2.25 team=blue",
	}, sortedCols(scanColumns(ctx, t, it, c1.SnapshotID))); diff != "" {
		t.Errorf("iceberg-go scan of the snapshot before evolution, with its own schema (-want +got):\n%s", diff)
	}
	raw, err := os.ReadFile(strings.TrimPrefix(c2.MetadataLocation, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	checkMetadataV2(t, raw, c2.SnapshotID, 2)
	// Opening again with Evolve changes nothing.
	loc := it.MetadataLocation()
	if _, err := iceberg.Open[personV2](ctx, cat, ident, &iceberg.Options{Evolve: true}); err != nil {
		t.Fatal(err)
	}
	if it, _ = v2.Iceberg(ctx); it.MetadataLocation() != loc {
		t.Errorf("a second evolving Open with no change committed metadata %s", it.MetadataLocation())
	}
}

// sortedCols sorts the "col=value" parts of each row by column name, so
// rows compare whatever the scan's column order.
func sortedCols(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := strings.Fields(r)
		sort.Strings(parts)
		out[i] = strings.Join(parts, " ")
	}
	sort.Strings(out)
	return out
}

func sortPeople(p []personV2) {
	sort.Slice(p, func(i, j int) bool { return p[i].ID < p[j].ID })
}

// TestIcebergSchemaEvolutionRefused: changes the Iceberg rules do not
// allow (string→long, long→int narrowing, dropping or adding a partition
// column) are ErrSchemaMismatch naming the column, and nothing is
// committed, not even the allowed changes asked for with them.
func TestIcebergSchemaEvolutionRefused(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ident := []string{"curated", "people"}
	v1, err := iceberg.Open[personV1](ctx, cat, ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.Append(ctx, []personV1{{1, "ann", 1.5, "x", "red"}}); err != nil {
		t.Fatal(err)
	}
	it, err := v1.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loc := it.MetadataLocation()
	type stringToLong struct {
		ID    int32   `parquet:"id"`
		Name  int64   `parquet:"name"`
		Score float32 `parquet:"score"`
		Old   string  `parquet:"old"`
		Team  string  `parquet:"team" lakekit:"partition"`
		Extra *string `parquet:"extra"` // allowed, but must not land either
	}
	type narrowed struct {
		ID    int16   `parquet:"id"`
		Name  string  `parquet:"name"`
		Score float32 `parquet:"score"`
		Old   string  `parquet:"old"`
		Team  string  `parquet:"team" lakekit:"partition"`
	}
	type scoreToString struct {
		ID    int32  `parquet:"id"`
		Name  string `parquet:"name"`
		Score string `parquet:"score"`
		Old   string `parquet:"old"`
		Team  string `parquet:"team" lakekit:"partition"`
	}
	type noTeam struct {
		ID    int32   `parquet:"id"`
		Name  string  `parquet:"name"`
		Score float32 `parquet:"score"`
		Old   string  `parquet:"old"`
	}
	opts := &iceberg.Options{Evolve: true}
	for name, open := range map[string]func() error{
		"name":  func() error { _, err := iceberg.Open[stringToLong](ctx, cat, ident, opts); return err },
		"score": func() error { _, err := iceberg.Open[scoreToString](ctx, cat, ident, opts); return err },
		"team":  func() error { _, err := iceberg.Open[noTeam](ctx, cat, ident, opts); return err },
	} {
		err := open()
		if !errors.Is(err, iceberg.ErrSchemaMismatch) || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("incompatible change of %s: %v, want ErrSchemaMismatch naming %q", name, err, name)
		}
	}
	// int16 maps to int, the same type: no change needed, so no error.
	if _, err := iceberg.Open[narrowed](ctx, cat, ident, opts); err != nil {
		t.Errorf("int16 field on an int column: %v", err)
	}
	if it, err = v1.Iceberg(ctx); err != nil {
		t.Fatal(err)
	}
	if it.MetadataLocation() != loc {
		t.Errorf("refused evolutions committed metadata: %s, was %s", it.MetadataLocation(), loc)
	}
	if got, err := v1.Read(ctx, nil); err != nil || len(got) != 1 {
		t.Errorf("v1 reads %v, %v after refused evolutions", got, err)
	}
}
