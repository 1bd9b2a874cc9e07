package orchestrate

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/lakekit/lakekit/internal/testaws"
)

var (
	lintOnce  sync.Once
	lintBins  [2]string
	lintError string
)

// linters finds asl-validator and statelint under the module's
// internal/tools/npm (installed by `npm ci --prefix internal/tools/npm`).
func linters(t *testing.T) (aslValidator, statelint string) {
	t.Helper()
	lintOnce.Do(func() {
		if _, err := exec.LookPath("node"); err != nil {
			lintError = "node is not installed: cannot run asl-validator and statelint"
			return
		}
		dir, err := os.Getwd()
		if err != nil {
			lintError = err.Error()
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				lintError = "no go.mod above the test's directory"
				return
			}
			dir = parent
		}
		bin := filepath.Join(dir, "internal", "tools", "npm", "node_modules", ".bin")
		for i, name := range []string{"asl-validator", "statelint"} {
			p := filepath.Join(bin, name)
			if _, err := os.Stat(p); err != nil {
				lintError = name + " is not installed (run: npm ci --prefix internal/tools/npm)"
				return
			}
			lintBins[i] = p
		}
	})
	if lintError != "" {
		testaws.SkipOrFail(t, lintError)
	}
	return lintBins[0], lintBins[1]
}

// lintASL runs both linters over definitions (name -> JSON) and fails the
// test with their complaints, naming the definition.
func lintASL(t *testing.T, defs map[string][]byte) {
	t.Helper()
	if len(lint(t, defs)) == 0 {
		return
	}
	// One run over every file failed: lint each alone to say which.
	for name, def := range defs {
		for _, complaint := range lint(t, map[string][]byte{name: def}) {
			t.Errorf("%s\ndefinition:\n%s", complaint, def)
		}
	}
}

// lint runs each linter once over all definitions and returns one
// complaint per linter that rejects any of them.
func lint(t *testing.T, defs map[string][]byte) []string {
	t.Helper()
	av, sl := linters(t)
	dir := t.TempDir()
	var files []string
	for name, def := range defs {
		f := filepath.Join(dir, name+".asl.json")
		if err := os.WriteFile(f, def, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	sort.Strings(files)
	avArgs := []string{}
	for _, f := range files {
		avArgs = append(avArgs, "--json-path", f)
	}
	var complaints []string
	for _, cmd := range []struct {
		bin  string
		args []string
	}{{av, avArgs}, {sl, files}} {
		out, err := exec.Command(cmd.bin, cmd.args...).CombinedOutput()
		if err != nil {
			complaints = append(complaints, fmt.Sprintf("%s rejects it: %v\n%s", filepath.Base(cmd.bin), err,
				strings.TrimSpace(string(out))))
		}
	}
	return complaints
}

// The linters do reject broken definitions, each in its own way.
func TestLintersReject(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"missing-target": `{"StartAt":"a","States":{"a":{"Type":"Pass","Next":"nowhere"}}}`,
		"no-end":         `{"StartAt":"a","States":{"a":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke"}}}`,
		"bad-path":       `{"StartAt":"a","States":{"a":{"Type":"Pass","ResultPath":"steps.a","End":true}}}`,
	}
	for name, def := range bad {
		if c := lint(t, map[string][]byte{name: []byte(def)}); len(c) != 2 {
			t.Errorf("%s: %d of 2 linters rejected it: %v", name, len(c), c)
		}
	}
}

// lintDistributedASL checks a definition with a Distributed Map with
// asl-validator only, and that statelint still rejects it: @wmfs/statelint
// 1.30.0 (the newest) predates Distributed Map and refuses ItemReader,
// ItemBatcher, ResultWriter and ToleratedFailurePercentage in a valid
// definition, while asl-validator 4.0.0 knows them. Every definition
// without a Distributed Map goes through both linters (lintASL).
func lintDistributedASL(t *testing.T, name string, def []byte) {
	t.Helper()
	av, sl := linters(t)
	f := filepath.Join(t.TempDir(), name+".asl.json")
	if err := os.WriteFile(f, def, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(av, "--json-path", f).CombinedOutput(); err != nil {
		t.Errorf("asl-validator rejects %s: %v\n%s\ndefinition:\n%s", name, err, out, def)
	}
	if _, err := exec.Command(sl, f).CombinedOutput(); err == nil {
		t.Errorf("statelint accepts %s, which has a Distributed Map: it now knows them, so lint it with lintASL", name)
	}
}
