package zones

import (
	"context"
	"path"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// A generation folder is a hidden folder directly under a table's prefix
// ("<table>/_<name>/", other than _lakekit) whose subfolders are partition
// paths: "<table>/_fanout-<plan>/dt=2024-01-01/". Engines reading the
// table's folders skip it (its name starts with "_"), so files can be
// written there before any commit. Overwrites already put each partition
// they replace in a generation folder of their own ("_g<version>-<attempt>")
// and point the partition's location at it; AddFiles does the same for
// files a writer outside any transaction left in one (a fan-out worker's
// output): a partition the commit gives a new location — one the table does
// not have yet, or one an overwrite replaces — gets the folder its files lie
// in, so nothing is moved or copied. See generationFolders for the rules.

// GenerationFolder returns the key prefix of generation folder name under
// a table's prefix, for partition path p ("dt=2024-01-01"): files written
// there may be committed where they lie by Dataset.AddFiles. name must be a
// single folder name; "_" is prepended when it does not start with one.
func GenerationFolder(tablePrefix, name, p string) string {
	if !strings.HasPrefix(name, "_") {
		name = "_" + name
	}
	return joinKey(tablePrefix, name, p)
}

// inGenerationFolder reports whether dir is a generation folder of the
// table holding partition path p: "<prefix>/_<name>/<p>".
func inGenerationFolder(prefix, dir, p string) bool {
	if p == "" {
		return false // an unpartitioned table's location is the table's own
	}
	rest, ok := strings.CutPrefix(dir, prefix+"/_")
	if !ok {
		return false
	}
	name, sub, ok := strings.Cut(rest, "/")
	return ok && sub == p && name != "" && name != "lakekit"
}

// generationFolders decides, for each partition of an adoption, whether its
// files are committed where they lie in a generation folder: every one of
// them lies in the table's zone in the same generation folder for that
// partition; the commit gives the partition a new location (an overwrite,
// or an append of a partition the table does not have at the version the
// transaction began on: if a commit creates it meanwhile, this one fails
// with ErrConflict and a new AddFiles copies the files); and the folder
// holds nothing else an engine reading it would see (listed, up to
// adoptParallelism folders at once). It returns partition path → folder;
// the other partitions' files are adopted as before.
func (tx *Tx) generationFolders(ctx context.Context, files []*adoptee) (map[string]string, error) {
	t := tx.t
	folder := map[string]string{} // "" once a partition is not eligible
	want := map[string]map[string]bool{}
	for _, a := range files {
		p := partPath(a.df.Partition)
		dir := path.Dir(a.key)
		ok := a.src == t.store && inGenerationFolder(t.prefix, dir, p)
		if _, exists := tx.base.Locations[p]; exists && tx.opts.Mode == Append {
			ok = false
		}
		if prev, seen := folder[p]; seen && prev != dir {
			ok = false
		}
		if !ok {
			folder[p] = ""
			continue
		}
		folder[p] = dir
		if want[dir] == nil {
			want[dir] = map[string]bool{}
		}
		want[dir][a.key] = true
	}
	if err := tx.checkGenerationFolders(ctx, folder, want); err != nil {
		return nil, err
	}
	for p, dir := range folder {
		if dir == "" {
			delete(folder, p)
		}
	}
	return folder, nil
}

// checkGenerationFolders marks ineligible ("") each folder of folder
// (partition path → generation folder) that holds an object an engine
// reading it would see and that is not among want[folder]. It lists each
// generation folder's root ("<table>/_<name>/") once, up to
// adoptParallelism roots at once: a fan-out's thousands of partitions are
// one listing (a few paginated requests on S3), not one per partition.
func (tx *Tx) checkGenerationFolders(ctx context.Context, folder map[string]string, want map[string]map[string]bool) error {
	roots := map[string]bool{}
	for p, dir := range folder {
		if dir != "" {
			roots[strings.TrimSuffix(dir, "/"+p)] = true
		}
	}
	var mu sync.Mutex
	bad := map[string]bool{} // folders holding something else
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(adoptParallelism)
	for root := range roots {
		g.Go(func() error {
			for e, err := range tx.t.store.List(gctx, root+"/", nil) {
				if err != nil {
					return err
				}
				if e.IsDir {
					continue
				}
				for d := path.Dir(e.Key); len(d) > len(root); d = path.Dir(d) {
					if want[d] != nil && !want[d][e.Key] && VisibleUnder(d+"/", e.Key) {
						mu.Lock()
						bad[d] = true
						mu.Unlock()
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for p, dir := range folder {
		if bad[dir] {
			folder[p] = ""
		}
	}
	return nil
}
