package transform

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

type kv struct {
	K string `parquet:"k"`
	V int64  `parquet:"v"`
}

// fakeCommit answers Commit with a fixed outcome.
type fakeCommit struct {
	res *zones.CommitResult
	err error
}

func (f fakeCommit) Commit(context.Context) (*zones.CommitResult, error) { return f.res, f.err }

// TestCommitWriterOutcomes: commitWriter reads every outcome of a zones
// commit the documented way, and never loses an error.
func TestCommitWriterOutcomes(t *testing.T) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := zones.NewDataset[kv](lk, lake.Curated, "db", "kv", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ds.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: "unit-a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []kv{{"a", 1}, {"b", 2}}); err != nil {
		t.Fatal(err)
	}
	c, err := commitWriter(ctx, w, ds.Table(), "unit-a")
	if err != nil || c.version != 1 || c.rows != 2 || c.duplicate || c.catalogErr != nil {
		t.Fatalf("plain commit: %+v %v", c, err)
	}

	catErr := fmt.Errorf("zones: publishing failed: %w", zones.ErrCatalog)
	c, err = commitWriter(ctx, fakeCommit{&zones.CommitResult{Version: 7, Rows: 3}, catErr}, ds.Table(), "k")
	if err != nil || c.version != 7 || !errors.Is(c.catalogErr, zones.ErrCatalog) {
		t.Fatalf("committed with ErrCatalog: %+v %v, want committed carrying the catalog error", c, err)
	}

	unknown := func(key string) error {
		return &zones.CommitUnknownError{Table: "db/kv", Key: key, Version: 1, Err: errors.New("timeout")}
	}
	c, err = commitWriter(ctx, fakeCommit{nil, unknown("unit-a")}, ds.Table(), "unit-a")
	if err != nil || c.version != 1 || c.rows != 2 || c.duplicate {
		t.Fatalf("unknown outcome of a key that is in the log: %+v %v, want committed at version 1", c, err)
	}
	c, err = commitWriter(ctx, fakeCommit{nil, unknown("unit-b")}, ds.Table(), "unit-b")
	var cue *zones.CommitUnknownError
	if c != nil || !errors.Is(err, zones.ErrCommitUnknown) || !errors.As(err, &cue) || cue.Key != "unit-b" {
		t.Fatalf("unknown outcome of a key not in the log: %+v %v, want ErrCommitUnknown with the key", c, err)
	}

	reused := fmt.Errorf("zones: key committed with other data: %w", zones.ErrConflict)
	c, err = commitWriter(ctx, fakeCommit{nil, reused}, ds.Table(), "unit-a")
	if err != nil || c.version != 1 || !c.duplicate {
		t.Fatalf("a key committed with other data: %+v %v, want the earlier commit as a duplicate", c, err)
	}
	c, err = commitWriter(ctx, fakeCommit{nil, reused}, ds.Table(), "unit-c")
	if c != nil || !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("a conflict without the key in the log: %+v %v, want ErrConflict", c, err)
	}
	plain := errors.New("disk full")
	if c, err = commitWriter(ctx, fakeCommit{nil, plain}, ds.Table(), "unit-a"); c != nil || !errors.Is(err, plain) {
		t.Fatalf("not committed: %+v %v", c, err)
	}
}

// TestUnitKeyDeterministic: the idempotency key of a unit is a function of
// the transform, the epoch, the unit and its exact inputs (in any order),
// which is what makes a rerun after zones.ErrCommitUnknown safe; the
// counts, filled in at the commit, do not change it.
func TestUnitKeyDeterministic(t *testing.T) {
	in := []InputFile{{Key: "a", Size: 1, ETag: "x"}, {Key: "b", Size: 2, ETag: "y"}}
	e := LedgerEntry{Transform: "t", Epoch: 1, Unit: "files:abc", Inputs: in}
	same := LedgerEntry{Transform: "t", Epoch: 1, Unit: "files:abc", Inputs: []InputFile{in[1], in[0]}, RowsIn: 9, RowsOut: 8, Rejected: 1}
	if e.idempotencyKey() != same.idempotencyKey() {
		t.Fatal("the key depends on the order of the inputs or on the counts")
	}
	for _, other := range []LedgerEntry{
		{Transform: "t", Epoch: 2, Unit: "files:abc", Inputs: in},
		{Transform: "t", Epoch: 1, Unit: "files:abd", Inputs: in},
		{Transform: "t", Epoch: 1, Unit: "files:abc", Inputs: []InputFile{in[0], {Key: "b", Size: 2, ETag: "z"}}},
		{Transform: "u", Epoch: 1, Unit: "files:abc", Inputs: in},
	} {
		if other.idempotencyKey() == e.idempotencyKey() {
			t.Fatalf("%+v has the key of %+v", other, e)
		}
	}
}
