package orchestrate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
)

func memRunner(t *testing.T) (*Runner, *lake.Store) {
	t.Helper()
	lk, err := lake.New(lake.NewStore(memstore.New()), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(lk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, r.runs.store
}

// TestRunRecordIsOneLog: a run's record is an objlog state log; once the
// run ends only its last version is kept, and LoadRun/Runs read it.
func TestRunRecordIsOneLog(t *testing.T) {
	ctx := context.Background()
	r, _ := memRunner(t)
	p := New("p", GoStep("a", nop), GoStep("b", nop).After("a"))
	run, err := r.Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.runs.log("p", run.ID).Versions(ctx)
	if err != nil || len(vs) != 1 || vs[0] < 3 {
		t.Fatalf("versions of a finished run: %v %v; want only the last of at least 3 saves", vs, err)
	}
	got, err := r.LoadRun(ctx, "p", run.ID)
	if err != nil || got.State != StateSucceeded || got.Steps["b"].State != StateSucceeded {
		t.Fatalf("LoadRun = %+v %v", got, err)
	}
	ids, err := r.Runs(ctx, "p")
	if err != nil || len(ids) != 1 || ids[0] != run.ID {
		t.Fatalf("Runs = %v %v", ids, err)
	}
	if _, err := r.LoadRun(ctx, "p", "nope"); !errors.Is(err, ErrNoSuchRun) {
		t.Fatalf("LoadRun of an unknown run: %v", err)
	}
}

// TestRunRecordCorrupt: a saved record that is lost or does not decode is
// lake.ErrCorrupt naming it — never an older record, never ErrNoSuchRun.
func TestRunRecordCorrupt(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"lost", "undecodable"} {
		r, s := memRunner(t)
		run, err := r.Run(ctx, New("p", GoStep("a", nop)), nil)
		if err != nil {
			t.Fatal(err)
		}
		log := r.runs.log("p", run.ID)
		v, err := log.Hint(ctx)
		if err != nil || v == 0 {
			t.Fatalf("hint %d %v", v, err)
		}
		if how == "lost" {
			err = s.Delete(ctx, log.Key(v))
		} else {
			err = s.PutBytes(ctx, log.Key(v), []byte(`{"version":`), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.LoadRun(ctx, "p", run.ID)
		if !errors.Is(err, lake.ErrCorrupt) || !strings.Contains(err.Error(), log.Key(v)) || errors.Is(err, ErrNoSuchRun) {
			t.Fatalf("%s record: LoadRun = %v; want ErrCorrupt naming %s", how, err, log.Key(v))
		}
		if _, err := r.Resume(ctx, New("p", GoStep("a", nop)), run.ID); !errors.Is(err, lake.ErrCorrupt) {
			t.Fatalf("%s record: Resume = %v; want ErrCorrupt", how, err)
		}
	}
}

// TestRunRecordTwoWriters: two executions saving the same run (a Resume in
// two processes) cannot overwrite each other: the second save of a version
// fails with lake.ErrExists. A recorder that finds its own earlier save
// (an answer lost after the write landed) goes on after it.
func TestRunRecordTwoWriters(t *testing.T) {
	ctx := context.Background()
	r, _ := memRunner(t)
	var mu sync.Mutex
	run := &Run{ID: "r1", Pipeline: "p", State: StateRunning, Steps: map[string]*StepRun{}}
	a, b := newRecorder(r.runs, 0), newRecorder(r.runs, 0)
	if err := a.save(ctx, run, &mu); err != nil {
		t.Fatal(err)
	}
	if err := b.save(ctx, run, &mu); !errors.Is(err, lake.ErrExists) {
		t.Fatalf("a second writer's save of version 1: %v; want lake.ErrExists", err)
	}
	// a's save of version 2 landed but its answer was lost: a.version is
	// still 1
	lost := newRecorder(r.runs, 1)
	lost.writer = a.writer
	if err := lost.save(ctx, run, &mu); err != nil {
		t.Fatal(err)
	}
	run.State = StateSucceeded
	if err := a.save(ctx, run, &mu); err != nil || a.version != 3 {
		t.Fatalf("save after its own landed version: version %d, %v; want 3", a.version, err)
	}
	got, v, err := r.runs.load(ctx, "p", "r1")
	if err != nil || v != 3 || got.State != StateSucceeded {
		t.Fatalf("load = %+v %d %v", got, v, err)
	}
}
