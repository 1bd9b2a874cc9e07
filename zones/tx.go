package zones

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/internal/objlog"
	"github.com/lakekit/lakekit/lake"
)

// StagingDir is the folder, under a table's prefix, where an append's data
// files wait for their commit: "<db>/<table>/_lakekit/staging/<attempt>/".
// Hive, Glue crawlers, Athena and Spectrum skip folders whose name starts
// with "_", and no catalog location points there, so nothing staged is
// visible to other engines before its commit moves it into place.
const StagingDir = "_lakekit/staging/"

// TxOptions configure a transaction (Table.Begin). A nil *TxOptions means
// an append with a generated idempotency key.
type TxOptions struct {
	Mode Mode
	// IdempotencyKey decides, from the log, whether this transaction
	// repeats one already committed (see WriterOptions.IdempotencyKey). It
	// never names objects: every attempt writes under its own names.
	IdempotencyKey string
	Metadata       map[string]string
	Caller         string
	// MaxAttempts bounds the retries after losing the race for a version
	// (default 100).
	MaxAttempts int
	// PartitionKeys and Schema describe the data the transaction adds.
	PartitionKeys []string
	Schema        []Column
	// ReplaceSchema (Overwrite only) lets the commit drop, retype and
	// reorder columns and change the partition keys.
	ReplaceSchema bool
}

// Tx is one attempt to commit a table version: the transaction layer every
// write goes through. Begin reads the newest version; files are uploaded
// under names unique to the attempt (an append's into the staging folder,
// an overwrite's into a fresh generation folder no catalog location points
// at); Commit writes one create-only log object. The outcome is one of:
// committed (a result), ErrConflict or another error with nothing
// committed (the attempt's own files are deleted), or ErrCommitUnknown
// (nothing is cleaned up: retry with the same key). A Tx is not safe for
// concurrent use except FileKey and Upload, which may run in parallel.
type Tx struct {
	t       *Table
	opts    TxOptions
	attempt string // random: names this attempt's objects
	base    *state
	gen     string // "_g<version>-<attempt>": where overwritten partitions go
	dup     *Commit

	mu       sync.Mutex
	seq      int
	files    []DataFile
	uploaded []string // keys this attempt created (staged or final)
	deferred []string // of those, the ones Upload put with PutOptions.Deferred
	touched  map[string]lake.Partition
	place    map[string]string // partition path → folder of files adopted in place
	taken    map[string]bool   // staging keys adopted as they are (AddFiles)
	done     bool
}

// Begin starts a transaction on the newest version of the table.
func (t *Table) Begin(ctx context.Context, opts *TxOptions) (*Tx, error) {
	tx := &Tx{t: t, touched: map[string]lake.Partition{}}
	if opts != nil {
		tx.opts = *opts
	}
	switch tx.opts.Mode {
	case Append, Overwrite, OverwritePartitions:
	default:
		return nil, fmt.Errorf("zones: %s: unknown mode %d: %w", t.prefix, int(tx.opts.Mode), ErrInvalid)
	}
	if tx.opts.ReplaceSchema && tx.opts.Mode != Overwrite {
		return nil, fmt.Errorf("zones: %s: ReplaceSchema needs Mode Overwrite, not %s: %w", t.prefix, tx.opts.Mode, ErrInvalid)
	}
	if tx.opts.MaxAttempts <= 0 {
		tx.opts.MaxAttempts = objlog.MaxAttempts
	}
	if len(tx.opts.IdempotencyKey) > 256 {
		return nil, fmt.Errorf("zones: %s: idempotency key longer than 256 bytes: %w", t.prefix, ErrInvalid)
	}
	if tx.opts.IdempotencyKey == "" {
		tx.opts.IdempotencyKey = randomID(16)
	}
	tx.attempt = randomID(10)
	st, err := t.refresh(ctx)
	if err != nil {
		return nil, err
	}
	tx.base = st
	tx.gen = fmt.Sprintf("_g%d-%s", st.Version+1, tx.attempt)
	if v, ok := st.key(tx.opts.IdempotencyKey); ok {
		c, err := t.readCommit(ctx, v)
		if err != nil {
			return nil, err
		}
		tx.dup = c
	}
	if err := tx.checkSchema(st); err != nil {
		return nil, err
	}
	return tx, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// checkSchema refuses, before anything is uploaded, data the table's
// newest version cannot take (other partition keys, an evolution the rules
// refuse); Commit checks again against the version it commits on.
func (tx *Tx) checkSchema(st *state) error {
	if st.Version == 0 || st.Schema == nil || tx.opts.ReplaceSchema || tx.opts.Schema == nil {
		return nil // a new table, or one whose schema a repair lost
	}
	if !equalStrings(st.PartitionKeys, tx.opts.PartitionKeys) {
		return fmt.Errorf("zones: %s is partitioned by %v, the data by %v: %w", tx.t.prefix, st.PartitionKeys, tx.opts.PartitionKeys, ErrSchema)
	}
	if st.Schema != nil && !equalColumns(st.Schema, tx.opts.Schema) {
		if err := checkColumns(st.Schema, tx.opts.Schema, st.PartitionKeys); err != nil {
			return fmt.Errorf("zones: %s: %w: %w", tx.t.prefix, ErrSchema, err)
		}
	}
	return nil
}

// Key returns the transaction's idempotency key.
func (tx *Tx) Key() string { return tx.opts.IdempotencyKey }

// Attempt returns the id that names this attempt's objects.
func (tx *Tx) Attempt() string { return tx.attempt }

// Duplicate reports whether the key was already committed when the
// transaction began (Commit then compares the data and writes nothing).
func (tx *Tx) Duplicate() bool { return tx.dup != nil }

// StagingPrefix is where this attempt's appended files wait for the commit.
func (tx *Tx) StagingPrefix() string { return tx.t.prefix + "/" + StagingDir + tx.attempt }

// Touch marks a partition as written by the transaction (an
// OverwritePartitions commit replaces it even if no file is added).
func (tx *Tx) Touch(p lake.Partition) {
	tx.mu.Lock()
	path := partPath(p)
	if _, ok := tx.touched[path]; !ok {
		tx.touched[path] = p
	}
	tx.mu.Unlock()
}

// prefixFor returns where a partition's files go in this transaction.
func (tx *Tx) prefixFor(path string) string {
	if tx.opts.Mode != Append {
		return joinKey(tx.t.prefix, tx.gen, path)
	}
	if loc, ok := tx.base.Locations[path]; ok {
		return loc
	}
	return joinKey(tx.t.prefix, path)
}

// FileKey names the next data file of partition p: the key it will have
// once committed, and the key it is uploaded to now (the same for an
// overwrite, whose generation folder nobody reads yet; the staging folder
// for an append).
func (tx *Tx) FileKey(p lake.Partition) (key, upload string) {
	path := partPath(p)
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if _, ok := tx.touched[path]; !ok {
		tx.touched[path] = p
	}
	tx.seq++
	name := fmt.Sprintf("part-%s-%05d.parquet", tx.attempt, tx.seq)
	key = tx.prefixFor(path) + "/" + name
	if tx.opts.Mode == Append {
		return key, tx.StagingPrefix() + "/" + name
	}
	return key, key
}

// Upload stores one data file of the transaction create-only at upload
// (from FileKey) and returns it as a DataFile of key; rows and stats are
// the caller's. body must be re-readable from the start (an io.ReadSeeker)
// for the checksum: it is read once for the CRC-32C and once to upload.
// A duplicate transaction computes the checksum and uploads nothing.
func (tx *Tx) Upload(ctx context.Context, p lake.Partition, key, upload string, body io.ReadSeeker, size int64) (DataFile, error) {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.Copy(h, body); err != nil {
		return DataFile{}, fmt.Errorf("zones: checksum %s: %w", key, err)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return DataFile{}, err
	}
	df := DataFile{Key: key, Partition: p, Size: size, CRC32C: h.Sum32()}
	if upload != key {
		df.Staged = upload
	}
	if tx.dup != nil {
		return df, nil
	}
	// Deferred: Commit syncs every file at once before its commit point
	// (commitDurable), instead of the file store waiting for the disk
	// three times per file here.
	if err := tx.t.store.CreateFrom(ctx, upload, body, size, &lake.PutOptions{ContentType: "application/vnd.apache.parquet", Deferred: true}); err != nil {
		return DataFile{}, fmt.Errorf("zones: upload %s: %w", upload, err)
	}
	tx.mu.Lock()
	tx.uploaded = append(tx.uploaded, upload)
	tx.deferred = append(tx.deferred, upload)
	tx.mu.Unlock()
	return df, nil
}

// commitDurable makes the files Upload put durable, all in one step (see
// lake.PutOptions.Deferred), and then commits: the log never names a file
// the disk could still lose.
func (tx *Tx) commitDurable(ctx context.Context) (*CommitResult, error) {
	tx.mu.Lock()
	keys := tx.deferred
	tx.mu.Unlock()
	if err := tx.t.store.Sync(ctx, keys); err != nil {
		return nil, fmt.Errorf("zones: commit %s: not committed: the data files are not durable: %w", tx.t.prefix, err)
	}
	return tx.commit(ctx)
}

// Add records uploaded files as part of the commit.
func (tx *Tx) Add(files ...DataFile) {
	tx.mu.Lock()
	tx.files = append(tx.files, files...)
	tx.mu.Unlock()
}

// digest is what an idempotency key commits to: the partitions, sizes,
// rows and checksums of the files (not their names, which are per attempt).
func digestOf(files []DataFile) string {
	lines := make([]string, len(files))
	for i, f := range files {
		lines[i] = fmt.Sprintf("%s\t%d\t%d\t%08x", partPath(f.Partition), f.Rows, f.Size, f.CRC32C)
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Abort deletes what this attempt uploaded (only its own objects) and ends
// the transaction; the table is unchanged.
func (tx *Tx) Abort(ctx context.Context) error {
	tx.mu.Lock()
	if tx.done {
		tx.mu.Unlock()
		return fmt.Errorf("zones: abort %s: %w", tx.t.prefix, ErrWriterClosed)
	}
	tx.done = true
	tx.mu.Unlock()
	return tx.cleanup(ctx)
}

// cleanup deletes the attempt's uploads, bounded in time even when ctx is
// already cancelled; what it cannot delete is left to Vacuum.
func (tx *Tx) cleanup(ctx context.Context) error {
	tx.mu.Lock()
	keys := tx.uploaded
	tx.uploaded = nil
	tx.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := tx.t.store.DeleteMany(cctx, keys); err != nil {
		return fmt.Errorf("zones: delete the files of an uncommitted attempt (Vacuum removes what is left): %w", err)
	}
	return nil
}

// publishTimeout bounds what a commit does after its commit point.
const publishTimeout = 2 * time.Minute

// CommitUnknownError is returned (wrapping ErrCommitUnknown) when Commit
// cannot tell whether its log object landed. Retry with Key.
type CommitUnknownError struct {
	Table   string
	Key     string // the idempotency key to retry with
	Version int64  // the version the attempt tried to take
	Err     error
}

func (e *CommitUnknownError) Error() string {
	return fmt.Sprintf("zones: commit %s: the outcome of version %d is unknown (retry with idempotency key %q; do not use a new key): %v", e.Table, e.Version, e.Key, e.Err)
}

func (e *CommitUnknownError) Unwrap() []error { return []error{ErrCommitUnknown, e.Err} }

// Commit writes the transaction as the next table version. publish, when
// not nil, runs after the commit point (the catalog projection); its error
// is returned wrapping ErrCatalog together with the result.
func (tx *Tx) Commit(ctx context.Context, publish func(context.Context) error) (*CommitResult, error) {
	tx.mu.Lock()
	if tx.done {
		tx.mu.Unlock()
		return nil, fmt.Errorf("zones: commit %s: %w", tx.t.prefix, ErrWriterClosed)
	}
	tx.done = true
	sort.Slice(tx.files, func(i, j int) bool { return tx.files[i].Key < tx.files[j].Key })
	tx.mu.Unlock()
	res, err := tx.commitDurable(ctx)
	tx.t.recordCommit(ctx, res, err)
	if res == nil {
		if errors.Is(err, ErrCommitUnknown) {
			// the log may name these files: never delete them
			return nil, err
		}
		// not committed (known): the attempt's files go
		if cerr := tx.cleanup(ctx); cerr != nil {
			tx.t.logger.Warn("zones: cleanup after a failed commit", "err", cerr)
		}
		return nil, err
	}
	if res.Duplicate {
		tx.cleanup(ctx)
	}
	// After the commit point: the catalog first (new partitions point at
	// folders that are still empty; moved ones switch in one call), then
	// the appended files move into place — so an engine reading the
	// catalog's locations sees the previous version until the moves, and a
	// catalog failure leaves the files staged (invisible) for the next
	// commit, SyncCatalog or Vacuum to finish. The commit happened, so this
	// runs to its end (bounded) even when ctx is cancelled now.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	var perr error
	if publish != nil {
		perr = publish(pctx)
	}
	if perr == nil {
		perr = tx.t.rollForward(pctx)
	}
	if perr != nil {
		return res, fmt.Errorf("zones: commit %s version %d is committed, but publishing it to other engines failed (the next commit, SyncCatalog or Vacuum repeats it): %w: %w", tx.t.prefix, res.Version, ErrCatalog, perr)
	}
	return res, nil
}

// commit is the optimistic loop; it returns a nil result when nothing was
// committed.
func (tx *Tx) commit(ctx context.Context) (*CommitResult, error) {
	t := tx.t
	digest := digestOf(tx.files)
	if tx.dup != nil {
		return tx.duplicate(tx.dup, digest, 0)
	}
	audit := t.lk.Audit(ctx, tx.opts.Caller)
	checked := tx.base.Version
	for attempt := 1; ; attempt++ {
		st, err := t.refresh(ctx)
		if err != nil {
			return nil, err
		}
		if v, ok := st.key(tx.opts.IdempotencyKey); ok {
			c, err := t.readCommit(ctx, v)
			if err != nil {
				return nil, err
			}
			if c.Attempt == tx.attempt { // ours, from an attempt whose answer was lost
				return resultOf(c, false, attempt), nil
			}
			return tx.duplicate(c, digest, attempt)
		}
		for v := checked + 1; v <= st.Version; v++ {
			c, err := t.readCommit(ctx, v)
			if err != nil {
				return nil, err
			}
			if err := tx.conflicts(c); err != nil {
				return nil, err
			}
		}
		checked = st.Version
		c, err := tx.build(st, audit, digest)
		if err != nil {
			return nil, err
		}
		b, err := logcodec.Encode(c)
		if err != nil {
			return nil, err
		}
		err = t.log.Append(ctx, c.Version, b)
		if err != nil && !errors.Is(err, lake.ErrExists) && !errors.Is(err, lake.ErrThrottled) {
			// the put may have landed: find out before answering
			landed, rerr := tx.resolve(ctx, c, b)
			switch {
			case rerr != nil:
				return nil, &CommitUnknownError{Table: t.prefix, Key: tx.opts.IdempotencyKey, Version: c.Version, Err: errors.Join(err, rerr)}
			case landed:
				err = nil
			case ctx.Err() != nil:
				return nil, fmt.Errorf("zones: commit %s: not committed (version %d went to another writer): %w", t.prefix, c.Version, err)
			default:
				err = lake.ErrExists // another writer took the version: go again
			}
		}
		if err == nil {
			next := st.clone()
			if err := next.apply(c); err != nil {
				return nil, err
			}
			t.publish(next)
			if err := t.log.NoteVersion(ctx, c.Version); err != nil {
				t.logger.Warn("zones: newest-version hint not written", "version", c.Version, "err", err)
			}
			if c.Version%CheckpointInterval == 0 || t.needCheckpoint.Load() {
				t.writeCheckpoint(ctx, next)
			}
			res := resultOf(c, false, attempt)
			t.logger.Info("zones: committed", "version", c.Version, "mode", c.Mode.String(), "files", len(c.Added), "rows", res.Rows, "attempts", attempt)
			return res, nil
		}
		if attempt >= tx.opts.MaxAttempts {
			return nil, fmt.Errorf("zones: commit %s: %d attempts: %w", t.prefix, attempt, ErrTooManyAttempts)
		}
		if err := objlog.Pause(ctx, attempt); err != nil {
			return nil, fmt.Errorf("zones: commit %s: not committed: %w", t.prefix, err)
		}
	}
}

// resolve finds out whether the log object of c landed after a put whose
// answer was an error. It reads the version (with its own short deadline:
// ctx may be what was cancelled); when the version is free it writes it
// again, so that the version is decided either way. landed reports whether
// the version holds this attempt's commit.
func (tx *Tx) resolve(ctx context.Context, c *Commit, b []byte) (landed bool, err error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	for try := 0; try < 3; try++ {
		got, err := tx.t.readCommit(rctx, c.Version)
		if err == nil {
			return got.Attempt == tx.attempt, nil
		}
		if !errors.Is(err, lake.ErrNotFound) {
			if rctx.Err() != nil {
				return false, err
			}
			continue
		}
		err = tx.t.log.Append(rctx, c.Version, b)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, lake.ErrExists) && rctx.Err() != nil {
			return false, err
		}
	}
	return false, fmt.Errorf("version %d: no definite answer after 3 tries", c.Version)
}

// duplicate answers a transaction whose key is in the log as commit c: the
// same data is that commit again (Duplicate); other data under the same
// key is refused, naming the key and the version.
func (tx *Tx) duplicate(c *Commit, digest string, attempts int) (*CommitResult, error) {
	if c.Digest != "" && c.Digest != digest {
		return nil, fmt.Errorf("zones: commit %s: idempotency key %q was committed as version %d with other data (%d rows, %s); this write has %d rows (%s): use a new key for new data: %w",
			tx.t.prefix, tx.opts.IdempotencyKey, c.Version, c.Rows(), c.Digest, rowsOf(tx.files), digest, ErrConflict)
	}
	return resultOf(c, true, attempts), nil
}

func rowsOf(files []DataFile) int64 {
	var n int64
	for _, f := range files {
		n += f.Rows
	}
	return n
}
