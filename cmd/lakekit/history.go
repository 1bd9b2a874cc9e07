// lakekit history: a table's versions and the events between them.

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

func runHistory(ctx context.Context, env *cli, args []string) error {
	f := newFlags("history", "DB.TABLE", "Lists a table's versions, oldest first: time, operation, mode, rows and files\nadded and removed, who made it (caller, host) and its idempotency key; vacuum\nruns and repairs appear among them. -svg draws the rows of each version per\npartition as an SVG picture.",
		"  lakekit history -lake ./quickstart-lake-123 web.page_views\n  lakekit history web.page_views -json | jq '.[] | select(.mode == \"overwrite\")'\n  lakekit history web.page_views -svg history.svg")
	f.zoneFlag("the zone of the table, when several zones have one of that name")
	asJSON := f.Bool("json", false, "print the audit trail as a JSON array")
	svgOut := f.String("svg", "", "also draw rows per version and partition into this SVG file")
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
	entries, err := zones.History(ctx, s.lk, r.zone, r.db, r.name)
	if err != nil {
		return fmt.Errorf("history of %s: %w", r, err)
	}
	if *svgOut != "" {
		if err := writeHistorySVG(ctx, s, r, *svgOut); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(env, entries)
	}
	printHistory(env, entries)
	if *svgOut != "" {
		fmt.Fprintf(env.stdout, "\npicture: %s\n", *svgOut)
	}
	return nil
}

// printHistory prints the audit trail as a table.
func printHistory(env *cli, entries []lake.HistoryEntry) {
	t := newTable(">VERSION", "TIME", "OPERATION", "MODE", ">+ROWS", ">-ROWS", ">+FILES", ">-FILES", "IDEMPOTENCY KEY", "CALLER", "HOST")
	for _, e := range entries {
		v, op := strconv.FormatInt(e.Version, 10), e.Operation
		if !e.IsVersion() {
			v = "-"
			if e.Status != "" {
				op += " (" + e.Status + ")"
			}
		}
		t.add(v, fmtTime(e.Time), op, orDash(e.Mode), fmtCount(e.RowsAdded), fmtCount(e.RowsRemoved),
			fmtCount(int64(e.FilesAdded)), fmtCount(int64(e.FilesRemoved)), orDash(e.IdempotencyKey), orDash(e.Audit.Caller), orDash(e.Audit.Host))
	}
	t.print(env.stdout)
}

// writeHistorySVG draws the table's rows per version and partition.
func writeHistorySVG(ctx context.Context, s *session, r tableRef, path string) error {
	t, err := r.open(s)
	if err != nil {
		return err
	}
	commits, err := t.History(ctx)
	if err != nil {
		return fmt.Errorf("history of %s: %w", r, err)
	}
	svg := historySVG(r.String(), commits)
	if err := os.WriteFile(path, []byte(svg), 0o644); err != nil {
		return fmt.Errorf("writing the picture: %w", err)
	}
	return nil
}
