// Package torture holds lakekit's reliability tests: random schedules of
// appends, overwrites, transforms, catalog updates and vacuums from several
// goroutines and processes over a fault-injecting store (TestTorture), a
// subprocess harness that SIGKILLs a writer at 26 named points of the
// write, commit, catalog, checkpoint, transform-ledger and vacuum paths
// (TestCrashPoints), targeted fault tests (TestFault*, the SDK retryer on
// S3 and Glue throttling), overwrite isolation under a lakekit reader and
// the DuckDB engine (TestOverwriteIsolation), the audit trail, no secrets
// in logs or errors, and 8 OS processes appending to one table on the file
// store and on S3 (gofakes3).
//
// The failure paths of the commit core (issue 23) run on the file store
// with the local catalog, on S3 (gofakes3) with the local catalog and on
// S3 + Glue (moto): TestTortureSameKey (overlapping attempts with one
// idempotency key), TestTortureCatalogCrash (a death, in-process or a
// real SIGKILL, at every catalog call of a commit, then recovery by the
// next commit, Vacuum or SyncCatalog), TestTortureCorruptLog (random
// commits, then one damage to the log — one entry, a run or the newest
// deleted, an entry overwritten with garbage, nothing or "{}" — or to a
// checkpoint or _last_checkpoint; every read is the exact rows or
// ErrCorrupt, time travel before the damage is exact, Vacuum refuses with
// ErrCorrupt only and deletes nothing, a damaged checkpoint alone fails
// nothing and the next commit writes a good one, Table.Repair names
// exactly the damaged versions and restores service; the one counted
// exception is the end of the log deleted together with the newest-version
// hint, which leaves no trace), TestTortureUnknownOutcome (random commits,
// each with one fault: its context cancelled at a random store call or by
// a short timer, the log put failing before it lands, landing and
// returning an error, landing or failing and then the table's metadata
// unreadable; every outcome is committed, not committed — verified
// against the log — or ErrCommitUnknown naming the key, settled by a
// retry with the same key and rows: Duplicate when it had landed; the
// log's keys are exactly the ones reported committed, each once). Each
// compares externalView — the table read the way Athena reads it (the
// catalog's locations, every visible *.parquet under them, counted and
// checksummed by DuckDB) — with lakekit's read of the newest version, and
// logs a SUMMARY line of its counters. -rounds N scales their rounds;
// -damage KIND runs
// TestTortureCorruptLog with one kind of damage only (delete_one,
// delete_run, delete_newest, garbage, empty, {}, ckpt_garbage,
// ckpt_wrong_version, last_ckpt_bad, last_ckpt_missing,
// last_ckpt_garbage). TestCorruptLog* are the reproductions it found.
//
// The package's only non-test code is KillDriver, a store driver wrapper
// that kills its own process before, during or after the Nth matching
// call: crash points without changing production code.
//
//	go test ./internal/torture -run 'Torture$'                          # 200 schedules
//	go test ./internal/torture -run 'Torture$' -schedules 5000          # the long run
//	go test ./internal/torture -run 'Torture$' -schedules 800 -long     # bigger schedules
//	go test ./internal/torture -run 'Torture$' -seed 12345              # replay one schedule
//	go test ./internal/torture -run OverwriteIsolation -isolation-reads 10000 -v
//	go test ./internal/torture -run 'TortureCorruptLog$' -rounds 4 -v        # the long run
//	go test ./internal/torture -run 'TortureUnknownOutcome$' -rounds 4 -v    # the long run
//
// Other flags: -first-seed (seed of the first schedule), -faults (scale of
// the fault probabilities, 0 for none), -sync-ops=false (no concurrent
// SyncCatalog, so any catalog drift fails), -proc-every N (seeds divisible
// by N also run two writer processes on a file store). A failing schedule
// prints its seed and the command that replays it; the operations and
// faults of a seed are fixed, their interleaving is not.
package torture
