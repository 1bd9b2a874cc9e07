package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake/driver"
)

// syncParallel is how many fsyncs Sync keeps in flight. The disk commits
// concurrent fsyncs of one file system together (ext4 joins them into one
// journal commit), so a commit of 100 files waits for it a few times, not
// 300 (each file, its metadata sidecar and its folder, one after another,
// as a put without Deferred does).
const syncParallel = 32

// Sync implements driver.Syncer: it fsyncs each object, its metadata
// sidecar when it has one, and then every folder that holds them (their
// names), with many fsyncs in flight at once.
func (d *Driver) Sync(ctx context.Context, keys []string) error {
	dirs := map[string]bool{}
	var files []string
	for _, k := range keys {
		p, err := d.path(k)
		if err != nil {
			return err
		}
		files = append(files, p)
		dirs[filepath.Dir(p)] = true
		if mp := d.metaPath(k); fileExists(mp) {
			files = append(files, mp)
			dirs[filepath.Dir(mp)] = true
		}
	}
	check := syncFile
	if d.noSync { // nothing to wait for; a missing key is still an error
		check = func(p string) error { _, err := os.Stat(p); return err }
	}
	if err := d.syncAll(ctx, files, check); err != nil || d.noSync {
		return err
	}
	sorted := make([]string, 0, len(dirs))
	for dir := range dirs {
		sorted = append(sorted, dir)
	}
	sort.Strings(sorted)
	return d.syncAll(ctx, sorted, d.syncDir)
}

func (d *Driver) syncAll(ctx context.Context, paths []string, sync func(string) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(syncParallel)
	for _, p := range paths {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := sync(p); err != nil {
				rel, _ := filepath.Rel(d.root, p)
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("filestore: sync %q: %w", filepath.ToSlash(rel), driver.ErrNotFound)
				}
				return fmt.Errorf("filestore: sync %q: %w", filepath.ToSlash(rel), err)
			}
			return nil
		})
	}
	return g.Wait()
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return fsync(f)
}

// fsync is every fsync the driver makes (tests record them).
var fsync = (*os.File).Sync
