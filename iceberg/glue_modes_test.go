package iceberg_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
)

// s3DataFiles lists the objects under the table's data/ prefix in S3.
func s3DataFiles(ctx context.Context, t *testing.T, cfg aws.Config) []string {
	t.Helper()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	var out []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("curated/events/data/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, "s3://lake/"+aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// TestIcebergGlueModesOnMoto: on S3 + Glue (moto) OverwritePartitions,
// Merge and Vacuum do what they do on files: iceberg-go's scan reads
// exactly the expected rows after each; Glue's metadata_location follows
// every commit; Vacuum expires the old snapshots (time travel to them is
// ErrNoSnapshot), deletes the data files only they referenced and an
// orphan a crashed writer left in S3, and leaves exactly the referenced
// files under data/.
func TestIcebergGlueModesOnMoto(t *testing.T) {
	ctx := context.Background()
	cfg, _, tbl := glueLake(t)
	gc := glue.NewFromConfig(cfg)
	glueLocation := func() string {
		out, err := gc.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("curated"), Name: aws.String("events")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Table.Parameters["metadata_location"]
	}
	base := events(0, 30, "d1", "d2", "d3")
	c1, err := tbl.Append(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	repl := append(events(100, 4, "d2"), events(200, 2, "d4")...)
	c2, err := tbl.OverwritePartitions(ctx, repl)
	if err != nil {
		t.Fatal(err)
	}
	afterOverwrite := sortByID(append(onDays(base, "d1", "d3"), repl...))
	if glueLocation() != c2.MetadataLocation {
		t.Errorf("Glue metadata_location %q, want the overwrite's %q", glueLocation(), c2.MetadataLocation)
	}
	changes := []Event{withName(afterOverwrite[0], "merged"), withName(repl[0], "DELETE"), events(300, 1, "d5")[0]}
	m, err := tbl.Merge(ctx, changes, eventKey, eventDeleted)
	if err != nil {
		t.Fatal(err)
	}
	afterMerge := applyChanges(afterOverwrite, changes)
	if diff := cmp.Diff(afterMerge, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after merge (-want +got):\n%s", diff)
	}
	if glueLocation() != m.MetadataLocation {
		t.Errorf("Glue metadata_location %q, want the merge's %q", glueLocation(), m.MetadataLocation)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c1.SnapshotID: base, c2.SnapshotID: afterOverwrite, m.SnapshotID: afterMerge})

	// A crashed writer's file: in data/, referenced by no snapshot.
	orphan := "curated/events/data/day=d1/crashed-writer.parquet"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(orphan), Body: strings.NewReader("PAR1")}); err != nil {
		t.Fatal(err)
	}
	res, err := tbl.Vacuum(ctx, &iceberg.VacuumOptions{OrphanAge: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 2 || len(res.Orphans) != 1 || !strings.HasSuffix(res.Orphans[0], orphan) {
		t.Errorf("vacuum %+v, want 2 snapshots expired and the one orphan deleted", res)
	}
	if _, err := tbl.Read(ctx, &iceberg.ReadOptions{SnapshotID: c1.SnapshotID}); !errors.Is(err, iceberg.ErrNoSnapshot) {
		t.Errorf("time travel to an expired snapshot: %v, want ErrNoSnapshot", err)
	}
	if diff := cmp.Diff(afterMerge, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after vacuum (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{m.SnapshotID: afterMerge})
	plan, err := tbl.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(plan.Files)
	if diff := cmp.Diff(plan.Files, s3DataFiles(ctx, t, cfg)); diff != "" {
		t.Errorf("objects under data/ after vacuum (-referenced +S3):\n%s", diff)
	}
}

// TestIcebergGlueOverwritePartitionsConcurrent: 4 writers overwrite one
// partition at once through Glue (UpdateTable on VersionId): each
// succeeds or gets ErrConflict, at least one succeeds, and the partition
// holds exactly one successful writer's rows.
func TestIcebergGlueOverwritePartitionsConcurrent(t *testing.T) {
	ctx := context.Background()
	_, cat, tbl := glueLake(t)
	if _, err := tbl.Append(ctx, events(0, 4, "keep", "hot")); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		rows []Event
		err  error
	}
	const writers = 4
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
	t.Logf("Glue: %d writers overwrote one partition at once: %d succeeded, %d got ErrConflict", writers, len(winners), writers-len(winners))
}

// TestIcebergGlueSchemaEvolution: evolving a Glue table (rename, widen,
// add, drop) commits through Glue; both readers read the old rows under
// the new schema after a new snapshot.
func TestIcebergGlueSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	_, cat, _ := glueLake(t)
	ident := []string{"curated", "people"}
	opts := &iceberg.Options{Location: "s3://lake/curated/people"}
	v1, err := iceberg.Open[personV1](ctx, cat, ident, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.Append(ctx, []personV1{{1, "ann", 1.5, "x", "red"}}); err != nil {
		t.Fatal(err)
	}
	v2, err := iceberg.Open[personV2](ctx, cat, ident, &iceberg.Options{Location: opts.Location, Evolve: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]personV2{{1, "ann", 1.5, nil, 0, "red"}}, got); diff != "" {
		t.Errorf("read after evolution on Glue (-want +got):\n%s", diff)
	}
	if _, err := v2.Append(ctx, []personV2{{2, "bo", 2, nil, 7, "blue"}}); err != nil {
		t.Fatal(err)
	}
	it, err := v2.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"age=7 email=null full_name=bo id=2 score=2 team=blue", "age=null email=null full_name=ann id=1 score=1.5 team=red"},
		sortedCols(scanColumns(v2.Context(ctx), t, it, it.CurrentSnapshot().SnapshotID))); diff != "" {
		t.Errorf("iceberg-go scan after evolution on Glue (-want +got):\n%s", diff)
	}
	if _, err := iceberg.Open[personV1](ctx, cat, ident, &iceberg.Options{Evolve: true}); !errors.Is(err, iceberg.ErrSchemaMismatch) {
		t.Errorf("evolving back long→int on Glue: %v, want ErrSchemaMismatch", err)
	}
}
