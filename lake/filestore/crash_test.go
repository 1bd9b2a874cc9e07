package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
)

// stallReader yields n bytes, creates the marker file, then blocks forever:
// the child process is killed while its put is half written.
type stallReader struct {
	n      int
	marker string
	sent   int
}

func (r *stallReader) Read(p []byte) (int, error) {
	if r.sent >= r.n {
		os.WriteFile(r.marker, nil, 0o644)
		select {}
	}
	k := min(len(p), r.n-r.sent)
	for i := range p[:k] {
		p[i] = 'N'
	}
	r.sent += k
	return k, nil
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("LAKEKIT_CRASH_CHILD"); dir != "" {
		d, err := filestore.New(dir, nil)
		if err != nil {
			panic(err)
		}
		s := lake.NewStore(d)
		op := os.Getenv("LAKEKIT_CRASH_OP")
		r := &stallReader{n: 4 << 20, marker: filepath.Join(dir, "..", "marker")}
		if op == "create" {
			s.CreateFrom(context.Background(), "t/obj", r, -1, nil)
		} else {
			s.Put(context.Background(), "t/obj", r, 8<<20, nil)
		}
		os.Exit(3) // not reached
	}
	os.Exit(m.Run())
}

// A put interrupted by a crash leaves the old object or none, never a part.
func TestCrashDuringPut(t *testing.T) {
	for _, tc := range []struct {
		name, op string
		old      []byte
	}{
		{"overwrite", "put", []byte("old content")},
		{"new", "put", nil},
		{"create", "create", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "lake")
			os.Mkdir(dir, 0o755)
			d, err := filestore.New(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := lake.NewStore(d)
			ctx := context.Background()
			if tc.old != nil {
				if err := s.PutBytes(ctx, "t/obj", tc.old, nil); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "LAKEKIT_CRASH_CHILD="+dir, "LAKEKIT_CRASH_OP="+tc.op)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(base, "marker")
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(marker); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("child never reached the middle of its put: %s", out.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			// the temporary file is on disk, half written, but invisible
			tmps, _ := filepath.Glob(filepath.Join(dir, "t", ".lakekit-tmp-*"))
			if len(tmps) != 1 {
				t.Fatalf("expected the killed put's temp file, found %v", tmps)
			}
			got, err := s.ReadAll(ctx, "t/obj")
			switch {
			case tc.old != nil:
				if err != nil || !bytes.Equal(got, tc.old) {
					t.Fatalf("after the crash the object is %q (%v), want the old content", got, err)
				}
			default:
				if !errors.Is(err, lake.ErrNotFound) {
					t.Fatalf("after the crash a new object exists (%d bytes, %v), want none", len(got), err)
				}
			}
			es, err := s.ListAll(ctx, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if strings.Contains(e.Key, ".lakekit") {
					t.Fatalf("listing shows the temp file %q", e.Key)
				}
			}
			// the store still works, and a create after a crashed create wins
			if err := s.Create(ctx, "t/obj2", []byte("ok"), nil); err != nil {
				t.Fatal(err)
			}
			if tc.op == "create" {
				if err := s.Create(ctx, "t/obj", []byte("ok"), nil); err != nil {
					t.Fatalf("create after a crashed create: %v", err)
				}
			}
		})
	}
}
