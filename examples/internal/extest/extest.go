// Package extest holds what the examples' tests share: running an
// example's main in a child process (the test binary re-executed), checking
// its one-line errors, making a read-only directory. Package duck reads
// Parquet files with DuckDB, independently of lakekit.
package extest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/internal/testaws"
)

// EnvMain is set in a child process that must run the example's main.
const EnvMain = "LAKEKIT_EXAMPLE_RUN_MAIN"

// MaybeRunMain runs mainFn instead of the tests when the binary was started
// by Command. Call it first thing in TestMain.
func MaybeRunMain(mainFn func()) {
	if os.Getenv(EnvMain) == "1" {
		mainFn()
		os.Exit(0)
	}
}

// Command returns a command that runs the example's main (via the
// re-executed test binary) with args and extra environment variables.
func Command(ctx context.Context, args []string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), EnvMain+"=1"), env...)
	return cmd
}

// Result is what a finished child process printed.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs the example's main with args and env and waits up to timeout.
func Run(t testing.TB, timeout time.Duration, args []string, env ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := Command(ctx, args, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish within %v; stderr: %s", args, timeout, r.Stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// WantOneLineError checks that a run failed with exactly one line on
// stderr, "name: ...", containing every one of wants, and no stack trace.
func WantOneLineError(t testing.TB, r Result, name string, wants ...string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("exit status 0, want non-zero; stdout: %s", r.Stdout)
	}
	msg := strings.TrimRight(r.Stderr, "\n")
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, name+": ") {
		t.Fatalf("stderr is not one line %q: %q", name+": ...", r.Stderr)
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:"} {
		if strings.Contains(msg, bad) {
			t.Fatalf("stderr looks like a stack trace: %q", msg)
		}
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Fatalf("stderr %q does not say %q", msg, w)
		}
	}
}

// ReadOnlyDir makes a directory nobody can write into: mode 0555, and when
// the tests run as root (who ignores modes) the immutable attribute via
// chattr. It skips where neither works (root on a file system without
// the immutable attribute).
func ReadOnlyDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "readonly")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			// not a missing peer but a property of the machine: skip even in CI
			t.Skipf("running as root, and chattr +i failed (%s): root can write into any directory here",
				strings.TrimSpace(string(out)))
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
	}
	if f, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		f.Close()
		testaws.SkipOrFail(t, "could not make a read-only directory here")
	}
	return dir
}

// ClosedPort returns a loopback URL nobody listens on.
func ClosedPort(t testing.TB) string {
	return "http://127.0.0.1:" + strconv.Itoa(testaws.FreePort(t))
}

// LintASL checks an Amazon States Language definition with asl-validator
// and statelint, installed under internal/tools/npm (npm ci --prefix
// internal/tools/npm). It skips (fails in CI) where node or the linters are
// missing.
func LintASL(t testing.TB, def []byte) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		testaws.SkipOrFail(t, "node is not installed: cannot run asl-validator and statelint")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "internal", "tools", "npm", "node_modules", ".bin")
	f := filepath.Join(t.TempDir(), "definition.asl.json")
	if err := os.WriteFile(f, def, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"asl-validator", "--json-path", f}, {"statelint", f}} {
		p := filepath.Join(bin, cmd[0])
		if _, err := os.Stat(p); err != nil {
			testaws.SkipOrFail(t, cmd[0]+" is not installed (run: npm ci --prefix internal/tools/npm)")
		}
		out, err := exec.Command(p, cmd[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%s rejects the definition: %v\n%s", cmd[0], err, strings.TrimSpace(string(out)))
		}
	}
}
