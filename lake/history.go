package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

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
