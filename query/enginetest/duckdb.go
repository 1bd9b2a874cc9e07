//go:build cgo

package enginetest

import _ "github.com/duckdb/duckdb-go/v2" // OrdersDB runs the peers' statements

const haveDuckDB = true
