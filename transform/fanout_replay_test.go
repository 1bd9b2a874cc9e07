package transform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// replayEnv is the fan-out test lake with a transform whose factor can
// change between runs, as the code of a transform changes before a
// backfill.
func replayEnv(t *testing.T, parts int) (*bfEnv, *atomic.Int64) {
	t.Helper()
	e := bfOpen(t, t.TempDir(), "", "", nil)
	e.bfSeed(t, parts)
	factor := &atomic.Int64{}
	factor.Store(2)
	tr, err := transform.New("replayed", transform.FromDataset(e.in),
		transform.Map(func(_ context.Context, r BfIn) (BfOut, error) {
			return BfOut{ID: r.ID, Double: factor.Load() * r.V, Part: r.Part}, nil
		}), e.out, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tr = tr
	if e.fo, err = transform.NewFanOut(tr); err != nil {
		t.Fatal(err)
	}
	return e, factor
}

// A replay over a range of partitions is one new table version: the
// partitions in the range hold the new code's rows, every row once, the
// others are untouched, and the ledger still counts every partition as
// done.
func TestFanOutBackfillReplayRange(t *testing.T) {
	ctx := context.Background()
	const parts = 40
	e, factor := replayEnv(t, parts)
	if _, err := e.fo.RunLocal(ctx, &transform.FanOutOptions{Workers: 4, BatchSize: 5}); err != nil {
		t.Fatal(err)
	}
	before := e.version(t)
	factor.Store(3)
	r := transform.ReplayRange{Key: "part", From: bfPart(10), To: bfPart(19)}
	res, err := e.fo.Replay(ctx, r, &transform.FanOutOptions{Workers: 4, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if after := e.version(t); after != before+1 || !slices.Equal(res.Versions, []int64{after}) {
		t.Fatalf("replay: versions %v, table at %d after %d; want one new version", res.Versions, after, before)
	}
	if res.Units != 10 || res.RowsOut != 10*bfRowsPerPart {
		t.Fatalf("replay: %d units, %d rows; want 10 units, %d rows", res.Units, res.RowsOut, 10*bfRowsPerPart)
	}
	rows, err := e.out.ReadAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != parts*bfRowsPerPart {
		t.Fatalf("output has %d rows after the replay, want %d", len(rows), parts*bfRowsPerPart)
	}
	seen := map[int64]bool{}
	for _, row := range rows {
		if seen[row.ID] {
			t.Fatalf("row %d is in the output twice", row.ID)
		}
		seen[row.ID] = true
		want := int64(2)
		if row.Part >= r.From && row.Part <= r.To {
			want = 3
		}
		if row.Double != want*(row.ID+1) {
			t.Fatalf("row %+v: want factor %d (replayed: %v)", row, want, want == 3)
		}
	}
	// nothing is pending afterwards, and the replay's commit step run
	// again finds its commit
	p, err := e.fo.Plan(ctx)
	if err != nil || p.Units != 0 {
		t.Fatalf("plan after the replay: %+v, %v; want 0 units", p, err)
	}
	ledger, err := e.tr.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, en := range ledger.Entries {
		done[en.Partition] = true
	}
	if len(done) != parts {
		t.Fatalf("ledger marks %d partitions, want %d", len(done), parts)
	}
}

// The replay's commit is refused when the output table moved on after
// the plan, and a second run of the commit step is the duplicate.
func TestFanOutBackfillReplayCommit(t *testing.T) {
	ctx := context.Background()
	e, _ := replayEnv(t, 12)
	if _, err := e.fo.RunLocal(ctx, nil); err != nil {
		t.Fatal(err)
	}
	r := transform.ReplayRange{Key: "part", To: bfPart(3)}
	p, err := e.fo.PlanReplay(ctx, r)
	if err != nil || p.Units != 4 || p.Replay == nil {
		t.Fatalf("replay plan: %+v, %v; want 4 units", p, err)
	}
	units, err := e.fo.Units(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fo.Work(ctx, units); err != nil {
		t.Fatal(err)
	}
	res, err := e.fo.Commit(ctx, p.ID, nil)
	if err != nil || len(res.Versions) != 1 {
		t.Fatalf("replay commit: %+v, %v", res, err)
	}
	again, err := e.fo.Commit(ctx, p.ID, nil)
	if err != nil || again.DuplicateCommits != 1 || !slices.Equal(again.Versions, res.Versions) {
		t.Fatalf("second commit of the replay: %+v, %v; want the duplicate", again, err)
	}

	// a plan overtaken by another commit of the output commits nothing
	p2, err := e.fo.PlanReplay(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if p2.ID == p.ID {
		t.Fatal("a replay of the same range on a newer version has the same plan id")
	}
	units, err = e.fo.Units(ctx, p2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fo.Work(ctx, units); err != nil {
		t.Fatal(err)
	}
	w, err := e.out.NewWriter(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []BfOut{{ID: -1, Part: "other"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	v := e.version(t)
	if _, err := e.fo.Commit(ctx, p2.ID, nil); !errors.Is(err, zones.ErrConflict) {
		t.Fatalf("commit of an overtaken replay: %v, want ErrConflict", err)
	}
	if e.version(t) != v {
		t.Fatal("the overtaken replay committed")
	}
}

// Bad ranges are refused, naming what is wrong; the job reads its range
// from the run's parameters.
func TestFanOutBackfillReplayRangeErrors(t *testing.T) {
	ctx := context.Background()
	e, _ := replayEnv(t, 3)
	for _, c := range []struct {
		r    transform.ReplayRange
		want string
	}{
		{transform.ReplayRange{From: "a"}, "no partition key"},
		{transform.ReplayRange{Key: "part", From: "z", To: "a"}, "from is after to"},
		{transform.ReplayRange{Key: "dt", From: "2024-01-01"}, `key "dt"`},
	} {
		_, err := e.fo.Replay(ctx, c.r, nil)
		if !errors.Is(err, transform.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("replay %+v: %v, want ErrInvalid saying %q", c.r, err, c.want)
		}
	}
	job, err := e.fo.ReplayJob(transform.ReplayRange{Key: "part"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := job.PlanRunParams(ctx, json.RawMessage(fmt.Sprintf(`{"replay":{"from":%q,"to":%q}}`, bfPart(1), bfPart(2))))
	if err != nil {
		t.Fatal(err)
	}
	var p transform.FanOutPlan
	if err := json.Unmarshal(out, &p); err != nil || p.Units != 2 || p.Replay == nil || p.Replay.Key != "part" || p.Replay.From != bfPart(1) {
		t.Fatalf("plan from parameters: %s (%v); want 2 units of part %s..%s", out, err, bfPart(1), bfPart(2))
	}
	if _, err := job.PlanRunParams(ctx, json.RawMessage(`[1]`)); !errors.Is(err, transform.ErrInvalid) {
		t.Fatalf("parameters not an object: %v", err)
	}
}
