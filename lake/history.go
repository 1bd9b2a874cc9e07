package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/internal/logcodec"
)

// HistoryKind tells a table version from an event that is not one.
type HistoryKind string

// Kinds of history entries.
const (
	// HistoryCommit is a commit: one table version of the commit log.
	HistoryCommit HistoryKind = "commit"
	// HistoryVacuum is a vacuum run that deleted files. It is not a table
	// version: a vacuum changes no snapshot, it removes files no snapshot
	// newer than the retention needs.
	HistoryVacuum HistoryKind = "vacuum"
	// HistoryRepair is an explicit repair of a damaged commit log
	// (zones.Table.Repair): which versions were replaced and where the
	// damaged bytes were kept.
	HistoryRepair HistoryKind = "repair"
)

// Event statuses (HistoryEntry.Status of events; commits have none).
const (
	// EventStarted: the event was recorded before it acted (a vacuum about
	// to delete Keys) and never finished: the process died, or it is still
	// running.
	EventStarted = "started"
	// EventDone: the event finished.
	EventDone = "done"
	// EventFailed: the event stopped on an error (Error); Keys lists what
	// it did before.
	EventFailed = "failed"
)

// MaxEventKeys bounds HistoryEntry.Keys of an event; FilesRemoved and
// BytesRemoved still count everything.
const MaxEventKeys = 10000

// HistoryEntry is one line of a table's audit trail: a commit (a table
// version) or an event such as a vacuum. Events are stored as this JSON
// under the table's _lakekit/audit/.
type HistoryEntry struct {
	Kind HistoryKind `json:"kind"`
	// Version is the table version a commit made; for an event, the newest
	// version when it ran (0 when the table had none).
	Version int64 `json:"version"`
	// Time is when the commit was made, or when the event started.
	Time time.Time `json:"timestamp"`
	// Operation is "write" for a commit, "vacuum" for a vacuum.
	Operation string `json:"operation"`
	// Mode is a commit's mode: "append", "overwrite", "overwrite_partitions".
	Mode string `json:"mode,omitempty"`
	// IdempotencyKey names the commit (retries with it commit nothing new).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Audit says who: host, process id, OS user, caller identity.
	Audit Audit `json:"audit"`
	// What a commit added, and what it replaced (Removed: files an
	// overwrite took out of the snapshot; a vacuum deletes them later).
	// For a vacuum, FilesRemoved and BytesRemoved count the files deleted.
	RowsAdded    int64 `json:"rows_added,omitempty"`
	RowsRemoved  int64 `json:"rows_removed,omitempty"`
	FilesAdded   int   `json:"files_added,omitempty"`
	FilesRemoved int   `json:"files_removed,omitempty"`
	BytesAdded   int64 `json:"bytes_added,omitempty"`
	BytesRemoved int64 `json:"bytes_removed,omitempty"`
	// Metadata is a commit's metadata (the inputs of a transform, say) or
	// an event's details (a vacuum's retention).
	Metadata map[string]string `json:"metadata,omitempty"`

	// ID names an event (its key under _lakekit/audit/); empty for commits.
	ID string `json:"id,omitempty"`
	// Status is an event's status: EventStarted, EventDone, EventFailed.
	Status string `json:"status,omitempty"`
	// Finished is when an event finished (zero while EventStarted).
	Finished time.Time `json:"finished,omitzero"`
	// Error says why an event failed.
	Error string `json:"error,omitempty"`
	// Keys are the object keys (relative to the zone) a vacuum deletes: the
	// planned ones while EventStarted, the deleted ones after. At most
	// MaxEventKeys; KeysTruncated says more were deleted.
	Keys          []string `json:"keys,omitempty"`
	KeysTruncated bool     `json:"keys_truncated,omitempty"`
}

// IsVersion reports whether the entry is a table version (a commit).
func (e *HistoryEntry) IsVersion() bool { return e.Kind == HistoryCommit }

// logCommit is the part of a commit-log object History reads. zones writes
// the whole object (zones.Commit); zones/history_test.go checks that the
// two agree.
type logCommit struct {
	Version        int64             `json:"version"`
	Timestamp      time.Time         `json:"timestamp"`
	Operation      string            `json:"operation"`
	Mode           string            `json:"mode"`
	IdempotencyKey string            `json:"idempotency_key"`
	Added          []logFile         `json:"added"`
	Removed        []logFile         `json:"removed"`
	Metadata       map[string]string `json:"metadata"`
	Audit          Audit             `json:"audit"`
}

type logFile struct {
	Rows int64 `json:"rows"`
	Size int64 `json:"size"`
}

func (c *logCommit) entry() HistoryEntry {
	e := HistoryEntry{Kind: HistoryCommit, Version: c.Version, Time: c.Timestamp, Operation: c.Operation, Mode: c.Mode,
		IdempotencyKey: c.IdempotencyKey, Audit: c.Audit, Metadata: c.Metadata,
		FilesAdded: len(c.Added), FilesRemoved: len(c.Removed)}
	for _, f := range c.Added {
		e.RowsAdded += f.Rows
		e.BytesAdded += f.Size
	}
	for _, f := range c.Removed {
		e.RowsRemoved += f.Rows
		e.BytesRemoved += f.Size
	}
	return e
}

// historyReaders bounds the log objects History reads at once.
const historyReaders = 8

// History lists the audit trail of the table database.table in zone: one
// entry per table version (Kind HistoryCommit, version order) and the
// events that are not versions, such as vacuum runs (Kind HistoryVacuum),
// placed among the versions by time. It reads the commit log written by
// zones (plain or zstd-compressed objects) without opening the table.
func (l *Lake) History(ctx context.Context, zone ZoneName, database, table string) ([]HistoryEntry, error) {
	z, err := l.Zone(zone)
	if err != nil {
		return nil, err
	}
	return z.History(ctx, database, table)
}

// History is Lake.History for a table of this zone. A table with neither
// commits nor events gives an error matching ErrNotFound. A damaged log (a
// missing version with later ones present, an entry that does not decode)
// gives the entries before the damage together with an error matching
// ErrCorrupt that names the object.
func (z *Zone) History(ctx context.Context, database, table string) ([]HistoryEntry, error) {
	prefix, err := TablePrefix(database, table)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("lake: history of %s table %s", z.name, prefix)
	// The log is contiguous from version 1; a gap (a deleted object) is
	// damage: the versions before it are listed, with ErrCorrupt.
	var versions []int64
	var damage error
	for e, err := range z.store.List(ctx, prefix+"/"+logcodec.LogDir, nil) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		v, ok := logcodec.ParseCommitKey(prefix, e.Key)
		switch {
		case !ok || damage != nil:
		case v == int64(len(versions))+1:
			versions = append(versions, v)
		default:
			damage = fmt.Errorf("%s: version %d (%s) is missing but version %d exists: %w", what, len(versions)+1, logcodec.CommitKey(prefix, int64(len(versions))+1), v, ErrCorrupt)
		}
	}
	var ids []string
	for e, err := range z.store.List(ctx, prefix+"/"+logcodec.AuditDir, nil) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if id, ok := logcodec.ParseAuditKey(prefix, e.Key); ok {
			ids = append(ids, id)
		}
	}
	if len(versions) == 0 && len(ids) == 0 {
		return nil, fmt.Errorf("%s: no commit log: %w", what, ErrNotFound)
	}
	commits := make([]HistoryEntry, len(versions))
	bad := make([]error, len(versions)) // a damaged entry, by index
	events := make([]HistoryEntry, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyReaders)
	for i, v := range versions {
		g.Go(func() error {
			b, err := z.store.ReadAll(gctx, logcodec.CommitKey(prefix, v))
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			var c logCommit
			if err := logcodec.Decode(b, &c); err != nil {
				bad[i] = fmt.Errorf("%s: version %d (%s) does not decode: %w: %v", what, v, logcodec.CommitKey(prefix, v), ErrCorrupt, err)
				return nil
			}
			if c.Version != v {
				bad[i] = fmt.Errorf("%s: log object %s claims version %d: %w", what, logcodec.CommitKey(prefix, v), c.Version, ErrCorrupt)
				return nil
			}
			commits[i] = c.entry()
			return nil
		})
	}
	for i, id := range ids {
		g.Go(func() error {
			b, err := z.store.ReadAll(gctx, logcodec.AuditKey(prefix, id))
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			var e HistoryEntry
			if err := logcodec.Decode(b, &e); err != nil {
				return fmt.Errorf("%s: audit event %s is not valid JSON: %w", what, id, err)
			}
			if e.Kind == HistoryCommit || e.Kind == "" {
				return fmt.Errorf("%s: audit event %s claims kind %q", what, id, e.Kind)
			}
			e.ID = id
			events[i] = e
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, err := range bad {
		if err != nil {
			commits, damage = commits[:i], err
			break
		}
	}
	// Versions stay in version order (commit clocks of different hosts may
	// disagree); events go in by time, before the first commit made after
	// them.
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	out := make([]HistoryEntry, 0, len(commits)+len(events))
	i := 0
	for _, c := range commits {
		for i < len(events) && events[i].Time.Before(c.Time) {
			out = append(out, events[i])
			i++
		}
		out = append(out, c)
	}
	return append(out, events[i:]...), damage
}

// RecordEvent writes an audit event of the table database.table that is
// not a table version — zones records each vacuum that deletes files —
// under the table's _lakekit/audit/, where History finds it. A new event
// (empty ID) gets an ID (and a Time when zero); recording the entry again
// with its ID replaces it, so an event can be recorded before it acts
// (Status EventStarted) and completed after. Kind must not be
// HistoryCommit: versions are made only by commits.
func (z *Zone) RecordEvent(ctx context.Context, database, table string, e *HistoryEntry) error {
	prefix, err := TablePrefix(database, table)
	if err != nil {
		return err
	}
	if e.Kind == HistoryCommit || ValidateName("history kind", string(e.Kind)) != nil {
		return invalid("history kind", string(e.Kind), "must be a valid name other than \"commit\" (commits make versions)")
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.ID == "" {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		e.ID = logcodec.AuditID(e.Time, string(e.Kind), hex.EncodeToString(r[:]))
	} else if !logcodec.ValidAuditID(e.ID) {
		return invalid("audit event id", e.ID, "must be an id RecordEvent assigned")
	}
	b, err := logcodec.Encode(e)
	if err != nil {
		return fmt.Errorf("lake: record %s event of %s: %w", e.Kind, prefix, err)
	}
	return z.store.PutBytes(ctx, logcodec.AuditKey(prefix, e.ID), b, &PutOptions{ContentType: "application/json"})
}
