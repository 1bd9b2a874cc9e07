package objlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/internal/logcodec"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/memstore"
)

type entry struct {
	Version int64  `json:"version"`
	Text    string `json:"text"`
}

// fill returns a log in a memory store with versions 1..n (noted in the
// hint).
func fill(t *testing.T, n int64) (*Log, *lake.Store) {
	t.Helper()
	ctx := context.Background()
	s := lake.NewStore(memstore.New())
	l := New(s, "db/t")
	for v := int64(1); v <= n; v++ {
		b, err := logcodec.Encode(entry{Version: v, Text: fmt.Sprint("v", v)})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(ctx, v, b); err != nil {
			t.Fatal(err)
		}
		if err := l.NoteVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	return l, s
}

func replayAll(l *Log, after int64) ([]int64, error) {
	var got []int64
	_, err := Replay(context.Background(), l, after, func(e *entry) int64 { return e.Version }, func(v int64, e *entry) error {
		got = append(got, v)
		return nil
	})
	return got, err
}

func TestAppendIsCreateOnly(t *testing.T) {
	l, _ := fill(t, 2)
	if err := l.Append(context.Background(), 2, []byte(`{"version":2}`)); !errors.Is(err, lake.ErrExists) {
		t.Fatalf("Append over version 2: %v; want lake.ErrExists", err)
	}
}

func TestReplayReadsInOrder(t *testing.T) {
	l, _ := fill(t, 5)
	got, err := replayAll(l, 2)
	if err != nil || fmt.Sprint(got) != "[3 4 5]" {
		t.Fatalf("Replay after 2 = %v, %v", got, err)
	}
}

// TestReplayStop: ErrStop ends the read at the version it was returned
// for, without reading on (a read up to a version).
func TestReplayStop(t *testing.T) {
	l, s := fill(t, 5)
	if err := s.Delete(context.Background(), l.Key(5)); err != nil { // damage past the stop is not read
		t.Fatal(err)
	}
	var got []int64
	last, err := Replay(context.Background(), l, 1, func(e *entry) int64 { return e.Version }, func(v int64, e *entry) error {
		got = append(got, v)
		if v == 3 {
			return ErrStop
		}
		return nil
	})
	if err != nil || last != 3 || fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("Replay stopping at 3 = %d %v %v", last, got, err)
	}
}

// TestReplayCorruptGap: a version missing below the newest is ErrCorrupt
// naming it, after the versions before it were applied.
func TestReplayCorruptGap(t *testing.T) {
	for _, lost := range []int64{3, 5} {
		l, s := fill(t, 5)
		if err := s.Delete(context.Background(), l.Key(lost)); err != nil {
			t.Fatal(err)
		}
		got, err := replayAll(l, 0)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), l.Key(lost)) {
			t.Fatalf("lost %d: err = %v; want ErrCorrupt naming %s", lost, err, l.Key(lost))
		}
		if len(got) != int(lost-1) {
			t.Fatalf("lost %d: applied %v before the damage", lost, got)
		}
	}
}

// TestReplayCorruptEntry: an entry that does not decode, or claims another
// version, is ErrCorrupt naming it.
func TestReplayCorruptEntry(t *testing.T) {
	for name, body := range map[string]string{"truncated": `{"version":2,`, "misplaced": `{"version":7}`} {
		l, s := fill(t, 3)
		if err := s.PutBytes(context.Background(), l.Key(2), []byte(body), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := replayAll(l, 0); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), l.Key(2)) {
			t.Fatalf("%s entry: err = %v; want ErrCorrupt naming %s", name, err, l.Key(2))
		}
	}
}

func TestNewest(t *testing.T) {
	ctx := context.Background()
	var e entry
	claim := func() int64 { return e.Version }
	empty := New(lake.NewStore(memstore.New()), "db/t")
	if v, err := empty.Newest(ctx, &e, claim); v != 0 || err != nil {
		t.Fatalf("Newest of an empty log = %d, %v", v, err)
	}
	l, s := fill(t, 4)
	if v, err := l.Newest(ctx, &e, claim); v != 4 || err != nil || e.Text != "v4" {
		t.Fatalf("Newest = %d %+v %v", v, e, err)
	}
	// a hint behind, a damaged hint, no hint: the same answer, and the
	// hint is set right
	for _, hint := range []string{"2", "x", ""} {
		var err error
		if hint == "" {
			err = s.Delete(ctx, "db/t/"+HintKey)
		} else {
			err = s.PutBytes(ctx, "db/t/"+HintKey, []byte(hint), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if v, err := l.Newest(ctx, &e, claim); v != 4 || err != nil || e.Text != "v4" {
			t.Fatalf("hint %q: Newest = %d %+v %v", hint, v, e, err)
		}
		if h, err := l.Hint(ctx); h != 4 || err != nil {
			t.Fatalf("hint %q: not advanced: %d %v", hint, h, err)
		}
	}
}

// TestNewestCorrupt: a lost or undecodable newest version is ErrCorrupt
// naming it, never the version before.
func TestNewestCorrupt(t *testing.T) {
	ctx := context.Background()
	var e entry
	claim := func() int64 { return e.Version }
	l, s := fill(t, 4)
	if err := s.Delete(ctx, l.Key(4)); err != nil {
		t.Fatal(err)
	}
	if v, err := l.Newest(ctx, &e, claim); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), l.Key(4)) {
		t.Fatalf("lost newest: Newest = %d, %v; want ErrCorrupt naming %s", v, err, l.Key(4))
	}
	l, s = fill(t, 4)
	if err := s.PutBytes(ctx, l.Key(4), []byte("{"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Newest(ctx, &e, claim); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), l.Key(4)) {
		t.Fatalf("undecodable newest: %v", err)
	}
	// the hint behind and the newest lost while a later version exists
	l, s = fill(t, 6)
	if err := s.PutBytes(ctx, "db/t/"+HintKey, []byte("3"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, l.Key(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Newest(ctx, &e, claim); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), l.Key(5)) {
		t.Fatalf("gap above a lagging hint: %v", err)
	}
}

// TestNewestRestart: a hint naming a version whose history was dropped
// (a reader's late hint update racing DeleteBefore) reads from the newest
// listed version; a dropped folder is an empty log; a hint left over no
// version at all is corruption.
func TestNewestRestart(t *testing.T) {
	ctx := context.Background()
	var e entry
	claim := func() int64 { return e.Version }
	l, s := fill(t, 6)
	if err := l.DeleteBefore(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if err := l.NoteVersion(ctx, 4); err != nil { // the late update
		t.Fatal(err)
	}
	if v, err := l.Newest(ctx, &e, claim); v != 6 || err != nil || e.Text != "v6" {
		t.Fatalf("Newest over a hint below the dropped history = %d %+v %v", v, e, err)
	}
	if err := s.Delete(ctx, l.Key(6)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Newest(ctx, &e, claim); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), l.Key(6)) {
		t.Fatalf("hint over no version: %v; want ErrCorrupt naming %s", err, l.Key(6))
	}
	if err := s.Delete(ctx, "db/t/"+HintKey); err != nil {
		t.Fatal(err)
	}
	if v, err := l.Newest(ctx, &e, claim); v != 0 || err != nil {
		t.Fatalf("Newest of a dropped log = %d %v", v, err)
	}
}

func TestDeleteBefore(t *testing.T) {
	ctx := context.Background()
	l, s := fill(t, 5)
	if err := s.PutBytes(ctx, "db/t/"+HintKey, []byte("2"), nil); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteBefore(ctx, 5); err != nil {
		t.Fatal(err)
	}
	vs, err := l.Versions(ctx)
	if err != nil || fmt.Sprint(vs) != "[5]" {
		t.Fatalf("versions after DeleteBefore(5): %v %v", vs, err)
	}
	var e entry
	if v, err := l.Newest(ctx, &e, func() int64 { return e.Version }); v != 5 || err != nil {
		t.Fatalf("Newest after DeleteBefore: %d %v", v, err)
	}
}

// TestCheckpointFallback: a damaged newest checkpoint falls back to an
// older one and is reported; PruneCheckpoints keeps the newest.
func TestCheckpointFallback(t *testing.T) {
	ctx := context.Background()
	l, s := fill(t, 1)
	for _, v := range []int64{10, 20, 30} {
		if err := l.WriteCheckpoint(ctx, v, []byte(fmt.Sprintf(`{"version":%d}`, v))); err != nil {
			t.Fatal(err)
		}
	}
	decode := func(b []byte) (int64, int64, error) {
		var e entry
		err := logcodec.Decode(b, &e)
		return e.Version, e.Version, err
	}
	if err := s.PutBytes(ctx, logcodec.CheckpointKey("db/t", 30), []byte("{"), nil); err != nil {
		t.Fatal(err)
	}
	cp, ok, damaged, err := LoadCheckpoint(ctx, l, 1<<62, decode)
	if err != nil || !ok || cp.Version != 20 || len(damaged) != 1 || !strings.Contains(damaged[0], logcodec.CheckpointKey("db/t", 30)) {
		t.Fatalf("LoadCheckpoint over a damaged newest = %+v %v %v %v", cp, ok, damaged, err)
	}
	if cp, ok, _, err := LoadCheckpoint(ctx, l, 15, decode); err != nil || !ok || cp.Version != 10 {
		t.Fatalf("LoadCheckpoint at most 15 = %+v %v %v", cp, ok, err)
	}
	if err := l.PruneCheckpoints(ctx, 2); err != nil {
		t.Fatal(err)
	}
	left, err := l.checkpoints(ctx, 1<<62)
	if err != nil || fmt.Sprint(left) != "[20 30]" {
		t.Fatalf("checkpoints after PruneCheckpoints(2): %v %v", left, err)
	}
}

func TestRace(t *testing.T) {
	ctx := context.Background()
	n := 0
	err := Race(ctx, 3, func(int) error { n++; return fmt.Errorf("v: %w", lake.ErrExists) })
	if !errors.Is(err, ErrContended) || !errors.Is(err, lake.ErrExists) || n != 3 {
		t.Fatalf("Race over a budget of 3: %d tries, %v", n, err)
	}
	n = 0
	err = Race(ctx, 0, func(a int) error {
		n++
		if a < 2 {
			return lake.ErrExists
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("Race winning the second attempt: %d tries, %v", n, err)
	}
	boom := errors.New("boom")
	if err := Race(ctx, 0, func(int) error { return boom }); err != boom {
		t.Fatalf("Race passes other errors through: %v", err)
	}
}
