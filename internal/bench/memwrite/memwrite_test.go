package memwrite

import (
	"bytes"
	"encoding/json"
	"runtime/debug"
	"testing"

	"github.com/lakekit/lakekit/zones"
)

// TestRun writes a small table the way the memory child does and checks
// the summary it prints, the soft memory limit included.
func TestRun(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	var stdout, stderr bytes.Buffer
	if code := Run(3000, 10, t.TempDir(), &stdout, &stderr); code != 0 {
		t.Fatalf("Run exited %d: %s", code, stderr.String())
	}
	var s Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	if s.Rows != 3000 || s.Files != 10 || s.Bytes <= 0 {
		t.Fatalf("summary %+v: want 3000 rows in 10 files", s)
	}
	if s.MemoryLimit != MemoryLimitBudgets*zones.DefaultMemoryBudget {
		t.Fatalf("memory limit %d, want %d", s.MemoryLimit, MemoryLimitBudgets*zones.DefaultMemoryBudget)
	}
	if ProcStatus("VmHWM") > 0 && (s.VmHWM <= 0 || s.StartRSS <= 0 || s.StartRSS > s.VmHWM) {
		t.Fatalf("summary %+v: want 0 < start_rss <= vm_hwm", s)
	}
	if code := Run(0, 10, t.TempDir(), &stdout, &stderr); code != 2 {
		t.Fatalf("Run with no rows exited %d, want 2", code)
	}
}
