package lakekit_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Services that import only lake, zones and catalog must build without cgo,
// and must not pull DuckDB in.
func TestCgoFreeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packages")
	}
	pkgs := []string{"./lake/...", "./zones/...", "./catalog/..."}
	cmd := exec.Command("go", append([]string{"build", "-o", os.DevNull}, pkgs...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	cmd = exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "duckdb") {
			t.Errorf("the cgo-free packages depend on %s", dep)
		}
	}
}
