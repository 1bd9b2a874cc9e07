package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/internal/objlog"
	"github.com/lakekit/lakekit/lake"
)

// corruptFixture is a file catalog with table db.t, updated `updates`
// times, and `batches` AddPartitions calls of one partition each.
func corruptFixture(t *testing.T, updates, batches int) (*catalog.Local, *lake.Store) {
	t.Helper()
	ctx := context.Background()
	c := fileCatalog(t)
	var s *lake.Store
	if !c.As(&s) {
		t.Fatal("Local.As(**lake.Store) = false")
	}
	if err := c.CreateDatabase(ctx, catalog.Database{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	tb := &catalog.Table{Database: "db", Name: "t", Schema: catalog.Schema{
		Columns: []catalog.Column{{Name: "id", Type: "bigint"}}, PartitionKeys: []catalog.Column{{Name: "n", Type: "int"}}}}
	if err := c.CreateTable(ctx, tb); err != nil {
		t.Fatal(err)
	}
	for i := range updates {
		tb.Description = fmt.Sprint("update ", i)
		if err := c.UpdateTable(ctx, tb, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range batches {
		if err := c.AddPartitions(ctx, "db", "t", []catalog.Partition{{Values: []string{fmt.Sprint(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	return c, s
}

// partPrefix is the partition log's folder of db.t (one incarnation).
func partPrefix(t *testing.T, s *lake.Store) string {
	t.Helper()
	ents, err := s.ListAll(context.Background(), "tables/db/t/p/", &lake.ListOptions{Delimiter: "/"})
	if err != nil || len(ents) != 1 || !ents[0].IsDir {
		t.Fatalf("partition folders of db.t: %v %v", ents, err)
	}
	return strings.TrimSuffix(ents[0].Key, "/")
}

// reopen is a new catalog over the same store: nothing cached.
func reopen(s *lake.Store) *catalog.Local { return catalog.NewLocal(s) }

func countPartitions(c *catalog.Local) (int, error) {
	n := 0
	for _, err := range c.Partitions(context.Background(), "db", "t", "") {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func wantCorrupt(t *testing.T, what string, err error, key string) {
	t.Helper()
	if !errors.Is(err, catalog.ErrCorrupt) || !strings.Contains(err.Error(), key) {
		t.Fatalf("%s: err = %v; want ErrCorrupt naming %s", what, err, key)
	}
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchVersion) {
		t.Fatalf("%s: damage reported as a missing table or version: %v", what, err)
	}
}

// TestLocalCorruptNewestVersionLost: losing the newest table version is
// ErrCorrupt naming it, for reads and writes alike — never the version
// before it.
func TestLocalCorruptNewestVersionLost(t *testing.T) {
	ctx := context.Background()
	_, s := corruptFixture(t, 3, 0)
	key := logcodec.CommitKey("tables/db/t", 4)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	c := reopen(s)
	_, err := c.GetTable(ctx, "db", "t")
	wantCorrupt(t, "GetTable", err, key)
	for _, err := range c.ListTables(ctx, "db") {
		if err != nil {
			wantCorrupt(t, "ListTables", err, key)
			break
		}
		t.Fatal("ListTables listed the table over a lost version")
	}
	err = c.UpdateTable(ctx, &catalog.Table{Database: "db", Name: "t", VersionID: "3-x", Schema: catalog.Schema{
		Columns: []catalog.Column{{Name: "id", Type: "bigint"}}, PartitionKeys: []catalog.Column{{Name: "n", Type: "int"}}}}, nil)
	wantCorrupt(t, "UpdateTable", err, key)
	if ok, _ := s.Exists(ctx, key); ok {
		t.Fatal("UpdateTable wrote over the lost version")
	}
}

// TestLocalCorruptVersionUndecodable: a newest version that does not
// decode, or claims another version, is ErrCorrupt naming it.
func TestLocalCorruptVersionUndecodable(t *testing.T) {
	ctx := context.Background()
	_, s := corruptFixture(t, 2, 0)
	key := logcodec.CommitKey("tables/db/t", 3)
	if err := s.PutBytes(ctx, key, []byte(`{"seq": 3, "table": `), nil); err != nil {
		t.Fatal(err)
	}
	_, err := reopen(s).GetTable(ctx, "db", "t")
	wantCorrupt(t, "truncated version", err, key)

	old, err := s.ReadAll(ctx, logcodec.CommitKey("tables/db/t", 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes(ctx, key, old, nil); err != nil {
		t.Fatal(err)
	}
	_, err = reopen(s).GetTable(ctx, "db", "t")
	wantCorrupt(t, "version 2's object stored as version 3", err, key)
}

// TestLocalCorruptLostHintIsNoDamage: the newest-version hint is only a
// hint: without it (or with a damaged one) the table reads the same.
func TestLocalCorruptLostHintIsNoDamage(t *testing.T) {
	ctx := context.Background()
	_, s := corruptFixture(t, 3, 0)
	hint := "tables/db/t/" + objlog.HintKey
	for _, damage := range []func() error{
		func() error { return s.Delete(ctx, hint) },
		func() error { return s.PutBytes(ctx, hint, []byte("not a number"), nil) },
		func() error { return s.PutBytes(ctx, hint, []byte("2"), nil) }, // behind
	} {
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		got, err := reopen(s).GetTable(ctx, "db", "t")
		if err != nil || got.Description != "update 2" {
			t.Fatalf("GetTable without a good hint: %+v %v", got, err)
		}
	}
}

// TestLocalCorruptPartitionEntryLost: a lost partition-log entry — in the
// middle or the newest — is ErrCorrupt naming it, never fewer partitions.
func TestLocalCorruptPartitionEntryLost(t *testing.T) {
	ctx := context.Background()
	for _, lost := range []int64{3, 5} {
		t.Run(fmt.Sprint("entry ", lost), func(t *testing.T) {
			_, s := corruptFixture(t, 0, 5)
			pl := objlog.New(s, partPrefix(t, s))
			if err := s.Delete(ctx, pl.Key(lost)); err != nil {
				t.Fatal(err)
			}
			c := reopen(s)
			n, err := countPartitions(c)
			wantCorrupt(t, fmt.Sprintf("Partitions (%d read)", n), err, pl.Key(lost))
			err = c.AddPartitions(ctx, "db", "t", []catalog.Partition{{Values: []string{"99"}}})
			wantCorrupt(t, "AddPartitions", err, pl.Key(lost))
		})
	}
}

// TestLocalCorruptPartitionEntryUndecodable: an entry that does not decode
// is ErrCorrupt naming it.
func TestLocalCorruptPartitionEntryUndecodable(t *testing.T) {
	ctx := context.Background()
	_, s := corruptFixture(t, 0, 4)
	pl := objlog.New(s, partPrefix(t, s))
	if err := s.PutBytes(ctx, pl.Key(2), []byte("{\"seq\":2,"), nil); err != nil {
		t.Fatal(err)
	}
	_, err := countPartitions(reopen(s))
	wantCorrupt(t, "Partitions", err, pl.Key(2))
}

// TestLocalCorruptCheckpointFallback: a damaged or lost partition
// checkpoint falls back to an older one and the log (same partitions), and
// the next change writes a good checkpoint.
func TestLocalCorruptCheckpointFallback(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"damaged", "lost"} {
		t.Run(how, func(t *testing.T) {
			_, s := corruptFixture(t, 0, 70) // checkpoints at 32 and 64
			prefix := partPrefix(t, s)
			cp64 := logcodec.CheckpointKey(prefix, 64)
			if ok, err := s.Exists(ctx, cp64); !ok || err != nil {
				t.Fatalf("no checkpoint at version 64: %v", err)
			}
			var err error
			if how == "damaged" {
				err = s.PutBytes(ctx, cp64, []byte("{\"seq\":64,\"parts\":["), nil)
			} else {
				err = s.Delete(ctx, cp64)
			}
			if err != nil {
				t.Fatal(err)
			}
			c := reopen(s)
			if n, err := countPartitions(c); err != nil || n != 70 {
				t.Fatalf("Partitions over a %s checkpoint: %d, %v; want 70", how, n, err)
			}
			if err := c.AddPartitions(ctx, "db", "t", []catalog.Partition{{Values: []string{"70"}}}); err != nil {
				t.Fatal(err)
			}
			if how == "damaged" {
				if ok, err := s.Exists(ctx, logcodec.CheckpointKey(prefix, 71)); !ok || err != nil {
					t.Fatalf("no good checkpoint written after the damaged one was skipped: %v", err)
				}
			}
			// every checkpoint gone: the log alone gives the same answer
			if err := s.DeleteMany(ctx, []string{logcodec.CheckpointKey(prefix, 32), cp64, logcodec.CheckpointKey(prefix, 71)}); err != nil {
				t.Fatal(err)
			}
			if n, err := countPartitions(reopen(s)); err != nil || n != 71 {
				t.Fatalf("Partitions from the log alone: %d, %v; want 71", n, err)
			}
		})
	}
}

// TestLocalCorruptDeletedTableHistory: DeleteTable drops the history below
// its tombstone; a table created again under the name reads cleanly, and
// losing its newest version is still reported.
func TestLocalCorruptDeletedTableHistory(t *testing.T) {
	ctx := context.Background()
	c, s := corruptFixture(t, 2, 3)
	if err := c.DeleteTable(ctx, "db", "t"); err != nil {
		t.Fatal(err)
	}
	vs, err := objlog.New(s, "tables/db/t").Versions(ctx)
	if err != nil || len(vs) != 1 || vs[0] != 4 {
		t.Fatalf("versions after DeleteTable: %v %v; want the tombstone 4 only", vs, err)
	}
	if _, err := reopen(s).GetTable(ctx, "db", "t"); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("GetTable of a deleted table: %v", err)
	}
	tb := &catalog.Table{Database: "db", Name: "t", Schema: catalog.Schema{Columns: []catalog.Column{{Name: "id", Type: "bigint"}}}}
	if err := reopen(s).CreateTable(ctx, tb); err != nil {
		t.Fatal(err)
	}
	if got, err := reopen(s).GetTable(ctx, "db", "t"); err != nil || got.VersionID != tb.VersionID || !strings.HasPrefix(got.VersionID, "5-") {
		t.Fatalf("re-created table: %+v %v", got, err)
	}
	if err := s.Delete(ctx, logcodec.CommitKey("tables/db/t", 5)); err != nil {
		t.Fatal(err)
	}
	_, err = reopen(s).GetTable(ctx, "db", "t")
	wantCorrupt(t, "GetTable", err, logcodec.CommitKey("tables/db/t", 5))
}
