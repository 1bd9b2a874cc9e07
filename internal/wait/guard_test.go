package wait_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sleepers are the time functions a hand-written polling loop sleeps with.
var sleepers = map[string]bool{"Sleep": true, "After": true, "Tick": true, "NewTicker": true, "NewTimer": true}

// allowed lists the functions outside internal/wait (and internal/backoff,
// whose Sleep the waiter uses) that may sleep or set a timer, keyed by the
// module's top-level folder and the function ("Recv.Name" for methods), so
// moving a file within its folder does not trip the guard. Each says why it
// is not a loop polling an AWS API; anything else is: use wait.Waiter.
var allowed = map[string]string{
	"lake Lake.Caller":                "bounds how long one caller-identity lookup may block (a deadline, not a poll)",
	"lake before":                     "lake/faultstore injects Delay and Timeout faults into store calls for tests",
	"zones Buffer.flushBatch":         "retries a failed buffer flush with backoff; it polls nothing",
	"orchestrate execution.withRetry": "a step's Retry policy (Step Functions semantics: Interval, BackoffRate, MaxDelay, Jitter)",
	"orchestrate execution.attempt":   "a Wait step sleeps as long as the pipeline asks",
	"internal Moto.waitReady":         "internal/testaws, test support: waits for a local moto_server process to accept connections",
	"cmd cli.startProgress":           "the lakekit command redraws its progress line on a terminal every 200 ms; it polls nothing",
}

// TestNoOtherPollingLoop fails when non-test code outside internal/wait
// sleeps or sets a timer (time.Sleep, time.After, time.Tick,
// time.NewTicker, time.NewTimer) in a function not listed in allowed: a
// new polling loop must use wait.Waiter, so every waiter has the same
// options, defaults and timeout error.
func TestNoOtherPollingLoop(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"examples": true, "internal/bench": true, "internal/wait": true, "internal/backoff": true}
	found := map[string][]string{}
	scanned := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skip[rel] || d.Name() == "testdata" || d.Name() == "node_modules" || rel != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		scanned++
		for _, fn := range sleepingFuncs(t, path) {
			key := strings.SplitN(rel, "/", 2)[0] + " " + fn.name
			found[key] = append(found[key], rel+":"+strconv.Itoa(fn.line)+" time."+fn.call)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("scanned only %d files under %s", scanned, root)
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for k := range allowed {
		if _, ok := found[k]; !ok {
			t.Errorf("allowed lists %q, which no longer sleeps or sets a timer (moved or renamed?): update the list", k)
		}
	}
	for _, k := range keys {
		if allowed[k] == "" {
			t.Errorf("%s: a sleep or timer outside internal/wait (%s); poll with wait.Waiter, or add %q to allowed with the reason it is not a polling loop",
				strings.Join(found[k], ", "), k, k)
		}
	}
}

type sleeper struct {
	name, call string
	line       int
}

// sleepingFuncs lists the calls of sleepers in a file with the function
// that makes them.
func sleepingFuncs(t *testing.T, path string) []sleeper {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	timeName := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"time"` {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	if timeName == "" || timeName == "_" {
		return nil
	}
	var out []sleeper
	for _, decl := range f.Decls {
		name := "(package level)"
		if fd, ok := decl.(*ast.FuncDecl); ok {
			name = fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) > 0 {
				name = recvName(fd.Recv.List[0].Type) + "." + name
			}
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == timeName && sleepers[sel.Sel.Name] {
				// a use as a value (f := time.After) counts as much as a call
				out = append(out, sleeper{name: name, call: sel.Sel.Name, line: fset.Position(sel.Pos()).Line})
			}
			return true
		})
	}
	return out
}

func recvName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recvName(x.X)
	case *ast.IndexExpr:
		return recvName(x.X)
	case *ast.IndexListExpr:
		return recvName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}
