package orchestrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/lakekit/lakekit/internal/objlog"
	"github.com/lakekit/lakekit/lake"
)

// runStore keeps the run history in the runner's system store. Each run is
// an internal/objlog state log under "<pipeline>/<run id>/": every save
// appends the whole run record as the next version (create-only, so two
// processes saving one run cannot silently overwrite each other), and the
// newest version is the record. When a run ends the versions before its
// last record are dropped.
type runStore struct {
	store *lake.Store
}

// runRecord is one stored version of a run: the Run, its version and the
// execution that wrote it (to recognise its own save after an unknown
// outcome).
type runRecord struct {
	Version int64  `json:"version"`
	Writer  string `json:"writer"`
	*Run
}

func (s runStore) log(pipeline, id string) *objlog.Log {
	return objlog.New(s.store, pipeline+"/"+id)
}

// load returns the newest record of a run and its version. A record that
// was saved but is lost or damaged is an error wrapping lake.ErrCorrupt
// naming it.
func (s runStore) load(ctx context.Context, pipeline, id string) (*Run, int64, error) {
	if id == "" || strings.Contains(id, "/") {
		return nil, 0, fmt.Errorf("%w: pipeline %q run %q", ErrNoSuchRun, pipeline, id)
	}
	rec := runRecord{Run: &Run{}}
	v, err := s.log(pipeline, id).Newest(ctx, &rec, func() int64 { return rec.Version })
	if err != nil {
		return nil, 0, fmt.Errorf("orchestrate: loading run %q: %w", id, err)
	}
	if v == 0 {
		return nil, 0, fmt.Errorf("%w: pipeline %q run %q", ErrNoSuchRun, pipeline, id)
	}
	if rec.Steps == nil {
		rec.Steps = map[string]*StepRun{}
	}
	return rec.Run, v, nil
}

// ids lists the ids of a pipeline's runs, oldest first.
func (s runStore) ids(ctx context.Context, pipeline string) ([]string, error) {
	var ids []string
	for e, err := range s.store.List(ctx, pipeline+"/", &lake.ListOptions{Delimiter: "/"}) {
		if err != nil {
			return nil, err
		}
		if e.IsDir {
			ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(e.Key, pipeline+"/"), "/"))
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// LoadRun reads a recorded run.
func (r *Runner) LoadRun(ctx context.Context, pipeline, runID string) (*Run, error) {
	run, _, err := r.runs.load(ctx, pipeline, runID)
	return run, err
}

// Runs lists the ids of the recorded runs of a pipeline, oldest first.
func (r *Runner) Runs(ctx context.Context, pipeline string) ([]string, error) {
	return r.runs.ids(ctx, pipeline)
}

// recorder saves one execution's run record, one version per save.
type recorder struct {
	runs   runStore
	writer string // this execution's id in the records it writes
	// mu orders saves: a save holds it from marshalling to writing, so the
	// newest version is always the newest snapshot. Without it two
	// Parallel branches could write in the opposite order to the one they
	// marshalled in, and the record would lose the newer branch's step.
	mu      sync.Mutex
	version int64 // the newest version saved
}

func newRecorder(runs runStore, version int64) *recorder {
	var b [8]byte
	rand.Read(b[:])
	return &recorder{runs: runs, writer: hex.EncodeToString(b[:]), version: version}
}

// save appends a snapshot of run, marshalled under runMu, as the next
// version. A version found taken by this recorder's own earlier save (whose
// answer was lost) is skipped; one taken by another writer means another
// process is saving the same run (a second Resume): an error.
func (rc *recorder) save(ctx context.Context, run *Run, runMu *sync.Mutex) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	log := rc.runs.log(run.Pipeline, run.ID)
	for {
		v := rc.version + 1
		runMu.Lock()
		b, err := json.MarshalIndent(runRecord{Version: v, Writer: rc.writer, Run: run}, "", "  ")
		runMu.Unlock()
		if err != nil {
			return err
		}
		err = log.Append(ctx, v, b)
		if errors.Is(err, lake.ErrExists) && rc.ownVersion(ctx, log, v) {
			rc.version = v
			continue
		}
		if err != nil {
			return fmt.Errorf("orchestrate: saving run %s as version %d (%s): %w", run.ID, v, log.Key(v), err)
		}
		rc.version = v
		_ = log.NoteVersion(ctx, v) // best effort: a hint behind costs a probe
		return nil
	}
}

// ownVersion reports whether version v of the log was written by this
// recorder.
func (rc *recorder) ownVersion(ctx context.Context, log *objlog.Log, v int64) bool {
	rec := runRecord{Run: &Run{}}
	return log.Decode(ctx, v, &rec, nil) == nil && rec.Writer == rc.writer
}

// compact drops the versions before the newest once the run has ended:
// its last record is its history (best effort).
func (rc *recorder) compact(ctx context.Context, run *Run) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.version > 1 {
		_ = rc.runs.log(run.Pipeline, run.ID).DeleteBefore(ctx, rc.version)
	}
}
