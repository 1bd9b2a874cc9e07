package transform_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
)

const crashEnv = "LAKEKIT_TRANSFORM_CRASH_CHILD"

func crashTransform(t testing.TB, lk *lake.Lake, delay time.Duration) *transform.Transform[RawEvent, Event] {
	p := newPipeline(t, lk, 2)
	tr, err := transform.New("clean_events",
		transform.FromRaw(lk, "web", "events", transform.JSONLines[RawEvent](nil)),
		transform.Map(func(_ context.Context, r RawEvent) (Event, error) {
			if delay > 0 {
				time.Sleep(delay)
			}
			return Event{ID: r.ID, User: r.User, Kind: r.Kind, Amount: r.Amount, At: r.At.UTC(), Day: r.At.UTC().Format("2006-01-02")}, nil
		}),
		p.cleaned, &transform.Options[Event]{Rules: cleanRules, Parallelism: 2, FilesPerUnit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestCrashExactlyOnce runs the transform in a child process (this test
// binary, re-executed), SIGKILLs it after a few units committed, and reruns
// it here: every input row is in cleaned exactly once.
func TestCrashExactlyOnce(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		lk, _ := fileLake(t, dir)
		if _, err := crashTransform(t, lk, 400*time.Microsecond).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	lk, _ := fileLake(t, dir)
	const files, per = 40, 250
	for i := 0; i < files; i++ {
		data, _ := genBatch(i*per, per)
		land(t, lk, fmt.Sprintf("f%02d.jsonl", i), data)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashExactlyOnce$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := os.CreateTemp(t.TempDir(), "child-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "cleaned", "shop", "events", "_lakekit", "log")
	deadline := time.Now().Add(30 * time.Second)
	committed := 0
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(logDir)
		if committed = len(ents); committed >= 4 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	werr := cmd.Wait()
	if committed < 4 {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("child committed %d versions before the deadline (%v): %s", committed, werr, b)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("child was not killed mid-transform (it finished first: %v): %s", werr, b)
	}
	ents, _ := os.ReadDir(logDir)
	t.Logf("child killed after %d commits of %d", len(ents), files)
	if len(ents) >= files {
		t.Fatalf("child finished all %d units before the kill", files)
	}

	// rerun in this process on a fresh handle
	lk2, _ := fileLake(t, dir)
	tr := crashTransform(t, lk2, 0)
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Units+len(ents) < files {
		t.Fatalf("rerun did %d units after %d commits, want the %d remaining", res.Units, len(ents), files)
	}
	var n, distinct, lo, hi int64
	duck(t, lk2, lake.Cleaned, "shop", "events", "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM tbl", &n, &distinct, &lo, &hi)
	if n != files*per || distinct != n || lo != 0 || hi != files*per-1 {
		t.Fatalf("after crash and rerun: %d rows, %d distinct, ids %d..%d; want %d exactly once", n, distinct, lo, hi, files*per)
	}
	l, err := tr.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != files {
		t.Fatalf("ledger has %d entries, want %d", len(l.Entries), files)
	}
	if res2, err := tr.Run(ctx); err != nil || res2.Units != 0 {
		t.Fatalf("second rerun: %+v %v", res2, err)
	}
}
