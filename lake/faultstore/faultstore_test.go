package faultstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/memstore"
	"github.com/lakekit/lakekit/lake/storetest"
)

// With no rules the wrapper is a conforming store.
func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) *lake.Store {
		return lake.NewStore(faultstore.Wrap(memstore.New(), nil))
	}, nil)
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	fd := faultstore.Wrap(memstore.New(), nil)
	s := lake.NewStore(fd)

	fd.SetRules(faultstore.Rule{Op: faultstore.OpPut, Nth: 2, Fault: faultstore.Fail})
	if err := s.PutBytes(ctx, "a", []byte("1"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes(ctx, "b", []byte("2"), nil); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("2nd put: %v, want ErrInjected", err)
	}
	if ok, _ := s.Exists(ctx, "b"); ok {
		t.Fatal("a Fail fault performed the put")
	}

	fd.SetRules(faultstore.Rule{Op: faultstore.OpCreate, Nth: 1, Fault: faultstore.FailAfter})
	if err := s.Create(ctx, "c", []byte("3"), nil); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("create with FailAfter: %v", err)
	}
	if ok, _ := s.Exists(ctx, "c"); !ok {
		t.Fatal("a FailAfter fault did not perform the create")
	}
	if err := s.Create(ctx, "c", []byte("3"), nil); !errors.Is(err, lake.ErrExists) {
		t.Fatalf("retried create after an ambiguous failure: %v, want ErrExists", err)
	}

	fd.SetRules(faultstore.Rule{Op: faultstore.OpGet, KeyContains: "a", Nth: 1, Fault: faultstore.Throttle})
	if _, err := s.ReadAll(ctx, "a"); !errors.Is(err, lake.ErrThrottled) {
		t.Fatalf("throttled get: %v, want ErrThrottled", err)
	}
	if b, err := s.ReadAll(ctx, "a"); err != nil || string(b) != "1" {
		t.Fatalf("get after the throttle: %q %v", b, err)
	}

	data := bytes.Repeat([]byte("x"), 1000)
	if err := s.PutBytes(ctx, "big", data, nil); err != nil {
		t.Fatal(err)
	}
	fd.SetRules(faultstore.Rule{Op: faultstore.OpGet, Nth: 1, Fault: faultstore.Truncate})
	rc, err := s.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 500 {
		t.Fatalf("truncated get: %d bytes, %v", len(got), err)
	}
	fd.SetRules(faultstore.Rule{Op: faultstore.OpPut, Nth: 1, Fault: faultstore.Truncate})
	if err := s.PutBytes(ctx, "big", []byte("new content"), nil); err == nil {
		t.Fatal("truncated put body succeeded")
	}
	if b, _ := s.ReadAll(ctx, "big"); !bytes.Equal(b, data) {
		t.Fatal("a truncated put replaced the object")
	}

	fd.SetRules(faultstore.Rule{Op: faultstore.OpStat, Nth: 1, Fault: faultstore.Delay, Delay: 30 * time.Millisecond})
	t0 := time.Now()
	if _, err := s.Stat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if time.Since(t0) < 30*time.Millisecond {
		t.Fatal("Delay did not delay")
	}

	fd.SetRules(faultstore.Rule{Op: faultstore.OpStat, Nth: 1, Fault: faultstore.Timeout, Delay: time.Minute})
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.Stat(tctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}

	fd.SetRules(faultstore.Rule{Op: faultstore.OpList, Nth: 1, Fault: faultstore.Fail})
	if _, err := s.ListAll(ctx, "", nil); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("list: %v", err)
	}
	fd.SetRules(faultstore.Rule{Op: faultstore.OpDelete, Nth: 1, Times: 1, Fault: faultstore.Fail})
	if err := s.Delete(ctx, "a"); !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatalf("Times: 1 fired twice: %v", err)
	}
	if fd.Calls(faultstore.OpDelete) != 2 || len(fd.Events()) == 0 {
		t.Fatalf("calls %d events %v", fd.Calls(faultstore.OpDelete), fd.Events())
	}
}

// The same seed and calls give the same faults; another seed differs.
func TestSeededSchedule(t *testing.T) {
	run := func(seed int64) []faultstore.Event {
		fd := faultstore.Wrap(memstore.New(), &faultstore.Options{Seed: seed, Rules: []faultstore.Rule{
			{Op: faultstore.OpPut, Probability: 0.3, Fault: faultstore.Fail},
			{Op: faultstore.OpGet, Probability: 0.3, Fault: faultstore.Throttle},
		}})
		s := lake.NewStore(fd)
		for i := range 200 {
			k := fmt.Sprintf("k%03d", i)
			s.PutBytes(context.Background(), k, []byte("v"), nil)
			s.ReadAll(context.Background(), k)
		}
		return fd.Events()
	}
	a, b, c := run(7), run(7), run(8)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different faults:\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Fatal("different seeds gave the same faults")
	}
	if len(a) < 60 || len(a) > 200 {
		t.Fatalf("%d faults for 400 calls at p=0.3", len(a))
	}
}

// TestSyncFaults: Sync passes through (a no-op over a memory store) and
// takes faults like any call; FailAfter reports a failure after syncing.
func TestSyncFaults(t *testing.T) {
	ctx := context.Background()
	d := faultstore.Wrap(memstore.New(), &faultstore.Options{Seed: 1, Rules: []faultstore.Rule{
		{Op: faultstore.OpSync, Nth: 2, Fault: faultstore.Fail},
		{Op: faultstore.OpSync, Nth: 2, Fault: faultstore.FailAfter}, // its 2nd match is the 3rd call
	}})
	s := lake.NewStore(d)
	if err := s.PutBytes(ctx, "a/b.parquet", []byte("x"), &lake.PutOptions{Deferred: true}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, faultstore.ErrInjected, faultstore.ErrInjected, nil} {
		if err := s.Sync(ctx, []string{"a/b.parquet"}); !errors.Is(err, want) {
			t.Fatalf("Sync %d: %v, want %v", i+1, err, want)
		}
	}
	if n := d.Calls(faultstore.OpSync); n != 4 {
		t.Fatalf("%d Sync calls counted, want 4", n)
	}
}
