package zones_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/zones"
)

// childCrash writes into the table and announces on stdout when it is at
// the point where the parent kills it: "WRITING" once files of an
// uncommitted write are uploaded, "COMMITTING" when the commit object is
// about to be created (it then blocks there).
func childCrash() int {
	ctx := context.Background()
	mode := os.Getenv("ZONES_ARGS")
	fd, err := filestore.New(os.Getenv("ZONES_DIR"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cd := &countingDriver{Driver: fd}
	cd.failPut = func(key string, opts *driver.PutOptions) (error, error) {
		if mode == "commit" && opts != nil && opts.IfNotExists && strings.Contains(key, "/_lakekit/log/") {
			fmt.Println("COMMITTING")
			time.Sleep(time.Hour)
		}
		return nil, nil
	}
	lk, err := lake.New(lake.NewStore(cd), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ds, err := zones.NewDataset[event](lk, lake.Curated, "sales", "events", &zones.Options[event]{MaxRowsPerFile: 50})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w, err := ds.NewWriter(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := int64(0); ; i++ {
		if err := w.Write(ctx, makeEvents(1000+i*200, 200, 2)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if mode == "write" && i == 3 {
			fmt.Println("WRITING")
			time.Sleep(time.Hour)
		}
		if mode == "commit" && i == 3 {
			if _, err := w.Commit(ctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Fprintln(os.Stderr, "commit was not interrupted")
			return 1
		}
	}
}

func TestCrashLeavesLastCommittedVersion(t *testing.T) {
	for _, mode := range []string{"write", "commit"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			lk := fileLake(t, dir)
			ds := newEvents(t, lk, nil)
			want := makeEvents(0, 100, 2)
			writeCommit(t, ds, want, nil)

			cmd := child(t, "crash", dir, mode)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			wantLine := map[string]string{"write": "WRITING", "commit": "COMMITTING"}[mode]
			if strings.TrimSpace(line) != wantLine {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child said %q, want %q; stderr: %s", line, wantLine, stderr.String())
			}
			cmd.Process.Kill() // SIGKILL
			cmd.Wait()

			fresh := newEvents(t, fileLake(t, dir), nil)
			snap, err := fresh.Snapshot(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Version != 1 || snap.Rows() != 100 {
				t.Fatalf("after the crash: version %d with %d rows, want version 1 with 100", snap.Version, snap.Rows())
			}
			got := readAll(t, fresh, nil)
			if len(got) != 100 || got[99].ID != 99 {
				t.Fatalf("after the crash read %d rows", len(got))
			}
			orphans := countParquet(t, lk) - len(snap.Files)
			if orphans < 4 {
				t.Fatalf("the killed writer left %d orphan files; the test expects its uploads", orphans)
			}
			res, err := fresh.Vacuum(ctx, time.Hour)
			if err != nil || len(res.Deleted) != 0 || res.Kept != orphans {
				t.Fatalf("vacuum inside the retention: %+v %v (orphans %d)", res, err, orphans)
			}
			time.Sleep(60 * time.Millisecond)
			res, err = fresh.Vacuum(ctx, 50*time.Millisecond)
			if err != nil || len(res.Deleted) != orphans || res.Live != len(snap.Files) {
				t.Fatalf("vacuum past the retention: %+v %v (orphans %d)", res, err, orphans)
			}
			if n := countParquet(t, lk); n != len(snap.Files) {
				t.Fatalf("%d parquet objects after vacuum, want %d", n, len(snap.Files))
			}
			if got := readAll(t, fresh, nil); len(got) != 100 {
				t.Fatalf("after vacuum read %d rows", len(got))
			}
		})
	}
}

func countParquet(t *testing.T, lk *lake.Lake) int {
	t.Helper()
	n := 0
	for e, err := range lk.MustZone(lake.Curated).Store().List(context.Background(), "sales/events/", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Key, ".parquet") {
			n++
		}
	}
	return n
}
