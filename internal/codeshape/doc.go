// Package codeshape holds tests of the module's shape rather than of its
// behaviour: TestNoLongFunctions parses every non-test, non-generated Go
// file of the module and fails naming each function longer than
// MaxFunctionLines, so a function that grows past what a reader can hold
// in mind is split at its real steps before it is merged.
//
// What it owns: the limit and the allow-list of functions known to be
// over it (each with the reason it is still there). The list may only
// shrink: the test also fails when an allowed function is gone or back
// under the limit, so its entry is removed with the fix.
package codeshape

// MaxFunctionLines is the longest a function of library code may be,
// counted from its func line to its closing brace.
const MaxFunctionLines = 100
