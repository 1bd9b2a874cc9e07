package query

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// CopyTableOptions modify CopyTable. A nil *CopyTableOptions loads every
// file of the newest snapshot into all columns.
type CopyTableOptions struct {
	// Version is the table version to load; 0 means the newest.
	Version int64
	// Partitions selects the partitions whose files are loaded; nil loads
	// every partition.
	Partitions func(lake.Partition) bool
	// Copy sets the target columns and SERIALIZETOJSON.
	Copy *CopyOptions
}

// copyManifest is Redshift's COPY manifest. Parquet needs each entry's
// content_length.
type copyManifest struct {
	Entries []copyManifestEntry `json:"entries"`
}

type copyManifestEntry struct {
	URL       string `json:"url"`
	Mandatory bool   `json:"mandatory"`
	Meta      struct {
		ContentLength int64 `json:"content_length"`
	} `json:"meta"`
}

// copyManifestDir is where CopyTable writes its manifests, under the
// table's prefix: lakekit's own folder, which Hive readers and Vacuum skip.
const copyManifestDir = "_lakekit/redshift-copy/"

// CopyTable loads a lakekit table into the Redshift table target with one
// COPY (FORMAT AS PARQUET ... MANIFEST). The manifest lists exactly the
// files of the table's snapshot (opts.Version, default the newest),
// filtered by opts.Partitions, so COPY loads one committed version: not the
// commit log, nor files an overwrite replaced, nor an in-flight write's
// files, all of which can sit under the table's prefix. The manifest is
// written to <table>/_lakekit/redshift-copy/<token>.manifest in the
// table's zone, which must be on S3, and deleted once the COPY finished.
// Partition columns are not inside the files (see CopySQL): load them
// through Spectrum (ExternalSchemaSQL) where they are needed. A selection
// without files sends nothing and reports 0 rows.
func (r *Redshift) CopyTable(ctx context.Context, tbl *zones.Table, target, iamRole string, opts *CopyTableOptions) (*Stats, error) {
	if tbl == nil {
		return nil, fmt.Errorf("query: CopyTable: nil table: %w", ErrInvalid)
	}
	var o CopyTableOptions
	if opts != nil {
		o = *opts
	}
	name := tbl.Database() + "." + tbl.Name()
	snap, err := tbl.Snapshot(ctx, o.Version)
	if err != nil {
		return nil, fmt.Errorf("query: copy %s: %w", name, err)
	}
	store := tbl.Zone().Store()
	var m copyManifest
	for _, f := range snap.Files {
		if o.Partitions != nil && !o.Partitions(f.Partition) {
			continue
		}
		loc, err := committedLocation(ctx, store, f)
		if err != nil {
			return nil, fmt.Errorf("query: copy %s: %w", name, err)
		}
		if err := checkS3("COPY source file", loc); err != nil {
			return nil, fmt.Errorf("query: copy %s: Redshift reads from S3 only: %w", name, err)
		}
		e := copyManifestEntry{URL: loc, Mandatory: true}
		e.Meta.ContentLength = f.Size
		m.Entries = append(m.Entries, e)
	}
	if len(m.Entries) == 0 {
		return &Stats{BytesScanned: -1}, nil
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	key := tbl.Prefix() + "/" + copyManifestDir + NewToken() + ".manifest"
	from := store.Location(key)
	copyOpts := CopyOptions{Manifest: true}
	if o.Copy != nil {
		copyOpts.Columns, copyOpts.SerializeToJSON = o.Copy.Columns, o.Copy.SerializeToJSON
	}
	stmt, err := CopySQL(target, from, iamRole, &copyOpts)
	if err != nil {
		return nil, err
	}
	if err := store.PutBytes(ctx, key, body, nil); err != nil {
		return nil, fmt.Errorf("query: copy %s: writing the manifest: %w", name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := store.Delete(dctx, key); err != nil {
			tbl.Zone().Lake().Logger().Warn("query: CopyTable could not delete its manifest", "key", key, "err", err)
		}
	}()
	return r.Exec(ctx, stmt)
}

// committedLocation is where a committed file can be read now: at its
// key, or, while its commit's move out of the staging folder is still to
// come, at DataFile.Staged. (Should the move happen between this look and
// the COPY, the COPY fails on a missing mandatory file and can be retried.)
func committedLocation(ctx context.Context, store *lake.Store, f zones.DataFile) (string, error) {
	if f.Staged == "" {
		return f.Location, nil
	}
	ok, err := store.Exists(ctx, f.Key)
	if err != nil {
		return "", err
	}
	if ok {
		return f.Location, nil
	}
	if ok, err = store.Exists(ctx, f.Staged); err != nil {
		return "", err
	}
	if ok {
		return store.Location(f.Staged), nil
	}
	return f.Location, nil // moved in between
}
