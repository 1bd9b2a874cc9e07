package zones

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/memstore"
)

// checkpointState builds a state through apply, the way a table does:
// appends over two partitions, an overwrite that removes files, keys.
func checkpointState(t *testing.T, commits int) *state {
	t.Helper()
	st := newState()
	ts := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	for v := int64(1); v <= int64(commits); v++ {
		c := &Commit{Version: v, Timestamp: ts.Add(time.Duration(v) * time.Second), Mode: Append, IdempotencyKey: fmt.Sprintf("k%d", v),
			SchemaVersion: 1, PartitionKeys: []string{"dt"}}
		if v == 1 {
			c.Schema = []Column{{Name: "id", Type: "bigint", Required: true}, {Name: "name", Type: "string"}}
		}
		for i := range 3 {
			dt := fmt.Sprintf("2024-01-%02d", i+1)
			c.Added = append(c.Added, DataFile{Key: fmt.Sprintf("db/t/dt=%s/part-%05d-%d.parquet", dt, v, i),
				Partition: lake.Partition{{Key: "dt", Value: dt}}, Rows: v * 10, Size: v * 1000, CRC32C: uint32(v*7 + int64(i)),
				Stats: []ColumnStats{{Column: "id", Kind: "int", Min: "1", Max: fmt.Sprint(v), HasMinMax: true}, {Column: "name", Kind: "string", Nulls: v}}})
		}
		if v%7 == 0 { // overwrite one partition: its older files are removed
			c.Mode = OverwritePartitions
			c.Locations = []PartitionLocation{{Partition: lake.Partition{{Key: "dt", Value: "2024-01-02"}}, Prefix: fmt.Sprintf("db/t/_g%d/dt=2024-01-02", v)}}
		}
		if v == 5 {
			c.Added[0].Staged = "db/t/_lakekit/staging/a5/part-00005-0.parquet"
		}
		if err := st.apply(c); err != nil {
			t.Fatal(err)
		}
		if v%10 == 0 {
			st = st.clone() // the lineage a cached table goes through
		}
	}
	return st
}

// snapshotView is what a checkpoint must keep of a state.
func snapshotView(st *state) map[string]any {
	keys := map[string]int64{}
	for k, v := range st.keys.m {
		if v <= st.Version {
			keys[k] = v
		}
	}
	return map[string]any{"version": st.Version, "ts": st.Timestamp, "pk": st.PartitionKeys, "sv": st.SchemaVersion, "schema": st.Schema,
		"files": st.sortedFiles(), "locations": st.Locations, "keys": keys, "tombstones": st.Tombstones}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, n := range []int{1, 30, 200} {
		st := checkpointState(t, n)
		b, err := st.marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeCheckpoint(b)
		if err != nil {
			t.Fatalf("%d commits: %v", n, err)
		}
		if want, have := snapshotView(st), snapshotView(got); !reflect.DeepEqual(want, have) {
			t.Fatalf("%d commits: the checkpoint does not give back the state:\nwant %+v\ngot  %+v", n, want, have)
		}
		// the version is readable as JSON (tools, logcodec.Decode)
		var env struct {
			Version int64  `json:"version"`
			Format  string `json:"format"`
		}
		if err := logcodec.Decode(b, &env); err != nil || env.Version != st.Version || env.Format != checkpointFormat {
			t.Fatalf("envelope: %+v %v", env, err)
		}
		// the state keeps applying commits after a checkpoint
		c := &Commit{Version: got.Version + 1, Timestamp: time.Now().UTC(), Mode: Append, Added: []DataFile{{Key: "db/t/dt=2024-01-01/part-a.parquet"}}}
		if err := got.apply(c); err != nil {
			t.Fatal(err)
		}
		if err := st.apply(c); err != nil {
			t.Fatal(err)
		}
		if want, have := st.sortedFiles(), got.sortedFiles(); !reflect.DeepEqual(want, have) {
			t.Fatalf("%d commits, after one more: files differ", n)
		}
	}
}

// A checkpoint in the first format (the whole state as JSON) still loads.
func TestCheckpointJSONFormat(t *testing.T) {
	st := checkpointState(t, 40)
	c := *st
	c.FileList = st.sortedFiles()
	c.Keys = map[string]int64{}
	for k, v := range st.keys.m {
		c.Keys[k] = v
	}
	b, err := logcodec.Encode(&c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	want, have := snapshotView(st), snapshotView(got)
	// JSON drops the monotonic clock and keeps UTC; compare the instants
	want["ts"], have["ts"] = st.Timestamp.UnixNano(), got.Timestamp.UnixNano()
	ws, hs := want["tombstones"].([]tombstone), have["tombstones"].([]tombstone)
	if len(ws) != len(hs) {
		t.Fatalf("tombstones: %d, want %d", len(hs), len(ws))
	}
	delete(want, "tombstones")
	delete(have, "tombstones")
	if !reflect.DeepEqual(want, have) {
		t.Fatalf("format 1 checkpoint:\nwant %+v\ngot  %+v", want, have)
	}
}

// Damage is an error (the caller falls back to an older checkpoint), never
// a panic or a silently different state.
func TestCheckpointDamage(t *testing.T) {
	st := checkpointState(t, 60)
	b, err := st.marshal()
	if err != nil {
		t.Fatal(err)
	}
	// damage inside the compressed body: every truncation and a flip of
	// each byte of the raw body
	w := &bodyWriter{}
	raw, _ := ckptDec.DecodeAll(mustBody(t, b), nil)
	for i := len(stateMagic); i < len(raw); i += 1 + i/50 {
		for _, cut := range [][]byte{raw[:i], flip(raw, i)} {
			w.b = ckptEnc.EncodeAll(cut, nil)
			env := strings.Replace(string(b), string(b[strings.Index(string(b), `"state":"`)+9:len(b)-2]), b64(w.b), 1)
			got, err := decodeCheckpoint([]byte(env))
			if err == nil && !reflect.DeepEqual(snapshotView(got), snapshotView(st)) && len(cut) < len(raw) {
				t.Fatalf("body cut at %d of %d decoded without an error", len(cut), len(raw))
			}
		}
	}
	for _, bad := range []string{string(b[:len(b)-1]), string(b[:len(b)/2]) + `"}`, strings.Replace(string(b), `"state":"`, `"state":"!!`, 1)} {
		if _, err := decodeCheckpoint([]byte(bad)); err == nil {
			t.Fatalf("a damaged envelope decoded: %.80q", bad)
		}
	}
	if _, err := decodeCheckpoint([]byte("garbage{")); err == nil {
		t.Fatal("garbage decoded")
	}
}

func mustBody(t *testing.T, b []byte) []byte {
	t.Helper()
	body, ok, err := envelopeBody(b)
	if err != nil || !ok {
		t.Fatalf("envelope: %v %v", ok, err)
	}
	return body
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}

func b64(b []byte) string {
	s, _ := json.Marshal(b) // base64 in quotes
	return string(s[1 : len(s)-1])
}

func BenchmarkCheckpointDecode(b *testing.B) {
	t := &testing.T{}
	st := checkpointState(t, 334) // ~1,000 live files
	buf, _ := st.marshal()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := decodeCheckpoint(buf)
		if err != nil {
			b.Fatal(err)
		}
		_ = got.sortedFiles()
	}
}

func BenchmarkCheckpointDecodeJSON(b *testing.B) {
	t := &testing.T{}
	st := checkpointState(t, 334)
	c := *st
	c.FileList = st.sortedFiles()
	buf, _ := logcodec.Encode(&c)
	b.ReportAllocs()
	for b.Loop() {
		got, err := decodeCheckpoint(buf)
		if err != nil {
			b.Fatal(err)
		}
		_ = got.sortedFiles()
	}
}

func TestPlainKey(t *testing.T) {
	for k, want := range map[string]bool{"dt=2024-01-01/part-1.parquet": true, "part.parquet": true, "a/b/c": true, "...x/y": true,
		"": false, "a//b": false, "./a": false, "a/../b": false, "a/.": false, "dt=a%2Fb/x": false, "a b": false, "a/": false, "/a": false, "é": false} {
		if got := plainKey(k); got != want {
			t.Errorf("plainKey(%q) = %v, want %v", k, got, want)
		}
	}
}

// Tables loading one checkpoint share its decoded state; what each applies
// afterwards (a clone) is its own, keys included.
func TestCheckpointCacheShared(t *testing.T) {
	st := checkpointState(t, 20)
	b, err := st.marshal()
	if err != nil {
		t.Fatal(err)
	}
	a, err := cachedCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := cachedCheckpoint(append([]byte(nil), b...))
	if err != nil || a2 != a || !a.shared {
		t.Fatalf("second load of the same checkpoint: %p %p shared=%v %v", a, a2, a.shared, err)
	}
	x, y := a.clone(), a.clone()
	c := &Commit{Version: 21, Timestamp: time.Now().UTC(), Mode: Append, IdempotencyKey: "only-x", Added: []DataFile{{Key: "db/t/dt=2024-01-01/x.parquet"}}}
	if err := x.apply(c); err != nil {
		t.Fatal(err)
	}
	c2 := *c
	c2.IdempotencyKey, c2.Added = "only-y", []DataFile{{Key: "db/t/dt=2024-01-01/y.parquet"}}
	if err := y.apply(&c2); err != nil {
		t.Fatal(err)
	}
	if _, ok := y.key("only-x"); ok {
		t.Fatal("a key applied to one table's state is seen by another loaded from the same checkpoint")
	}
	if v, ok := x.key("only-x"); !ok || v != 21 {
		t.Fatalf("x's own key: %d %v", v, ok)
	}
	if len(a.files) != len(st.files) || a.Version != 20 {
		t.Fatalf("the cached state changed: %d files, version %d", len(a.files), a.Version)
	}
	if _, ok := a.key("only-x"); ok {
		t.Fatal("the cached state sees a later key")
	}
}

// locate gives every file the location its store's driver gives its key.
func TestLocate(t *testing.T) {
	fd, err := filestore.New(t.TempDir(), &filestore.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []lake.Store{*lake.NewStore(fd), *lake.NewStore(memstore.New())} {
		lk, err := lake.New(&d, nil)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := OpenTable(lk, lake.Curated, "db", "t")
		if err != nil {
			t.Fatal(err)
		}
		keys := []string{"db/t/dt=a%2Fb/p.parquet", "db/t/dt=2024-01-01/part-1.parquet", "db/t/dt=2024-01-02/part-2.parquet",
			"db/t/_g1/dt=x y/p.parquet", "other/t/p.parquet", "db/t/dt=2024-01-03/part-3.parquet"}
		for n := 1; n <= len(keys); n++ {
			files := make([]DataFile, n)
			for i := range files {
				files[i].Key = keys[i]
			}
			tb.locate(files)
			for _, f := range files {
				if want := tb.store.Location(f.Key); f.Location != want {
					t.Errorf("%d files: %s located at %q, the driver says %q", n, f.Key, f.Location, want)
				}
			}
		}
		lk.Close()
	}
}
