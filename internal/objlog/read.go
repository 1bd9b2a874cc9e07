package objlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lakekit/lakekit/lake"
)

// ErrStop, returned by a ReadFrom or Replay callback, ends the read after
// the version it was given (a read up to a version, for time travel).
var ErrStop = errors.New("objlog: stop reading")

// ReadFrom reads the versions after `after` in order, passing each raw
// object to fn, until the end of the log or until fn returns ErrStop. The
// end is checked (CheckEnd): a missing version while a later one was
// committed is ErrCorrupt naming it, never the end. It returns the last
// version read (after when none); another error from fn stops the read and
// is returned as it is, with the version before.
func (l *Log) ReadFrom(ctx context.Context, after int64, fn func(v int64, b []byte) error) (int64, error) {
	v := after
	for {
		b, err := l.Read(ctx, v+1)
		if errors.Is(err, lake.ErrNotFound) {
			again, err := l.CheckEnd(ctx, v)
			if err != nil {
				return v, err
			}
			if again {
				continue
			}
			return v, nil
		}
		if err != nil {
			return v, err
		}
		if err := fn(v+1, b); errors.Is(err, ErrStop) {
			return v + 1, nil
		} else if err != nil {
			return v, err
		}
		v++
	}
}

// Replay is ReadFrom for a replay log whose entries decode into E: each
// version is decoded (ErrCorrupt naming the object when it does not, or
// when versionOf, if not nil, says it claims another version) and passed
// to apply.
func Replay[E any](ctx context.Context, l *Log, after int64, versionOf func(*E) int64, apply func(v int64, e *E) error) (int64, error) {
	return l.ReadFrom(ctx, after, func(v int64, b []byte) error {
		e := new(E)
		var claimed func() int64
		if versionOf != nil {
			claimed = func() int64 { return versionOf(e) }
		}
		if err := l.DecodeObject(v, b, e, claimed); err != nil {
			return err
		}
		return apply(v, e)
	})
}

// readHint returns the noted newest version and whether there is a
// readable hint.
func (l *Log) readHint(ctx context.Context) (int64, bool, error) {
	b, err := l.store.ReadAll(ctx, l.prefix+"/"+HintKey)
	if errors.Is(err, lake.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if perr != nil || v <= 0 {
		return 0, false, nil // a damaged hint is no hint
	}
	return v, true, nil
}

// Newest reads the newest version of a state log (every object the whole
// state) into out and returns its number, 0 when the log is empty. It
// starts at the hint (listing the log when there is none), reads forward
// until a version is missing, and checks the end as ReadFrom does, so a
// lookup costs about three requests however long the log is. A version
// the hint names that is missing (with no newer one listed), or a newest
// object that does not decode or claims another version (versionOf, when
// not nil), is ErrCorrupt naming it: an older version is never returned in
// its place. A hint found behind is advanced (best effort).
func (l *Log) Newest(ctx context.Context, out any, versionOf func() int64) (int64, error) {
	hint, found, err := l.readHint(ctx)
	if err != nil {
		return 0, err
	}
	start := hint
	if !found {
		if start, err = l.listNewest(ctx); err != nil || start == 0 {
			return 0, err
		}
	}
	v, b, err := l.forward(ctx, start)
	if errors.Is(err, lake.ErrNotFound) {
		v, b, err = l.restart(ctx, start)
	}
	if err != nil || v == 0 {
		return 0, err
	}
	if err := l.DecodeObject(v, b, out, versionOf); err != nil {
		return 0, err
	}
	if v != hint {
		_ = l.NoteVersion(ctx, v) // best effort: a hint behind costs a probe
	}
	return v, nil
}

// restart is Newest's answer when the version it started from is gone.
// Either the history below a newer version was dropped under the reader
// (DeleteBefore racing this read, or a reader's late hint update), and the
// listing shows the newer version to read from; or the whole folder was
// deleted (no version, no hint: the log is empty, v is 0); or the version
// was lost (ErrCorrupt naming it).
func (l *Log) restart(ctx context.Context, start int64) (int64, []byte, error) {
	newest, err := l.listNewest(ctx)
	if err != nil {
		return 0, nil, err
	}
	if newest > start {
		return l.forward(ctx, newest)
	}
	if newest == 0 {
		if _, found, err := l.readHint(ctx); err != nil || !found {
			return 0, nil, err
		}
	}
	return 0, nil, fmt.Errorf("%s: version %d (%s) is missing but was committed: %w", l.prefix, start, l.Key(start), ErrCorrupt)
}

// listNewest lists the log and returns its newest version, 0 when none.
func (l *Log) listNewest(ctx context.Context) (int64, error) {
	vs, err := l.Versions(ctx)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return vs[len(vs)-1], nil
}

// forward reads version start and then start+1, ... while they exist, and
// returns the last one found with its object; the end is checked like
// ReadFrom's when start was not the hint's version. A missing start wraps
// lake.ErrNotFound.
func (l *Log) forward(ctx context.Context, start int64) (int64, []byte, error) {
	b, err := l.Read(ctx, start)
	if err != nil {
		return 0, nil, err
	}
	v := start
	for {
		next, err := l.Read(ctx, v+1)
		if err == nil {
			v, b = v+1, next
			continue
		}
		if !errors.Is(err, lake.ErrNotFound) {
			return 0, nil, err
		}
		if v == start {
			// start is the newest noted (or listed) version and nothing
			// follows it: the end
			return v, b, nil
		}
		again, err := l.CheckEnd(ctx, v)
		if err != nil {
			return 0, nil, err
		}
		if !again {
			return v, b, nil
		}
	}
}

// DeleteBefore deletes the objects of the versions below v of a state log
// (whose newest version holds the whole state): the history is dropped,
// the state kept. It notes v as the newest version first, so that readers
// never start below the history that is left.
func (l *Log) DeleteBefore(ctx context.Context, v int64) error {
	if err := l.NoteVersion(ctx, v); err != nil {
		return err
	}
	vs, err := l.Versions(ctx)
	if err != nil {
		return err
	}
	var keys []string
	for _, x := range vs {
		if x < v {
			keys = append(keys, l.Key(x))
		}
	}
	return l.deleteKeys(ctx, keys)
}

// PruneCheckpoints deletes all checkpoints but the newest keep (at least
// one is kept): for callers that write one per use and need only a
// fallback or two.
func (l *Log) PruneCheckpoints(ctx context.Context, keep int) error {
	keep = max(keep, 1)
	vs, err := l.checkpoints(ctx, 1<<62)
	if err != nil || len(vs) <= keep {
		return err
	}
	keys := make([]string, 0, len(vs)-keep)
	for _, v := range vs[:len(vs)-keep] {
		keys = append(keys, l.checkpointKey(v))
	}
	return l.deleteKeys(ctx, keys)
}

func (l *Log) deleteKeys(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := l.store.DeleteMany(ctx, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
