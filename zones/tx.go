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
	"path"
	"sort"
	"strings"
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
	touched  map[string]lake.Partition
	place    map[string]string // partition path → folder of files adopted in place
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
	if err := tx.t.store.CreateFrom(ctx, upload, body, size, &lake.PutOptions{ContentType: "application/vnd.apache.parquet"}); err != nil {
		return DataFile{}, fmt.Errorf("zones: upload %s: %w", upload, err)
	}
	tx.mu.Lock()
	tx.uploaded = append(tx.uploaded, upload)
	tx.mu.Unlock()
	return df, nil
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
	res, err := tx.commit(ctx)
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

// conflicts reports whether a commit made after this transaction began
// collides with it.
func (tx *Tx) conflicts(c *Commit) error {
	t := tx.t
	if c.IdempotencyKey == tx.opts.IdempotencyKey {
		return nil // handled by the caller as a duplicate
	}
	theirs := c.touched()
	mode := tx.effectiveMode()
	if c.Operation == "replace_schema" || tx.opts.ReplaceSchema {
		return fmt.Errorf("zones: commit to %s: version %d (%s) changed the table while a schema replacement was involved: %w", t.prefix, c.Version, c.Operation, ErrConflict)
	}
	switch mode {
	case Overwrite:
		if len(theirs) > 0 {
			return fmt.Errorf("zones: overwrite of %s: version %d (%s) changed the table meanwhile: %w", t.prefix, c.Version, c.Mode, ErrConflict)
		}
	case OverwritePartitions:
		for p := range tx.touched {
			if theirs[p] {
				return fmt.Errorf("zones: overwrite of %s partition %q: version %d (%s) changed it meanwhile: %w", t.prefix, p, c.Version, c.Mode, ErrConflict)
			}
		}
		if c.Mode == Overwrite {
			return fmt.Errorf("zones: overwrite of %s partitions: version %d overwrote the whole table meanwhile: %w", t.prefix, c.Version, ErrConflict)
		}
	case Append:
		if c.Mode == Append {
			return nil
		}
		for p := range tx.touched {
			if theirs[p] {
				return fmt.Errorf("zones: append to %s partition %q: version %d overwrote it meanwhile: %w", t.prefix, p, c.Version, ErrConflict)
			}
		}
	}
	return nil
}

// effectiveMode: overwriting "the touched partitions" of a table without
// partitions means the whole table.
func (tx *Tx) effectiveMode() Mode {
	if tx.opts.Mode == OverwritePartitions && len(tx.opts.PartitionKeys) == 0 {
		return Overwrite
	}
	return tx.opts.Mode
}

// build makes the log entry of this transaction on top of st.
func (tx *Tx) build(st *state, audit Audit, digest string) (*Commit, error) {
	t := tx.t
	mode := tx.effectiveMode()
	c := &Commit{
		Version:        st.Version + 1,
		Timestamp:      time.Now().UTC(),
		Operation:      "write",
		Mode:           tx.opts.Mode,
		IdempotencyKey: tx.opts.IdempotencyKey,
		Attempt:        tx.attempt,
		Digest:         digest,
		PartitionKeys:  tx.opts.PartitionKeys,
		Added:          tx.files,
		Metadata:       tx.opts.Metadata,
		Audit:          audit,
		SchemaVersion:  st.SchemaVersion,
	}
	switch {
	case tx.opts.ReplaceSchema && st.Version > 0:
		c.Operation = "replace_schema"
		if !equalColumns(st.Schema, tx.opts.Schema) || !equalStrings(st.PartitionKeys, tx.opts.PartitionKeys) {
			c.Schema, c.SchemaVersion = tx.opts.Schema, st.SchemaVersion+1
		}
	case st.Version > 0 && st.Schema != nil && !equalStrings(st.PartitionKeys, tx.opts.PartitionKeys):
		return nil, fmt.Errorf("zones: commit %s: table is partitioned by %v, the data by %v: %w", t.prefix, st.PartitionKeys, tx.opts.PartitionKeys, ErrSchema)
	case st.Version == 0 || st.Schema == nil:
		c.Schema, c.SchemaVersion = tx.opts.Schema, 1
	case tx.opts.Schema != nil && !equalColumns(st.Schema, tx.opts.Schema):
		if err := checkColumns(st.Schema, tx.opts.Schema, st.PartitionKeys); err != nil {
			return nil, fmt.Errorf("zones: commit %s: %w: %w", t.prefix, ErrSchema, err)
		}
		c.Schema, c.SchemaVersion = tx.opts.Schema, st.SchemaVersion+1
	}
	paths := make([]string, 0, len(tx.touched))
	for p := range tx.touched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	switch mode {
	case Append:
		// An append's files are staged: where they go is decided here, on
		// the version committed on.
		// Files adopted where they lie (AddFiles, Convert) fix their
		// partition's folder when the partition is new.
		locs := map[string]string{}
		for _, p := range paths {
			loc, ok := st.Locations[p]
			if !ok {
				loc = tx.newPartitionFolder(st, p, c.Version)
				if d, ok := tx.place[p]; ok && loc == joinKey(t.prefix, p) {
					loc = d
				}
				c.Locations = append(c.Locations, PartitionLocation{Partition: tx.touched[p], Prefix: loc})
			}
			locs[p] = loc
		}
		added := make([]DataFile, len(tx.files))
		for i, f := range tx.files {
			loc := locs[partPath(f.Partition)]
			switch {
			case f.Staged != "":
				f.Key = loc + "/" + path.Base(f.Key)
			case st.files[f.Key].Key != "":
				return nil, fmt.Errorf("zones: commit %s: file %s, adopted in place, was committed meanwhile by version %d: %w", t.prefix, f.Key, st.files[f.Key].AddedIn, ErrConflict)
			case !visibleUnder(loc+"/", f.Key):
				return nil, fmt.Errorf("zones: commit %s: file %s lies in %s, but version %d put its partition at %s (adopt it again: it will be copied): %w", t.prefix, f.Key, path.Dir(f.Key), st.Version, loc, ErrConflict)
			}
			added[i] = f
		}
		sort.Slice(added, func(i, j int) bool { return added[i].Key < added[j].Key })
		c.Added = added
	case Overwrite, OverwritePartitions:
		for _, p := range paths {
			c.Locations = append(c.Locations, PartitionLocation{Partition: tx.touched[p], Prefix: tx.prefixFor(p)})
		}
		for _, f := range st.sortedFiles() {
			if mode == Overwrite || tx.touched[partPath(f.Partition)] != nil {
				c.Removed = append(c.Removed, f)
			}
		}
		if mode == Overwrite {
			for p := range st.Locations {
				if _, ok := tx.touched[p]; !ok {
					part, err := lake.ParsePartitionPath(p)
					if err != nil {
						return nil, err
					}
					c.Dropped = append(c.Dropped, part)
				}
			}
			sort.Slice(c.Dropped, func(i, j int) bool { return partPath(c.Dropped[i]) < partPath(c.Dropped[j]) })
		}
	}
	return c, nil
}

// newPartitionFolder is where an append puts a partition the table does
// not have: its Hive folder, unless files an earlier commit removed (a
// dropped partition waiting for Vacuum) are still there — an engine
// reading the folder would see them again — then a fresh generation folder.
func (tx *Tx) newPartitionFolder(st *state, p string, version int64) string {
	def := joinKey(tx.t.prefix, p)
	for _, ts := range st.Tombstones {
		if strings.HasPrefix(ts.Key, def+"/") {
			return joinKey(tx.t.prefix, fmt.Sprintf("_g%d-%s", version, tx.attempt), p)
		}
	}
	return def
}

// rollForward moves every committed file still in the staging folder to
// its key: the files of the commit just made, and those of earlier commits
// whose writer died between its commit and its moves. It lists the staging
// folder (one request when nothing waits) and moves what a committed
// version names; staged files no version names belong to attempts still
// running or dead, which Vacuum handles. Moves are idempotent, so
// concurrent writers may roll the same file forward.
func (t *Table) rollForward(ctx context.Context) error {
	var staged []string
	for e, err := range t.store.List(ctx, t.prefix+"/"+StagingDir, nil) {
		if err != nil {
			return err
		}
		if !e.IsDir {
			staged = append(staged, e.Key)
		}
	}
	if len(staged) == 0 {
		return nil
	}
	st, err := t.refresh(ctx)
	if err != nil {
		return err
	}
	byStaged := make(map[string]string)
	for _, f := range st.files {
		if f.Staged != "" {
			byStaged[f.Staged] = f.Key
		}
	}
	var errs []error
	for _, k := range staged {
		key, ok := byStaged[k]
		if !ok {
			continue
		}
		if err := t.store.Move(ctx, k, key); err != nil {
			errs = append(errs, fmt.Errorf("move %s to %s: %w", k, key, err))
		}
	}
	return errors.Join(errs...)
}

// isStaging is whether a key lies in the table's staging folder.
func (t *Table) isStaging(key string) bool {
	return strings.HasPrefix(key, t.prefix+"/"+StagingDir)
}

// openData opens a committed data file for reading: at its key, or, while
// its commit's move is still to come, in the staging folder. A file that is
// missing from both, or whose size is not the one the log recorded, is
// corruption (ErrCorrupt naming the key), never other bytes read in silence.
func (t *Table) openData(ctx context.Context, df DataFile) (*lake.ObjectReader, error) {
	r, err := t.store.OpenReader(ctx, df.Key, nil)
	if errors.Is(err, lake.ErrNotFound) && df.Staged != "" {
		r, err = t.store.OpenReader(ctx, df.Staged, nil)
		if errors.Is(err, lake.ErrNotFound) { // moved in between
			r, err = t.store.OpenReader(ctx, df.Key, nil)
		}
	}
	if errors.Is(err, lake.ErrNotFound) {
		return nil, fmt.Errorf("zones: read %s: data file of version %d is missing: %w: %w", df.Key, df.AddedIn, ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("zones: read %s: %w", df.Key, err)
	}
	if df.Size > 0 && r.Size() != df.Size {
		r.Close()
		return nil, fmt.Errorf("zones: read %s: the object has %d bytes, the log says %d (replaced or damaged): %w", df.Key, r.Size(), df.Size, ErrCorrupt)
	}
	return r, nil
}
