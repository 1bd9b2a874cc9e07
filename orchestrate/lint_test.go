package orchestrate

import (
	"os"
	"os/exec"
	"path/filepath"
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

// lintASL runs both linters over a definition and fails the test with
// their complaints.
func lintASL(t *testing.T, name string, def []byte) {
	t.Helper()
	av, sl := linters(t)
	f := filepath.Join(t.TempDir(), name+".asl.json")
	if err := os.WriteFile(f, def, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{av, "--json-path", f}, {sl, f}} {
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%s rejects the %s definition: %v\n%s\ndefinition:\n%s", filepath.Base(cmd[0]), name, err,
				strings.TrimSpace(string(out)), def)
		}
	}
}
