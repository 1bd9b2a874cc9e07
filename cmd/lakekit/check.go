// lakekit check: does the catalog (what Athena reads) agree with the
// commit log (what lakekit reads) and the objects on storage?

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// Kinds of drift.
const (
	driftNoTable     = "not-in-catalog"    // the catalog has no such table
	driftKeys        = "partition-keys"    // the catalog's partition keys differ
	driftLocation    = "table-location"    // an unpartitioned table read elsewhere
	driftMissingPart = "missing-partition" // a snapshot partition the catalog lacks
	driftRepointed   = "repointed"         // a partition the catalog reads elsewhere
	driftStale       = "stale-partition"   // a catalog partition the snapshot lacks
	driftOrphan      = "orphan"            // a lakekit file Athena reads that no version names
	driftForeign     = "foreign"           // a file lakekit did not write that Athena reads
	driftMissingFile = "missing-file"      // a snapshot file not on storage
	driftPending     = "pending-move"      // a committed file still in staging
	driftOutside     = "outside-lake"      // a catalog location outside the lake
)

// drift is one disagreement between the catalog, the log and storage.
type drift struct {
	Kind      string `json:"kind"`
	Partition string `json:"partition,omitempty"`
	Key       string `json:"key,omitempty"` // the object, for file drift
	Detail    string `json:"detail"`
}

// catalogDrift reports whether SyncCatalog repairs the drift.
func (d drift) catalogDrift() bool {
	switch d.Kind {
	case driftNoTable, driftKeys, driftLocation, driftMissingPart, driftRepointed, driftStale, driftPending:
		return true
	}
	return false
}

// tableCheck is what check found for one table.
type tableCheck struct {
	Table           string  `json:"table"`
	Zone            string  `json:"zone"`
	Version         int64   `json:"version"`
	CatalogVersion  string  `json:"catalog_version,omitempty"` // the version the catalog records
	Partitions      int     `json:"partitions"`
	CatalogParts    int     `json:"catalog_partitions"`
	Files           int     `json:"files"`
	VisibleObjects  int     `json:"visible_objects"` // objects under the catalog's locations
	Unreferenced    int     `json:"unreferenced"`    // files no version names and no engine reads
	UnreferencedB   int64   `json:"unreferenced_bytes"`
	Drift           []drift `json:"drift"`
	Repaired        bool    `json:"repaired,omitempty"`
	RepairError     string  `json:"repair_error,omitempty"`
	catalogLocation string
}

func runCheck(ctx context.Context, env *cli, args []string) error {
	f := newFlags("check", "[DB.TABLE]", "Compares, for one table or every table, what the catalog points engines such\nas Athena at with the newest snapshot of the commit log and the objects on\nstorage: partitions missing, stale or repointed in the catalog, orphan files\nAthena reads but no version names, foreign files (written by another engine:\nadopt them with zones.Dataset.AddFiles), committed files missing or still\nstaged. Exit status 1 when it finds drift. -repair runs SyncCatalog on each\ntable with catalog drift (registering a table the catalog lacks), then checks\nagain; orphans and foreign files are left for you (move them aside, or commit\nthem).",
		"  lakekit check -lake ./quickstart-lake-123\n  lakekit check -lake s3://bucket/lake -catalog glue web.page_views -repair")
	f.zoneFlag("check only this zone's tables (or: the zone of DB.TABLE)")
	repair := f.Bool("repair", false, "bring the catalog to the snapshot (SyncCatalog) where it drifted, then check again")
	asJSON := f.Bool("json", false, "print the findings as a JSON array")
	pos, help, err := f.parse(env, args, 0, 1)
	if help || err != nil {
		return err
	}
	s, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer s.Close()
	var refs []tableRef
	if len(pos) == 1 {
		r, err := s.find(ctx, pos[0], f.zone)
		if err != nil {
			return err
		}
		refs = []tableRef{r}
	} else if refs, err = s.tables(ctx, f.zone, ""); err != nil {
		return err
	}
	checks, err := checkAll(ctx, env, s, refs, *repair)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(env, checks); err != nil {
			return err
		}
	} else {
		printChecks(env.stdout, s, checks)
	}
	n := 0
	for _, c := range checks {
		if len(c.Drift) > 0 {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%w in %d of %d tables", errDrift, n, len(checks))
	}
	return nil
}

// checkAll checks each table (repairing catalog drift first when asked),
// with progress on a terminal.
func checkAll(ctx context.Context, env *cli, s *session, refs []tableRef, repair bool) ([]*tableCheck, error) {
	p := env.startProgress("checking")
	defer p.end()
	checks := []*tableCheck{}
	for i, r := range refs {
		p.set("checking %s (%d/%d tables)", r, i+1, len(refs))
		c, err := checkTable(ctx, s, r)
		if err != nil {
			return nil, err
		}
		if repair && hasCatalogDrift(c) {
			p.set("repairing %s (%d/%d tables)", r, i+1, len(refs))
			if err := repairTable(ctx, s, r, c); err != nil {
				c.RepairError = oneLine(err)
			} else if c, err = checkTable(ctx, s, r); err != nil {
				return nil, err
			} else {
				c.Repaired = true
			}
		}
		checks = append(checks, c)
	}
	return checks, nil
}

func hasCatalogDrift(c *tableCheck) bool {
	for _, d := range c.Drift {
		if d.catalogDrift() {
			return true
		}
	}
	return false
}

// checkTable compares one table's catalog entry, snapshot and objects.
func checkTable(ctx context.Context, s *session, r tableRef) (*tableCheck, error) {
	t, err := r.open(s)
	if err != nil {
		return nil, err
	}
	snap, err := t.Snapshot(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", r, err)
	}
	c := &tableCheck{Table: r.String(), Zone: string(r.zone), Version: snap.Version, Files: len(snap.Files), Drift: []drift{}}
	if len(snap.PartitionKeys) > 0 {
		c.Partitions = len(snap.Locations)
	}
	st := t.Zone().Store()
	objects, err := listSizes(ctx, st, t.Prefix()+"/")
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", t.Location(), err)
	}
	locs, err := compareCatalog(ctx, s, r, t, snap, c)
	if err != nil {
		return nil, fmt.Errorf("catalog (%s) of %s: %w", s.catKind, r, err)
	}
	live := map[string]bool{}
	for _, f := range snap.Files {
		live[f.Key] = true
		switch _, ok := objects[f.Key]; {
		case ok:
		case f.Staged != "" && objects[f.Staged] > 0:
			c.Drift = append(c.Drift, drift{Kind: driftPending, Partition: f.Partition.HivePath(), Key: f.Key, Detail: "committed but still in staging at " + f.Staged + "; engines do not read it yet"})
		default:
			c.Drift = append(c.Drift, drift{Kind: driftMissingFile, Partition: f.Partition.HivePath(), Key: f.Key, Detail: "the snapshot names it but storage does not have it"})
		}
	}
	if err := compareObjects(ctx, st, t, locs, objects, live, c); err != nil {
		return nil, err
	}
	return c, nil
}

// listSizes lists the objects under prefix with their sizes (at least 1,
// so that presence reads as non-zero).
func listSizes(ctx context.Context, st *lake.Store, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	for e, err := range st.List(ctx, prefix, nil) {
		if err != nil {
			return nil, err
		}
		if !e.IsDir {
			out[e.Key] = max(e.Size, 1)
		}
	}
	return out, nil
}

// compareCatalog compares the catalog's table and partitions with the
// snapshot, and returns the store prefixes the catalog points at.
func compareCatalog(ctx context.Context, s *session, r tableRef, t *zones.Table, snap *zones.Snapshot, c *tableCheck) ([]string, error) {
	ct, err := s.catalogTable(ctx, r)
	if err != nil || ct == nil {
		if err == nil {
			c.Drift = append(c.Drift, drift{Kind: driftNoTable, Detail: "the catalog has no table " + r.String() + ": Athena reads nothing of it"})
		}
		return nil, err
	}
	c.CatalogVersion = ct.Parameters[zones.CatalogVersionParam]
	c.catalogLocation = ct.Location
	st := t.Zone().Store()
	want := map[string]string{} // Hive path → location engines should read
	for p, prefix := range snap.Locations {
		want[p] = st.Location(prefix + "/")
	}
	if len(snap.PartitionKeys) == 0 {
		w, ok := want[""]
		if !ok {
			w = t.Location()
		}
		if slash(ct.Location) != w {
			c.Drift = append(c.Drift, drift{Kind: driftLocation, Detail: fmt.Sprintf("the catalog reads %s, the snapshot is at %s", ct.Location, w)})
		}
		return []string{ct.Location}, nil
	}
	if !sameKeys(ct.Schema.PartitionKeys, snap.PartitionKeys) {
		c.Drift = append(c.Drift, drift{Kind: driftKeys, Detail: fmt.Sprintf("the catalog's partition keys are %s, the log's %s", keyNames(ct.Schema.PartitionKeys), strings.Join(snap.PartitionKeys, ","))})
	}
	have := map[string]string{}
	for p, err := range s.cat.Partitions(ctx, r.db, r.name, "") {
		if err != nil {
			return nil, err
		}
		have[hivePath(snap.PartitionKeys, p.Values)] = p.Location
	}
	c.CatalogParts = len(have)
	var locs []string
	for _, p := range sortedKeys(have) {
		locs = append(locs, have[p])
		w, ok := want[p]
		switch {
		case !ok:
			c.Drift = append(c.Drift, drift{Kind: driftStale, Partition: p, Detail: "the catalog has it at " + have[p] + ", the snapshot does not"})
		case slash(have[p]) != w:
			c.Drift = append(c.Drift, drift{Kind: driftRepointed, Partition: p, Detail: fmt.Sprintf("the catalog reads %s, the snapshot is at %s", have[p], w)})
		}
	}
	for _, p := range sortedKeys(want) {
		if _, ok := have[p]; !ok {
			c.Drift = append(c.Drift, drift{Kind: driftMissingPart, Partition: p, Detail: "in the snapshot at " + want[p] + ", not in the catalog: Athena does not read it"})
		}
	}
	return locs, nil
}

// compareObjects finds the objects engines read under the catalog's
// locations that no version names (orphans), and counts the files no
// engine reads and no version names (vacuum's to delete).
func compareObjects(ctx context.Context, st *lake.Store, t *zones.Table, locs []string, objects map[string]int64, live map[string]bool, c *tableCheck) error {
	root := st.Location("")
	seen := map[string]bool{}
	for _, loc := range locs {
		rel, ok := strings.CutPrefix(slash(loc), root)
		if !ok {
			c.Drift = append(c.Drift, drift{Kind: driftOutside, Detail: "the catalog reads " + loc + ", outside the zone at " + root})
			continue
		}
		under := objects
		if !strings.HasPrefix(rel, t.Prefix()+"/") {
			var err error
			if under, err = listSizes(ctx, st, rel); err != nil {
				return fmt.Errorf("listing %s: %w", loc, err)
			}
		}
		for _, k := range sortedKeys(under) {
			if !zones.VisibleUnder(rel, k) || seen[k] {
				continue
			}
			seen[k] = true
			c.VisibleObjects++
			switch {
			case live[k]:
			case zones.WrittenByLakekit(k):
				c.Drift = append(c.Drift, drift{Kind: driftOrphan, Key: k, Detail: fmt.Sprintf("%s under %s: Athena reads it, no version of the table names it", fmtBytes(under[k]), loc)})
			default:
				c.Drift = append(c.Drift, drift{Kind: driftForeign, Key: k, Detail: fmt.Sprintf("%s under %s: Athena reads it, lakekit did not write it and no version names it (Vacuum keeps it); adopt it with zones.Dataset.AddFiles (it is committed where it lies), or move it away", fmtBytes(under[k]), loc)})
			}
		}
	}
	for k, size := range objects {
		if strings.HasSuffix(k, ".parquet") && !live[k] && !seen[k] && !strings.Contains(k, "/_lakekit/") {
			c.Unreferenced++
			c.UnreferencedB += size
		}
	}
	return nil
}

// repairTable registers a table the catalog lacks (catalog.Discover over
// its folder), then brings the catalog to the snapshot (SyncCatalog).
func repairTable(ctx context.Context, s *session, r tableRef, c *tableCheck) error {
	t, err := r.open(s)
	if err != nil {
		return err
	}
	if c.catalogLocation == "" {
		d, err := catalog.Discover(ctx, t.Zone().Store(), t.Prefix(), r.db, r.name, nil)
		if err != nil {
			return fmt.Errorf("discovering %s: %w", r, err)
		}
		if err := d.Register(ctx, s.cat, nil); err != nil && !errors.Is(err, catalog.ErrExists) {
			return fmt.Errorf("registering %s: %w", r, err)
		}
	}
	return t.SyncCatalog(ctx, s.cat)
}

// printChecks prints one block per table and a summary line.
func printChecks(w io.Writer, s *session, checks []*tableCheck) {
	bad := 0
	for _, c := range checks {
		state := "ok"
		if len(c.Drift) > 0 {
			state = fmt.Sprintf("DRIFT (%d)", len(c.Drift))
			bad++
		}
		if c.Repaired {
			state += ", after repair"
		}
		parts := fmt.Sprintf("%d partitions (catalog %d", c.Partitions, c.CatalogParts)
		if c.Partitions == 0 && c.CatalogParts == 0 {
			parts = "unpartitioned (catalog"
		}
		fmt.Fprintf(w, "%-28s %-8s v%-4d %s: %s, records v%s), %d files, %d objects engines read\n",
			c.Table, c.Zone, c.Version, state, parts, orDash(c.CatalogVersion), c.Files, c.VisibleObjects)
		for _, d := range c.Drift {
			what := d.Partition
			if d.Key != "" {
				what = d.Key
			}
			fmt.Fprintf(w, "  %-17s %s: %s\n", d.Kind, orDash(what), d.Detail)
		}
		if c.RepairError != "" {
			fmt.Fprintf(w, "  repair failed: %s\n", c.RepairError)
		}
		if c.Unreferenced > 0 {
			fmt.Fprintf(w, "  %d unreferenced files (%s) no engine reads: lakekit vacuum %s frees them after the retention\n", c.Unreferenced, fmtBytes(c.UnreferencedB), c.Table)
		}
	}
	fmt.Fprintf(w, "\n%d tables checked against the %s catalog: %d with drift\n", len(checks), s.catKind, bad)
}
