// lakekit vacuum: the files no version needs any more, listed or deleted.

package main

import (
	"context"
	"fmt"

	"github.com/lakekit/lakekit/zones"
)

// vacuumReport is vacuum's -json output.
type vacuumReport struct {
	Table     string   `json:"table"`
	Zone      string   `json:"zone"`
	Retention string   `json:"retention"`
	DryRun    bool     `json:"dry_run"`
	Deleted   []string `json:"deleted"` // or, in a dry run, what would be
	Bytes     int64    `json:"bytes"`
	Kept      int      `json:"kept"`
	Live      int      `json:"live"`
	AuditID   string   `json:"audit_id,omitempty"`
	Foreign   []string `json:"foreign,omitempty"` // objects lakekit did not write: never deleted
}

func runVacuum(ctx context.Context, env *cli, args []string) error {
	f := newFlags("vacuum", "DB.TABLE", "Lists the data files of a table that no version needs: files an overwrite\nreplaced more than -retention ago, and orphans (never committed) older than\nit — never a file of the newest version, nor one the catalog still shows to\nAthena. By default nothing is deleted (a dry run); -yes deletes them, leaving\nan audit record that lakekit history shows.",
		"  lakekit vacuum -lake ./quickstart-lake-123 web.daily_pages -retention 0s\n  lakekit vacuum -lake s3://bucket/lake -catalog glue web.page_views -retention 168h -yes")
	f.zoneFlag("the zone of the table, when several zones have one of that name")
	retention := f.Duration("retention", zones.ZoneRetention, "keep replaced and orphan files younger than this (default: the zone's retention, 7 days unless configured)")
	yes := f.Bool("yes", false, "delete the files (without it, only list them)")
	dry := f.Bool("dry-run", true, "only list what would be deleted (the default; -yes turns it off)")
	asJSON := f.Bool("json", false, "print the result as JSON")
	pos, help, err := f.parse(env, args, 1, 1)
	if help || err != nil {
		return err
	}
	if *retention < 0 && *retention != zones.ZoneRetention {
		return usagef("vacuum: -retention %v: want a duration of 0 or more, such as 168h", *retention)
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
	opts := &zones.VacuumOptions{Catalog: s.cat, DryRun: *dry && !*yes}
	if ct, err := s.catalogTable(ctx, r); err != nil {
		return fmt.Errorf("catalog (%s): %w", s.catKind, err)
	} else if ct == nil {
		opts.Catalog = nil // nothing registered: no catalog location to respect
	}
	label := "vacuum " + r.String() + ": deciding"
	if !opts.DryRun {
		label = "vacuum " + r.String() + ": deleting"
	}
	p := env.startProgress(label)
	res, err := t.VacuumWith(ctx, *retention, opts)
	p.end()
	if err != nil {
		return err
	}
	ret := "the zone's (" + t.Zone().Config().Retention.String() + ")"
	if *retention != zones.ZoneRetention {
		ret = retention.String()
	}
	rep := vacuumReport{Table: r.String(), Zone: string(r.zone), Retention: ret, DryRun: res.DryRun, Deleted: res.Deleted,
		Bytes: res.Bytes, Kept: res.Kept, Live: res.Live, AuditID: res.AuditID, Foreign: res.Foreign}
	if rep.Deleted == nil {
		rep.Deleted = []string{}
	}
	if *asJSON {
		return writeJSON(env, rep)
	}
	printVacuum(env, rep)
	return nil
}

func printVacuum(env *cli, rep vacuumReport) {
	w := env.stdout
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
	}
	for _, k := range rep.Deleted {
		fmt.Fprintf(w, "%s %s\n", verb, k)
	}
	fmt.Fprintf(w, "%s: %s %d files, %s freed; kept %d unreferenced files (younger than %s, or shown by the catalog); %d live files\n",
		rep.Table, verb, len(rep.Deleted), fmtBytes(rep.Bytes), rep.Kept, rep.Retention, rep.Live)
	for _, k := range rep.Foreign {
		fmt.Fprintf(w, "kept %s: lakekit did not write it (commit it with AddFiles, or remove it)\n", k)
	}
	if rep.DryRun && len(rep.Deleted) > 0 {
		fmt.Fprintf(w, "dry run: nothing was deleted; run again with -yes to delete\n")
	}
	if rep.AuditID != "" {
		fmt.Fprintf(w, "audit record %s (lakekit history %s lists it)\n", rep.AuditID, rep.Table)
	}
}
