// Opening the lake, its catalog and the AWS configuration, and finding
// tables.

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	_ "github.com/lakekit/lakekit/lake/s3store" // s3:// lakes
	"github.com/lakekit/lakekit/zones"
)

// session is an opened lake and its catalog.
type session struct {
	lk      *lake.Lake
	cat     catalog.Catalog
	catKind string
}

// open opens the lake and the catalog the common flags name. A local
// lake must be an existing directory: looking into a mistyped path fails
// instead of making an empty lake.
func open(ctx context.Context, f *flags) (*session, error) {
	if dir, ok := localDir(f.lake); ok {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("lake %s: %w", dir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("lake %s: not a directory", dir)
		}
	}
	lk, err := lake.Open(ctx, f.lake, nil)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", f.lake, err)
	}
	s := &session{lk: lk, catKind: f.catalog}
	switch f.catalog {
	case "local":
		s.cat, err = catalog.OpenLocal(lk)
	case "glue":
		var cfg aws.Config
		if cfg, err = awsConfig(ctx); err == nil {
			s.cat, err = catalog.NewGlue(cfg, nil)
		}
	}
	if err != nil {
		lk.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the lake.
func (s *session) Close() { s.lk.Close() }

// localDir returns the directory of a plain path or file:// URL.
func localDir(urlstr string) (string, bool) {
	if !strings.Contains(urlstr, "://") {
		return filepath.Clean(urlstr), true
	}
	if u, err := url.Parse(urlstr); err == nil && u.Scheme == "file" {
		return filepath.FromSlash(u.Path), true
	}
	return "", false
}

// awsConfig loads the AWS configuration as the AWS CLI does (environment,
// shared profile, AWS_ENDPOINT_URL, instance and task roles). Without a
// region it uses us-east-1.
func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// tableRef names a table of the lake.
type tableRef struct {
	zone     lake.ZoneName
	db, name string
}

func (r tableRef) String() string { return r.db + "." + r.name }

// open opens the table.
func (r tableRef) open(s *session) (*zones.Table, error) {
	return zones.OpenTable(s.lk, r.zone, r.db, r.name)
}

// tables lists the tables with a commit log in the lake, zone by zone in
// data-flow order; zone and db, when set, narrow the search.
func (s *session) tables(ctx context.Context, zone, db string) ([]tableRef, error) {
	zs, err := s.zones(zone)
	if err != nil {
		return nil, err
	}
	var out []tableRef
	for _, z := range zs {
		st := s.lk.MustZone(z).Store()
		dbs, err := subdirs(ctx, st, "")
		if err != nil {
			return nil, fmt.Errorf("listing zone %s: %w", z, err)
		}
		for _, d := range dbs {
			if db != "" && d != db {
				continue
			}
			names, err := subdirs(ctx, st, d+"/")
			if err != nil {
				return nil, fmt.Errorf("listing %s/%s: %w", z, d, err)
			}
			for _, n := range names {
				ok, err := hasLog(ctx, st, d+"/"+n+"/")
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, tableRef{z, d, n})
				}
			}
		}
	}
	return out, nil
}

// zones returns the zone named (all zones when name is "").
func (s *session) zones(name string) ([]lake.ZoneName, error) {
	if name == "" {
		return s.lk.ZoneNames(), nil
	}
	if _, err := s.lk.Zone(lake.ZoneName(name)); err != nil {
		return nil, usagef("-zone %q: want one of %v", name, s.lk.ZoneNames())
	}
	return []lake.ZoneName{lake.ZoneName(name)}, nil
}

// subdirs lists the folder names directly under prefix, leaving out
// lakekit's own (names starting with "_" or ".").
func subdirs(ctx context.Context, st *lake.Store, prefix string) ([]string, error) {
	var out []string
	for e, err := range st.List(ctx, prefix, &lake.ListOptions{Delimiter: "/"}) {
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(e.Key, prefix), "/")
		if e.IsDir && name != "" && !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") {
			out = append(out, name)
		}
	}
	return out, nil
}

// hasLog reports whether a table folder has a commit log.
func hasLog(ctx context.Context, st *lake.Store, prefix string) (bool, error) {
	for _, err := range st.List(ctx, prefix+"_lakekit/log/", nil) {
		return err == nil, err
	}
	return false, nil
}

// find finds the table named "DB.TABLE" in the lake: in zone when set,
// else in the one zone that has it.
func (s *session) find(ctx context.Context, name, zone string) (tableRef, error) {
	db, table, ok := strings.Cut(name, ".")
	if !ok || db == "" || table == "" || strings.Contains(table, ".") {
		return tableRef{}, usagef("table %q: want DB.TABLE, such as web.page_views", name)
	}
	refs, err := s.tables(ctx, zone, db)
	if err != nil {
		return tableRef{}, err
	}
	var found []tableRef
	var in []string
	for _, r := range refs {
		if r.name == table {
			found = append(found, r)
			in = append(in, string(r.zone))
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return tableRef{}, usagef("table %s is in zones %s: pick one with -zone", name, strings.Join(in, ", "))
	case zone != "":
		return tableRef{}, fmt.Errorf("table %s: not in zone %s of %s: %w", name, zone, s.lk.URL(), lake.ErrNotFound)
	}
	return tableRef{}, fmt.Errorf("table %s: no such table in %s (lakekit tables lists them): %w", name, s.lk.URL(), lake.ErrNotFound)
}

// catalogTable returns the catalog's table, or nil when the catalog does
// not have it.
func (s *session) catalogTable(ctx context.Context, r tableRef) (*catalog.Table, error) {
	ct, err := s.cat.GetTable(ctx, r.db, r.name)
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchDatabase) {
		return nil, nil
	}
	return ct, err
}

// hivePath is the Hive path of partition values under keys ("" joined
// values that do not fit the keys, so they match no snapshot partition).
func hivePath(keys, values []string) string {
	if len(keys) != len(values) {
		return "?" + strings.Join(values, "/")
	}
	p := make(lake.Partition, len(keys))
	for i, k := range keys {
		p[i] = lake.KV{Key: k, Value: values[i]}
	}
	return p.HivePath()
}

// sameKeys reports whether catalog partition keys are the log's keys.
func sameKeys(cols []catalog.Column, keys []string) bool {
	if len(cols) != len(keys) {
		return false
	}
	for i := range cols {
		if cols[i].Name != keys[i] {
			return false
		}
	}
	return true
}

// keyNames joins the names of catalog partition keys.
func keyNames(cols []catalog.Column) string {
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

// slash ends a location with "/".
func slash(loc string) string {
	if strings.HasSuffix(loc, "/") {
		return loc
	}
	return loc + "/"
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
