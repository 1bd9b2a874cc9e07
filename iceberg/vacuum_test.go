package iceberg_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/utils"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/iceberg"
)

// TestIcebergVacuumLocal: Vacuum expires the snapshots beyond RetainLast
// with iceberg-go's expire-snapshots update: time travel to them is
// ErrNoSnapshot saying they were expired, the current snapshot and the
// kept ones still read; once an overwrite left the old data files only
// in expired snapshots, Vacuum deletes them (and the expired snapshots'
// manifest lists) from disk while the table still reads, by this package
// and by iceberg-go's scan.
func TestIcebergVacuumLocal(t *testing.T) {
	ctx := context.Background()
	_, tbl := openLocal(t)
	var all []Event
	var commits []*iceberg.Commit
	for i := 0; i < 5; i++ {
		rows := events(i*10, 10, "a", "b")
		c, err := tbl.Append(ctx, rows)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
		commits = append(commits, c)
	}
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldList := strings.TrimPrefix(it.SnapshotByID(commits[0].SnapshotID).ManifestList, "file://")
	res, err := tbl.Vacuum(ctx, &iceberg.VacuumOptions{RetainLast: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantExpired := []int64{commits[0].SnapshotID, commits[1].SnapshotID, commits[2].SnapshotID}
	if diff := cmp.Diff(wantExpired, res.Expired); diff != "" {
		t.Errorf("expired (-want +got):\n%s", diff)
	}
	_, err = tbl.Read(ctx, &iceberg.ReadOptions{SnapshotID: commits[0].SnapshotID})
	if !errors.Is(err, iceberg.ErrNoSnapshot) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("time travel to an expired snapshot: %v, want ErrNoSnapshot saying it was expired", err)
	}
	if _, err := os.Stat(oldList); !os.IsNotExist(err) {
		t.Errorf("manifest list %s of an expired snapshot: %v, want deleted", oldList, err)
	}
	if diff := cmp.Diff(sortByID(all), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("current snapshot after expiry (-want +got):\n%s", diff)
	}
	if got := mustRead(t, tbl, &iceberg.ReadOptions{SnapshotID: commits[3].SnapshotID}); len(got) != 40 {
		t.Errorf("kept snapshot %d reads %d rows, want 40", commits[3].SnapshotID, len(got))
	}

	before := planFiles(t, tbl, nil)
	repl := events(900, 3, "z")
	c, err := tbl.Overwrite(ctx, repl)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = tbl.Vacuum(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 2 {
		t.Errorf("default vacuum expired %v, want the 2 snapshots before the current", res.Expired)
	}
	for _, f := range before {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("data file %s, referenced only by expired snapshots: %v, want deleted", f, err)
		}
	}
	if diff := cmp.Diff(repl, mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("current snapshot after vacuum (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c.SnapshotID: repl})
	if it, err = tbl.Iceberg(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(referencedFiles(ctx, t, it), dataFiles(t, it)); diff != "" {
		t.Errorf("data files on disk after vacuum (-referenced +disk):\n%s", diff)
	}
	if _, err := tbl.Vacuum(ctx, &iceberg.VacuumOptions{RetainLast: -1}); !errors.Is(err, iceberg.ErrInvalid) {
		t.Errorf("vacuum with RetainLast -1: %v, want ErrInvalid", err)
	}
	// OlderThan keeps young snapshots beyond RetainLast.
	if _, err := tbl.Append(ctx, events(950, 2, "z")); err != nil {
		t.Fatal(err)
	}
	if res, err = tbl.Vacuum(ctx, &iceberg.VacuumOptions{OlderThan: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 0 {
		t.Errorf("vacuum of snapshots younger than OlderThan expired %v", res.Expired)
	}
}

// crashCatalog kills the process (exit code 7) when a commit reaches the
// catalog: a writer that dies after writing its data files, before the
// catalog commit.
type crashCatalog struct{ catalog.Catalog }

func (c *crashCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	t, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return table.New(t.Identifier(), t.Metadata(), t.MetadataLocation(), t.FS, c), nil
}

func (c *crashCatalog) CommitTable(context.Context, table.Identifier, []table.Requirement, []table.Update) (table.Metadata, string, error) {
	os.Exit(7)
	return nil, "", nil
}

const crashDirEnv = "LAKEKIT_ICEBERG_CRASH_DIR"

// TestIcebergCrashBeforeCommit: a writer process killed between writing
// its data files and the catalog commit leaves nothing visible (this
// package's reader and iceberg-go's scan read only the committed rows);
// its data files stay on disk as orphans, which Vacuum keeps while they
// are younger than OrphanAge (they could be a live writer's) and deletes
// once older, the table still reading the same.
func TestIcebergCrashBeforeCommit(t *testing.T) {
	ctx := context.Background()
	if dir := os.Getenv(crashDirEnv); dir != "" {
		cat, err := iceberg.LocalCatalog(dir)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := iceberg.Open[Event](ctx, &crashCatalog{cat}, []string{"curated", "events"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tbl.Append(ctx, events(100, 20, "a", "b", "c"))
		t.Fatalf("the append returned (%v): the crash catalog should have ended the process", err)
	}
	dir := t.TempDir()
	cat, err := iceberg.LocalCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := iceberg.Open[Event](ctx, cat, []string{"curated", "events"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	committed := events(0, 10, "a", "b")
	c, err := tbl.Append(ctx, committed)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIcebergCrashBeforeCommit$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("crashing writer: %v, want exit code 7; output:\n%s", err, out)
	}
	if diff := cmp.Diff(sortByID(committed), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the crashed writer (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c.SnapshotID: committed})
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if it.CurrentSnapshot().SnapshotID != c.SnapshotID || len(it.Metadata().Snapshots()) != 1 {
		t.Errorf("the crashed writer moved the table: current %d, %d snapshots", it.CurrentSnapshot().SnapshotID, len(it.Metadata().Snapshots()))
	}
	referenced := referencedFiles(ctx, t, it)
	orphans := without(dataFiles(t, it), referenced)
	if len(orphans) != 3 {
		t.Fatalf("%d unreferenced data files after the crash, want the crashed writer's 3: %v", len(orphans), orphans)
	}
	res, err := tbl.Vacuum(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Orphans) != 0 {
		t.Errorf("vacuum deleted fresh orphans %v inside the default safety window", res.Orphans)
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, f := range orphans {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if res, err = tbl.Vacuum(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, f := range res.Orphans {
		deleted = append(deleted, strings.TrimPrefix(f, "file://"))
	}
	if diff := cmp.Diff(orphans, deleted); diff != "" {
		t.Errorf("orphans vacuum deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(referenced, dataFiles(t, it)); diff != "" {
		t.Errorf("data files on disk after vacuum (-referenced +disk):\n%s", diff)
	}
	if diff := cmp.Diff(sortByID(committed), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after vacuum (-want +got):\n%s", diff)
	}
}

func without(all, drop []string) []string {
	var out []string
	for _, f := range all {
		found := false
		for _, d := range drop {
			found = found || f == d
		}
		if !found {
			out = append(out, f)
		}
	}
	return out
}

const glueCrashEnv = "LAKEKIT_ICEBERG_GLUE_CRASH"

// TestIcebergCrashBeforeCommitGlue is TestIcebergCrashBeforeCommit on S3
// + Glue (moto): a writer process killed between writing its data files
// to S3 and the Glue commit leaves the table as it was (this package's
// reader and iceberg-go's scan read only the committed rows; Glue's
// metadata_location is unchanged); its data files stay in S3 as orphans,
// which Vacuum keeps while younger than OrphanAge and then deletes, and
// exactly those.
func TestIcebergCrashBeforeCommitGlue(t *testing.T) {
	ctx := context.Background()
	if env := os.Getenv(glueCrashEnv); env != "" {
		glueURL, s3URL, _ := strings.Cut(env, " ")
		cfg, _, tbl := openGlueLake(t, glueURL, s3URL, func(c catalog.Catalog) catalog.Catalog { return &crashCatalog{c} })
		// The wrapper hides the Glue catalog's own hand-over of cfg to
		// iceberg-go's S3 file IO; the context carries it instead.
		_, err := tbl.Append(utils.WithAwsConfig(ctx, &cfg), events(100, 20, "a", "b", "c"))
		t.Fatalf("the append returned (%v): the crash catalog should have ended the process", err)
	}
	glueURL, s3URL := startGlueLake(t)
	cfg, _, tbl := openGlueLake(t, glueURL, s3URL, nil)
	committed := events(0, 10, "a", "b")
	c, err := tbl.Append(ctx, committed)
	if err != nil {
		t.Fatal(err)
	}
	before := s3DataFiles(ctx, t, cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestIcebergCrashBeforeCommitGlue$", "-test.count=1")
	cmd.Env = append(os.Environ(), glueCrashEnv+"="+glueURL+" "+s3URL)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("crashing writer: %v, want exit code 7; output:\n%s", err, out)
	}
	out2, err := glue.NewFromConfig(cfg).GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("curated"), Name: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if got := out2.Table.Parameters["metadata_location"]; got != c.MetadataLocation {
		t.Errorf("Glue metadata_location after the crash = %q, want the last commit's %q", got, c.MetadataLocation)
	}
	if diff := cmp.Diff(sortByID(committed), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after the crashed writer (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c.SnapshotID: committed})
	it, err := tbl.Iceberg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if it.CurrentSnapshot().SnapshotID != c.SnapshotID || len(it.Metadata().Snapshots()) != 1 {
		t.Errorf("the crashed writer moved the table: current %d, %d snapshots", it.CurrentSnapshot().SnapshotID, len(it.Metadata().Snapshots()))
	}
	orphans := without(s3DataFiles(ctx, t, cfg), before)
	if len(orphans) != 3 {
		t.Fatalf("%d new data files in S3 after the crash, want the crashed writer's 3: %v", len(orphans), orphans)
	}
	res, err := tbl.Vacuum(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Orphans) != 0 {
		t.Errorf("vacuum deleted fresh orphans %v inside the default safety window", res.Orphans)
	}
	// S3 has no utime: the orphans age past a 1 ns OrphanAge instead.
	if res, err = tbl.Vacuum(ctx, &iceberg.VacuumOptions{OrphanAge: 1}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(orphans, res.Orphans); diff != "" {
		t.Errorf("orphans vacuum deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, s3DataFiles(ctx, t, cfg)); diff != "" {
		t.Errorf("data files in S3 after vacuum (-committed +S3):\n%s", diff)
	}
	if diff := cmp.Diff(sortByID(committed), mustRead(t, tbl, nil)); diff != "" {
		t.Errorf("after vacuum (-want +got):\n%s", diff)
	}
	checkIndependentRead(t, tbl, map[int64][]Event{c.SnapshotID: committed})
}
