// Package enginetest is the conformance suite of query engines: the same
// queries with the same expected typed results, run against every engine
// (DuckDB on a real lake, Athena on moto_server, the Redshift Data API on
// an httptest server). It also holds those AWS test peers.
//
// The expected answers are computed in Go from Orders. The engines' answers
// come from running the statement: the DuckDB harness writes Orders with
// zones and the engine reads the lake; the Athena peer (with
// AthenaPeer.Statements) and the Redshift fake (with RedshiftAnswer) run
// each statement they receive, with its parameters as the service binds
// them, in an OrdersDB (DuckDB over the same rows), and send the rows back
// in each service's wire format. A wrong statement or a wrong parameter so
// fails or answers other rows on every engine.
//
// Run checks that every engine binds the same parameters, names the same
// columns and decodes the same Go values, runs Exec, and returns the same
// sentinels: query.ErrInvalidParam for a wrong number of parameters,
// query.ErrQueryFailed for a statement that fails when it runs (a missing
// table, a syntax error, a parameter that does not convert),
// query.ErrCancelled for a cancelled context, query.ErrConsumed for rows
// read twice and query.ErrScan for a type the result does not fit.
// FlatOrder is Order for an unpartitioned table, so the DuckDB harness can
// run the suite over both layouts (also after overwrites, when the
// catalog points at generation folders).
package enginetest
