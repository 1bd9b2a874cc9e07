// The command-line plumbing of this example (copy it along with main.go and
// pipeline.go): one-line errors and exit statuses, flags, the catalog and the
// AWS configuration.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
)

// mainWith runs run with the program's arguments and a context that ends on
// SIGINT or SIGTERM. An error is printed as one line "name: message" on
// stderr and the program exits with status 1 (2 for a bad flag).
func mainWith(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, oneLine(err))
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// oneLine renders err on a single line.
func oneLine(err error) string {
	s := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// usageError is a command-line mistake.
type usageError string

func (e usageError) Error() string { return string(e) }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError(fmt.Sprintf(format, args...)) }

// parseFlags parses args with fs without letting the flag package print.
// -h prints the usage on stdout and returns help=true; any other problem
// is a usageError that says how to get the usage.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return true, nil
	}
	if err != nil {
		return false, usagef("%v (run with -h to list the flags)", err)
	}
	if fs.NArg() > 0 {
		return false, usagef("unexpected argument %q (run with -h to list the flags)", fs.Arg(0))
	}
	return false, nil
}

// awsConfig loads the AWS configuration as every SDK program does
// (environment, shared profile, ECS task role, IMDS; AWS_ENDPOINT_URL points
// it at moto_server, LocalStack or a VPC endpoint). Without a region it
// uses us-east-1.
func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// openCatalog returns the catalog kind names: "local" (kept inside the
// lake) or "glue" (the AWS Glue Data Catalog of the configured account).
func openCatalog(ctx context.Context, kind string, lk *lake.Lake) (catalog.Catalog, error) {
	switch kind {
	case "local":
		return catalog.OpenLocal(lk)
	case "glue":
		cfg, err := awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return catalog.NewGlue(cfg, nil)
	}
	return nil, usagef("-catalog %q: want local or glue", kind)
}

// fmtSeconds formats a duration as seconds with one decimal.
func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
