package iceberg_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
)

// scanColumns reads a snapshot with iceberg-go's own scan (Arrow, not
// this package's reader) and returns each row as "col=value ..." over the
// columns that snapshot's scan yields, sorted; nulls are "null".
func scanColumns(ctx context.Context, t *testing.T, tbl *table.Table, snapshotID int64) []string {
	t.Helper()
	at, err := tbl.Scan(table.WithSnapshotID(snapshotID)).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	var out []string
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var cols []string
			for c, f := range rec.Schema().Fields() {
				v := "null"
				if rec.Column(c).IsValid(i) {
					v = rec.Column(c).ValueStr(i)
				}
				cols = append(cols, f.Name+"="+v)
			}
			out = append(out, strings.Join(cols, " "))
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// dataFiles lists the Parquet files under the table directory's data/
// on disk (referenced or not).
func dataFiles(t *testing.T, it *table.Table) []string {
	t.Helper()
	root := strings.TrimPrefix(it.Location(), "file://") + "/data"
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// referencedFiles lists the data files any snapshot of the table
// references (from iceberg-go's scan planning of each snapshot).
func referencedFiles(ctx context.Context, t *testing.T, it *table.Table) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range it.Metadata().Snapshots() {
		tasks, err := it.Scan(table.WithSnapshotID(s.SnapshotID)).PlanFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			seen[strings.TrimPrefix(task.File.FilePath(), "file://")] = true
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func planFiles(t *testing.T, tbl *iceberg.Table[Event], opts *iceberg.ReadOptions) []string {
	t.Helper()
	p, err := tbl.Plan(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(p.Files))
	for i, f := range p.Files {
		out[i] = strings.TrimPrefix(f, "file://")
	}
	return out
}

func onDays(rows []Event, days ...string) []Event {
	var out []Event
	for _, e := range rows {
		for _, d := range days {
			if e.Day == d {
				out = append(out, e)
			}
		}
	}
	return out
}

// TestIcebergOverwritePartitionsLocal: OverwritePartitions replaces only
// the partitions its rows fall in, in one "overwrite" snapshot: the other
// partitions keep their very files, a new partition is added, and
// iceberg-go's own scan reads exactly the expected rows.
func TestIcebergOverwritePartitionsLocal(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	old := events(0, 30, "d1", "d2", "d3")
	c1, err := tbl.Append(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	keptFiles := planFiles(t, tbl, &iceberg.ReadOptions{Partition: map[string]any{"day": "d1"}})
	keptFiles = append(keptFiles, planFiles(t, tbl, &iceberg.ReadOptions{Partition: map[string]any{"day": "d3"}})...)

	repl := append(events(100, 4, "d2"), events(200, 3, "d4")...)
	c2, err := tbl.OverwritePartitions(ctx, repl)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Files != 2 || c2.Rows != 7 {
		t.Errorf("overwrite-partitions commit %+v, want 2 files, 7 rows", c2)
	}
	want := sortByID(append(onDays(old, "d1", "d3"), repl...))
	if diff := cmp.Diff(want, mustRead(t, tbl, nil)); diff != "" {
		t.Fatalf("after overwrite-partitions (-want +got):\n%s", diff)
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 || snaps[1].Operation != "overwrite" || snaps[1].ID != c2.SnapshotID {
		t.Errorf("snapshots %+v, want the append and one overwrite", snaps)
	}
	for _, f := range keptFiles {
		found := false
		for _, g := range planFiles(t, tbl, nil) {
			found = found || g == f
		}
		if !found {
			t.Errorf("file %s of an untouched partition is no longer in the table", f)
		}
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c1.SnapshotID: old, c2.SnapshotID: want})

	if _, err := tbl.OverwritePartitions(ctx, nil); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("overwrite-partitions of no rows: %v, want ErrInvalid", err)
	}
}

// TestIcebergOverwritePartitionsConflict: an overwrite of partition d2
// whose commit is preceded by another writer's append to d2 fails with
// ErrConflict naming the partition, commits nothing (the other writer's
// rows are all there, none of ours) and leaves none of its data files;
// another writer's append to another partition is no conflict (committed
// again, both kept).
func TestIcebergOverwritePartitionsConflict(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ident := []string{"curated", "events"}
	other, err := iceberg.Open[Event](ctx, cat, ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	race := &racingCatalog{Catalog: cat}
	tbl, err := iceberg.Open[Event](ctx, race, ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := events(0, 6, "d1", "d2")
	if _, err := other.Append(ctx, base); err != nil {
		t.Fatal(err)
	}
	theirs := events(50, 2, "d2")
	race.before = func() {
		if _, err := other.Append(ctx, theirs); err != nil {
			t.Error(err)
		}
	}
	_, err = tbl.OverwritePartitions(ctx, events(90, 3, "d2"))
	if !errors.Is(err, iceberg.ErrConflict) || !strings.Contains(err.Error(), "day=d2") {
		t.Fatalf("overwrite of d2 racing an append to d2: %v, want ErrConflict naming day=d2", err)
	}
	want := sortByID(append(append([]Event(nil), base...), theirs...))
	if diff := cmp.Diff(want, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the conflict (-want +got):\n%s", diff)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(referencedFiles(ctx, t, it), dataFiles(t, it)); diff != "" {
		t.Errorf("data files on disk vs referenced by a snapshot (the conflicting write's must be removed) (-referenced +disk):\n%s", diff)
	}

	elsewhere := events(70, 2, "d7")
	race.before = func() {
		if _, err := other.Append(ctx, elsewhere); err != nil {
			t.Error(err)
		}
	}
	mine := events(95, 2, "d2")
	c, err := tbl.OverwritePartitions(ctx, mine)
	if err != nil {
		t.Fatalf("overwrite of d2 racing an append to d7: %v", err)
	}
	if c.Attempts != 2 {
		t.Errorf("overwrite that lost a race to another partition: %d attempts, want 2", c.Attempts)
	}
	want = sortByID(append(append(onDays(base, "d1"), elsewhere...), mine...))
	if diff := cmp.Diff(want, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after overwrite of d2 with d7 appended meanwhile (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c.SnapshotID: want})
}

// TestIcebergOverwritePartitionsConcurrent: 4 writers overwrite the same
// partition at once, each until it succeeds or gets ErrConflict: at least
// one succeeds, the partition then holds exactly the rows of one
// successful writer (never a mix, never empty), and the other partition
// is untouched.
func TestIcebergOverwritePartitionsConcurrent(t *testing.T) {
	ctx := context.Background()
	cat, tbl := openLocal(t)
	base := events(0, 4, "keep", "hot")
	if _, err := tbl.Append(ctx, base); err != nil {
		t.Fatal(err)
	}
	const writers = 4
	type outcome struct {
		rows []Event
		err  error
	}
	results := make(chan outcome, writers)
	for w := 0; w < writers; w++ {
		h, err := iceberg.Open[Event](ctx, cat, []string{"curated", "events"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows := events(1000*(w+1), 3, "hot")
		go func() {
			_, err := h.OverwritePartitions(ctx, rows)
			results <- outcome{rows, err}
		}()
	}
	var winners [][]Event
	for w := 0; w < writers; w++ {
		o := <-results
		switch {
		case o.err == nil:
			winners = append(winners, o.rows)
		case errors.Is(o.err, iceberg.ErrConflict):
		default:
			t.Errorf("writer: %v, want success or ErrConflict", o.err)
		}
	}
	if len(winners) == 0 {
		t.Fatal("no writer succeeded")
	}
	got := mustRead(t, tbl, &iceberg.ReadOptions{Partition: map[string]any{"day": "hot"}})
	match := false
	for _, w := range winners {
		match = match || cmp.Equal(sortByID(w), got)
	}
	if !match {
		t.Errorf("partition hot holds %v, not exactly one successful writer's rows", keys(got))
	}
	if diff := cmp.Diff(sortByID(onDays(base, "keep")), mustRead(t, tbl, &iceberg.ReadOptions{Partition: map[string]any{"day": "keep"}})); diff != "" {
		t.Errorf("untouched partition (-want +got):\n%s", diff)
	}
	t.Logf("%d writers overwrote one partition at once: %d succeeded, %d got ErrConflict", writers, len(winners), writers-len(winners))
}

// Reading has hidden partitioning by day of At: no day column.
type Reading struct {
	Sensor string    `parquet:"sensor"`
	At     time.Time `parquet:"at" lakekit:"partition,day"`
	Value  float64   `parquet:"value"`
}

func readings(from time.Time, step time.Duration, n int) []Reading {
	out := make([]Reading, n)
	for i := range out {
		out[i] = Reading{Sensor: fmt.Sprintf("s%d", i%3), At: from.Add(time.Duration(i) * step), Value: float64(i) / 2}
	}
	return out
}

// TestIcebergHiddenPartitionDay: a time.Time tagged partition,day gives
// the table the Iceberg partition field day(at) named at_day and no extra
// column; a time-range read plans only the files of the days the range
// touches (the others skipped through the transform, shown by Plan) and
// returns exactly the rows in the range; iceberg-go's own scan reads
// every row back; OverwritePartitions replaces one day.
func TestIcebergHiddenPartitionDay(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := iceberg.Open[Reading](ctx, cat, []string{"curated", "readings"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	rows := readings(start, 6*time.Hour, 20) // 5 days, 4 rows each
	c, err := tbl.Append(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	if c.Files != 5 {
		t.Errorf("append over 5 days wrote %d files, want 5", c.Files)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := it.Spec()
	pf := specFields(spec)
	if len(pf) != 1 || pf[0].Transform.String() != "day" || pf[0].Name != "at_day" {
		t.Fatalf("partition spec %v, want day(at) named at_day", it.Spec())
	}
	if n := len(it.Schema().Fields()); n != 3 {
		t.Errorf("schema has %d columns, want 3 (no partition column added): %v", n, it.Schema())
	}
	full, err := tbl.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &iceberg.TimeRange{Column: "at", From: time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC)}
	plan, err := tbl.Plan(ctx, &iceberg.ReadOptions{Range: r})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 2 {
		t.Fatalf("plan of %s..%s: %d of %d files, want 2 (days 01-02 and 01-03): %v", r.From, r.To, len(plan.Files), len(full.Files), plan.Files)
	}
	for _, f := range plan.Files {
		if !strings.Contains(f, "/at_day=2026-01-02/") && !strings.Contains(f, "/at_day=2026-01-03/") {
			t.Errorf("plan opens %s, outside the range's days", f)
		}
	}
	t.Logf("time-range read: %d of %d data files planned, %d skipped by day(at)", len(plan.Files), len(full.Files), len(full.Files)-len(plan.Files))
	var want []Reading
	for _, x := range rows {
		if !x.At.Before(r.From) && x.At.Before(r.To) {
			want = append(want, x)
		}
	}
	got, err := tbl.Read(ctx, &iceberg.ReadOptions{Range: r})
	if err != nil {
		t.Fatal(err)
	}
	sortReadings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("time-range read (-want +got):\n%s", diff)
	}
	if len(want) != 6 {
		t.Fatalf("test data: %d rows in range, want 6", len(want))
	}
	if n := len(scanColumns(tbl.Context(ctx), t, it, c.SnapshotID)); n != len(rows) {
		t.Errorf("iceberg-go scan read %d rows, want %d", n, len(rows))
	}
	// Overwrite the day 01-03 only.
	day3 := readings(time.Date(2026, 1, 3, 5, 0, 0, 0, time.UTC), time.Hour, 2)
	if _, err := tbl.OverwritePartitions(ctx, day3); err != nil {
		t.Fatal(err)
	}
	var after []Reading
	for _, x := range rows {
		if x.At.Day() != 3 {
			after = append(after, x)
		}
	}
	after = append(after, day3...)
	sortReadings(after)
	got, err = tbl.Read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sortReadings(got)
	if diff := cmp.Diff(after, got); diff != "" {
		t.Errorf("after overwriting day 01-03 (-want +got):\n%s", diff)
	}
	it, err = tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(scanColumns(tbl.Context(ctx), t, it, it.CurrentSnapshot().SnapshotID)); n != len(after) {
		t.Errorf("iceberg-go scan after the day overwrite: %d rows, want %d", n, len(after))
	}
	if _, err := tbl.Read(ctx, &iceberg.ReadOptions{Partition: map[string]any{"at": start}}); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("Partition selection on a hidden partition: %v, want ErrInvalid pointing to Range", err)
	}
	if _, err := tbl.Read(ctx, &iceberg.ReadOptions{Range: &iceberg.TimeRange{Column: "value"}}); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("Range on a float column: %v, want ErrInvalid", err)
	}
}

func specFields(spec ice.PartitionSpec) []ice.PartitionField {
	var out []ice.PartitionField
	for _, f := range spec.Fields() {
		out = append(out, f)
	}
	return out
}

func sortReadings(rs []Reading) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].At.Before(rs[j].At) })
}

type readingHour struct {
	At time.Time `parquet:"at" lakekit:"partition,hour"`
	N  int64     `parquet:"n"`
}

type readingMonth struct {
	At time.Time `parquet:"at" lakekit:"partition,month"`
	N  int64     `parquet:"n"`
}

type readingYear struct {
	At time.Time `parquet:"at" lakekit:"partition,year"`
	N  int64     `parquet:"n"`
}

// checkTransform appends one row at each of times, then plans a range
// that covers only the second: one file, in the directory named dir.
func checkTransform[T any](t *testing.T, transform string, mk func(time.Time, int64) T, times []time.Time, dir string) {
	t.Helper()
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := iceberg.Open[T](ctx, cat, []string{"curated", transform}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []T
	for i, at := range times {
		rows = append(rows, mk(at, int64(i)))
	}
	if _, err := tbl.Append(ctx, rows); err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := it.Spec()
	if pf := specFields(spec); len(pf) != 1 || pf[0].Transform.String() != transform || pf[0].Name != "at_"+transform {
		t.Errorf("%s: partition spec %v, want %s(at) named at_%s", transform, it.Spec(), transform, transform)
	}
	plan, err := tbl.Plan(ctx, &iceberg.ReadOptions{Range: &iceberg.TimeRange{Column: "at", From: times[1], To: times[1].Add(time.Nanosecond * 1000)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Files) != 1 || !strings.Contains(plan.Files[0], "/at_"+transform+"="+dir+"/") {
		t.Errorf("%s: plan of the second row's instant: %v, want the one file under at_%s=%s", transform, plan.Files, transform, dir)
	}
	got, err := tbl.Read(ctx, &iceberg.ReadOptions{Range: &iceberg.TimeRange{Column: "at", From: times[1], To: times[1].Add(time.Microsecond)}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]T{rows[1]}, got); diff != "" {
		t.Errorf("%s: range read (-want +got):\n%s", transform, diff)
	}
}

// TestIcebergHiddenPartitionTransforms: hour, month and year transforms
// (day has its own test) partition and prune the same way.
func TestIcebergHiddenPartitionTransforms(t *testing.T) {
	d := func(y int, m time.Month, day, h int) time.Time { return time.Date(y, m, day, h, 30, 0, 0, time.UTC) }
	checkTransform(t, "hour", func(at time.Time, n int64) readingHour { return readingHour{at, n} },
		[]time.Time{d(2026, 1, 1, 1), d(2026, 1, 1, 2), d(2026, 1, 1, 3)}, "2026-01-01-02")
	checkTransform(t, "month", func(at time.Time, n int64) readingMonth { return readingMonth{at, n} },
		[]time.Time{d(2026, 1, 5, 0), d(2026, 2, 5, 0), d(2026, 3, 5, 0)}, "2026-02")
	checkTransform(t, "year", func(at time.Time, n int64) readingYear { return readingYear{at, n} },
		[]time.Time{d(2024, 6, 1, 0), d(2025, 6, 1, 0), d(2026, 6, 1, 0)}, "2025")

	type notTime struct {
		N int64 `parquet:"n" lakekit:"partition,day"`
	}
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iceberg.Open[notTime](context.Background(), cat, []string{"c", "x"}, nil); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("day transform on an int64: %v, want ErrInvalid", err)
	}
	type noPartition struct {
		At time.Time `parquet:"at" lakekit:"day"`
	}
	if _, err := iceberg.Open[noPartition](context.Background(), cat, []string{"c", "y"}, nil); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("day without partition: %v, want ErrInvalid", err)
	}
}
