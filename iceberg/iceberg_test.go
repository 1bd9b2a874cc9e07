package iceberg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/iceberg"
)

// Event is the row type of the tests: every stored kind, a nullable
// column, identity partitions on day.
type Event struct {
	ID      int64     `parquet:"id"`
	Name    string    `parquet:"name"`
	Score   *float64  `parquet:"score"`
	At      time.Time `parquet:"at"`
	Small   int32     `parquet:"small"`
	Ratio   float32   `parquet:"ratio"`
	OK      bool      `parquet:"ok"`
	Payload []byte    `parquet:"payload"`
	Day     string    `parquet:"day" lakekit:"partition"`
}

func events(from, n int, days ...string) []Event {
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	out := make([]Event, n)
	for i := range out {
		id := int64(from + i)
		e := Event{
			ID:      id,
			Name:    fmt.Sprintf("event-%d", id),
			At:      base.Add(time.Duration(id) * time.Minute),
			Small:   int32(id % 100),
			Ratio:   float32(id) / 4,
			OK:      id%2 == 0,
			Payload: []byte{byte(id), byte(id >> 8)},
			Day:     days[int(id)%len(days)],
		}
		if id%3 != 0 {
			s := float64(id) * 1.5
			e.Score = &s
		}
		out[i] = e
	}
	return out
}

func sortByID(rows []Event) []Event {
	out := append([]Event(nil), rows...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func openLocal(t *testing.T) (catalog.Catalog, *iceberg.Table[Event]) {
	t.Helper()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := iceberg.Open[Event](context.Background(), cat, []string{"curated", "events"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cat, tbl
}

func mustRead(t *testing.T, tbl *iceberg.Table[Event], opts *iceberg.ReadOptions) []Event {
	t.Helper()
	rows, err := tbl.Read(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return sortByID(rows)
}

// TestIcebergRoundTripLocal: rows of every stored type come back equal
// after append, append and overwrite, and each snapshot still reads as it
// was committed (time travel by ID and by time).
func TestIcebergRoundTripLocal(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)

	if rows := mustRead(t, tbl, nil); len(rows) != 0 {
		t.Fatalf("new table read %d rows", len(rows))
	}
	first := events(0, 10, "2026-01-01", "2026-01-02")
	c1, err := tbl.Append(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Files != 2 || c1.Rows != 10 || c1.Attempts != 1 {
		t.Errorf("first append: %+v, want 2 files (one per day), 10 rows, 1 attempt", c1)
	}
	if diff := cmp.Diff(first, mustRead(t, tbl, nil)); diff != "" {
		t.Fatalf("after append (-want +got):\n%s", diff)
	}
	second := events(10, 5, "2026-01-03")
	c2, err := tbl.Append(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	both := sortByID(append(append([]Event(nil), first...), second...))
	if diff := cmp.Diff(both, mustRead(t, tbl, nil)); diff != "" {
		t.Fatalf("after second append (-want +got):\n%s", diff)
	}
	replaced := events(100, 4, "2026-02-01")
	c3, err := tbl.Overwrite(ctx, replaced)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(replaced, mustRead(t, tbl, nil)); diff != "" {
		t.Fatalf("after overwrite (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		id   int64
		want []Event
	}{{c1.SnapshotID, first}, {c2.SnapshotID, both}, {c3.SnapshotID, replaced}} {
		if diff := cmp.Diff(tc.want, mustRead(t, tbl, &iceberg.ReadOptions{SnapshotID: tc.id})); diff != "" {
			t.Errorf("snapshot %d (-want +got):\n%s", tc.id, diff)
		}
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, s := range snaps {
		ops = append(ops, s.Operation)
	}
	if diff := cmp.Diff([]string{"append", "append", "overwrite"}, ops); diff != "" {
		t.Errorf("snapshot operations (-want +got):\n%s", diff)
	}
	asOf := mustRead(t, tbl, &iceberg.ReadOptions{AsOf: snaps[1].Time})
	if len(asOf) < len(both) {
		t.Errorf("AsOf the second snapshot's time read %d rows, want at least %d", len(asOf), len(both))
	}

	_, err = tbl.Read(ctx, &iceberg.ReadOptions{SnapshotID: 42})
	if !errors.Is(err, iceberg.ErrNoSnapshot) {
		t.Errorf("read of snapshot 42: %v, want ErrNoSnapshot", err)
	}
	if _, err := tbl.Append(ctx, nil); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("append of no rows: %v, want ErrInvalid", err)
	}
	// Overwrite with no rows empties the table.
	if _, err := tbl.Overwrite(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if rows := mustRead(t, tbl, nil); len(rows) != 0 {
		t.Errorf("after an empty overwrite: %d rows", len(rows))
	}
}

// TestIcebergPartitionPruning: a read of one partition plans only that
// partition's data files (pruned from the manifests by iceberg-go) and
// returns only its rows; bad selections are ErrInvalid.
func TestIcebergPartitionPruning(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	days := []string{"2026-01-01", "2026-01-02", "2026-01-03"}
	var all []Event
	for i := 0; i < 3; i++ {
		rows := events(i*30, 30, days...)
		if _, err := tbl.Append(ctx, rows); err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
	}
	full, err := tbl.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Files) != 9 {
		t.Fatalf("full plan: %d files, want 9 (3 appends x 3 days)", len(full.Files))
	}
	sel := &iceberg.ReadOptions{Partition: map[string]any{"day": "2026-01-02"}}
	plan, err := tbl.Plan(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 3 {
		t.Errorf("plan of day=2026-01-02: %d files, want 3: %v", len(plan.Files), plan.Files)
	}
	for _, f := range plan.Files {
		if !strings.Contains(f, "/day=2026-01-02/") {
			t.Errorf("plan of day=2026-01-02 opens %s", f)
		}
	}
	var want []Event
	for _, e := range all {
		if e.Day == "2026-01-02" {
			want = append(want, e)
		}
	}
	if diff := cmp.Diff(sortByID(want), mustRead(t, tbl, sel)); diff != "" {
		t.Errorf("read of one day (-want +got):\n%s", diff)
	}
	none, err := tbl.Plan(ctx, &iceberg.ReadOptions{Partition: map[string]any{"day": "1999-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Files) != 0 {
		t.Errorf("plan of a day with no rows: %v", none.Files)
	}
	for _, bad := range []map[string]any{{"name": "x"}, {"day": 7}} {
		if _, err := tbl.Read(ctx, &iceberg.ReadOptions{Partition: bad}); !errors.Is(err, iceberg.ErrInvalid) {
			t.Errorf("read with partition %v: %v, want ErrInvalid", bad, err)
		}
	}
}

// scanIDs reads a snapshot with iceberg-go's own scan (Arrow), not this
// package's reader, and returns the (id, name, day) of each row, sorted.
func scanIDs(ctx context.Context, t *testing.T, tbl *table.Table, snapshotID int64) []string {
	t.Helper()
	at, err := tbl.Scan(table.WithSnapshotID(snapshotID)).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	col := func(rec arrow.RecordBatch, name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("iceberg-go scan has no column %q: %v", name, rec.Schema())
		}
		return rec.Column(idx[0])
	}
	var out []string
	for tr.Next() {
		rec := tr.RecordBatch()
		ids := col(rec, "id").(*array.Int64)
		names := col(rec, "name").(*array.String)
		days := col(rec, "day").(*array.String)
		scores := col(rec, "score").(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			score := "null"
			if scores.IsValid(i) {
				score = fmt.Sprint(scores.Value(i))
			}
			out = append(out, fmt.Sprintf("%08d %s %s %s", ids.Value(i), names.Value(i), days.Value(i), score))
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func keys(rows []Event) []string {
	out := make([]string, len(rows))
	for i, e := range rows {
		score := "null"
		if e.Score != nil {
			score = fmt.Sprint(*e.Score)
		}
		out[i] = fmt.Sprintf("%08d %s %s %s", e.ID, e.Name, e.Day, score)
	}
	sort.Strings(out)
	return out
}

// checkIndependentRead compares, for each committed snapshot, iceberg-go's
// scan with the rows that snapshot should hold.
func checkIndependentRead(t *testing.T, tbl *iceberg.Table[Event], want map[int64][]Event) {
	t.Helper()
	it, err := tbl.Iceberg(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for id, rows := range want {
		if diff := cmp.Diff(keys(rows), scanIDs(tbl.Context(context.Background()), t, it, id)); diff != "" {
			t.Errorf("iceberg-go scan of snapshot %d (-want +got):\n%s", id, diff)
		}
	}
}

// TestIcebergIndependentReaderLocal: iceberg-go's own scan reads back
// exactly the committed rows after append, a second append and overwrite.
func TestIcebergIndependentReaderLocal(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	want := map[int64][]Event{}
	a := events(0, 20, "d1", "d2")
	c, err := tbl.Append(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want[c.SnapshotID] = a
	b := events(20, 7, "d3")
	if c, err = tbl.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	want[c.SnapshotID] = append(append([]Event(nil), a...), b...)
	o := events(500, 3, "d9", "d1")
	if c, err = tbl.Overwrite(ctx, o); err != nil {
		t.Fatal(err)
	}
	want[c.SnapshotID] = o
	checkIndependentRead(t, tbl, want)
}

// TestIcebergParquetFieldIDs: every column of every data file carries the
// field ID of the table schema's column of the same name.
func TestIcebergParquetFieldIDs(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	if _, err := tbl.Append(ctx, events(0, 6, "a", "b")); err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tbl.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 2 {
		t.Fatalf("%d data files, want 2", len(plan.Files))
	}
	for _, path := range plan.Files {
		f, err := os.Open(strings.TrimPrefix(path, "file://"))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		fields := pf.Schema().Fields()
		if len(fields) != len(it.Schema().Fields()) {
			t.Errorf("%s: %d columns, schema has %d", path, len(fields), len(it.Schema().Fields()))
		}
		for _, pfld := range fields {
			nf, ok := it.Schema().FindFieldByName(pfld.Name())
			if !ok {
				t.Errorf("%s: column %q is not in the table schema", path, pfld.Name())
				continue
			}
			if pfld.ID() != nf.ID {
				t.Errorf("%s: column %q has field ID %d, schema says %d", path, pfld.Name(), pfld.ID(), nf.ID)
			}
		}
		f.Close()
	}
}

// TestIcebergOpenChecksSchema: an existing table opened with a struct it
// cannot store is ErrSchemaMismatch; types this package cannot store are
// ErrInvalid.
func TestIcebergOpenChecksSchema(t *testing.T) {
	ctx := context.Background()
	cat, _ := openLocal(t)
	type otherTypes struct {
		ID  string `parquet:"id"`
		Day string `parquet:"day" lakekit:"partition"`
	}
	if _, err := iceberg.Open[otherTypes](ctx, cat, []string{"curated", "events"}, nil); !errors.Is(err, iceberg.ErrSchemaMismatch) {
		t.Errorf("open with id as string: %v, want ErrSchemaMismatch", err)
	}
	type unpartitioned struct {
		ID      int64     `parquet:"id"`
		Name    string    `parquet:"name"`
		Score   *float64  `parquet:"score"`
		At      time.Time `parquet:"at"`
		Small   int32     `parquet:"small"`
		Ratio   float32   `parquet:"ratio"`
		OK      bool      `parquet:"ok"`
		Payload []byte    `parquet:"payload"`
		Day     string    `parquet:"day"`
	}
	if _, err := iceberg.Open[unpartitioned](ctx, cat, []string{"curated", "events"}, nil); !errors.Is(err, iceberg.ErrSchemaMismatch) {
		t.Errorf("open without the partition tag: %v, want ErrSchemaMismatch", err)
	}
	type unsigned struct {
		N uint64 `parquet:"n"`
	}
	if _, err := iceberg.Open[unsigned](ctx, cat, []string{"curated", "u"}, nil); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("open of a uint64 field: %v, want ErrInvalid", err)
	}
	if _, err := iceberg.Open[Event](ctx, cat, []string{"events"}, nil); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("open without a namespace: %v, want ErrInvalid", err)
	}
}

// TestIcebergMetadataSpecV2 checks the current metadata JSON of a table
// with an append and an overwrite against the fields the Iceberg table
// spec (format version 2, "Table Metadata Fields") requires, with their
// JSON types, and the snapshot, schema, partition spec and sort order
// objects against theirs. This is what Athena engine v3 reads.
func TestIcebergMetadataSpecV2(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	if _, err := tbl.Append(ctx, events(0, 4, "x")); err != nil {
		t.Fatal(err)
	}
	c, err := tbl.Overwrite(ctx, events(10, 2, "y"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(strings.TrimPrefix(c.MetadataLocation, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	checkMetadataV2(t, raw, c.SnapshotID, 2)
}

// checkMetadataV2 validates metadata JSON against the spec v2 required
// fields; current is the current snapshot ID, snapshots how many there are.
func checkMetadataV2(t *testing.T, raw []byte, current int64, snapshots int) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // snapshot IDs are 64-bit: no float64 rounding
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("metadata is not JSON: %v", err)
	}
	num := func(obj map[string]any, where, key string) int64 {
		n, ok := obj[key].(json.Number)
		v, err := n.Int64()
		if !ok || err != nil {
			t.Errorf("%s: required %q is %T (%v), want an integer", where, key, obj[key], obj[key])
		}
		return v
	}
	str := func(obj map[string]any, where, key string) string {
		v, ok := obj[key].(string)
		if !ok || v == "" {
			t.Errorf("%s: required %q is %T (%v), want a non-empty string", where, key, obj[key], obj[key])
		}
		return v
	}
	list := func(obj map[string]any, where, key string) []any {
		v, ok := obj[key].([]any)
		if !ok {
			t.Errorf("%s: required %q is %T, want a list", where, key, obj[key])
		}
		return v
	}
	if v := num(m, "table", "format-version"); v != 2 {
		t.Errorf("format-version %v, want 2", v)
	}
	str(m, "table", "table-uuid")
	str(m, "table", "location")
	num(m, "table", "last-sequence-number")
	num(m, "table", "last-updated-ms")
	lastColumn := num(m, "table", "last-column-id")
	currentSchema := num(m, "table", "current-schema-id")
	defaultSpec := num(m, "table", "default-spec-id")
	lastPartition := num(m, "table", "last-partition-id")
	defaultSort := num(m, "table", "default-sort-order-id")

	foundSchema := false
	for _, s := range list(m, "table", "schemas") {
		sm := s.(map[string]any)
		if v, _ := sm["type"].(string); v != "struct" {
			t.Errorf("schema type %v, want struct", sm["type"])
		}
		if num(sm, "schema", "schema-id") == currentSchema {
			foundSchema = true
		}
		for _, f := range list(sm, "schema", "fields") {
			fm := f.(map[string]any)
			id := num(fm, "field", "id")
			str(fm, "field", "name")
			if _, ok := fm["required"].(bool); !ok {
				t.Errorf("field %v: required %q is not a boolean", fm["name"], "required")
			}
			if _, ok := fm["type"]; !ok {
				t.Errorf("field %v has no type", fm["name"])
			}
			if id > lastColumn {
				t.Errorf("field %v id %v > last-column-id %v", fm["name"], id, lastColumn)
			}
		}
	}
	if !foundSchema {
		t.Errorf("current-schema-id %v is not in schemas", currentSchema)
	}
	foundSpec := false
	for _, s := range list(m, "table", "partition-specs") {
		sm := s.(map[string]any)
		if num(sm, "partition spec", "spec-id") == defaultSpec {
			foundSpec = true
		}
		for _, f := range list(sm, "partition spec", "fields") {
			fm := f.(map[string]any)
			num(fm, "partition field", "source-id")
			if num(fm, "partition field", "field-id") > lastPartition {
				t.Errorf("partition field %v > last-partition-id %v", fm["field-id"], lastPartition)
			}
			str(fm, "partition field", "name")
			str(fm, "partition field", "transform")
		}
	}
	if !foundSpec {
		t.Errorf("default-spec-id %v is not in partition-specs", defaultSpec)
	}
	foundSort := false
	for _, s := range list(m, "table", "sort-orders") {
		sm := s.(map[string]any)
		if num(sm, "sort order", "order-id") == defaultSort {
			foundSort = true
		}
		list(sm, "sort order", "fields")
	}
	if !foundSort {
		t.Errorf("default-sort-order-id %v is not in sort-orders", defaultSort)
	}
	if v := num(m, "table", "current-snapshot-id"); v != current {
		t.Errorf("current-snapshot-id %v, want %d", v, current)
	}
	snaps := list(m, "table", "snapshots")
	if len(snaps) != snapshots {
		t.Errorf("%d snapshots, want %d", len(snaps), snapshots)
	}
	for _, s := range snaps {
		sm := s.(map[string]any)
		num(sm, "snapshot", "snapshot-id")
		num(sm, "snapshot", "sequence-number")
		num(sm, "snapshot", "timestamp-ms")
		str(sm, "snapshot", "manifest-list")
		sum, ok := sm["summary"].(map[string]any)
		if !ok {
			t.Errorf("snapshot %v has no summary", sm["snapshot-id"])
			continue
		}
		if op := str(sum, "snapshot summary", "operation"); op != "append" && op != "overwrite" && op != "replace" && op != "delete" {
			t.Errorf("snapshot operation %q is not one of the spec's", op)
		}
	}
	refs, ok := m["refs"].(map[string]any)
	if !ok {
		t.Fatalf("no refs")
	}
	main, ok := refs["main"].(map[string]any)
	if !ok || num(main, "ref main", "snapshot-id") != current || main["type"] != "branch" {
		t.Errorf("refs.main = %v, want a branch at %d", refs["main"], current)
	}
}
