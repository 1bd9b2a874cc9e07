// lakekit query in builds without cgo: DuckDB is a C++ library, so a
// CGO_ENABLED=0 build has every subcommand but this one.

//go:build !cgo

package main

import (
	"context"
	"errors"
)

func runQuery(ctx context.Context, env *cli, args []string) error {
	f := newFlags("query", `"SQL" [PARAM...]`, "Runs SQL on DuckDB over the lake's tables. DuckDB needs cgo: this lakekit\nwas built with CGO_ENABLED=0 and cannot run queries.",
		"  CGO_ENABLED=1 go install github.com/lakekit/lakekit/cmd/lakekit@latest\n  lakekit query -lake ./quickstart-lake-123 \"SELECT count(*) FROM web.page_views\"")
	f.String("format", "table", "output format: table, csv or json")
	if _, help, err := f.parse(env, args, 1, -1); help || err != nil {
		return err
	}
	return errors.New("query: this lakekit was built without cgo (CGO_ENABLED=0) and has no DuckDB; install it with CGO_ENABLED=1 and a C compiler to run queries")
}
