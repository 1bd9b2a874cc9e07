package duckdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// localPath returns the local path DuckDB reads a data file from: the file
// itself on the file store, else a cached copy. A committed file whose
// move out of the staging folder is still to come (DataFile.Staged) is
// read from a cached copy on the file store too: the view lists paths, and
// the staged path disappears with the move.
func (e *Engine) localPath(ctx context.Context, tv *tableView, f zones.DataFile) (string, error) {
	if e.local != "" {
		u, err := url.Parse(f.Location)
		if err != nil || u.Scheme != "file" {
			return "", fmt.Errorf("data file location %q is not a file:// URL", f.Location)
		}
		p := filepath.FromSlash(u.Path)
		if _, err := os.Stat(p); err == nil || f.Staged == "" {
			return p, nil
		}
	}
	return e.stage(ctx, tv, f)
}

// stage copies a data file into the cache, under a name keyed by the
// lake, the file's key and its ETag, keeping the key's directories (so the
// Hive partition segments stay in the path). A file not yet at its key is
// read from where it waits for its commit's move (DataFile.Staged).
func (e *Engine) stage(ctx context.Context, tv *tableView, f zones.DataFile) (string, error) {
	z, err := e.lk.Zone(tv.ref.Zone)
	if err != nil {
		return "", err
	}
	src := f.Key
	attrs, err := z.Store().Stat(ctx, src)
	if errors.Is(err, lake.ErrNotFound) && f.Staged != "" {
		src = f.Staged
		attrs, err = z.Store().Stat(ctx, src)
		if errors.Is(err, lake.ErrNotFound) { // moved in between
			src = f.Key
			attrs, err = z.Store().Stat(ctx, src)
		}
	}
	if err != nil {
		return "", err
	}
	lakeID := sha256.Sum256([]byte(e.lk.Store().Location("")))
	tag := sha256.Sum256([]byte(f.Location + "\x00" + attrs.ETag))
	dir, base := path.Split(f.Key)
	local := filepath.Join(e.cacheDir, hex.EncodeToString(lakeID[:8]), string(tv.ref.Zone), filepath.FromSlash(dir),
		hex.EncodeToString(tag[:12])+"-"+base)
	if st, err := os.Stat(local); err == nil && st.Size() == attrs.Size {
		return local, nil
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	rc, err := z.Store().Get(ctx, src)
	if errors.Is(err, lake.ErrNotFound) && src == f.Staged { // moved in between
		rc, err = z.Store().Get(ctx, f.Key)
	}
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
		return "", fmt.Errorf("staging %s: %w", f.Key, err)
	}
	return local, nil
}
