package duckdb

import (
	"strconv"
	"strings"

	duck "github.com/duckdb/duckdb-go/v2"
)

// Profile is DuckDB's profile of one query (Options.Profile).
type Profile struct {
	// BytesRead is the bytes the scans read from files (-1 when DuckDB
	// did not report it).
	BytesRead int64
	// Operators lists each operator with its metrics, depth first.
	Operators []Operator
	// Root holds the query-level metrics.
	Root map[string]string
}

// Operator is one node of the query plan with its metrics.
type Operator struct {
	Depth   int
	Metrics map[string]string
}

func newProfile(info duck.ProfilingInfo) *Profile {
	p := &Profile{BytesRead: -1, Root: info.Metrics}
	if v, ok := info.Metrics["TOTAL_BYTES_READ"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			p.BytesRead = n
		}
	}
	var walk func(n duck.ProfilingInfo, depth int)
	walk = func(n duck.ProfilingInfo, depth int) {
		for _, c := range n.Children {
			p.Operators = append(p.Operators, Operator{Depth: depth, Metrics: c.Metrics})
			walk(c, depth+1)
		}
	}
	walk(info, 0)
	return p
}

// FilesRead sums what the Parquet scans report as files read ("Total Files
// Read" in their extra info); -1 when no scan reported it.
func (p *Profile) FilesRead() int {
	n, seen := 0, false
	for _, op := range p.Operators {
		info := strings.Trim(op.Metrics["EXTRA_INFO"], "{}")
		for _, item := range strings.Split(info, ", ") {
			k, v, ok := strings.Cut(item, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "Total Files Read") {
				continue
			}
			if c, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				n += c
				seen = true
			}
		}
	}
	if !seen {
		return -1
	}
	return n
}

// LastProfile returns the profile of the most recent query run with
// Options.Profile, or nil.
func (e *Engine) LastProfile() *Profile {
	e.profMu.Lock()
	defer e.profMu.Unlock()
	return e.profile
}
