// lakekit tables: the lake's tables with their sizes.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// tableSummary is one line of lakekit tables (and its -json form).
type tableSummary struct {
	Zone          string `json:"zone"`
	Table         string `json:"table"`
	Version       int64  `json:"version"`
	Rows          int64  `json:"rows"`
	Files         int    `json:"files"`
	Bytes         int64  `json:"bytes"`
	Partitions    int    `json:"partitions"`
	LastCommit    string `json:"last_commit"`
	SchemaVersion int    `json:"schema_version"`
}

func runTables(ctx context.Context, env *cli, args []string) error {
	f := newFlags("tables", "", "Lists the lake's tables, zone by zone: newest version, rows, files, bytes,\npartitions, time of the last commit and schema version (from the commit logs).",
		"  lakekit tables -lake ./quickstart-lake-123 -zone curated\n  LAKEKIT_LAKE=s3://bucket/lake lakekit tables -db web -json")
	f.zoneFlag("list only this zone's tables (raw, cleaned, curated, ...)")
	db := f.String("db", "", "list only this database's tables")
	asJSON := f.Bool("json", false, "print a JSON array instead of a table")
	if _, help, err := f.parse(env, args, 0, 0); help || err != nil {
		return err
	}
	s, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer s.Close()
	refs, err := s.tables(ctx, f.zone, *db)
	if err != nil {
		return err
	}
	p := env.startProgress("reading commit logs")
	var out []tableSummary
	for i, r := range refs {
		p.set("reading commit logs %d/%d", i+1, len(refs))
		sum, err := summarize(ctx, s, r)
		if err != nil {
			p.end()
			return err
		}
		out = append(out, sum)
	}
	p.end()
	if *asJSON {
		if out == nil {
			out = []tableSummary{}
		}
		return writeJSON(env, out)
	}
	if len(out) == 0 {
		fmt.Fprintf(env.stdout, "no tables in %s\n", s.lk.URL())
		return nil
	}
	t := newTable("ZONE", "TABLE", ">VERSION", ">ROWS", ">FILES", ">BYTES", ">PARTITIONS", "LAST COMMIT", ">SCHEMA")
	for _, x := range out {
		t.add(x.Zone, x.Table, strconv.FormatInt(x.Version, 10), fmtCount(x.Rows), fmtCount(int64(x.Files)),
			fmtBytes(x.Bytes), fmtCount(int64(x.Partitions)), x.LastCommit, "v"+strconv.Itoa(x.SchemaVersion))
	}
	t.print(env.stdout)
	return nil
}

// summarize reads a table's newest snapshot.
func summarize(ctx context.Context, s *session, r tableRef) (tableSummary, error) {
	t, err := r.open(s)
	if err != nil {
		return tableSummary{}, err
	}
	snap, err := t.Snapshot(ctx, 0)
	if err != nil {
		return tableSummary{}, fmt.Errorf("table %s in %s: %w", r, r.zone, err)
	}
	var bytes int64
	for _, f := range snap.Files {
		bytes += f.Size
	}
	parts := len(snap.Partitions())
	if len(snap.PartitionKeys) == 0 {
		parts = 0 // one unpartitioned folder
	}
	return tableSummary{Zone: string(r.zone), Table: r.String(), Version: snap.Version, Rows: snap.Rows(), Files: len(snap.Files),
		Bytes: bytes, Partitions: parts, LastCommit: fmtTime(snap.Timestamp), SchemaVersion: snap.SchemaVersion}, nil
}

// writeJSON prints v as indented JSON.
func writeJSON(env *cli, v any) error {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
