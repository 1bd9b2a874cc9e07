package iceberg_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	ice "github.com/apache/iceberg-go"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
)

func eventKey(e Event) string          { return fmt.Sprint(e.ID) }
func eventDeleted(e Event) bool        { return e.Name == "DELETE" }
func withName(e Event, n string) Event { e.Name = n; return e }

// applyChanges is the reference: rows after upserting and deleting
// changes by ID, the last change of a key winning.
func applyChanges(rows, changes []Event) []Event {
	byID := map[int64]Event{}
	for _, e := range rows {
		byID[e.ID] = e
	}
	for _, c := range changes {
		if eventDeleted(c) {
			delete(byID, c.ID)
		} else {
			byID[c.ID] = c
		}
	}
	var out []Event
	for _, e := range byID {
		out = append(out, e)
	}
	return sortByID(out)
}

// TestIcebergMergeLocal: a CDC merge of updates, deletes, inserts and a
// key changed twice (the last change wins) rewrites only the data files
// holding touched keys, in one "overwrite" snapshot; the untouched files
// stay; the rows equal the reference, by this package's reader and by
// iceberg-go's own scan; deleting absent keys commits nothing.
func TestIcebergMergeLocal(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	// three days, one file each per append: 6 files
	base := events(0, 30, "a", "b", "c")
	c1, err := tbl.Append(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	more := events(30, 30, "a", "b", "c")
	if _, err := tbl.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	all := sortByID(append(append([]Event(nil), base...), more...))
	before := planFiles(t, tbl, nil)
	if len(before) != 6 {
		t.Fatalf("%d files before the merge, want 6", len(before))
	}
	// IDs 0..29 are in the first append's files; id%3 is the day.
	changes := []Event{
		withName(all[3], "updated-3"),              // day a, first append
		withName(all[6], "DELETE"),                 // day a, first append
		withName(all[9], "first"),                  // day a, first append: changed twice
		withName(all[9], "second"),                 //   the last wins
		events(500, 1, "z")[0],                     // insert, new day
		withName(events(600, 1, "a")[0], "DELETE"), // delete of an absent key
	}
	res, err := tbl.Merge(ctx, changes, eventKey, eventDeleted)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 1 || res.Updated != 2 || res.Deleted != 1 || res.Rewritten != 1 {
		t.Errorf("merge result %+v, want 1 inserted, 2 updated, 1 deleted, 1 file rewritten", res)
	}
	want := applyChanges(all, changes)
	if diff := cmp.Diff(want, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the merge (-want +got):\n%s", diff)
	}
	after := planFiles(t, tbl, nil)
	kept := 0
	for _, f := range before {
		for _, g := range after {
			if f == g {
				kept++
			}
		}
	}
	if kept != 5 {
		t.Errorf("%d of the 6 files kept, want 5 (only the file of day a of the first append rewritten)", kept)
	}
	snaps, err := tbl.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 || snaps[2].Operation != "overwrite" || snaps[2].ID != res.SnapshotID {
		t.Errorf("snapshots %+v, want append, append, one overwrite", snaps)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c1.SnapshotID: base, res.SnapshotID: want})
	raw, err := os.ReadFile(strings.TrimPrefix(res.MetadataLocation, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	checkMetadataV2(t, raw, res.SnapshotID, 3)

	none, err := tbl.Merge(ctx, []Event{withName(events(700, 1, "a")[0], "DELETE")}, eventKey, eventDeleted)
	if err != nil {
		t.Fatal(err)
	}
	if none.Commit != nil {
		t.Errorf("merge deleting only an absent key committed %+v", none.Commit)
	}
	if _, err := tbl.Merge(ctx, nil, eventKey, eventDeleted); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("merge of no changes: %v, want ErrInvalid", err)
	}
}

// TestIcebergMergeRace: when another writer commits between a merge's
// planning and its commit, the merge is planned again on the new
// snapshot: rows the other writer appended meanwhile are kept, and a key
// of theirs that the merge updates is updated (not duplicated).
func TestIcebergMergeRace(t *testing.T) {
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
	base := events(0, 6, "a", "b")
	if _, err := other.Append(ctx, base); err != nil {
		t.Fatal(err)
	}
	theirs := events(40, 2, "b")
	race.before = func() {
		if _, err := other.Append(ctx, theirs); err != nil {
			t.Error(err)
		}
	}
	changes := []Event{withName(theirs[0], "merged-40"), withName(base[1], "DELETE")}
	res, err := tbl.Merge(ctx, changes, eventKey, eventDeleted)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.Updated != 1 || res.Deleted != 1 {
		t.Errorf("merge that lost a race: %+v, want 2 attempts, 1 updated (their row), 1 deleted", res)
	}
	want := applyChanges(append(append([]Event(nil), base...), theirs...), changes)
	if diff := cmp.Diff(want, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the raced merge (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{res.SnapshotID: want})
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(referencedFiles(ctx, t, it), dataFiles(t, it)); diff != "" {
		t.Errorf("files of the abandoned first attempt left on disk (-referenced by a snapshot +disk):\n%s", diff)
	}
}

// TestIcebergMergeRefusesDeleteFiles: a table whose snapshot has position
// delete files (here from iceberg-go's merge-on-read Delete, as Athena's
// DELETE writes them) is not merged: rewriting its data files without
// applying the deletes would bring the deleted rows back. ErrInvalid, and
// nothing is committed.
func TestIcebergMergeRefusesDeleteFiles(t *testing.T) {
	ctx := context.Background()
	cat, err := iceberg.LocalCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := iceberg.Open[Event](ctx, cat, []string{"curated", "events"},
		&iceberg.Options{Properties: map[string]string{"write.delete.mode": "merge-on-read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Append(ctx, events(0, 6, "a")); err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := it.NewTransaction()
	if err := tx.Delete(ctx, ice.EqualTo(ice.Reference("id"), int64(2)), nil); err != nil {
		t.Fatal(err)
	}
	if it, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tasks, err := it.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || len(tasks[0].DeleteFiles)+len(tasks[0].DeletionVectorFiles) == 0 {
		t.Fatalf("iceberg-go's merge-on-read delete wrote no delete file: %d tasks", len(tasks))
	}
	loc := it.MetadataLocation()
	_, err = tbl.Merge(ctx, []Event{withName(events(3, 1, "a")[0], "x")}, eventKey, eventDeleted)
	if !errors.Is(err, iceberg.ErrInvalid) || !strings.Contains(err.Error(), "delete files") {
		t.Errorf("merge over delete files: %v, want ErrInvalid about delete files", err)
	}
	if it, err = tbl.Iceberg(ctx); err != nil || it.MetadataLocation() != loc {
		t.Errorf("the refused merge committed: %v", err)
	}
}
