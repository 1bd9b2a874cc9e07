// lakekit diff: what changed between two versions of a table.

package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/lakekit/lakekit/zones"
)

// partStat is one partition's files and rows in a snapshot.
type partStat struct{ files, rows int64 }

func runDiff(ctx context.Context, env *cli, args []string) error {
	f := newFlags("diff", "DB.TABLE V1 V2", "Shows what changed from version V1 to version V2 of a table: the partitions\nadded, removed and changed (files and rows before and after), then every\ndata file added (+) and removed (-).",
		"  lakekit diff -lake ./quickstart-lake-123 web.daily_pages 1 7")
	f.zoneFlag("the zone of the table, when several zones have one of that name")
	pos, help, err := f.parse(env, args, 3, 3)
	if help || err != nil {
		return err
	}
	v1, err1 := strconv.ParseInt(pos[1], 10, 64)
	v2, err2 := strconv.ParseInt(pos[2], 10, 64)
	if err1 != nil || err2 != nil || v1 < 1 || v2 < 1 {
		return usagef("diff: versions %q and %q: want two table versions (1, 2, ...; lakekit history lists them)", pos[1], pos[2])
	}
	s, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.find(ctx, pos[0], f.zone)
	if err != nil {
		return err
	}
	t, err := r.open(s)
	if err != nil {
		return err
	}
	a, err := t.Snapshot(ctx, v1)
	if err != nil {
		return fmt.Errorf("%s version %d: %w", r, v1, err)
	}
	b, err := t.Snapshot(ctx, v2)
	if err != nil {
		return fmt.Errorf("%s version %d: %w", r, v2, err)
	}
	printDiff(env, r, a, b)
	return nil
}

// byPartition sums a snapshot's files and rows per partition.
func byPartition(s *zones.Snapshot) map[string]partStat {
	out := map[string]partStat{}
	for _, f := range s.Files {
		p := f.Partition.HivePath()
		st := out[p]
		st.files++
		st.rows += f.Rows
		out[p] = st
	}
	return out
}

func printDiff(env *cli, r tableRef, a, b *zones.Snapshot) {
	w := env.stdout
	fmt.Fprintf(w, "%s: version %d (%s rows) → version %d (%s rows)\n\n", r, a.Version, fmtCount(a.Rows()), b.Version, fmtCount(b.Rows()))
	pa, pb := byPartition(a), byPartition(b)
	all := maps.Clone(pa)
	maps.Copy(all, pb)
	t := newTable("PARTITION", "CHANGE", ">FILES BEFORE", ">FILES AFTER", ">ROWS BEFORE", ">ROWS AFTER")
	for _, p := range slices.Sorted(maps.Keys(all)) {
		x, inA := pa[p]
		y, inB := pb[p]
		change := "changed"
		switch {
		case !inA:
			change = "added"
		case !inB:
			change = "removed"
		case x == y && sameFiles(a, b, p):
			continue
		}
		t.add(partLabel(p), change, fmtCount(x.files), fmtCount(y.files), fmtCount(x.rows), fmtCount(y.rows))
	}
	if len(t.rows) == 0 {
		fmt.Fprintln(w, "no partition changed")
	} else {
		t.print(w)
	}
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, f := range a.Files {
		inA[f.Key] = true
	}
	for _, f := range b.Files {
		inB[f.Key] = true
	}
	ft := newTable("", "FILE", "PARTITION", ">ROWS", ">BYTES")
	for _, f := range a.Files {
		if !inB[f.Key] {
			ft.add("-", f.Key, partLabel(f.Partition.HivePath()), fmtCount(f.Rows), fmtBytes(f.Size))
		}
	}
	for _, f := range b.Files {
		if !inA[f.Key] {
			ft.add("+", f.Key, partLabel(f.Partition.HivePath()), fmtCount(f.Rows), fmtBytes(f.Size))
		}
	}
	fmt.Fprintln(w)
	if len(ft.rows) == 0 {
		fmt.Fprintln(w, "no file added or removed")
		return
	}
	ft.print(w)
}

// sameFiles reports whether partition p has the same files in a and b.
func sameFiles(a, b *zones.Snapshot, p string) bool {
	keys := func(s *zones.Snapshot) []string {
		var out []string
		for _, f := range s.Files {
			if f.Partition.HivePath() == p {
				out = append(out, f.Key)
			}
		}
		return out
	}
	return slices.Equal(keys(a), keys(b))
}
