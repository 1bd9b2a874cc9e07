// Package excli holds the few lines every example program shares: a main
// that turns an error into one line and a non-zero exit, flag parsing that
// never prints usage on an error, opening a lake and checking that it can be
// written, and the AWS configuration.
//
// It is small on purpose: copy what you need when you copy an example.
package excli

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

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
)

// RunFunc is an example's main path, callable in-process by its tests.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs fn with the program's arguments and a context that ends on
// SIGINT or SIGTERM. An error is printed as one line "name: message" on
// stderr and the program exits with status 1 (2 for a bad flag).
func Main(name string, fn RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := fn(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, OneLine(err))
		if errors.Is(err, ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// OneLine renders err on a single line.
func OneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	s = strings.ReplaceAll(s, "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// ErrUsage marks a command-line error.
var ErrUsage = errors.New("usage")

// usageError keeps the flag package's message and matches ErrUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string   { return e.msg }
func (e *usageError) Is(t error) bool { return t == ErrUsage }

// Parse parses args with fs without letting the flag package print. -h
// prints the usage on stdout and returns help=true; any other problem is
// an error matching ErrUsage that says how to get the usage.
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return true, nil
	}
	if err != nil {
		return false, &usageError{fmt.Sprintf("%v (run with -h to list the flags)", err)}
	}
	if fs.NArg() > 0 {
		return false, &usageError{fmt.Sprintf("unexpected argument %q (run with -h to list the flags)", fs.Arg(0))}
	}
	return false, nil
}

// Usagef returns an error matching ErrUsage.
func Usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// ProbeTimeout bounds the start-up check that a lake can be written.
const ProbeTimeout = 20 * time.Second

// OpenLake opens the lake at urlstr and checks, within ProbeTimeout, that
// it can be written and read back (one small object under _lakekit/probe/,
// deleted again), so that a wrong URL, an unreachable endpoint or a read-only
// directory fails at start instead of after the work.
func OpenLake(ctx context.Context, urlstr string, opts *lake.Options) (*lake.Lake, error) {
	lk, err := lake.Open(ctx, urlstr, opts)
	if err != nil {
		return nil, err
	}
	if err := Probe(ctx, lk); err != nil {
		lk.Close()
		return nil, err
	}
	return lk, nil
}

// Probe writes, reads back and deletes one small object in the lake's
// system area.
func Probe(ctx context.Context, lk *lake.Lake) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	sys, err := lk.System("probe")
	if err != nil {
		return err
	}
	var b [8]byte
	rand.Read(b[:])
	key := hex.EncodeToString(b[:])
	where := Where(lk)
	if err := sys.PutBytes(ctx, key, []byte("lakekit probe\n"), nil); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("lake %s did not answer within %v: %w", where, ProbeTimeout, err)
		}
		var nerr *net.OpError
		if errors.As(err, &nerr) {
			return fmt.Errorf("lake %s cannot be reached: %w", where, err)
		}
		return fmt.Errorf("lake %s is not writable: %w", where, err)
	}
	if _, err := sys.ReadAll(ctx, key); err != nil {
		return fmt.Errorf("lake %s: cannot read back what was written: %w", where, err)
	}
	return sys.Delete(ctx, key)
}

// Where renders a lake's location for people: a local path for the file
// store, the URL otherwise.
func Where(lk *lake.Lake) string {
	return Path(lk.Store().Location(""))
}

// Path turns a file:// URL into a local path and leaves other URLs alone.
func Path(loc string) string {
	if u, err := url.Parse(loc); err == nil && u.Scheme == "file" {
		return filepath.FromSlash(u.Path)
	}
	return loc
}

// AWSConfig loads the AWS configuration as every SDK program does
// (environment, shared profile, ECS task role, IMDS; AWS_ENDPOINT_URL points
// it at moto_server, LocalStack or a VPC endpoint). Without a region it
// uses us-east-1.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// OpenCatalog returns the catalog kind names: "local" (kept inside the
// lake) or "glue" (the AWS Glue Data Catalog of the configured account).
func OpenCatalog(ctx context.Context, kind string, lk *lake.Lake) (catalog.Catalog, error) {
	switch kind {
	case "local":
		return catalog.OpenLocal(lk)
	case "glue":
		cfg, err := AWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		return catalog.NewGlueFromConfig(cfg, nil), nil
	}
	return nil, Usagef("-catalog %q: want local or glue", kind)
}

// Rate formats n per second over d.
func Rate(n int64, d time.Duration) string {
	if d <= 0 {
		d = time.Millisecond
	}
	return Count(int64(float64(n)/d.Seconds())) + "/s"
}

// Count formats n with thousands separators.
func Count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Bytes formats a size in MB with one decimal.
func Bytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Seconds formats a duration as seconds with one decimal.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
