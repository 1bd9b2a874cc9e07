// Command lakekit looks into a lakekit data lake, and operates it, from the
// shell: its tables, their schemas and histories, what a commit changed,
// SQL over the tables with DuckDB, whether the catalog (what Athena reads)
// agrees with the commit logs and the objects, and vacuum.
//
//	go install github.com/lakekit/lakekit/cmd/lakekit@latest
//
//	lakekit tables   -lake ./quickstart-lake-123
//	lakekit describe -lake s3://bucket/lake -catalog glue web.page_views
//	lakekit history  web.page_views -svg history.svg
//	lakekit diff     web.page_views 3 5
//	lakekit query    "SELECT dt, count(*) FROM web.page_views GROUP BY dt"
//	lakekit check    -repair
//	lakekit vacuum   web.page_views -retention 168h -yes
//
// The lake is given by -lake on every subcommand, or by the LAKEKIT_LAKE
// environment variable: a directory, a file:// URL or s3://bucket/prefix.
// On s3:// the AWS configuration is loaded as the AWS CLI loads it
// (environment, AWS_PROFILE and the shared files, AWS_ENDPOINT_URL for
// moto_server, LocalStack or a VPC endpoint, instance and task roles).
// -catalog picks the catalog: local (kept inside the lake, the default) or
// glue (the AWS Glue Data Catalog of the configured account).
//
// Exit status: 0 on success, 1 when a command fails (and when check finds
// drift), 2 for a usage error — as the AWS CLI does. Every subcommand
// takes -h. All subcommands but query build without cgo (CGO_ENABLED=0);
// query needs DuckDB, and so a cgo build.
//
// The files: one per subcommand (tables.go, describe.go, history.go with
// historysvg.go, diff.go, query.go, check.go, vacuum.go); cli.go has the
// flags and exit statuses, lakes.go opens lakes and catalogs and finds
// tables, format.go prints tables, numbers and progress.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, env *cli, args []string) error
}

// commands lists the subcommands in the order the usage shows them.
var commands = []command{
	{"tables", "[-zone Z] [-db D]", "list tables: rows, files, bytes, partitions, last commit, schema version", runTables},
	{"describe", "DB.TABLE", "schema, partition keys, business metadata, catalog location and projection", runDescribe},
	{"history", "DB.TABLE [-json] [-svg FILE]", "versions: time, operation, mode, rows and files added/removed, who", runHistory},
	{"diff", "DB.TABLE V1 V2", "partitions and files added and removed between two versions", runDiff},
	{"query", `"SQL" [PARAM...]`, "run SQL on DuckDB over the catalog's tables (a cgo build)", runQuery},
	{"check", "[DB.TABLE]", "compare the catalog with the commit logs and the objects; exit 1 on drift", runCheck},
	{"vacuum", "DB.TABLE [-retention D] [-yes]", "list (or, with -yes, delete) files no version needs", runVacuum},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &cli{stdout: stdout, stderr: stderr, getenv: os.Getenv, progress: isTerminal(stderr)}
	err := dispatch(ctx, env, args)
	return exitStatus(stderr, err)
}

func dispatch(ctx context.Context, env *cli, args []string) error {
	if len(args) == 0 {
		usage(env.stderr)
		return usagef("no subcommand given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(env.stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	return usagef("unknown subcommand %q (run lakekit -h to list them)", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "lakekit looks into a lakekit data lake.\n\nUsage: lakekit SUBCOMMAND -lake URL [-catalog local|glue] ...\n\nSubcommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %-32s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nThe lake is -lake URL or $%s: a directory, file:// or s3://bucket/prefix.\nRun lakekit SUBCOMMAND -h for a subcommand's flags and an example.\n", lakeEnv)
}
