package examples_test

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The examples are templates: each directory is copied out of this tree
// into a team's own module. These tests keep that true.

const module = "github.com/lakekit/lakekit"

// TestExamplesBuildWhenCopied copies each example's non-test Go files into
// one new module (module example.com/copied, a directory per example) that
// requires lakekit through a replace pointing at this checkout, with this
// checkout's go.sum, and runs go build ./... there without network. An
// example that imports examples/internal or lakekit's internal packages, or
// that needs a file outside its directory, fails here.
func TestExamplesBuildWhenCopied(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(gomod, []byte("module "+module+"\n")) {
		t.Fatalf("%s/go.mod is not the module %s", root, module)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go directive")
	}

	tmp := t.TempDir()
	var copied []string
	for _, dir := range exampleDirs(t) {
		name := filepath.Base(dir)
		files := goFiles(t, dir)
		if len(files) == 0 {
			continue
		}
		dest := filepath.Join(tmp, name)
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatalf("two examples named %s: %v", name, err)
		}
		for _, f := range files {
			src, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			checkImports(t, filepath.Join("examples", dir, f), src)
			if err := os.WriteFile(filepath.Join(dest, f), src, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		copied = append(copied, dir)
	}
	if len(copied) < 6 {
		t.Fatalf("found only the examples %v", copied)
	}
	mod := "module example.com/copied\n\n" + string(goLine) + "\n\nrequire " + module + " v0.0.0\n\nreplace " + module + " => " + root + "\n"
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// -s -w: no symbol tables or DWARF, which halves the time spent linking
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "./...")
	cmd.Dir = tmp
	cmd.Env = append(withoutEnv(os.Environ(), "GOFLAGS", "GOPROXY", "GOWORK", "GOSUMDB"),
		"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOSUMDB=off")
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the examples %v copied into a new module do not build (go build ./... in %s: %v):\n%s", copied, tmp, err, out)
	}
	t.Logf("built %d examples copied out of the tree in %v: %v", len(copied), time.Since(t0).Round(time.Millisecond), copied)
}

// TestPipelineCopiesAgree: the quickstart runs the pipeline that
// stepfunctions compiles and serves, so each holds the same pipeline.go.
func TestPipelineCopiesAgree(t *testing.T) {
	a, err := os.ReadFile(filepath.Join("quickstart", "pipeline.go"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("stepfunctions", "pipeline.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("examples/quickstart/pipeline.go and examples/stepfunctions/pipeline.go differ: change both")
	}
}

// exampleDirs lists the examples (relative to examples/): every directory
// here but internal, and the README's code sample in internal/readme.
func exampleDirs(t *testing.T) []string {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{filepath.Join("internal", "readme")}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "internal" && e.Name() != "testdata" && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}

// goFiles lists the Go files of dir that a copy takes: not the tests.
func goFiles(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, n)
		}
	}
	return files
}

// checkImports names an import that a copy cannot make: a package under
// an internal directory of lakekit.
func checkImports(t *testing.T, path string, src []byte) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if (p == module || strings.HasPrefix(p, module+"/")) && strings.Contains(p+"/", "/internal/") {
			t.Errorf("%s imports %s: only lakekit's public packages can be imported from another module", path, p)
		}
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		drop := false
		for _, n := range names {
			drop = drop || strings.HasPrefix(kv, n+"=")
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
