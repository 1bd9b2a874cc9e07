//go:build !cgo

package enginetest

const haveDuckDB = false
