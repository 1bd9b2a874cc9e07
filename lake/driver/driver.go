// Package driver defines the interface that lakekit object-store drivers
// implement. Application code uses the portable *lake.Store instead; this
// package is for people writing a new backend.
//
// A driver works on flat, already-validated keys ("raw/db/t/part-1.parquet"):
// the lake.Store checks every key before it reaches a driver, applies prefixes,
// and wraps errors. Drivers report conditions with the sentinel errors below
// (wrapped with %w so the backend's own error stays reachable with errors.As).
//
// Run lake/storetest's conformance suite against every driver.
package driver

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Sentinel errors. lake re-exports them as lake.ErrNotFound and friends; a
// driver wraps them: fmt.Errorf("s3: get %q: %w (%w)", key, driver.ErrNotFound, apiErr).
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrExists: a create-if-absent put found the key already present.
	ErrExists = errors.New("object already exists")
	// ErrInvalidName: a key, name or partition value breaks a naming rule.
	ErrInvalidName = errors.New("invalid name")
	// ErrPrecondition: a conditional request failed for another reason than
	// existence (an ETag no longer matches, say).
	ErrPrecondition = errors.New("precondition failed")
	// ErrThrottled: the backend asked us to slow down (S3 SlowDown, 503). The
	// caller may retry with backoff.
	ErrThrottled = errors.New("throttled")
)

// Attributes describe a stored object.
type Attributes struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ETag        string // changes whenever the content changes
	ContentType string
	Metadata    map[string]string // user metadata; keys lower case
	// SSEKMSKeyID is the KMS key the object was encrypted with, if any.
	SSEKMSKeyID string
}

// PutOptions modify a Put. A nil *PutOptions means defaults.
type PutOptions struct {
	ContentType string
	Metadata    map[string]string
	// IfNotExists makes the put fail with ErrExists when the key is present.
	// It must be atomic across processes: of N concurrent puts of one key,
	// exactly one succeeds.
	IfNotExists bool
	// SSEKMSKeyID asks for server-side encryption with this KMS key.
	SSEKMSKeyID string
	// Deferred lets a driver that makes each put durable by itself (a file
	// store's fsync) leave that to a later Syncer.Sync of the key, which
	// the caller must call before anything depends on the object. Drivers
	// whose puts are durable when they return (S3) or never (memory)
	// ignore it.
	Deferred bool
}

// Syncer may be implemented by a driver that honours PutOptions.Deferred:
// Sync makes the named objects durable, with their metadata and their
// names in their folders, in one step (a file store fsyncs them at once,
// so the disk commits them together). A key that is missing is an error
// matching ErrNotFound. lake.Store.Sync does nothing for other drivers.
type Syncer interface {
	Sync(ctx context.Context, keys []string) error
}

// ListOptions select what List returns.
type ListOptions struct {
	Prefix string
	// Delimiter, when set (normally "/"), groups keys that contain it after
	// the prefix into one entry with IsDir set, like S3's CommonPrefixes.
	Delimiter string
}

// ListEntry is one result of List: an object, or a common prefix when IsDir.
type ListEntry struct {
	Key   string
	IsDir bool
	Size  int64
	// ModTime and ETag are set for objects.
	ModTime time.Time
	ETag    string
}

// Driver is the contract of an object store backend. Methods must be safe for
// concurrent use.
type Driver interface {
	// Put stores body (exactly size bytes when size >= 0; until EOF when
	// size < 0) under key, atomically: a reader sees the previous object or
	// the whole new one, never a part. See PutOptions.IfNotExists.
	Put(ctx context.Context, key string, body io.Reader, size int64, opts *PutOptions) error

	// Get returns length bytes from offset off (to the end when length < 0)
	// and the attributes of the object (Size is the whole object's size).
	// When off < 0 it returns the last -off bytes (a suffix range: one
	// request on S3, no Stat needed). It returns ErrNotFound for a missing key.
	Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, *Attributes, error)

	// Stat returns the attributes of key, or ErrNotFound.
	Stat(ctx context.Context, key string) (*Attributes, error)

	// Delete removes keys. Missing keys are not an error.
	Delete(ctx context.Context, keys []string) error

	// List yields entries in lexicographic byte order of their keys.
	List(ctx context.Context, opts ListOptions) iter.Seq2[ListEntry, error]

	// As exposes the backend's client (see each driver's doc).
	As(i any) bool

	// Close releases resources.
	Close() error
}

// ReaderAtOpener may be implemented by a driver that has a cheaper random
// access path than ranged Gets (a local file). lake.Store uses it when present.
type ReaderAtOpener interface {
	OpenReaderAt(ctx context.Context, key string) (ReaderAtCloser, *Attributes, error)
}

// ReaderAtCloser is a random-access view of one object.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}

// Mover may be implemented by a driver that can move an object to another
// key more cheaply than a get, a put and a delete (a rename on a local
// disk, a server-side copy on S3). Move must be idempotent: when src is
// missing and dst exists it returns nil (an earlier move finished); when
// both are missing, ErrNotFound. dst receives src's content type, user
// metadata and encryption (opts.SSEKMSKeyID, when set, is the key to
// encrypt dst with where the backend must be told again). lake.Store falls
// back to get + put + delete for drivers without it.
type Mover interface {
	Move(ctx context.Context, src, dst string, opts *PutOptions) error
}

// KeyLimiter may be implemented by a driver whose keys get a prefix of its
// own (the S3 driver's prefix inside the bucket): MaxKeyLength is the
// longest key, as lake.Store passes it, that the backend still accepts.
type KeyLimiter interface {
	MaxKeyLength() int
}

// Locator may be implemented by a driver to say where a key lives in a form
// other engines understand: "s3://bucket/prefix/key", "file:///dir/key".
// Catalog table and partition locations are built from it.
type Locator interface {
	Location(key string) string
}

// Copier may be implemented by a driver that copies an object to another
// key without the data passing through the client (S3's CopyObject).
// lake.Store.Copy uses it when source and destination share the driver;
// opts carry the destination's encryption and IfNotExists.
type Copier interface {
	Copy(ctx context.Context, src, dst string, opts *PutOptions) error
}
