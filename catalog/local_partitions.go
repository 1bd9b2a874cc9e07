package catalog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/internal/objlog"
)

// checkpointEvery is how many partition-log versions lie between two
// checkpoints of all partitions: reading partitions costs the newest
// checkpoint and fewer than this many entries.
const checkpointEvery = 32

// partDir is the folder of one table incarnation's partition log.
func partDir(db, t, inc string) string { return tableDir(db, t) + "/p/" + inc }

// partLog is one version of the partition log: a batch of changes.
type partLog struct {
	Seq    int64       `json:"seq"`
	Op     string      `json:"op"` // add, update, delete
	Parts  []Partition `json:"parts,omitempty"`
	Values [][]string  `json:"values,omitempty"`
}

// partSnap is a checkpoint: all partitions as of a version.
type partSnap struct {
	Seq   int64       `json:"seq"`
	Parts []Partition `json:"parts"`
}

// partState is the partitions as of version seq of the log.
type partState struct {
	seq   int64
	parts map[string]Partition
	// stale: a damaged checkpoint was skipped reading this state; the next
	// change writes a good one whatever its version.
	stale bool
}

func (s *partState) apply(e *partLog) {
	switch e.Op {
	case "add":
		for _, p := range e.Parts {
			k := partitionKey(p.Values)
			if _, ok := s.parts[k]; !ok {
				s.parts[k] = p
			}
		}
	case "update":
		for _, p := range e.Parts {
			k := partitionKey(p.Values)
			if old, ok := s.parts[k]; ok {
				old.Location = p.Location
				if p.Parameters != nil {
					old.Parameters = p.Parameters
				}
				s.parts[k] = old
			}
		}
	case "delete":
		for _, v := range e.Values {
			delete(s.parts, partitionKey(v))
		}
	}
	s.seq = e.Seq
}

func (s *partState) clone() *partState {
	return &partState{seq: s.seq, parts: maps.Clone(s.parts), stale: s.stale}
}

// readPartitions brings the partition state of a log up to date: from the
// cache (or the newest checkpoint on first use) it replays the entries
// after it. A lost or damaged entry is ErrCorrupt naming it.
func (l *Local) readPartitions(ctx context.Context, log *objlog.Log) (*partState, error) {
	l.mu.Lock()
	cached := l.parts[log.Prefix()]
	l.mu.Unlock()
	var st *partState
	if cached != nil {
		st = cached.clone()
	} else {
		var err error
		if st, err = loadPartitions(ctx, log); err != nil {
			return nil, err
		}
	}
	start := st.seq
	_, err := objlog.Replay(ctx, log, st.seq, func(e *partLog) int64 { return e.Seq }, func(_ int64, e *partLog) error {
		st.apply(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cached == nil || st.seq != start {
		l.remember(log.Prefix(), st)
	}
	return st, nil
}

func (l *Local) remember(dir string, st *partState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.parts[dir]; cur == nil || cur.seq < st.seq || cur.seq == st.seq && cur.stale != st.stale {
		if len(l.parts) >= 256 {
			clear(l.parts)
		}
		l.parts[dir] = st.clone()
	}
}

// loadPartitions reads the newest usable checkpoint (objlog falls back
// past damaged ones), or the empty state when there is none.
func loadPartitions(ctx context.Context, log *objlog.Log) (*partState, error) {
	cp, ok, damaged, err := objlog.LoadCheckpoint(ctx, log, 1<<62, func(b []byte) (*partState, int64, error) {
		var snap partSnap
		if err := logcodec.Decode(b, &snap); err != nil {
			return nil, 0, err
		}
		st := &partState{seq: snap.Seq, parts: make(map[string]Partition, len(snap.Parts))}
		for _, p := range snap.Parts {
			st.parts[partitionKey(p.Values)] = p
		}
		return st, snap.Seq, nil
	})
	if err != nil {
		return nil, err
	}
	st := &partState{parts: map[string]Partition{}}
	if ok {
		st = cp.State
	}
	st.stale = len(damaged) > 0
	return st, nil
}

// writeCheckpoint stores st as a checkpoint (best effort: a missing one
// only costs readers more reads).
func writeCheckpoint(ctx context.Context, log *objlog.Log, keys []Column, st *partState) {
	snap := partSnap{Seq: st.seq, Parts: make([]Partition, 0, len(st.parts))}
	for _, p := range st.parts {
		snap.Parts = append(snap.Parts, p)
	}
	sortPartitions(keys, snap.Parts)
	b, err := logcodec.Encode(snap)
	if err == nil {
		err = log.WriteCheckpoint(ctx, st.seq, b)
	}
	if err == nil {
		st.stale = false
	}
}

// appendPartitions builds a log entry from the current state and appends
// it, racing other writers (objlog.Race). build returning nil changes
// nothing.
func (l *Local) appendPartitions(ctx context.Context, database, table string, build func(t *Table, st *partState) (*partLog, error)) error {
	var (
		log *objlog.Log
		rec *tableRecord
		st  *partState
		e   *partLog
	)
	err := objlog.Race(ctx, 0, func(int) error {
		var err error
		if rec, err = l.liveRecord(ctx, database, table); err != nil {
			return err
		}
		log = objlog.New(l.store, partDir(database, table, rec.Incarnation))
		if st, err = l.readPartitions(ctx, log); err != nil {
			return fmt.Errorf("catalog: partitions of %s.%s: %w", database, table, err)
		}
		if e, err = build(rec.Table, st); err != nil || e == nil {
			return err
		}
		e.Seq = st.seq + 1
		b, err := logcodec.Encode(e)
		if err != nil {
			return err
		}
		return log.Append(ctx, e.Seq, b)
	})
	if errors.Is(err, objlog.ErrContended) {
		return fmt.Errorf("catalog: partitions of %s.%s: %w: %w", database, table, ErrConflict, err)
	}
	if err != nil || e == nil {
		return err
	}
	st.apply(e)
	_ = log.NoteVersion(ctx, e.Seq) // best effort: a hint behind costs a probe
	if e.Seq%checkpointEvery == 0 || st.stale {
		writeCheckpoint(ctx, log, rec.Table.Schema.PartitionKeys, st)
	}
	l.remember(log.Prefix(), st)
	return nil
}

// AddPartitions implements Catalog. A partition without a Location gets
// the table's location joined with its Hive path.
func (l *Local) AddPartitions(ctx context.Context, database, table string, parts []Partition) error {
	if len(parts) == 0 {
		_, err := l.liveRecord(ctx, database, table)
		return err
	}
	return l.appendPartitions(ctx, database, table, func(t *Table, st *partState) (*partLog, error) {
		ps, err := preparePartitions(t, parts, false)
		if err != nil {
			return nil, err
		}
		var add []Partition
		for _, p := range ps {
			if _, ok := st.parts[partitionKey(p.Values)]; !ok {
				add = append(add, p)
			}
		}
		if len(add) == 0 {
			return nil, nil
		}
		return &partLog{Op: "add", Parts: add}, nil
	})
}

// UpdatePartitionLocations implements Catalog. If any partition is
// missing nothing is changed.
func (l *Local) UpdatePartitionLocations(ctx context.Context, database, table string, parts []Partition) error {
	if len(parts) == 0 {
		_, err := l.liveRecord(ctx, database, table)
		return err
	}
	return l.appendPartitions(ctx, database, table, func(t *Table, st *partState) (*partLog, error) {
		ps, err := preparePartitions(t, parts, true)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if _, ok := st.parts[partitionKey(p.Values)]; !ok {
				return nil, fmt.Errorf("catalog: table %s.%s: partition %v: %w", database, table, p.Values, ErrNoSuchPartition)
			}
		}
		return &partLog{Op: "update", Parts: ps}, nil
	})
}

// DeletePartitions implements Catalog.
func (l *Local) DeletePartitions(ctx context.Context, database, table string, values [][]string) error {
	if len(values) == 0 {
		_, err := l.liveRecord(ctx, database, table)
		return err
	}
	return l.appendPartitions(ctx, database, table, func(t *Table, st *partState) (*partLog, error) {
		var del [][]string
		for _, v := range values {
			if err := ValidatePartitionValues(t.Schema.PartitionKeys, v); err != nil {
				return nil, fmt.Errorf("table %s.%s: %w", database, table, err)
			}
			if _, ok := st.parts[partitionKey(v)]; ok {
				del = append(del, slices.Clone(v))
			}
		}
		if len(del) == 0 {
			return nil, nil
		}
		return &partLog{Op: "delete", Values: del}, nil
	})
}

// Partitions implements Catalog.
func (l *Local) Partitions(ctx context.Context, database, table, filter string) iter.Seq2[Partition, error] {
	return func(yield func(Partition, error) bool) {
		rec, err := l.liveRecord(ctx, database, table)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		keys := rec.Table.Schema.PartitionKeys
		f, err := CompileFilter(filter, keys)
		if err != nil {
			yield(Partition{}, err)
			return
		}
		st, err := l.readPartitions(ctx, objlog.New(l.store, partDir(database, table, rec.Incarnation)))
		if err != nil {
			yield(Partition{}, fmt.Errorf("catalog: partitions of %s.%s: %w", database, table, err))
			return
		}
		ps := make([]Partition, 0, len(st.parts))
		for _, p := range st.parts {
			if f.Match(p.Values) {
				ps = append(ps, p)
			}
		}
		sortPartitions(keys, ps)
		for _, p := range ps {
			if !yield(clonePartition(p), nil) {
				return
			}
		}
	}
}
