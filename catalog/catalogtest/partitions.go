package catalogtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lakekit/lakekit/catalog"
)

func collect(t *testing.T, c catalog.Catalog, db, table, filter string) []catalog.Partition {
	t.Helper()
	var out []catalog.Partition
	for p, err := range c.Partitions(ctx(), db, table, filter) {
		if err != nil {
			t.Fatalf("Partitions(%q): %v", filter, err)
		}
		out = append(out, p)
	}
	return out
}

func values(ps []catalog.Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.Join(p.Values, "/")
	}
	return out
}

func testPartitions(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "orders")
	must(t, c.CreateTable(ctx(), tb))
	loc := tb.Location
	parts := []catalog.Partition{
		{Values: []string{"2024-01-02", "10"}, Location: loc + "dt=2024-01-02/hour=10/"},
		{Values: []string{"2024-01-01", "2"}, Parameters: map[string]string{"rows": "42"}},
		{Values: []string{"2024-01-02", "9"}},
	}
	must(t, c.AddPartitions(ctx(), db, "orders", parts))
	got := collect(t, c, db, "orders", "")
	want := []catalog.Partition{
		{Values: []string{"2024-01-01", "2"}, Location: loc + "dt=2024-01-01/hour=2/", Parameters: map[string]string{"rows": "42"}},
		{Values: []string{"2024-01-02", "9"}, Location: loc + "dt=2024-01-02/hour=9/"},
		{Values: []string{"2024-01-02", "10"}, Location: loc + "dt=2024-01-02/hour=10/"},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Partitions after add (-want +got):\n%s", d)
	}
	// Adding again is not an error and leaves existing partitions alone.
	must(t, c.AddPartitions(ctx(), db, "orders", []catalog.Partition{
		{Values: []string{"2024-01-01", "2"}, Location: "s3://elsewhere/"},
		{Values: []string{"2024-01-03", "0"}},
	}))
	got = collect(t, c, db, "orders", "")
	if len(got) != 4 || got[0].Location != want[0].Location {
		t.Errorf("re-adding changed partitions: %+v", got)
	}

	// The atomic overwrite's swap.
	must(t, c.UpdatePartitionLocations(ctx(), db, "orders", []catalog.Partition{
		{Values: []string{"2024-01-02", "9"}, Location: loc + "dt=2024-01-02/hour=9/v2/"},
	}))
	got = collect(t, c, db, "orders", "dt = '2024-01-02' AND hour = 9")
	if len(got) != 1 || got[0].Location != loc+"dt=2024-01-02/hour=9/v2/" {
		t.Errorf("after UpdatePartitionLocations: %+v", got)
	}
	// One missing partition: ErrNoSuchPartition, nothing changed.
	err := c.UpdatePartitionLocations(ctx(), db, "orders", []catalog.Partition{
		{Values: []string{"2024-01-01", "2"}, Location: loc + "moved/"},
		{Values: []string{"2030-01-01", "1"}, Location: loc + "nowhere/"},
	})
	wantErr(t, err, catalog.ErrNoSuchPartition, "UpdatePartitionLocations of a missing partition")
	got = collect(t, c, db, "orders", "dt = '2024-01-01'")
	if len(got) != 1 || got[0].Location != want[0].Location {
		t.Errorf("a failed UpdatePartitionLocations changed %+v", got)
	}
	if got[0].Parameters["rows"] != "42" {
		t.Errorf("partition parameters lost: %+v", got[0])
	}

	// Delete, with a missing partition among them.
	must(t, c.DeletePartitions(ctx(), db, "orders", [][]string{{"2024-01-02", "10"}, {"2031-01-01", "1"}}))
	if d := cmp.Diff([]string{"2024-01-01/2", "2024-01-02/9", "2024-01-03/0"}, values(collect(t, c, db, "orders", ""))); d != "" {
		t.Errorf("after DeletePartitions (-want +got):\n%s", d)
	}
	for p, err := range c.Partitions(ctx(), db, "missing", "") {
		wantErr(t, err, catalog.ErrNoSuchTable, fmt.Sprintf("Partitions of a missing table (%v)", p))
	}
	wantErr(t, c.AddPartitions(ctx(), db, "missing", parts), catalog.ErrNoSuchTable, "AddPartitions to a missing table")
}

func testPartitionFilters(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	tb := sampleTable(db, "events")
	tb.Schema.PartitionKeys = []catalog.Column{
		{Name: "region", Type: "string", Required: true},
		{Name: "dt", Type: "date", Required: true},
		{Name: "hour", Type: "int", Required: true},
	}
	must(t, c.CreateTable(ctx(), tb))
	var parts []catalog.Partition
	for _, r := range []string{"eu", "us"} {
		for _, d := range []string{"2024-01-30", "2024-02-01"} {
			for _, h := range []string{"2", "10"} {
				parts = append(parts, catalog.Partition{Values: []string{r, d, h}})
			}
		}
	}
	must(t, c.AddPartitions(ctx(), db, "events", parts))
	cases := []struct {
		filter string
		want   []string
	}{
		{"", []string{"eu/2024-01-30/2", "eu/2024-01-30/10", "eu/2024-02-01/2", "eu/2024-02-01/10", "us/2024-01-30/2", "us/2024-01-30/10", "us/2024-02-01/2", "us/2024-02-01/10"}},
		{"region = 'eu' AND hour = 10", []string{"eu/2024-01-30/10", "eu/2024-02-01/10"}},
		{"hour > 9 AND region <> 'eu'", []string{"us/2024-01-30/10", "us/2024-02-01/10"}},
		{"dt >= '2024-02-01' AND region = 'us'", []string{"us/2024-02-01/2", "us/2024-02-01/10"}},
		{"region IN ('us') AND (hour < 5 OR dt = '2024-02-01')", []string{"us/2024-01-30/2", "us/2024-02-01/2", "us/2024-02-01/10"}},
		{"dt BETWEEN '2024-01-01' AND '2024-01-31' AND region = 'eu'", []string{"eu/2024-01-30/2", "eu/2024-01-30/10"}},
		{"region = 'nowhere'", nil},
		{"dt LIKE '2024-02%' AND NOT region = 'eu' AND hour != 2", []string{"us/2024-02-01/10"}},
		{"region NOT IN ('eu') AND hour NOT BETWEEN 3 AND 20", []string{"us/2024-01-30/2", "us/2024-02-01/2"}},
		{"`region` = 'us' AND \"hour\" = 10", []string{"us/2024-01-30/10", "us/2024-02-01/10"}},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, values(collect(t, c, db, "events", tc.filter)), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("Partitions(%q) (-want +got):\n%s", tc.filter, d)
		}
	}
	for _, bad := range []string{"region = ", "nokey = 'x'", "region = 'eu' AND (hour = 1", "hour > 'ten'", "region == 'eu'"} {
		for _, err := range c.Partitions(ctx(), db, "events", bad) {
			wantErr(t, err, catalog.ErrInvalid, fmt.Sprintf("Partitions(%q)", bad))
			if !strings.Contains(err.Error(), "position") {
				t.Errorf("Partitions(%q): error %q does not name the position", bad, err)
			}
			break
		}
	}
}

func testConcurrentPartitions(t *testing.T, c catalog.Catalog, o Options) {
	db := newDB(t, c)
	must(t, c.CreateTable(ctx(), sampleTable(db, "orders")))
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := catalog.Partition{Values: []string{fmt.Sprintf("2024-01-%02d", w+1), fmt.Sprint(i)}}
				if err := c.AddPartitions(ctx(), db, "orders", []catalog.Partition{p}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := collect(t, c, db, "orders", ""); len(got) != workers*each {
		t.Errorf("%d concurrent adds left %d partitions", workers*each, len(got))
	}
}
