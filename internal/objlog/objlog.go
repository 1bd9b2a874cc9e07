// Package objlog is lakekit's one versioned-object log over a lake.Store:
// the primitive under every log lakekit keeps — a zones table's commits,
// the local catalog's table versions and partition changes, the transform
// ledger cache (a checkpoint) and the orchestrate run history.
//
// A log is a folder of objects named by a 20-digit version
// (internal/logcodec's layout). Version v is written exactly once, with a
// create-only put, so of two writers racing for v exactly one wins and the
// other gets lake.ErrExists. Reads are contiguous: reading forward stops at
// the first missing version, and a missing version with a later one
// present is a gap — corruption, reported as ErrCorrupt naming the missing
// version, never as the end of the log. An object that does not decode is
// corruption too. Checkpoints (a state at one version, to start reading
// from) are best effort: a missing or damaged checkpoint falls back to an
// older one and the log, and the caller is told so it can write a good one.
//
// Two kinds of log use it. A replay log (a table's commits, the local
// catalog's partition changes) holds one change per version: ReadFrom and
// Replay apply versions in order from a checkpoint (LoadCheckpoint) or from
// the start. A state log (the local catalog's table versions, a pipeline
// run's record) holds the whole state in every version: Newest reads the
// newest one from the hint, and DeleteBefore drops the history below it.
// Writers race for the next version with Race, which owns the attempt
// budget and the backoff.
//
// What it owns: the keys, create-only append, contiguous reads with gap
// and corruption detection, checkpoint lookup with fallback, the hint of
// the newest version, the writers' retry budget. What it does not: the
// content of the objects (the caller decodes them).
package objlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// ErrCorrupt: the log has a gap (a version missing while a later one
// exists) or an object that does not decode. The message names the
// object. Reads of versions before the damage still work.
// It is lake.ErrCorrupt, so lake (which cannot import this package) reports
// the same sentinel.
var ErrCorrupt = lake.ErrCorrupt

// Log is one log: the objects under one prefix of a store ("<db>/<table>"
// for a table's commits).
type Log struct {
	store  *lake.Store
	prefix string
}

// New returns the log of prefix in store.
func New(store *lake.Store, prefix string) *Log { return &Log{store: store, prefix: prefix} }

// Prefix returns the folder the log lives in ("<db>/<table>").
func (l *Log) Prefix() string { return l.prefix }

// Key returns the key of version v's object.
func (l *Log) Key(v int64) string { return logcodec.CommitKey(l.prefix, v) }

// Read returns the raw object of version v; a missing one wraps
// lake.ErrNotFound.
func (l *Log) Read(ctx context.Context, v int64) ([]byte, error) {
	return l.store.ReadAll(ctx, l.Key(v))
}

// Decode reads version v into out. A missing version wraps
// lake.ErrNotFound; an object that does not decode, or whose version
// field (read by versionOf) is not v, wraps ErrCorrupt.
func (l *Log) Decode(ctx context.Context, v int64, out any, versionOf func() int64) error {
	b, err := l.Read(ctx, v)
	if err != nil {
		return err
	}
	return l.DecodeObject(v, b, out, versionOf)
}

// DecodeObject decodes b, read as version v, into out: ErrCorrupt naming
// the object when it does not decode or its version field (read by
// versionOf, when not nil) is not v.
func (l *Log) DecodeObject(v int64, b []byte, out any, versionOf func() int64) error {
	if err := logcodec.Decode(b, out); err != nil {
		return fmt.Errorf("%s: version %d (%s) does not decode: %w: %v", l.prefix, v, l.Key(v), ErrCorrupt, err)
	}
	if versionOf != nil {
		if got := versionOf(); got != v {
			return fmt.Errorf("%s: log object %s claims version %d: %w", l.prefix, l.Key(v), got, ErrCorrupt)
		}
	}
	return nil
}

// Append writes version v, create-only: lake.ErrExists when v is taken.
func (l *Log) Append(ctx context.Context, v int64, b []byte) error {
	return l.store.Create(ctx, l.Key(v), b, &lake.PutOptions{ContentType: "application/json"})
}

// HintKey is the object in which writers note the newest version they
// committed (best effort, after the commit): a reader that finds the log
// ending below it knows versions are missing.
const HintKey = "_lakekit/_last_version"

// NoteVersion records v as committed in the hint (best effort: a hint that
// is behind only costs CheckEnd one more probe; it is never ahead unless
// log objects were deleted).
func (l *Log) NoteVersion(ctx context.Context, v int64) error {
	return l.store.PutBytes(ctx, l.prefix+"/"+HintKey, []byte(strconv.FormatInt(v, 10)), nil)
}

// Hint returns the newest version a writer noted (0 when none).
func (l *Log) Hint(ctx context.Context) (int64, error) {
	b, err := l.store.ReadAll(ctx, l.prefix+"/"+HintKey)
	if errors.Is(err, lake.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if perr != nil {
		return 0, nil // a damaged hint is no hint
	}
	return v, nil
}

// CheckEnd is called after reading version v+1 found nothing. It reads the
// hint of the newest committed version: when the hint is past v and v+1
// still does not exist, the log has lost versions (ErrCorrupt naming v+1);
// when v+1 appeared in the meantime (a writer was just committing it)
// again is true and the caller reads on. A hint that is behind (its writer
// died before noting it) or missing is backed by a probe of v+2. One
// request in the common case; Verify checks the whole log.
func (l *Log) CheckEnd(ctx context.Context, v int64) (again bool, err error) {
	hint := int64(-1)
	if b, err := l.store.ReadAll(ctx, l.prefix+"/"+HintKey); err == nil {
		if h, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); perr == nil {
			hint = h
		}
	} else if !errors.Is(err, lake.ErrNotFound) {
		return false, err
	}
	later := v + 2
	switch {
	case hint > v:
		later = hint
	case hint == v:
		return false, nil
	default:
		if _, err := l.store.Stat(ctx, l.Key(v+2)); errors.Is(err, lake.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	if _, err := l.store.Stat(ctx, l.Key(v+1)); err == nil {
		return true, nil
	} else if !errors.Is(err, lake.ErrNotFound) {
		return false, err
	}
	return false, fmt.Errorf("%s: version %d (%s) is missing but version %d was committed: %w", l.prefix, v+1, l.Key(v+1), later, ErrCorrupt)
}

// Verify lists the whole log and reports ErrCorrupt naming the first
// missing version when the versions present are not 1..newest. It returns
// the newest version. Operations that delete by the log's view (Vacuum)
// run it first: a truncated view would make live files look like orphans.
func (l *Log) Verify(ctx context.Context) (int64, error) {
	vs, err := l.Versions(ctx)
	if err != nil {
		return 0, err
	}
	for i, v := range vs {
		if v != int64(i+1) {
			return 0, fmt.Errorf("%s: version %d (%s) is missing but version %d exists: %w", l.prefix, i+1, l.Key(int64(i+1)), v, ErrCorrupt)
		}
	}
	return int64(len(vs)), nil
}

// Versions lists every version present, in order (for repair and checks).
func (l *Log) Versions(ctx context.Context) ([]int64, error) {
	var out []int64
	for e, err := range l.store.List(ctx, l.prefix+"/"+logcodec.LogDir, nil) {
		if err != nil {
			return nil, err
		}
		if v, ok := logcodec.ParseCommitKey(l.prefix, e.Key); ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// Checkpoint is a decoded checkpoint: its version and what the caller made
// of it.
type Checkpoint[S any] struct {
	Version int64
	State   S
}

// LoadCheckpoint returns the newest checkpoint at or below atMost that
// decodes (decode returns the version the object claims), trying the hint
// first and then every checkpoint listed, newest first. ok is false when
// none is usable (start from version 0). damaged names the checkpoints that
// did not decode: the caller should warn and write a good one.
func LoadCheckpoint[S any](ctx context.Context, l *Log, atMost int64, decode func([]byte) (S, int64, error)) (cp Checkpoint[S], ok bool, damaged []string, err error) {
	try := func(v int64) (bool, error) {
		key := l.checkpointKey(v)
		b, err := l.store.ReadAll(ctx, key)
		if errors.Is(err, lake.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		s, got, derr := decode(b)
		if derr == nil && got != v {
			derr = fmt.Errorf("claims version %d", got)
		}
		if derr != nil {
			damaged = append(damaged, fmt.Sprintf("%s (%v)", key, derr))
			return false, nil
		}
		cp = Checkpoint[S]{Version: v, State: s}
		return true, nil
	}
	// The hint (or, for time travel, the regular interval) is the first
	// guess: one read.
	tried := int64(-1)
	if hb, herr := l.store.ReadAll(ctx, l.prefix+"/"+logcodec.LastCheckpoint); herr == nil {
		if v, perr := strconv.ParseInt(strings.TrimSpace(string(hb)), 10, 64); perr == nil && v > 0 && v <= atMost {
			tried = v
			if ok, err := try(v); ok || err != nil {
				return cp, ok, damaged, err
			}
		}
	} else if !errors.Is(herr, lake.ErrNotFound) {
		return cp, false, nil, herr
	}
	all, err := l.checkpoints(ctx, atMost)
	if err != nil {
		return cp, false, damaged, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i] == tried {
			continue // the hint's, already found wanting
		}
		if ok, err := try(all[i]); ok || err != nil {
			return cp, ok, damaged, err
		}
	}
	return cp, false, damaged, nil
}

func (l *Log) checkpointKey(v int64) string { return logcodec.CheckpointKey(l.prefix, v) }

// checkpoints lists the versions of the checkpoints at or below atMost,
// oldest first.
func (l *Log) checkpoints(ctx context.Context, atMost int64) ([]int64, error) {
	var all []int64
	dir := l.prefix + "/" + logcodec.CheckpointDir
	for e, err := range l.store.List(ctx, dir, nil) {
		if err != nil {
			return nil, err
		}
		v, perr := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(e.Key, dir), ".json"), 10, 64)
		if perr == nil && v > 0 && v <= atMost {
			all = append(all, v)
		}
	}
	slices.Sort(all)
	return all, nil
}

// WriteCheckpoint stores a checkpoint of version v and points the hint at
// it. Checkpoints are replaceable (a damaged one is overwritten by a good
// one); the log objects never are.
func (l *Log) WriteCheckpoint(ctx context.Context, v int64, b []byte) error {
	if err := l.store.PutBytes(ctx, l.checkpointKey(v), b, &lake.PutOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	return l.store.PutBytes(ctx, l.prefix+"/"+logcodec.LastCheckpoint, []byte(strconv.FormatInt(v, 10)), nil)
}

// Replace overwrites version v's object: only for an explicit, audited
// repair of a damaged or missing entry.
func (l *Log) Replace(ctx context.Context, v int64, b []byte) error {
	return l.store.PutBytes(ctx, l.Key(v), b, &lake.PutOptions{ContentType: "application/json"})
}
