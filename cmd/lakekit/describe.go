// lakekit describe: a table's schema, its catalog entry and projection.

package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/zones"
)

func runDescribe(ctx context.Context, env *cli, args []string) error {
	f := newFlags("describe", "DB.TABLE", "Shows a table's schema (columns, types, partition keys, business metadata\nsuch as comments and classifications), where it lives, and its catalog entry:\nlocation, owner, parameters and partition projection settings.",
		"  lakekit describe -lake ./quickstart-lake-123 web.page_views\n  lakekit describe -lake s3://bucket/lake -catalog glue -zone cleaned web.clicks")
	f.zoneFlag("the zone of the table, when several zones have one of that name")
	pos, help, err := f.parse(env, args, 1, 1)
	if help || err != nil {
		return err
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
	snap, err := t.Snapshot(ctx, 0)
	if err != nil {
		return fmt.Errorf("table %s: %w", r, err)
	}
	ct, err := s.catalogTable(ctx, r)
	if err != nil {
		return fmt.Errorf("catalog (%s): %w", s.catKind, err)
	}
	w := env.stdout
	fmt.Fprintf(w, "table     %s (zone %s)\nlocation  %s\nversion   %d of %s, schema v%d\n", r, r.zone, t.Location(), snap.Version, fmtTime(snap.Timestamp), snap.SchemaVersion)
	fmt.Fprintf(w, "\ncolumns\n")
	printColumns(w, snap, ct)
	if ct == nil {
		fmt.Fprintf(w, "\ncatalog (%s): the table is not registered\n", s.catKind)
		return nil
	}
	fmt.Fprintf(w, "\ncatalog (%s)\n", s.catKind)
	ti := newTable("FIELD", "VALUE")
	ti.add("location", ct.Location)
	ti.add("format", orDash(ct.Format))
	ti.add("schema version", strconv.Itoa(ct.Schema.Version))
	ti.add("description", orDash(ct.Description))
	ti.add("owner", orDash(ct.Owner))
	ti.add("steward", orDash(ct.Steward))
	for _, k := range slices.Sorted(maps.Keys(ct.Parameters)) {
		if !strings.HasPrefix(k, "projection.") && !strings.HasPrefix(k, "storage.location.template") {
			ti.add("parameter "+k, ct.Parameters[k])
		}
	}
	ti.print(w)
	fmt.Fprintf(w, "\nprojection\n")
	printProjection(w, ct)
	return nil
}

// printColumns lists the stored columns, then the partition keys, with the
// catalog's types and business metadata where it has them.
func printColumns(w io.Writer, snap *zones.Snapshot, ct *catalog.Table) {
	meta := map[string]catalog.Column{}
	if ct != nil {
		for _, c := range append(slices.Clone(ct.Schema.Columns), ct.Schema.PartitionKeys...) {
			meta[c.Name] = c
		}
	}
	t := newTable("COLUMN", "TYPE", "NULL", "PARTITION", "CLASSIFICATION", "COMMENT")
	for _, c := range snap.Schema {
		null := "yes"
		if c.Required {
			null = "no"
		}
		m := meta[c.Name]
		t.add(c.Name, c.Type, null, "-", orDash(m.Classification), orDash(m.Comment))
	}
	for i, k := range snap.PartitionKeys {
		m := meta[k]
		t.add(k, orDash(m.Type), "no", "key "+strconv.Itoa(i+1), orDash(m.Classification), orDash(m.Comment))
	}
	t.print(w)
}

// printProjection lists the table's partition projection parameters
// (Athena's projection.* and storage.location.template).
func printProjection(w io.Writer, ct *catalog.Table) {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(ct.Parameters)) {
		if strings.HasPrefix(k, "projection.") || k == "storage.location.template" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		fmt.Fprintf(w, "  none: engines read the catalog's partitions\n")
		return
	}
	t := newTable("PARAMETER", "VALUE")
	for _, k := range keys {
		t.add(k, ct.Parameters[k])
	}
	t.print(w)
}
