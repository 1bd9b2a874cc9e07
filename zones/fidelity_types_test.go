//go:build cgo

package zones_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/structtag/structtagtest"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/zones"
)

// fidelityInner and fidelityBase reach time.Time, slices and unsigned
// integers below the top level (nested struct, embedded struct).
type fidelityInner struct {
	At   time.Time `parquet:"at"`
	U8   uint8     `parquet:"u8"`
	Tags []string  `parquet:"tags"`
}

type fidelityBase struct {
	Created time.Time `parquet:"created"`
}

type fidelityRow struct {
	fidelityBase
	ID   int64           `parquet:"id"`
	U32  uint32          `parquet:"u32"`
	U16  *uint16         `parquet:"u16"`
	U8   uint8           `parquet:"u8"`
	UUID string          `parquet:"uuid,uuid"`
	Strs []string        `parquet:"strs"`
	Ts   []time.Time     `parquet:"ts,list"`
	In   fidelityInner   `parquet:"in"`
	Ins  []fidelityInner `parquet:"ins"`
	Day  string          `parquet:"day" lakekit:"partition"`
}

// writeFidelity writes rows through a Dataset on a file lake and returns
// the data files' paths.
func writeFidelity[T any](t *testing.T, rows []T) (*zones.Dataset[T], []string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := zones.NewDataset[T](fileLake(t, dir), lake.Curated, "fid", "rows", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range snap.Files {
		files = append(files, filepath.Join(dir, "curated", f.Key))
	}
	return ds, files
}

// fileLeaf returns the footer's node for a column path.
func fileLeaf(t *testing.T, path string, col ...string) parquet.Node {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var n parquet.Node = pf.Schema()
	for _, c := range col {
		var next parquet.Node
		for _, fl := range n.Fields() {
			if fl.Name() == c {
				next = fl
			}
		}
		if next == nil {
			t.Fatalf("%s: no column %q in %s", path, strings.Join(col, "."), pf.Schema())
		}
		n = next
	}
	return n
}

func isLogical[L format.LogicalTypeValue](n parquet.Node) bool {
	lt := n.Type().LogicalType()
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(L)
	return ok
}

// TestFidelityTypesAsAthenaReadsThem checks issue 24 item 12 on the files
// a Dataset writes, read by DuckDB and by the footer: unsigned integers are
// stored signed and wide enough (Athena ignores the unsigned annotation
// and sign-extends a uint32 ≥ 2^31), a uuid string is stored as text, bare
// slices are three-level LISTs, and every time.Time — nested, in slices,
// in embedded structs — is a microsecond timestamp (a year outside
// 1677–2262 survives).
func TestFidelityTypesAsAthenaReadsThem(t *testing.T) {
	far := time.Date(3000, 1, 2, 3, 4, 5, 6000, time.UTC)
	u16 := uint16(65000)
	in := fidelityInner{At: far, U8: 250, Tags: []string{"a", "b"}}
	row := fidelityRow{
		fidelityBase: fidelityBase{Created: far},
		ID:           1, U32: 4_000_000_000, U16: &u16, U8: 255,
		UUID: "123e4567-e89b-12d3-a456-426614174000",
		Strs: []string{"x", "y"}, Ts: []time.Time{far}, In: in, Ins: []fidelityInner{in},
		Day: "d1",
	}
	ds, files := writeFidelity(t, []fidelityRow{row})
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	file := files[0]

	// The footer: what Athena's reader sees.
	if n := fileLeaf(t, file, "u32"); n.Type().Kind() != parquet.Int64 || strings.Contains(n.Type().String(), "false") {
		t.Errorf("u32 is stored as %s; want a signed INT64 (Athena ignores the unsigned annotation)", n.Type())
	}
	for _, c := range []string{"u16", "u8"} {
		if n := fileLeaf(t, file, c); strings.Contains(n.Type().String(), "false") {
			t.Errorf("%s is stored as %s; want a signed integer", c, n.Type())
		}
	}
	if n := fileLeaf(t, file, "uuid"); n.Type().Kind() != parquet.ByteArray || !isLogical[*format.StringType](n) {
		t.Errorf("uuid is stored as %s; want a STRING (the textual UUID)", n.Type())
	}
	for _, c := range [][]string{{"strs"}, {"in", "tags"}} {
		if n := fileLeaf(t, file, c...); n.Leaf() || !isLogical[*format.ListType](n) {
			t.Errorf("%s is stored as %v (repeated %v); want a three-level LIST", strings.Join(c, "."), n.Type(), n.Repeated())
		}
	}
	for _, c := range [][]string{{"created"}, {"in", "at"}} {
		n := fileLeaf(t, file, c...)
		if !isLogical[*format.TimestampType](n) || n.Type().LogicalType().Value.(*format.TimestampType).Unit.Value.String() != (&format.MicroSeconds{}).String() {
			t.Errorf("%s is stored as %s; want TIMESTAMP(MICROS)", strings.Join(c, "."), n.Type())
		}
	}

	// DuckDB, an independent reader.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`SELECT u32, typeof(u32), u16, u8, CAST(uuid AS VARCHAR), typeof(uuid),
		typeof(strs), CAST(created AS VARCHAR), typeof(created), CAST("in".at AS VARCHAR), typeof("in".at),
		CAST(ts[1] AS VARCHAR), CAST(ins[1].at AS VARCHAR), typeof(ins[1].at), "in".u8, len("in".tags)
		FROM read_parquet('%s')`, file)
	var u32, u16v, u8v, inU8, nTags int64
	var u32T, uuid, uuidT, strsT, created, createdT, inAt, inAtT, ts0, insAt, insAtT string
	if err := db.QueryRow(q).Scan(&u32, &u32T, &u16v, &u8v, &uuid, &uuidT, &strsT, &created, &createdT, &inAt, &inAtT, &ts0, &insAt, &insAtT, &inU8, &nTags); err != nil {
		t.Fatal(err)
	}
	const wantTS = "3000-01-02 03:04:05.000006+00"
	if u32 != 4_000_000_000 || u32T != "BIGINT" || u16v != 65000 || u8v != 255 || inU8 != 250 {
		t.Errorf("DuckDB reads u32 %d (%s), u16 %d, u8 %d, in.u8 %d; want 4000000000 (BIGINT), 65000, 255, 250", u32, u32T, u16v, u8v, inU8)
	}
	if uuid != row.UUID || uuidT != "VARCHAR" {
		t.Errorf("DuckDB reads uuid %q (%s); want %q (VARCHAR)", uuid, uuidT, row.UUID)
	}
	if strsT != "VARCHAR[]" || nTags != 2 {
		t.Errorf("DuckDB reads strs as %s, in.tags with %d elements", strsT, nTags)
	}
	for _, c := range []struct{ name, v, typ string }{{"created", created, createdT}, {"in.at", inAt, inAtT}, {"ins[1].at", insAt, insAtT}, {"ts[1]", ts0, "TIMESTAMP WITH TIME ZONE"}} {
		if c.v != wantTS || c.typ != "TIMESTAMP WITH TIME ZONE" {
			t.Errorf("DuckDB reads %s = %q (%s); want %q (TIMESTAMP WITH TIME ZONE, microseconds)", c.name, c.v, c.typ, wantTS)
		}
	}

	// The catalog's types match what was written.
	want := map[string]string{"u32": "bigint", "u16": "int", "u8": "smallint", "uuid": "string", "strs": "array<string>",
		"created": "timestamp", "in": "struct<at:timestamp,u8:smallint,tags:array<string>>"}
	for _, c := range ds.Columns() {
		if w, ok := want[c.Name]; ok && c.Type != w {
			t.Errorf("column %s registered as %s; want %s", c.Name, c.Type, w)
		}
	}

	// lakekit reads back what it wrote (within 1677–2262: parquet-go
	// v0.32's reader converts every timestamp through Unix nanoseconds).
	far = time.Date(2200, 1, 2, 3, 4, 5, 6000, time.UTC)
	in = fidelityInner{At: far, U8: 250, Tags: []string{"a", "b"}}
	row.Created, row.Ts, row.In, row.Ins = far, []time.Time{far}, in, []fidelityInner{in}
	ds, _ = writeFidelity(t, []fidelityRow{row})
	got, err := ds.ReadAll(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].U32 != row.U32 || *got[0].U16 != u16 || got[0].UUID != row.UUID || !got[0].In.At.Equal(far) ||
		!got[0].Created.Equal(far) || len(got[0].Strs) != 2 || got[0].Ins[0].U8 != 250 || !got[0].Ts[0].Equal(far) {
		t.Errorf("read back %+v; want %+v", got, row)
	}
}

type embeddedKey struct {
	Tenant string `parquet:"tenant"`
	Seq    int64  `parquet:"seq"`
}

type embeddedRow struct {
	embeddedKey
	Note string `parquet:"note"`
}

// TestFidelityReaderEmbeddedColumns checks that a read finds the Go field
// of a column that comes from an embedded struct (one tag grammar for
// writer and reader): a predicate on it filters, a projection keeps it.
func TestFidelityReaderEmbeddedColumns(t *testing.T) {
	rows := []embeddedRow{{embeddedKey{"a", 1}, "x"}, {embeddedKey{"b", 2}, "y"}, {embeddedKey{"a", 3}, "z"}}
	ds, _ := writeFidelity(t, rows)
	got, err := ds.ReadAll(context.Background(), &zones.ReadOptions{Where: []zones.Predicate{zones.Eq("tenant", "a")}, Columns: []string{"seq"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq+got[1].Seq != 4 || got[0].Note != "" || got[1].Note != "" {
		t.Errorf("read tenant = a, columns seq: got %+v; want seq 1 and 3, note not read", got)
	}
}

// TestFidelityOneGrammarZones checks that zones derives the shared cases'
// columns (internal/structtag/structtagtest) as the catalog does: the
// dataset's columns and types, the stored file's columns (read by DuckDB
// and typed from the footer with catalog.ColumnOfNode), and a read that
// projects each column by name.
func TestFidelityOneGrammarZones(t *testing.T) {
	note := "n"
	seen := time.Date(2024, 5, 6, 7, 8, 9, 10000, time.UTC)
	row := structtagtest.Tricky{
		Audit: structtagtest.Audit{CreatedAt: seen, By: "me"}, Origin: structtagtest.Origin{Source: "s"}, ID: 7, Note: &note, Tags: []string{"t"},
		Attrs: map[string]int32{"a": 1}, Day: 19000, Token: "123e4567-e89b-12d3-a456-426614174000", Amount: 1234,
		Count: 4_000_000_000, Small: 200, Seen: &seen, Opt: []int64{1, 2}, Region: "eu",
	}
	tc := structtagtest.Cases[0]
	ds, files := writeFidelity(t, []structtagtest.Tricky{row})
	var got []structtagtest.Column
	for _, c := range ds.Columns() {
		got = append(got, structtagtest.Column{Name: c.Name, Type: c.Type})
	}
	if fmt.Sprint(got) != fmt.Sprint(tc.Columns) || fmt.Sprint(ds.PartitionKeys()) != "[region]" {
		t.Errorf("dataset columns %v, keys %v; want %v, [region]", got, ds.PartitionKeys(), tc.Columns)
	}
	// The stored file, typed from its footer.
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, n := range pf.Schema().Fields() {
		c, err := catalog.ColumnOfNode(n.Name(), n)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, structtagtest.Column{Name: c.Name, Type: c.Type})
	}
	f.Close()
	if fmt.Sprint(got) != fmt.Sprint(tc.Columns) {
		t.Errorf("file columns %v; want %v", got, tc.Columns)
	}
	// DuckDB sees the same column names.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(fmt.Sprintf(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('%s', hive_partitioning = false))`, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	var duck []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		duck = append(duck, n)
	}
	if want := names(tc.Columns); fmt.Sprint(duck) != fmt.Sprint(want) {
		t.Errorf("DuckDB columns %v; want %v", duck, want)
	}
	// The reader finds every column's field, embedded ones included.
	for _, c := range append(tc.Columns, tc.Keys...) {
		back, err := ds.ReadAll(context.Background(), &zones.ReadOptions{Columns: []string{c.Name}})
		if err != nil || len(back) != 1 {
			t.Errorf("read column %s: %d rows, %v", c.Name, len(back), err)
			continue
		}
		if c.Name == "created_at" && !back[0].CreatedAt.Equal(seen) || c.Name == "region" && back[0].Region != "eu" ||
			c.Name == "count" && back[0].Count != row.Count || c.Name == "token" && back[0].Token != row.Token {
			t.Errorf("read column %s: got %+v", c.Name, back[0])
		}
	}
	for _, typ := range structtagtest.Refused {
		if err := newDatasetOf(typ); !errors.Is(err, zones.ErrInvalid) {
			t.Errorf("%v: NewDataset: %v, want ErrInvalid", typ, err)
		}
	}
}

func names(cs []structtagtest.Column) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// newDatasetOf is NewDataset for the refused shared cases.
func newDatasetOf(typ reflect.Type) error {
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		return err
	}
	defer lk.Close()
	switch typ {
	case reflect.TypeFor[structtagtest.EmbeddedTime]():
		_, err = zones.NewDataset[structtagtest.EmbeddedTime](lk, lake.Curated, "fid", "rows", nil)
	case reflect.TypeFor[structtagtest.EmbeddedPointer]():
		_, err = zones.NewDataset[structtagtest.EmbeddedPointer](lk, lake.Curated, "fid", "rows", nil)
	case reflect.TypeFor[structtagtest.Unsigned64]():
		_, err = zones.NewDataset[structtagtest.Unsigned64](lk, lake.Curated, "fid", "rows", nil)
	default:
		return fmt.Errorf("no case for %v", typ)
	}
	return err
}

type legacyInner struct {
	Labels []string `parquet:"labels"`
}

type legacyRow struct {
	ID   int64       `parquet:"id"`
	Tags []string    `parquet:"tags"`
	In   legacyInner `parquet:"in"`
	N    uint32      `parquet:"n"`
}

// TestFidelityReadsFilesWrittenBeforeLists checks that a table keeps
// reading the files lakekit wrote before slices became LISTs (bare
// repeated fields, parquet-go's default layout), beside new files:
// parquet-go would read the old ones' slices as empty.
func TestFidelityReadsFilesWrittenBeforeLists(t *testing.T) {
	ctx := context.Background()
	ds, _ := writeFidelity(t, []legacyRow{{ID: 2, Tags: []string{"new"}, In: legacyInner{Labels: []string{"l2"}}, N: 4_000_000_002}})
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[legacyRow](&buf) // the old layout
	if _, err := w.Write([]legacyRow{{ID: 1, Tags: []string{"old", "er"}, In: legacyInner{Labels: []string{"l1"}}, N: 4_000_000_001}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tx, err := ds.Table().Begin(ctx, &zones.TxOptions{Schema: ds.Columns()})
	if err != nil {
		t.Fatal(err)
	}
	key, up := tx.FileKey(nil)
	df, err := tx.Upload(ctx, nil, key, up, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	df.Rows = 1
	tx.Add(df)
	if _, err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, cols := range [][]string{nil, {"tags"}} {
		got, err := ds.ReadAll(ctx, &zones.ReadOptions{Columns: cols})
		if err != nil {
			t.Fatal(err)
		}
		// by id; a projection without id leaves it 0: then by tags, old first
		slices.SortFunc(got, func(a, b legacyRow) int {
			if a.ID != b.ID {
				return int(a.ID - b.ID)
			}
			return strings.Compare(fmt.Sprint(b.Tags), fmt.Sprint(a.Tags))
		})
		if len(got) != 2 || fmt.Sprint(got[0].Tags, got[1].Tags) != "[old er] [new]" ||
			cols == nil && (fmt.Sprint(got[0].In.Labels, got[1].In.Labels) != "[l1] [l2]" || got[0].N != 4_000_000_001 || got[1].N != 4_000_000_002) {
			t.Errorf("read columns %v: got %+v", cols, got)
		}
	}
}

type dateTimeRow struct {
	Day time.Time `parquet:"day,date"`
}

type dateDaysRow struct {
	Day int32 `parquet:"day,date"`
}

// TestFidelityDateTag checks the date tag: on a time.Time it is refused
// with the reason and the alternative (parquet-go v0.32 writes the low 32
// bits of the Unix nanoseconds as the day number), on an int32 it is a
// DATE that DuckDB reads as such.
func TestFidelityDateTag(t *testing.T) {
	_, err := zones.NewDataset[dateTimeRow](memLake(t), lake.Curated, "fid", "rows", nil)
	if !errors.Is(err, zones.ErrInvalid) || !strings.Contains(err.Error(), "int32 tagged date") {
		t.Errorf("time.Time tagged date: %v; want ErrInvalid saying to use an int32 tagged date", err)
	}
	_, files := writeFidelity(t, []dateDaysRow{{Day: 19782}})
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var day, typ string
	if err := db.QueryRow(fmt.Sprintf(`SELECT CAST(day AS VARCHAR), typeof(day) FROM read_parquet('%s')`, files[0])).Scan(&day, &typ); err != nil {
		t.Fatal(err)
	}
	if day != "2024-02-29" || typ != "DATE" {
		t.Errorf("DuckDB reads day %s (%s); want 2024-02-29 (DATE)", day, typ)
	}
}
