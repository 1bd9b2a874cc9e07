// Package enginetest is the conformance suite of query engines: the same
// queries with the same expected typed results, run against every engine
// (DuckDB on a real lake, Athena on moto_server, the Redshift Data API on
// an httptest server). It also holds those AWS test peers.
//
// The DuckDB harness writes Orders with zones and the engine computes the
// answers; the Athena and Redshift harnesses seed their peers with the
// expected answers in each service's wire format (SeedAthena,
// RedshiftAnswer), so the suite checks that every engine binds the same
// parameters, names the same columns and decodes the same Go values, and
// refuses the same wrong number of parameters with query.ErrInvalidParam.
// FlatOrder is Order for an unpartitioned table, so the DuckDB harness can
// run the suite over both layouts (also after overwrites, when the
// catalog points at generation folders).
package enginetest
