package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
)

func testUnusualKeys(t *testing.T, s *lake.Store, _ Options) {
	ks := []string{"p/dt=2024-01-01/a b.json", "p/k=a%2Fb/x", "p/é/ü.txt", "p/k=v=w/q+r", "p/x,y;z@1"}
	putMany(t, s, ks)
	got := keys(t, s, "p/", nil)
	want := slices.Clone(ks)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	for _, k := range ks {
		if string(read(t, s, k)) != k {
			t.Errorf("content of %q wrong", k)
		}
	}
}

// HostileKeys are keys every store must refuse with lake.ErrInvalidName.
var HostileKeys = []string{"", "../x", "a/../../b", "/abs", "a//b", "a/./b", "a\x00b", "a/b/", "..", "a\\b", "x/\n", ".lakekit-tmp-1", strings.Repeat("k", 1025)}

func testInvalidKeys(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	for _, k := range HostileKeys {
		if err := s.PutBytes(ctx, k, []byte("x"), nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Put(%q): %v, want ErrInvalidName", k, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Get(%q): %v, want ErrInvalidName", k, err)
		}
		if err := s.Create(ctx, k, nil, nil); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Create(%q): %v, want ErrInvalidName", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, lake.ErrInvalidName) {
			t.Errorf("Delete(%q): %v, want ErrInvalidName", k, err)
		}
	}
	for _, p := range []string{"../", "/x", "a/../"} {
		for _, err := range s.List(ctx, p, nil) {
			if !errors.Is(err, lake.ErrInvalidName) {
				t.Errorf("List(%q): %v, want ErrInvalidName", p, err)
			}
		}
	}
	if got := keys(t, s, "", nil); len(got) != 0 {
		t.Fatalf("hostile keys wrote %v", got)
	}
}

func testSub(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	sub, err := s.Sub("zone/db")
	must(t, err)
	must(t, sub.PutBytes(ctx, "t/f", []byte("v"), nil))
	if string(read(t, s, "zone/db/t/f")) != "v" {
		t.Fatal("Sub store wrote somewhere else")
	}
	if got := keys(t, sub, "", nil); !slices.Equal(got, []string{"t/f"}) {
		t.Fatalf("Sub List = %v, want keys relative to the sub store", got)
	}
	a, err := sub.Stat(ctx, "t/f")
	must(t, err)
	if a.Key != "t/f" {
		t.Fatalf("Sub Stat key %q", a.Key)
	}
	if _, err := s.Sub("../up"); !errors.Is(err, lake.ErrInvalidName) {
		t.Fatalf("Sub(../up): %v", err)
	}
}
