// The command-line plumbing of this example (copy it along with the other
// files): one-line errors and exit statuses, flags, opening and probing the
// lake, the AWS configuration, durations.

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

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

// probeTimeout bounds the start-up check that a lake can be written.
const probeTimeout = 20 * time.Second

// openLake opens the lake at urlstr and checks, within probeTimeout, that
// it can be written and read back (one small object under _lakekit/probe/,
// deleted again), so that a wrong URL, an unreachable endpoint or a
// read-only directory fails at start instead of after the work.
func openLake(ctx context.Context, urlstr string, opts *lake.Options) (*lake.Lake, error) {
	lk, err := lake.Open(ctx, urlstr, opts)
	if err != nil {
		return nil, err
	}
	if err := probe(ctx, lk); err != nil {
		lk.Close()
		return nil, err
	}
	return lk, nil
}

// probe writes, reads back and deletes one small object in the lake's
// system area.
func probe(ctx context.Context, lk *lake.Lake) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	sys, err := lk.System("probe")
	if err != nil {
		return err
	}
	var b [8]byte
	rand.Read(b[:])
	key := hex.EncodeToString(b[:])
	at := where(lk)
	if err := sys.PutBytes(ctx, key, []byte("lakekit probe\n"), nil); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("lake %s did not answer within %v: %w", at, probeTimeout, err)
		}
		var nerr *net.OpError
		if errors.As(err, &nerr) {
			return fmt.Errorf("lake %s cannot be reached: %w", at, err)
		}
		return fmt.Errorf("lake %s is not writable: %w", at, err)
	}
	if _, err := sys.ReadAll(ctx, key); err != nil {
		return fmt.Errorf("lake %s: cannot read back what was written: %w", at, err)
	}
	return sys.Delete(ctx, key)
}

// where renders a lake's location for people: a local path for the file
// store, the URL otherwise.
func where(lk *lake.Lake) string { return localPath(lk.Store().Location("")) }

// localPath turns a file:// URL into a local path and leaves other URLs
// alone.
func localPath(loc string) string {
	if u, err := url.Parse(loc); err == nil && u.Scheme == "file" {
		return filepath.FromSlash(u.Path)
	}
	return loc
}

// fmtSeconds formats a duration as seconds with one decimal.
func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

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
