package zones

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/lakekit/lakekit/lake"
)

// conflicts reports whether a commit made after this transaction began
// collides with it.
func (tx *Tx) conflicts(c *Commit) error {
	t := tx.t
	if c.IdempotencyKey == tx.opts.IdempotencyKey {
		return nil // handled by the caller as a duplicate
	}
	theirs := c.touched()
	mode := tx.effectiveMode()
	if c.Operation == "replace_schema" || tx.opts.ReplaceSchema {
		return fmt.Errorf("zones: commit to %s: version %d (%s) changed the table while a schema replacement was involved: %w", t.prefix, c.Version, c.Operation, ErrConflict)
	}
	switch mode {
	case Overwrite:
		if len(theirs) > 0 {
			return fmt.Errorf("zones: overwrite of %s: version %d (%s) changed the table meanwhile: %w", t.prefix, c.Version, c.Mode, ErrConflict)
		}
	case OverwritePartitions:
		for p := range tx.touched {
			if theirs[p] {
				return fmt.Errorf("zones: overwrite of %s partition %q: version %d (%s) changed it meanwhile: %w", t.prefix, p, c.Version, c.Mode, ErrConflict)
			}
		}
		if c.Mode == Overwrite {
			return fmt.Errorf("zones: overwrite of %s partitions: version %d overwrote the whole table meanwhile: %w", t.prefix, c.Version, ErrConflict)
		}
	case Append:
		if c.Mode == Append {
			return nil
		}
		for p := range tx.touched {
			if theirs[p] {
				return fmt.Errorf("zones: append to %s partition %q: version %d overwrote it meanwhile: %w", t.prefix, p, c.Version, ErrConflict)
			}
		}
	}
	return nil
}

// effectiveMode: overwriting "the touched partitions" of a table without
// partitions means the whole table.
func (tx *Tx) effectiveMode() Mode {
	if tx.opts.Mode == OverwritePartitions && len(tx.opts.PartitionKeys) == 0 {
		return Overwrite
	}
	return tx.opts.Mode
}

// build makes the log entry of this transaction on top of st.
func (tx *Tx) build(st *state, audit Audit, digest string) (*Commit, error) {
	t := tx.t
	mode := tx.effectiveMode()
	c := &Commit{
		Version:        st.Version + 1,
		Timestamp:      time.Now().UTC(),
		Operation:      "write",
		Mode:           tx.opts.Mode,
		IdempotencyKey: tx.opts.IdempotencyKey,
		Attempt:        tx.attempt,
		Digest:         digest,
		PartitionKeys:  tx.opts.PartitionKeys,
		Added:          tx.files,
		Metadata:       tx.opts.Metadata,
		Audit:          audit,
		SchemaVersion:  st.SchemaVersion,
	}
	switch {
	case tx.opts.ReplaceSchema && st.Version > 0:
		c.Operation = "replace_schema"
		if !equalColumns(st.Schema, tx.opts.Schema) || !equalStrings(st.PartitionKeys, tx.opts.PartitionKeys) {
			c.Schema, c.SchemaVersion = tx.opts.Schema, st.SchemaVersion+1
		}
	case st.Version > 0 && st.Schema != nil && !equalStrings(st.PartitionKeys, tx.opts.PartitionKeys):
		return nil, fmt.Errorf("zones: commit %s: table is partitioned by %v, the data by %v: %w", t.prefix, st.PartitionKeys, tx.opts.PartitionKeys, ErrSchema)
	case st.Version == 0 || st.Schema == nil:
		c.Schema, c.SchemaVersion = tx.opts.Schema, 1
	case tx.opts.Schema != nil && !equalColumns(st.Schema, tx.opts.Schema):
		if err := checkColumns(st.Schema, tx.opts.Schema, st.PartitionKeys); err != nil {
			return nil, fmt.Errorf("zones: commit %s: %w: %w", t.prefix, ErrSchema, err)
		}
		c.Schema, c.SchemaVersion = tx.opts.Schema, st.SchemaVersion+1
	}
	paths := make([]string, 0, len(tx.touched))
	for p := range tx.touched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if err := tx.checkTaken(st); err != nil {
		return nil, err
	}
	switch mode {
	case Append:
		// An append's files are staged: where they go is decided here, on
		// the version committed on.
		// Files adopted where they lie (AddFiles, Convert) fix their
		// partition's folder when the partition is new.
		locs := map[string]string{}
		for _, p := range paths {
			loc, ok := st.Locations[p]
			if !ok {
				loc = tx.newPartitionFolder(st, p, c.Version)
				if d, ok := tx.place[p]; ok && (loc == joinKey(t.prefix, p) || inGenerationFolder(t.prefix, d, p)) {
					loc = d
				}
				c.Locations = append(c.Locations, PartitionLocation{Partition: tx.touched[p], Prefix: loc})
			}
			locs[p] = loc
		}
		added := make([]DataFile, len(tx.files))
		for i, f := range tx.files {
			loc := locs[partPath(f.Partition)]
			switch {
			case f.Staged != "":
				f.Key = loc + "/" + path.Base(f.Key)
			case st.files[f.Key].Key != "":
				return nil, fmt.Errorf("zones: commit %s: file %s, adopted in place, was committed meanwhile by version %d: %w", t.prefix, f.Key, st.files[f.Key].AddedIn, ErrConflict)
			case !VisibleUnder(loc+"/", f.Key):
				return nil, fmt.Errorf("zones: commit %s: file %s lies in %s, but version %d put its partition at %s (adopt it again: it will be copied): %w", t.prefix, f.Key, path.Dir(f.Key), st.Version, loc, ErrConflict)
			}
			added[i] = f
		}
		sort.Slice(added, func(i, j int) bool { return added[i].Key < added[j].Key })
		c.Added = added
	case Overwrite, OverwritePartitions:
		if err := tx.buildOverwrite(st, c, mode, paths); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// buildOverwrite fills an overwrite's entry: the touched partitions' new
// locations, the files it replaces and (Overwrite) the partitions it drops.
func (tx *Tx) buildOverwrite(st *state, c *Commit, mode Mode, paths []string) error {
	for _, p := range paths {
		loc := tx.prefixFor(p)
		if d, ok := tx.place[p]; ok { // a generation folder whose files are adopted where they lie
			loc = d
		}
		c.Locations = append(c.Locations, PartitionLocation{Partition: tx.touched[p], Prefix: loc})
	}
	for _, f := range st.sortedFiles() {
		if mode == Overwrite || tx.touched[partPath(f.Partition)] != nil {
			c.Removed = append(c.Removed, f)
		}
	}
	if mode != Overwrite {
		return nil
	}
	for p := range st.Locations {
		if _, ok := tx.touched[p]; !ok {
			part, err := lake.ParsePartitionPath(p)
			if err != nil {
				return err
			}
			c.Dropped = append(c.Dropped, part)
		}
	}
	sort.Slice(c.Dropped, func(i, j int) bool { return partPath(c.Dropped[i]) < partPath(c.Dropped[j]) })
	return nil
}

// newPartitionFolder is where an append puts a partition the table does
// not have: its Hive folder, unless files an earlier commit removed (a
// dropped partition waiting for Vacuum) are still there — an engine
// reading the folder would see them again — then a fresh generation folder.
func (tx *Tx) newPartitionFolder(st *state, p string, version int64) string {
	def := joinKey(tx.t.prefix, p)
	for _, ts := range st.Tombstones {
		if strings.HasPrefix(ts.Key, def+"/") {
			return joinKey(tx.t.prefix, fmt.Sprintf("_g%d-%s", version, tx.attempt), p)
		}
	}
	return def
}

// checkTaken refuses a commit that takes over a staged file (AddFiles of
// a file in the table's staging folder) that a version committed meanwhile
// names too: the first commit's move would leave this one's key empty.
func (tx *Tx) checkTaken(st *state) error {
	if len(tx.taken) == 0 {
		return nil
	}
	for _, f := range st.files {
		if f.Staged != "" && tx.taken[f.Staged] {
			return fmt.Errorf("zones: commit %s: staged file %s was committed meanwhile by version %d: %w", tx.t.prefix, f.Staged, f.AddedIn, ErrConflict)
		}
	}
	return nil
}
