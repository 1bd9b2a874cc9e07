// Package torture holds lakekit's reliability tests: random schedules of
// appends, overwrites, transforms, catalog updates and vacuums from several
// goroutines and processes over a fault-injecting store (TestTorture), a
// subprocess harness that SIGKILLs a writer at named points of the write,
// commit, catalog, ledger and vacuum paths (TestCrashPoints), overwrite
// isolation under concurrent readers (TestOverwriteIsolation), and security
// and concurrency acceptance tests (no secrets in logs or errors, 8 OS
// processes appending to one table).
//
// The package's only non-test code is KillDriver, a store driver wrapper
// that kills its own process before or after the Nth matching call: crash
// points without changing production code.
//
//	go test ./internal/torture -run Torture                       # 200 schedules
//	go test ./internal/torture -run Torture -schedules 5000 -long # the long run
//	go test ./internal/torture -run Torture -seed 12345           # replay one schedule
package torture
