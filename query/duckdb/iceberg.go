package duckdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/query/sqltext"
)

// SnapshotSource is a table in a format whose metadata lists each
// snapshot's data files: an Iceberg table (iceberg.Table and
// iceberg.DatasetTable implement it). DuckDB's iceberg extension cannot be
// loaded here (no downloads), so the engine reads the files the snapshot's
// manifests list, not the metadata.
type SnapshotSource interface {
	// SnapshotFiles returns the snapshot (0: the current one) and the
	// locations of its data files, from its manifests; 0 and no files when
	// the table has no snapshot yet.
	SnapshotFiles(ctx context.Context, snapshot int64) (int64, []string, error)
	// OpenFile opens one of those data files.
	OpenFile(ctx context.Context, location string) (io.ReadCloser, error)
}

// attachedView is a view over a SnapshotSource's snapshot.
type attachedView struct {
	database, table string
	src             SnapshotSource
	pinned          int64 // > 0: this snapshot, else the current one
	snapshot        int64 // what the view shows (0: no view yet)
}

// Attach shows src as the view "<database>"."<table>" over exactly the data
// files of one snapshot (read_parquet over the file list of its
// manifests): the current one, which Refresh follows, or snapshot when it
// is not 0 (time travel; Refresh leaves it). Files of a replaced snapshot
// are not in the list, so an overwrite's old rows never show. Files on
// the lake's file store are read in place, others (s3://, or outside the
// lake's directory) are copied to Options.CacheDir first, keyed by their
// location (Iceberg never rewrites a data file in place). A table with no
// snapshot, or whose snapshot has no data files, has no view until it
// has. The name must not be one of the lake's own tables.
func (e *Engine) Attach(ctx context.Context, database, table string, src SnapshotSource, snapshot int64) error {
	if src == nil {
		return fmt.Errorf("duckdb: attach %s.%s: nil source: %w", database, table, query.ErrInvalid)
	}
	if _, err := sqltext.QuoteQualified(database, table); err != nil {
		return fmt.Errorf("duckdb: attach %s.%s: %w: %w", database, table, query.ErrInvalid, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := database + "." + table
	if _, ok := e.tables[key]; ok {
		return fmt.Errorf("duckdb: attach %s: a table of the lake has that name: %w", key, query.ErrInvalid)
	}
	if e.attached == nil {
		e.attached = map[string]*attachedView{}
	}
	av := &attachedView{database: database, table: table, src: src, pinned: max(snapshot, 0)}
	if old, ok := e.attached[key]; ok && old.src == src {
		av.snapshot = old.snapshot
	}
	if err := e.buildAttached(ctx, av); err != nil {
		return err
	}
	e.attached[key] = av
	return nil
}

// Attached returns the snapshot the attached view database.table shows
// (0: no view yet).
func (e *Engine) Attached(database, table string) (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	av, ok := e.attached[database+"."+table]
	if !ok {
		return 0, false
	}
	return av.snapshot, true
}

// refreshAttached moves every attached view that is not pinned to its
// source's current snapshot (e.mu held).
func (e *Engine) refreshAttached(ctx context.Context) error {
	for _, av := range e.attached {
		if err := e.buildAttached(ctx, av); err != nil {
			return err
		}
	}
	return nil
}

// buildAttached (re)creates the view of av when its snapshot changed.
func (e *Engine) buildAttached(ctx context.Context, av *attachedView) error {
	key := av.database + "." + av.table
	id, files, err := av.src.SnapshotFiles(ctx, av.pinned)
	if err != nil {
		return fmt.Errorf("duckdb: snapshot of %s: %w", key, err)
	}
	if id == av.snapshot && id != 0 {
		return nil
	}
	name, _ := sqltext.QuoteQualified(av.database, av.table)
	if id == 0 || len(files) == 0 {
		if _, err := e.db.ExecContext(ctx, "DROP VIEW IF EXISTS "+name); err != nil {
			return fmt.Errorf("duckdb: drop view %s: %w", key, err)
		}
		av.snapshot = 0
		return nil
	}
	paths := make([]string, len(files))
	for i, f := range files {
		if paths[i], err = e.attachedPath(ctx, av, f); err != nil {
			return fmt.Errorf("duckdb: %s snapshot %d: data file %s: %w", key, id, f, err)
		}
	}
	schema, _ := sqltext.QuoteIdent(av.database)
	// partition values are in the files (Iceberg keeps the source
	// columns), so the paths' key=value segments are not read
	body := "SELECT * FROM read_parquet(" + pathList(paths) + ", hive_partitioning = false, union_by_name = true)"
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		return fmt.Errorf("duckdb: create schema %s: %w", av.database, err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE VIEW "+name+" AS "+body); err != nil {
		return fmt.Errorf("duckdb: create view %s: %w", key, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	av.snapshot = id
	return nil
}

// attachedPath is where DuckDB reads an attached table's data file: in
// place when it is a file under the lake's directory, else a copy in the
// cache.
func (e *Engine) attachedPath(ctx context.Context, av *attachedView, location string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	if e.local != "" && (u.Scheme == "file" || u.Scheme == "") {
		p := filepath.Clean(filepath.FromSlash(u.Path))
		if rel, err := filepath.Rel(e.local, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return p, nil
		}
	}
	if e.cacheDir == "" {
		return "", fmt.Errorf("the engine has no cache directory to copy it to (open it with Open): %w", query.ErrInvalid)
	}
	tag := sha256.Sum256([]byte(location))
	local := filepath.Join(e.cacheDir, "attached", av.database, av.table, hex.EncodeToString(tag[:12])+"-"+path.Base(u.Path))
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	rc, err := av.src.OpenFile(ctx, location)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".staging-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), local)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("copying to the cache: %w", err)
	}
	return local, nil
}
