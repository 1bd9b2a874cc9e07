package zones

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
)

// A checkpoint is a small JSON envelope,
//
//	{"version":N,"format":"lakekit-state-2","state":"<base64>"}
//
// whose state is the table's state in a compact binary form, zstd
// compressed. The envelope keeps the version readable by any JSON tool
// (and by logcodec.Decode); the body keeps opening a table with many live
// files cheap: decoding JSON cost ~10 µs per live file (measured at 1,000
// files: 12 ms to open against 1 ms for a one-file table), the body costs
// a few map inserts and no allocation per string (every string is a slice
// of one copy of the body). Checkpoints written as the whole state in JSON
// (format 1) are still read.
const checkpointFormat = "lakekit-state-2"

// stateMagic starts the binary body, before compression.
var stateMagic = []byte("LKST\x02")

var (
	ckptEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	ckptDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(logcodec.MaxObject))
)

const envelopeHead = `{"version":`

// encodeCheckpoint renders st (whose files are given sorted by key) as a
// checkpoint object.
func encodeCheckpoint(st *state, files []DataFile, keys map[string]int64) []byte {
	w := &bodyWriter{b: append([]byte(nil), stateMagic...)}
	w.int(st.Version)
	w.time(st.Timestamp)
	w.strs(st.PartitionKeys)
	w.int(int64(st.SchemaVersion))
	w.uint(uint64(len(st.Schema)))
	for _, c := range st.Schema {
		w.str(c.Name)
		w.str(c.Type)
		w.bool(c.Required)
	}
	w.uint(uint64(len(files)))
	for i := range files {
		w.file(&files[i])
	}
	w.uint(uint64(len(st.Locations)))
	for k, v := range st.Locations {
		w.str(k)
		w.str(v)
	}
	w.uint(uint64(len(keys)))
	for k, v := range keys {
		w.str(k)
		w.int(v)
	}
	w.uint(uint64(len(st.Tombstones)))
	for _, t := range st.Tombstones {
		w.str(t.Key)
		w.int(t.RemovedIn)
		w.time(t.RemovedAt)
	}
	z := ckptEnc.EncodeAll(w.b, nil)
	out := make([]byte, 0, len(z)*4/3+100)
	out = append(out, envelopeHead...)
	out = strconv.AppendInt(out, st.Version, 10)
	out = append(out, `,"format":"`+checkpointFormat+`","state":"`...)
	out = base64.StdEncoding.AppendEncode(out, z)
	return append(out, `"}`...)
}

func (w *bodyWriter) file(f *DataFile) {
	w.str(f.Key)
	w.uint(uint64(len(f.Partition)))
	for _, kv := range f.Partition {
		w.str(kv.Key)
		w.str(kv.Value)
	}
	w.int(f.Rows)
	w.int(f.Size)
	w.int(f.AddedIn)
	w.uint(uint64(f.CRC32C))
	w.str(f.Staged)
	w.uint(uint64(len(f.Stats)))
	for _, s := range f.Stats {
		w.str(s.Column)
		w.str(s.Kind)
		w.str(s.Min)
		w.str(s.Max)
		w.bool(s.HasMinMax)
		w.int(s.Nulls)
	}
}

type bodyWriter struct{ b []byte }

func (w *bodyWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *bodyWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *bodyWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *bodyWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

// time writes a flag and, when t is not the zero time, its Unix
// nanoseconds (UTC: the log's times are UTC).
func (w *bodyWriter) time(t time.Time) {
	w.bool(!t.IsZero())
	if !t.IsZero() {
		w.int(t.UnixNano())
	}
}

func (w *bodyWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// stateCache keeps the states decoded from the checkpoints this process
// read last, by the checkpoint's bytes: a service that opens a table per
// request (a fresh Table each time) reads the checkpoint object but does
// not decode it again. The same bytes give the same state, whatever table
// or store they came from. A cached state is shared: it is never changed
// (refresh and travel clone it before applying commits). Bounded by the
// size of the decoded bodies.
var stateCache struct {
	sync.Mutex
	m     map[string]*cachedState
	order []string // oldest first
	size  int
}

type cachedState struct {
	st   *state
	size int
}

// stateCacheBytes bounds the decoded bodies the cache holds (a state in
// memory is a few times its body).
const stateCacheBytes = 8 << 20

// cachedCheckpoint is decodeCheckpoint through the cache. A damaged
// checkpoint is not cached.
func cachedCheckpoint(b []byte) (*state, error) {
	stateCache.Lock()
	if c, ok := stateCache.m[string(b)]; ok {
		stateCache.Unlock()
		return c.st, nil
	}
	stateCache.Unlock()
	st, size, err := decodeCheckpointSize(b)
	if err != nil || size > stateCacheBytes/4 {
		return st, err
	}
	st.shared = true
	stateCache.Lock()
	defer stateCache.Unlock()
	if stateCache.m == nil {
		stateCache.m = map[string]*cachedState{}
	}
	k := string(b)
	if _, ok := stateCache.m[k]; !ok {
		stateCache.m[k] = &cachedState{st: st, size: size}
		stateCache.order = append(stateCache.order, k)
		stateCache.size += size
	}
	for stateCache.size > stateCacheBytes && len(stateCache.order) > 1 {
		old := stateCache.order[0]
		stateCache.order = stateCache.order[1:]
		stateCache.size -= stateCache.m[old].size
		delete(stateCache.m, old)
	}
	return stateCache.m[k].st, nil
}

// decodeCheckpoint reads a checkpoint object of either format.
func decodeCheckpoint(b []byte) (*state, error) {
	st, _, err := decodeCheckpointSize(b)
	return st, err
}

// decodeCheckpointSize is decodeCheckpoint that also says how large the
// decoded body (or the JSON) was.
func decodeCheckpointSize(b []byte) (*state, int, error) {
	body, ok, err := envelopeBody(b)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		st, err := unmarshalState(b)  // format 1: the state in JSON
		return st, math.MaxInt32, err // its size in memory is unknown: not cached
	}
	raw, err := ckptDec.DecodeAll(body, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("checkpoint body does not decompress: %w", err)
	}
	if !bytes.HasPrefix(raw, stateMagic) {
		return nil, 0, errors.New("checkpoint body has no state header")
	}
	r := &bodyReader{s: string(raw[len(stateMagic):])}
	st := r.state()
	if r.err != nil {
		return nil, 0, fmt.Errorf("checkpoint body: %w", r.err)
	}
	if r.off != len(r.s) {
		return nil, 0, fmt.Errorf("checkpoint body: %d bytes after the state", len(r.s)-r.off)
	}
	return st, len(raw), nil
}

// envelopeBody returns the compressed body of a format-2 checkpoint; ok is
// false for anything else (format 1, or damage the JSON decoder reports).
// The envelope is only ever written by encodeCheckpoint, so its fields are
// matched in that order; the version it names must be the body's.
func envelopeBody(b []byte) ([]byte, bool, error) {
	rest, ok := bytes.CutPrefix(b, []byte(envelopeHead))
	if !ok {
		return nil, false, nil
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 {
		return nil, false, nil
	}
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"format":"`+checkpointFormat+`","state":"`))
	if !ok {
		return nil, false, nil
	}
	enc, ok := bytes.CutSuffix(rest, []byte(`"}`))
	if !ok {
		return nil, false, errors.New("checkpoint envelope is truncated")
	}
	body, err := base64.StdEncoding.AppendDecode(nil, enc)
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint envelope: %w", err)
	}
	return body, true, nil
}

// bodyReader decodes the binary body. Every string is a slice of s (one
// copy of the body), and the files, their stats and partitions live in
// one slab each. The first error sticks; reads after it return zeros.
type bodyReader struct {
	s   string
	off int
	err error
}

func (r *bodyReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at byte %d", what, r.off)
	}
}

func (r *bodyReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if r.off >= len(r.s) {
			break
		}
		c := r.s[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.fail("bad varint")
	return 0
}

func (r *bodyReader) int() int64 {
	u := r.uint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a length that must fit in what is left of the body (every
// element takes at least one byte), so damage cannot make it allocate
// more than the body's size.
func (r *bodyReader) count() int {
	n := r.uint()
	if n > uint64(len(r.s)-r.off) {
		r.fail("count past the end")
		return 0
	}
	return int(n)
}

func (r *bodyReader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

func (r *bodyReader) bool() bool { return r.uint() != 0 }

func (r *bodyReader) time() time.Time {
	if !r.bool() {
		return time.Time{}
	}
	return time.Unix(0, r.int()).UTC()
}

func (r *bodyReader) state() *state {
	st := newState()
	st.Version = r.int()
	st.Timestamp = r.time()
	if n := r.count(); n > 0 {
		st.PartitionKeys = make([]string, n)
		for i := range st.PartitionKeys {
			st.PartitionKeys[i] = r.str()
		}
	}
	st.SchemaVersion = int(r.int())
	if n := r.count(); n > 0 {
		st.Schema = make([]Column, n)
		for i := range st.Schema {
			st.Schema[i] = Column{Name: r.str(), Type: r.str(), Required: r.bool()}
		}
	}
	r.files(st)
	n := r.count()
	for range n {
		k := r.str()
		st.Locations[k] = r.str()
	}
	n = r.count()
	st.keys.m = make(map[string]int64, n)
	for range n {
		k := r.str()
		st.keys.m[k] = r.int()
	}
	if n = r.count(); n > 0 {
		st.Tombstones = make([]tombstone, n)
		for i := range st.Tombstones {
			st.Tombstones[i] = tombstone{Key: r.str(), RemovedIn: r.int(), RemovedAt: r.time()}
		}
	}
	return st
}

// files reads the live files, sorted by key, into st.files and keeps the
// sorted slab as st.sorted.
func (r *bodyReader) files(st *state) {
	n := r.count()
	if r.err != nil {
		return
	}
	files := make([]DataFile, n)
	st.files = make(map[string]DataFile, n)
	var stats []ColumnStats
	var kvs []lake.KV
	for i := range files {
		f := &files[i]
		f.Key = r.str()
		if np := r.count(); np > 0 {
			if len(kvs) < np {
				kvs = make([]lake.KV, max(np, 4096/np*np))
			}
			f.Partition, kvs = kvs[:np:np], kvs[np:]
			for j := range f.Partition {
				f.Partition[j] = lake.KV{Key: r.str(), Value: r.str()}
			}
		}
		f.Rows, f.Size, f.AddedIn = r.int(), r.int(), r.int()
		f.CRC32C = uint32(r.uint())
		f.Staged = r.str()
		if ns := r.count(); ns > 0 {
			if len(stats) < ns {
				stats = make([]ColumnStats, max(ns, 1024/ns*ns))
			}
			f.Stats, stats = stats[:ns:ns], stats[ns:]
			for j := range f.Stats {
				f.Stats[j] = ColumnStats{Column: r.str(), Kind: r.str(), Min: r.str(), Max: r.str(), HasMinMax: r.bool(), Nulls: r.int()}
			}
		}
		if r.err != nil {
			return
		}
		if i > 0 && files[i-1].Key >= f.Key {
			r.fail("files not sorted by key")
			return
		}
		st.files[f.Key] = *f
	}
	st.sorted = files
}
