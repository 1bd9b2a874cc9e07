// The command-line plumbing: flags shared by every subcommand, usage
// errors and exit statuses.

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// lakeEnv names the environment variable that gives the lake when -lake
// is not set.
const lakeEnv = "LAKEKIT_LAKE"

// cli is what a subcommand runs with.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	progress       bool // stderr is a terminal: show progress there
}

// usageError is a command-line mistake (exit status 2).
type usageError string

func (e usageError) Error() string { return string(e) }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError(fmt.Sprintf(format, args...)) }

// errDrift is returned by check when it found drift: exit status 1 with
// the report already printed.
var errDrift = errors.New("drift found")

// exitStatus prints err as one line on stderr and returns the exit status
// for it: 0 for nil, 2 for a usage error, 1 otherwise.
func exitStatus(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "lakekit: %s\n", oneLine(err))
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// oneLine renders err on a single line.
func oneLine(err error) string {
	s := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// common holds the flags every subcommand has.
type common struct {
	lake    string
	catalog string
	zone    string
}

// flags is a subcommand's flag set with the common flags, and what -h
// prints.
type flags struct {
	*flag.FlagSet
	common
	name, args, summary, example string
}

// newFlags returns the flag set of subcommand name: args names its
// arguments, example is shown by -h.
func newFlags(name, args, summary, example string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("lakekit "+name, flag.ContinueOnError), name: name, args: args, summary: summary, example: example}
	f.StringVar(&f.lake, "lake", "", "the lake: a directory, file://path or s3://bucket/prefix (default $"+lakeEnv+")")
	f.StringVar(&f.catalog, "catalog", "local", "the catalog: local (inside the lake) or glue (AWS Glue Data Catalog)")
	return f
}

// zoneFlag adds -zone, which picks the zone of a table name found in
// several zones (or, for tables, the zone to list).
func (f *flags) zoneFlag(help string) { f.StringVar(&f.zone, "zone", "", help) }

// parse parses args, flags and arguments in any order ("--" ends the
// flags), and checks the number of arguments is within [min, max] (max < 0:
// no limit). help is true when -h was given; the usage is then printed on
// stdout.
func (f *flags) parse(env *cli, args []string, min, max int) (pos []string, help bool, err error) {
	f.SetOutput(io.Discard)
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(env.stdout)
			return nil, true, nil
		}
		if err != nil {
			return nil, false, usagef("%s: %v (run lakekit %s -h)", f.name, err, f.name)
		}
		consumed := len(args) - f.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, f.Args()...)
			break
		}
		if f.NArg() == 0 {
			break
		}
		pos = append(pos, f.Arg(0))
		args = f.Args()[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, false, usagef("%s: want %s, got %d argument(s) (run lakekit %s -h)", f.name, f.args, len(pos), f.name)
	}
	if f.lake == "" {
		f.lake = env.getenv(lakeEnv)
	}
	if f.lake == "" {
		return nil, false, usagef("%s: no lake: give -lake URL or set %s", f.name, lakeEnv)
	}
	if f.catalog != "local" && f.catalog != "glue" {
		return nil, false, usagef("%s: -catalog %q: want local or glue", f.name, f.catalog)
	}
	return pos, false, nil
}

func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: lakekit %s %s [flags]\n\n%s\n\nFlags:\n", f.name, f.args, f.summary)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nExample:\n%s\n", f.example)
}
