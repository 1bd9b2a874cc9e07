package zones

import (
	"errors"

	"github.com/lakekit/lakekit/internal/objlog"
)

// Sentinel errors of the zones package. Errors returned by this package wrap
// them with %w (and wrap the store's or catalog's error too), so
// errors.Is(err, zones.ErrConflict) and errors.Is(err, lake.ErrNotFound) both
// work where they apply.
var (
	// ErrConflict: a commit lost an optimistic-concurrency race that cannot be
	// rebased: two overwrites of one partition, an overwrite of partitions a
	// concurrent commit touched, or an append into a partition a concurrent
	// overwrite moved. The loser's data files stay behind as orphans until
	// Vacuum; nothing of the losing commit is visible.
	ErrConflict = errors.New("zones: conflicting concurrent commit")
	// ErrNoSuchTable: the table has no commit yet (or the version asked for
	// does not exist).
	ErrNoSuchTable = errors.New("zones: no such table")
	// ErrNoSuchVersion: time travel to a version the log does not hold.
	ErrNoSuchVersion = errors.New("zones: no such table version")
	// ErrInvalid: bad input — a row whose partition value is empty or
	// hostile, a nil batch, a type whose tags don't parse, bad options. The
	// message names what was wrong; nothing was written.
	ErrInvalid = errors.New("zones: invalid input")
	// ErrWriterClosed: Write, Commit or Abort after Commit or Abort.
	ErrWriterClosed = errors.New("zones: writer already committed or aborted")
	// ErrSchema: the rows' schema does not fit the table (different
	// partition keys, or an evolution the rules refuse).
	ErrSchema = errors.New("zones: schema mismatch")
	// ErrCatalog: the commit succeeded but bringing the catalog up to date
	// failed; Dataset.SyncCatalog repeats that step. The data is committed.
	ErrCatalog = errors.New("zones: catalog update failed after commit")
	// ErrTooManyAttempts: a commit kept losing races to other writers and
	// gave up after WriterOptions.MaxAttempts.
	ErrTooManyAttempts = errors.New("zones: commit retried too often")
	// ErrCorrupt: the table's commit log is damaged — a version is missing
	// while a later one exists, or a log object does not decode — or a data
	// file does not match what the log says of it (missing, another size).
	// The message names the object. Versions before the damage stay
	// readable (Snapshot with a version); writes and Vacuum refuse to run
	// until Table.Repair has been run explicitly.
	ErrCorrupt = objlog.ErrCorrupt
	// ErrCommitUnknown: Commit could not find out whether its log entry
	// landed (the store stopped answering at the commit point). The data
	// may be committed. Nothing was cleaned up. Retry the whole write with
	// the same idempotency key (CommitUnknownError.Key, also
	// Writer.IdempotencyKey): if the first attempt landed, the retry
	// returns it as a Duplicate; if not, the retry commits. Never retry
	// with a fresh key.
	ErrCommitUnknown = errors.New("zones: commit outcome unknown")
)
