package transform

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them with %w
// (and the store's, zones' or engine's error too), so errors.Is works for
// both.
var (
	// ErrInvalid: bad input to the package itself — an empty or invalid
	// transform name, a rule on a field the row type does not have, a bad
	// regular expression, a nil dataset, conflicting options. Nothing was
	// read or written.
	ErrInvalid = errors.New("transform: invalid input")
	// ErrDecode: a record could not be decoded into the row type. Records
	// that fail to decode go to quarantine; the error appears there and in
	// Decoded.Err, never as the result of Run.
	ErrDecode = errors.New("transform: cannot decode record")
	// ErrRejected: a row broke a validation rule (a Violation wraps it).
	ErrRejected = errors.New("transform: row rejected")
	// ErrLedger: the ledger recorded in the output table's commits could not
	// be read back (a commit's ledger entry is not valid JSON, say).
	ErrLedger = errors.New("transform: ledger unreadable")
	// ErrFatal marks an error from a row function that must stop the unit of
	// work instead of sending the row to quarantine (see Fatal).
	ErrFatal = errors.New("transform: fatal row error")
)

// Skip is returned by a Map function to drop a row without rejecting it.
var Skip = errors.New("transform: skip row")

// Fatal wraps err so that a row function returning it stops the unit of
// work (and Run returns the error) instead of quarantining the row.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrFatal, err)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("transform: "+format+": %w", append(args, ErrInvalid)...)
}
