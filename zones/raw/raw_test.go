package raw_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones/raw"
)

func rawSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Landing round trip on every store: the bytes come back as they were, the
// key follows the layout, the metadata holds source, type, time, checksum,
// original name and record count, and List reports the same.
func TestLandRoundTrip(t *testing.T) {
	for _, st := range rawLakes {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			lk := st.open(t)
			body := []byte("id,name\n1,anna\n2,bob\n3,çeki\n")
			before := time.Now().UTC().Truncate(time.Microsecond)
			l, err := raw.Land(ctx, lk, "partner_a", "orders", "Orders 2024 (März).CSV", bytes.NewReader(body),
				&raw.LandOptions{Records: 3, Metadata: map[string]string{"partner-batch": "b-17"}})
			if err != nil {
				t.Fatal(err)
			}
			keyRE := regexp.MustCompile(`^partner_a/orders/ingest_date=\d{4}-\d{2}-\d{2}/\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\.csv$`)
			if !keyRE.MatchString(l.Key) {
				t.Fatalf("key %q does not follow the layout", l.Key)
			}
			if l.SHA256 != rawSHA(body) || l.Size != int64(len(body)) || l.Records != 3 ||
				l.ContentType != "text/csv" || l.OriginalName != "Orders 2024 (März).CSV" ||
				l.IngestDate != l.IngestTime.Format("2006-01-02") || l.IngestTime.Before(before) {
				t.Fatalf("Landed = %+v", l)
			}
			store := lk.MustZone(lake.Raw).Store()
			got, err := store.ReadAll(ctx, l.Key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("read back %q, want %q", got, body)
			}
			a, err := store.Stat(ctx, l.Key)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{
				raw.MetaSource: "partner_a", raw.MetaDataset: "orders", raw.MetaSHA256: rawSHA(body),
				raw.MetaRecords: "3", raw.MetaContentType: "text/csv", "partner-batch": "b-17",
				raw.MetaIngestTime: l.IngestTime.Format(time.RFC3339Nano),
			} {
				if a.Metadata[k] != want {
					t.Errorf("metadata %s = %q, want %q (all: %v)", k, a.Metadata[k], want, a.Metadata)
				}
			}
			var listed []raw.Landed
			for o, err := range raw.List(ctx, lk, "partner_a", "orders", nil) {
				if err != nil {
					t.Fatal(err)
				}
				listed = append(listed, o)
			}
			if len(listed) != 1 {
				t.Fatalf("List: %d objects, want 1", len(listed))
			}
			o := listed[0]
			if o.Key != l.Key || o.Size != l.Size || o.SHA256 != l.SHA256 || o.OriginalName != l.OriginalName ||
				o.Records != 3 || !o.IngestTime.Equal(l.IngestTime) || o.ETag == "" || o.ContentType != "text/csv" ||
				o.Source != "partner_a" || o.Dataset != "orders" || o.IngestDate != l.IngestDate {
				t.Fatalf("List = %+v\nLand    = %+v", o, l)
			}
			rc, err := o.Open(ctx, lk)
			if err != nil {
				t.Fatal(err)
			}
			opened, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(opened, body) {
				t.Fatalf("Landed.Open read %q (%v), want %q", opened, err, body)
			}
			if !strings.HasSuffix(o.Location, "raw/"+l.Key) {
				t.Errorf("Location %q does not end with the key", o.Location)
			}
		})
	}
}

// A stream larger than the memory limit spills to a temp file and lands
// unchanged, from a reader that is neither seekable nor sized, in small
// reads.
func TestLandLargeStream(t *testing.T) {
	for _, st := range rawLakes {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			lk := st.open(t)
			var buf bytes.Buffer
			for i := 0; buf.Len() < 3<<20; i++ {
				fmt.Fprintf(&buf, `{"i":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", i%97))
			}
			body := buf.Bytes()
			r := iotest.HalfReader(io.MultiReader(bytes.NewReader(body))) // no Seek, no ReadAt, short reads
			l, err := raw.Land(ctx, lk, "web", "events", "big.jsonl", r, &raw.LandOptions{MemoryLimit: 64 << 10, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if l.SHA256 != rawSHA(body) || l.Size != int64(len(body)) || l.ContentType != "application/x-ndjson" {
				t.Fatalf("Landed = %+v", l)
			}
			got, err := lk.MustZone(lake.Raw).Store().ReadAll(ctx, l.Key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("read back %d bytes, want %d (equal=%v)", len(got), len(body), bytes.Equal(got, body))
			}
		})
	}
}

// The same content landed twice: the second landing reports ErrDuplicate
// with the first object's key and writes nothing; AllowDuplicates lands it
// again.
func TestLandDuplicate(t *testing.T) {
	ctx := context.Background()
	lk := rawMemLake(t)
	body := []byte(`{"a":1}` + "\n")
	first, err := raw.Land(ctx, lk, "web", "clicks", "a.jsonl", bytes.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := raw.Land(ctx, lk, "web", "clicks", "renamed.jsonl", bytes.NewReader(body), nil)
	if !errors.Is(err, raw.ErrDuplicate) {
		t.Fatalf("second landing: err = %v, want ErrDuplicate", err)
	}
	if second == nil || second.Key != first.Key || second.OriginalName != "a.jsonl" || second.ETag == "" {
		t.Fatalf("duplicate reports %+v, want the first object %s", second, first.Key)
	}
	if !strings.Contains(err.Error(), first.Key) {
		t.Errorf("error %q does not name the existing key", err)
	}
	if n := len(rawKeys(t, lk, "raw/")); n != 1 {
		t.Fatalf("%d raw objects after a duplicate, want 1", n)
	}
	// another dataset is another namespace
	if _, err := raw.Land(ctx, lk, "web", "views", "a.jsonl", bytes.NewReader(body), nil); err != nil {
		t.Fatalf("same bytes in another dataset: %v", err)
	}
	third, err := raw.Land(ctx, lk, "web", "clicks", "a.jsonl", bytes.NewReader(body),
		&raw.LandOptions{AllowDuplicates: true, IngestTime: time.Now().Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if third.Key == first.Key {
		t.Fatalf("AllowDuplicates landed over the first object")
	}
	if n := len(rawKeys(t, lk, "raw/web/clicks/")); n != 2 {
		t.Fatalf("%d objects after AllowDuplicates, want 2", n)
	}
}

// Eight goroutines land the same content at once: exactly one object, and
// every caller learns its key.
func TestLandConcurrentDuplicates(t *testing.T) {
	for _, st := range rawLakes {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			lk := st.open(t)
			body := bytes.Repeat([]byte(`{"same":"content"}`+"\n"), 1000)
			const n = 8
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				keys  [n]string
				errs  [n]error
			)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					l, err := raw.Land(ctx, lk, "web", "clicks", fmt.Sprintf("copy-%d.jsonl", i), bytes.NewReader(body), nil)
					errs[i] = err
					if l != nil {
						keys[i] = l.Key
					}
				}(i)
			}
			close(start)
			wg.Wait()
			ok := 0
			for i := 0; i < n; i++ {
				switch {
				case errs[i] == nil:
					ok++
				case errors.Is(errs[i], raw.ErrDuplicate):
				default:
					t.Fatalf("landing %d: %v", i, errs[i])
				}
				if keys[i] != keys[0] || keys[i] == "" {
					t.Fatalf("landing %d reports key %q, landing 0 %q", i, keys[i], keys[0])
				}
			}
			if ok == 0 {
				t.Fatal("no landing succeeded")
			}
			objs := rawKeys(t, lk, "raw/")
			if len(objs) != 1 || objs[0] != "raw/"+keys[0] {
				t.Fatalf("raw zone holds %v, want exactly [raw/%s]", objs, keys[0])
			}
			got, err := lk.MustZone(lake.Raw).Store().ReadAll(ctx, keys[0])
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("object content differs (err %v)", err)
			}
		})
	}
}

// A landing whose upload failed is retried later (at another time): the
// retry completes the recorded key instead of adding a second object; when
// the failed upload had in fact gone through, the retry reports a duplicate.
func TestLandRetryNeverDuplicates(t *testing.T) {
	ctx := context.Background()
	for _, ambiguous := range []bool{false, true} {
		t.Run(fmt.Sprintf("ambiguous=%v", ambiguous), func(t *testing.T) {
			lk, fd := rawFaultLake(t)
			body := []byte("a,b\n1,2\n")
			fd.setFail(1, ambiguous)
			t0 := time.Date(2024, 5, 1, 23, 59, 59, 0, time.UTC)
			if _, err := raw.Land(ctx, lk, "partner", "files", "x.csv", bytes.NewReader(body),
				&raw.LandOptions{IngestTime: t0}); err == nil {
				t.Fatal("landing with a failing store succeeded")
			}
			// the retry comes the next day, under another name
			l, err := raw.Land(ctx, lk, "partner", "files", "x-retry.csv", bytes.NewReader(body),
				&raw.LandOptions{IngestTime: t0.Add(time.Hour)})
			if ambiguous {
				if !errors.Is(err, raw.ErrDuplicate) {
					t.Fatalf("retry after an ambiguous failure: %v, want ErrDuplicate", err)
				}
			} else if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if !strings.Contains(l.Key, "ingest_date=2024-05-01/") || l.OriginalName != "x.csv" {
				t.Fatalf("retry landed %+v, want the first attempt's key and metadata", l)
			}
			objs := rawKeys(t, lk, "raw/")
			if len(objs) != 1 || objs[0] != "raw/"+l.Key {
				t.Fatalf("raw zone holds %v, want exactly [raw/%s]", objs, l.Key)
			}
			// and now it is a plain duplicate
			if _, err := raw.Land(ctx, lk, "partner", "files", "x.csv", bytes.NewReader(body), nil); !errors.Is(err, raw.ErrDuplicate) {
				t.Fatalf("third landing: %v, want ErrDuplicate", err)
			}
		})
	}
}

// Hostile source, dataset and object names are refused before anything is
// written; a hostile original name is only metadata.
func TestLandHostileNames(t *testing.T) {
	ctx := context.Background()
	lk := rawMemLake(t)
	bad := []string{"", "..", "../etc", "a/b", "Web", "x y", "a\x00b", "ingest_date=2024-01-01", "_lakekit", "é", strings.Repeat("a", 256)}
	for _, name := range bad {
		if _, err := raw.Land(ctx, lk, name, "ok", "f.csv", strings.NewReader("x"), nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("source %q: err = %v, want ErrInvalidName", name, err)
		}
		if _, err := raw.Land(ctx, lk, "ok", name, "f.csv", strings.NewReader("x"), nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("dataset %q: err = %v, want ErrInvalidName", name, err)
		}
		if _, err := raw.NewBuffer(lk, name, "ok", nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("buffer source %q: err = %v, want ErrInvalidName", name, err)
		}
		for _, err := range raw.List(ctx, lk, "ok", name, nil) {
			if !errors.Is(err, lake.ErrInvalidName) {
				t.Errorf("List dataset %q: err = %v, want ErrInvalidName", name, err)
			}
		}
	}
	for _, obj := range []string{"../x", "a/b", ".hidden", "_hidden", "a b", "x\n"} {
		if _, err := raw.Land(ctx, lk, "ok", "ok", "f", strings.NewReader("x"), &raw.LandOptions{ObjectName: obj}); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("object name %q: err = %v, want ErrInvalidName", obj, err)
		}
	}
	if _, err := raw.Land(ctx, lk, "ok", "ok", "f", strings.NewReader("x"), &raw.LandOptions{Metadata: map[string]string{raw.MetaSHA256: "0"}}); !errors.Is(err, raw.ErrInvalid) {
		t.Errorf("reserved metadata key: err = %v, want ErrInvalid", err)
	}
	if keys := rawKeys(t, lk, ""); len(keys) != 0 {
		t.Fatalf("refused landings wrote %v", keys)
	}
	hostile := "../../../etc/passwd\x00\n<script>" + strings.Repeat("ü", 600)
	l, err := raw.Land(ctx, lk, "ok", "ok", hostile, strings.NewReader("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(l.Key, "..") || strings.Contains(l.Key, "etc") || !strings.HasPrefix(l.Key, "ok/ok/ingest_date=") {
		t.Fatalf("hostile original name leaked into the key %q", l.Key)
	}
	if !strings.HasPrefix(hostile, l.OriginalName) || len(l.OriginalName) < 100 {
		t.Fatalf("original name kept as %q", l.OriginalName)
	}
}

// List filters by ingest date and keeps date order; SkipMetadata lists
// without a Stat per object.
func TestListRawSince(t *testing.T) {
	ctx := context.Background()
	lk := rawMemLake(t)
	days := []time.Time{
		time.Date(2024, 1, 30, 10, 0, 0, 0, time.UTC),
		time.Date(2024, 1, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 1, 0, 30, 0, 0, time.UTC),
	}
	for i, d := range days {
		for j := 0; j < 2; j++ {
			body := fmt.Sprintf("day %d file %d\n", i, j)
			if _, err := raw.Land(ctx, lk, "s", "d", "f.txt", strings.NewReader(body),
				&raw.LandOptions{IngestTime: d.Add(time.Duration(j) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// something else under the dataset prefix is ignored
	if err := lk.MustZone(lake.Raw).Store().PutBytes(ctx, "s/d/notes.txt", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for l, err := range raw.List(ctx, lk, "s", "d", &raw.ListOptions{Since: days[1]}) {
		if err != nil {
			t.Fatal(err)
		}
		if l.SHA256 == "" || l.IngestTime.IsZero() {
			t.Fatalf("metadata missing: %+v", l)
		}
		got = append(got, l.IngestDate+" "+l.IngestTime.Format("15:04"))
	}
	want := []string{"2024-01-31 23:00", "2024-01-31 23:01", "2024-02-01 00:30", "2024-02-01 00:31"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("List since %v = %v, want %v", days[1], got, want)
	}
	n := 0
	for l, err := range raw.List(ctx, lk, "s", "d", &raw.ListOptions{SkipMetadata: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if l.SHA256 != "" || l.ETag == "" || l.Size == 0 {
			t.Fatalf("SkipMetadata entry %+v", l)
		}
		n++
	}
	if n != 6 {
		t.Fatalf("List listed %d objects, want 6", n)
	}
	// stopping early is fine
	for range raw.List(ctx, lk, "s", "d", nil) {
		break
	}
}

func TestRawContentType(t *testing.T) {
	for name, want := range map[string]string{
		"a.csv": "text/csv", "A.CSV": "text/csv", "x.jsonl.gz": "application/x-ndjson", "x.json": "application/json",
		"noext": "application/octet-stream", ".bashrc": "application/octet-stream", "x.tar.gz": "application/gzip",
		"dir/evil.exe\\x.parquet": "application/vnd.apache.parquet",
	} {
		if got := raw.ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}

// Four OS processes land the same file into one file lake at once: the
// checksum index's create-if-absent is atomic across processes, so exactly
// one object results.
func TestLandConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("LAKEKIT_RAW_LAND_DIR"); dir != "" {
		rawLandHelper(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*bytes.Buffer, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestLandConcurrentProcesses$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "LAKEKIT_RAW_LAND_DIR="+dir)
		outs[i] = new(bytes.Buffer)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	landed := 0
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i])
		}
		switch {
		case strings.Contains(outs[i].String(), "RESULT landed"):
			landed++
		case strings.Contains(outs[i].String(), "RESULT duplicate"):
		default:
			t.Fatalf("process %d said:\n%s", i, outs[i])
		}
	}
	lk, err := lake.Open(context.Background(), "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	objs := rawKeys(t, lk, "raw/")
	if len(objs) != 1 || landed == 0 {
		t.Fatalf("%d processes reported a landing; raw zone holds %v, want exactly one object", landed, objs)
	}
}

func rawLandHelper(dir string) {
	ctx := context.Background()
	lk, err := lake.Open(ctx, "file://"+dir, nil)
	if err != nil {
		fmt.Println("RESULT error", err)
		os.Exit(1)
	}
	defer lk.Close()
	// start together: wait for the next 200ms boundary
	time.Sleep(time.Until(time.Now().Truncate(200 * time.Millisecond).Add(200 * time.Millisecond)))
	body := bytes.Repeat([]byte("k,v\n1,shared\n"), 5000)
	_, err = raw.Land(ctx, lk, "partner", "drop", fmt.Sprintf("copy-%d.csv", os.Getpid()), bytes.NewReader(body), nil)
	switch {
	case err == nil:
		fmt.Println("RESULT landed")
	case errors.Is(err, raw.ErrDuplicate):
		fmt.Println("RESULT duplicate")
	default:
		fmt.Println("RESULT error", err)
	}
}
