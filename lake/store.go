package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync/atomic"

	"github.com/lakekit/lakekit/lake/driver"
)

// Attributes describe a stored object. Keys are relative to the Store.
type Attributes = driver.Attributes

// Entry is one listing result: an object, or a common prefix when IsDir.
type Entry = driver.ListEntry

// PutOptions modify a put. A nil *PutOptions means defaults.
type PutOptions struct {
	ContentType string
	// Metadata is stored with the object (S3 user metadata). Keys are lower
	// case letters, digits and '-'.
	Metadata map[string]string
	// SSEKMSKeyID encrypts the object with this KMS key; empty means the
	// store's default (a zone's key).
	SSEKMSKeyID string
	// Deferred: on a store that makes every put durable before it returns
	// (the file store's fsync), leave that to a later Sync of the key. The
	// caller must Sync before anything depends on the object (a commit
	// naming it): a commit of many files then waits for the disk once
	// instead of once per file. Other stores ignore it.
	Deferred bool
}

// ListOptions select what List returns. A nil *ListOptions lists every key
// under the prefix recursively.
type ListOptions struct {
	// Delimiter (normally "/") groups keys below the next delimiter into one
	// entry with IsDir set, like S3's CommonPrefixes.
	Delimiter string
}

// Store is the portable object store every lakekit package works through. It
// wraps a driver (file, memory, S3, or your own), validates keys before they
// reach it, scopes keys under an optional prefix, and applies defaults such
// as a zone's KMS key. Its zero value is not usable; get one from Open,
// NewStore or Lake.Store. A Store is safe for concurrent use.
type Store struct {
	d       driver.Driver
	prefix  string // "" or ends with "/"
	kmsKey  string
	needSSE bool
	closed  *atomic.Bool
}

// NewStore returns a Store over a driver.
func NewStore(d driver.Driver) *Store {
	return &Store{d: d, closed: new(atomic.Bool)}
}

// Sub returns a Store whose keys are relative to prefix within s. It shares
// the driver: closing either closes both.
func (s *Store) Sub(prefix string) (*Store, error) {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return s, nil
	}
	if err := ValidateKey(prefix); err != nil {
		return nil, err
	}
	c := *s
	c.prefix = s.prefix + prefix + "/"
	return &c, nil
}

// WithEncryption returns a Store that encrypts every put with kmsKeyID
// (SSE-KMS). With required set, a put without any key is refused with
// ErrEncryptionRequired before anything is sent.
func (s *Store) WithEncryption(kmsKeyID string, required bool) *Store {
	c := *s
	c.kmsKey = kmsKeyID
	c.needSSE = required
	return &c
}

// Prefix returns the prefix this store's keys are relative to ("" or ending in "/").
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) full(op, key string) (string, error) {
	if s.closed.Load() {
		return "", fmt.Errorf("lake: %s %q: %w", op, key, ErrClosed)
	}
	if err := ValidateKey(key); err != nil {
		return "", fmt.Errorf("lake: %s: %w", op, err)
	}
	full := s.prefix + key
	limit := MaxKeyLength
	if kl, ok := s.d.(driver.KeyLimiter); ok {
		limit = min(limit, kl.MaxKeyLength())
	}
	if len(full) > limit {
		return "", fmt.Errorf("lake: %s: %w", op, invalid("key", key, fmt.Sprintf("with the store's prefixes must be at most %d bytes (S3 allows 1024 in all)", MaxKeyLength)))
	}
	return full, nil
}

func (s *Store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("lake: %s %q: %w", op, key, err)
}

func (s *Store) driverPut(opts *PutOptions, ifNotExists bool) (*driver.PutOptions, error) {
	do := &driver.PutOptions{IfNotExists: ifNotExists, SSEKMSKeyID: s.kmsKey}
	if opts != nil {
		do.ContentType = opts.ContentType
		do.Metadata = opts.Metadata
		do.Deferred = opts.Deferred
		if opts.SSEKMSKeyID != "" {
			do.SSEKMSKeyID = opts.SSEKMSKeyID
		}
	}
	for k := range do.Metadata {
		if !validMetaKey(k) {
			return nil, invalid("metadata key", k, "must be lower case letters, digits and '-'")
		}
	}
	if s.needSSE && do.SSEKMSKeyID == "" {
		return nil, ErrEncryptionRequired
	}
	return do, nil
}

func validMetaKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Put stores the content of r under key atomically: readers see the old
// object or the whole new one, never a part. size is the length of r, or -1
// when unknown.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts *PutOptions) error {
	return s.put(ctx, "put", key, r, size, opts, false)
}

// PutBytes is Put for a byte slice.
func (s *Store) PutBytes(ctx context.Context, key string, b []byte, opts *PutOptions) error {
	return s.put(ctx, "put", key, bytes.NewReader(b), int64(len(b)), opts, false)
}

// Create stores b under key only if key does not exist yet, atomically across
// processes: of many concurrent Creates of one key exactly one succeeds, the
// others get an error matching ErrExists. Commit logs are built on it.
func (s *Store) Create(ctx context.Context, key string, b []byte, opts *PutOptions) error {
	return s.put(ctx, "create", key, bytes.NewReader(b), int64(len(b)), opts, true)
}

// CreateFrom is Create for a reader of size bytes (-1 when unknown).
func (s *Store) CreateFrom(ctx context.Context, key string, r io.Reader, size int64, opts *PutOptions) error {
	return s.put(ctx, "create", key, r, size, opts, true)
}

func (s *Store) put(ctx context.Context, op, key string, r io.Reader, size int64, opts *PutOptions, ifNotExists bool) error {
	full, err := s.full(op, key)
	if err != nil {
		return err
	}
	do, err := s.driverPut(opts, ifNotExists)
	if err != nil {
		return s.wrap(op, key, err)
	}
	return s.wrap(op, key, s.d.Put(ctx, full, r, size, do))
}

// Sync makes objects put with PutOptions.Deferred durable, all in one
// step; a missing key is an error matching ErrNotFound. It does nothing on
// stores whose puts are durable when they return (S3) or never (memory).
func (s *Store) Sync(ctx context.Context, keys []string) error {
	sy, ok := s.d.(driver.Syncer)
	if !ok || len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		f, err := s.full("sync", k)
		if err != nil {
			return err
		}
		full[i] = f
	}
	if err := sy.Sync(ctx, full); err != nil {
		return fmt.Errorf("lake: sync %d objects: %w", len(keys), err)
	}
	return nil
}

// Move moves the object at src to dst: a rename on file stores, a
// server-side copy and a delete on S3, a get, put and delete elsewhere.
// It is idempotent: when src is gone and dst exists (an earlier or a
// concurrent move finished) it returns nil; when both are missing, an error
// matching ErrNotFound. dst keeps src's content type, metadata and
// encryption (or the store's key where src had none).
func (s *Store) Move(ctx context.Context, src, dst string) error {
	fs, err := s.full("move", src)
	if err != nil {
		return err
	}
	fd, err := s.full("move", dst)
	if err != nil {
		return err
	}
	if m, ok := s.d.(driver.Mover); ok {
		return s.wrap("move", src, m.Move(ctx, fs, fd, &driver.PutOptions{SSEKMSKeyID: s.kmsKey}))
	}
	rc, a, err := s.d.Get(ctx, fs, 0, -1)
	if errors.Is(err, ErrNotFound) {
		if _, serr := s.d.Stat(ctx, fd); serr == nil {
			return nil
		}
		return s.wrap("move", src, err)
	}
	if err != nil {
		return s.wrap("move", src, err)
	}
	defer rc.Close()
	do := &driver.PutOptions{ContentType: a.ContentType, Metadata: a.Metadata, SSEKMSKeyID: a.SSEKMSKeyID}
	if do.SSEKMSKeyID == "" {
		do.SSEKMSKeyID = s.kmsKey
	}
	if err := s.d.Put(ctx, fd, rc, a.Size, do); err != nil {
		return s.wrap("move", dst, err)
	}
	return s.wrap("move", src, s.d.Delete(ctx, []string{fs}))
}

// Get opens the whole object for reading. The caller closes it.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := s.GetRange(ctx, key, 0, -1)
	return rc, err
}

// GetRange opens length bytes from off (to the end when length < 0; the last
// -off bytes when off < 0) and returns the object's attributes with it.
func (s *Store) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, *Attributes, error) {
	full, err := s.full("get", key)
	if err != nil {
		return nil, nil, err
	}
	rc, a, err := s.d.Get(ctx, full, off, length)
	if err != nil {
		return nil, nil, s.wrap("get", key, err)
	}
	if err := s.checkEncrypted(key, a); err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, s.rel(a), nil
}

// checkEncrypted refuses, in a store that requires encryption, an object
// that does not carry a KMS key (or carries another key than the store's,
// where both name the key the same way): such an object was not written
// through the zone's rules, and reading or appending to it would mix
// unencrypted data into an encrypted zone.
func (s *Store) checkEncrypted(key string, a *driver.Attributes) error {
	if !s.needSSE || a == nil {
		return nil
	}
	if a.SSEKMSKeyID == "" {
		return fmt.Errorf("lake: read %q: the zone requires SSE-KMS encryption with %s but the object is not encrypted with KMS: %w", key, s.kmsKey, ErrEncryptionRequired)
	}
	if s.kmsKey != "" && !sameKMSKey(s.kmsKey, a.SSEKMSKeyID) {
		return fmt.Errorf("lake: read %q: the zone requires KMS key %s but the object is encrypted with %s: %w", key, s.kmsKey, a.SSEKMSKeyID, ErrEncryptionRequired)
	}
	return nil
}

// sameKMSKey compares a configured key with the one an object reports. S3
// reports the key ARN; a zone may name the key by id, by ARN or by alias.
// An alias cannot be compared without asking KMS, so it matches any key.
func sameKMSKey(want, got string) bool {
	if want == got || strings.Contains(want, "alias/") {
		return true
	}
	// key id vs key ARN ("arn:aws:kms:r:a:key/<id>")
	return strings.HasSuffix(got, "key/"+want) || strings.HasSuffix(want, "key/"+got)
}

// ReadAll returns the whole object.
func (s *Store) ReadAll(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, s.wrap("read", key, err)
}

// Stat returns an object's attributes, or an error matching ErrNotFound.
func (s *Store) Stat(ctx context.Context, key string) (*Attributes, error) {
	full, err := s.full("stat", key)
	if err != nil {
		return nil, err
	}
	a, err := s.d.Stat(ctx, full)
	if err != nil {
		return nil, s.wrap("stat", key, err)
	}
	return s.rel(a), nil
}

// Exists reports whether key exists.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.Stat(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	}
	return false, err
}

func (s *Store) rel(a *Attributes) *Attributes {
	if a == nil {
		return nil
	}
	c := *a
	c.Key = strings.TrimPrefix(c.Key, s.prefix)
	return &c
}

// Delete removes key. A missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.DeleteMany(ctx, []string{key})
}

// DeleteMany removes keys (batched by the driver). Missing keys are not an
// error. Every key is validated before any is deleted.
func (s *Store) DeleteMany(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		f, err := s.full("delete", k)
		if err != nil {
			return err
		}
		full[i] = f
	}
	if err := s.d.Delete(ctx, full); err != nil {
		return fmt.Errorf("lake: delete %d keys (first %q): %w", len(keys), keys[0], err)
	}
	return nil
}

// List yields the objects whose keys start with prefix, in lexicographic
// order, as (entry, nil) pairs; an error ends the sequence as (zero, err).
// Keys in entries are relative to the store, like the prefix.
func (s *Store) List(ctx context.Context, prefix string, opts *ListOptions) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if s.closed.Load() {
			yield(Entry{}, fmt.Errorf("lake: list %q: %w", prefix, ErrClosed))
			return
		}
		if err := validatePrefix(prefix); err != nil {
			yield(Entry{}, fmt.Errorf("lake: list: %w", err))
			return
		}
		lo := driver.ListOptions{Prefix: s.prefix + prefix}
		if opts != nil {
			lo.Delimiter = opts.Delimiter
		}
		for e, err := range s.d.List(ctx, lo) {
			if err != nil {
				yield(Entry{}, s.wrap("list", prefix, err))
				return
			}
			e.Key = strings.TrimPrefix(e.Key, s.prefix)
			if !yield(e, nil) {
				return
			}
		}
	}
}

// ListAll collects List into a slice.
func (s *Store) ListAll(ctx context.Context, prefix string, opts *ListOptions) ([]Entry, error) {
	var out []Entry
	for e, err := range s.List(ctx, prefix, opts) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// As exposes the driver's underlying client: *s3.Client for the S3 driver,
// the root directory as *string for the file driver. See each driver's doc.
func (s *Store) As(i any) bool { return s.d.As(i) }

// Driver returns the driver under the store, for wrappers (fault injection,
// counting) that need to decorate it.
func (s *Store) Driver() driver.Driver { return s.d }

// Close closes the driver. Stores made by Sub and WithEncryption share it.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.d.Close()
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Location returns where key (or a prefix, ending in "/") lives, as a URL
// other engines understand: "s3://bucket/prefix/key" on S3,
// "file:///dir/key" on the file store, "mem://name/key" in memory. Catalog
// locations are built with it.
func (s *Store) Location(key string) string {
	full := s.prefix + key
	if l, ok := s.d.(driver.Locator); ok {
		return l.Location(full)
	}
	return full
}
