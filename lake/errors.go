package lake

import (
	"errors"
	"fmt"

	"github.com/lakekit/lakekit/lake/driver"
)

// Sentinel errors. Every error returned by lake wraps one of these where it
// applies, and also wraps the backend's own error, so both
// errors.Is(err, lake.ErrNotFound) and errors.As(err, &apiErr) work.
var (
	ErrNotFound    = driver.ErrNotFound    // the object does not exist
	ErrExists      = driver.ErrExists      // create-if-absent found the key present
	ErrInvalidName = driver.ErrInvalidName // a key, name or partition value breaks a rule
	// ErrPrecondition: a conditional request failed.
	ErrPrecondition = driver.ErrPrecondition
	// ErrThrottled: the backend asked to slow down; retry with backoff.
	ErrThrottled = driver.ErrThrottled
	// ErrEncryptionRequired: a zone requires SSE-KMS and the write had no key.
	ErrEncryptionRequired = errors.New("encryption required")
	// ErrUnknownScheme: no opener is registered for a URL scheme.
	ErrUnknownScheme = errors.New("unknown lake URL scheme")
	// ErrInvalidURL: a lake URL could not be parsed or has bad parameters.
	ErrInvalidURL = errors.New("invalid lake URL")
	// ErrCorrupt: a table's commit log is damaged (a version missing while a
	// later one exists, an entry that does not decode) or a data file does
	// not match what the log says of it. zones.ErrCorrupt is this error.
	ErrCorrupt = errors.New("commit log is damaged")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// invalid returns an error wrapping ErrInvalidName that names what broke
// which rule, e.g. `lake: invalid table name "Foo": must be lower case`.
func invalid(kind, name, rule string) error {
	return fmt.Errorf("lake: invalid %s %q: %s: %w", kind, name, rule, ErrInvalidName)
}
