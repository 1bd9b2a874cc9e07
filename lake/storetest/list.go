package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakekit/lakekit/lake"
)

func putMany(t *testing.T, s *lake.Store, ks []string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, k := range ks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.PutBytes(ctx, k, []byte(k), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func keys(t *testing.T, s *lake.Store, prefix string, o *lake.ListOptions) []string {
	t.Helper()
	es, err := s.ListAll(context.Background(), prefix, o)
	must(t, err)
	var out []string
	for _, e := range es {
		k := e.Key
		if e.IsDir {
			k += "(dir)"
		}
		out = append(out, k)
	}
	return out
}

func testList(t *testing.T, s *lake.Store, _ Options) {
	ctx := context.Background()
	ks := []string{"t/b", "t/a/2", "t/a/1", "t/a-x", "t/a0", "t/c/d/e", "u/z", "t2/q"}
	putMany(t, s, ks)
	got := keys(t, s, "t/", nil)
	want := []string{"t/a-x", "t/a/1", "t/a/2", "t/a0", "t/b", "t/c/d/e"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(t/) (-want +got):\n%s", diff)
	}
	got = keys(t, s, "t", nil)
	want = []string{"t/a-x", "t/a/1", "t/a/2", "t/a0", "t/b", "t/c/d/e", "t2/q"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(t) (-want +got):\n%s", diff)
	}
	got = keys(t, s, "t/a", nil)
	want = []string{"t/a-x", "t/a/1", "t/a/2", "t/a0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(t/a) (-want +got):\n%s", diff)
	}
	if got := keys(t, s, "nothing/", nil); len(got) != 0 {
		t.Fatalf("List of an absent prefix: %v", got)
	}
	all := keys(t, s, "", nil)
	if !slices.IsSorted(all) || len(all) != len(ks) {
		t.Fatalf("List(\"\") = %v", all)
	}
	es, err := s.ListAll(ctx, "t/b", nil)
	must(t, err)
	if len(es) != 1 || es[0].Size != 3 || es[0].ETag == "" {
		t.Fatalf("entry for t/b: %+v (want size 3 and an ETag)", es)
	}
	// stopping early is allowed
	for range s.List(ctx, "", nil) {
		break
	}
}

func testListDelimiter(t *testing.T, s *lake.Store, _ Options) {
	putMany(t, s, []string{"db/t1/dt=1/a", "db/t1/dt=2/b", "db/t1/_lakekit/v1", "db/t1/file", "db/t2/x"})
	got := keys(t, s, "db/t1/", &lake.ListOptions{Delimiter: "/"})
	want := []string{"db/t1/_lakekit/(dir)", "db/t1/dt=1/(dir)", "db/t1/dt=2/(dir)", "db/t1/file"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List with delimiter (-want +got):\n%s", diff)
	}
	got = keys(t, s, "db/", &lake.ListOptions{Delimiter: "/"})
	want = []string{"db/t1/(dir)", "db/t2/(dir)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("List(db/) with delimiter (-want +got):\n%s", diff)
	}
}
