package zones

import (
	"context"
	"fmt"
	"time"

	"github.com/lakekit/lakekit/catalog"
)

// This file gives untyped tables (Table) the catalog operations of a
// Dataset, for tools that look into a lake without its Go row types, such
// as the lakekit command.

// SyncCatalog is Dataset.SyncCatalog for untyped tables: it finishes
// moving committed files into place and brings every catalog partition of
// the table to the newest snapshot (adding, repointing and removing). The
// catalog table must exist (a Dataset's first commit creates it with the
// schema of its row type); its columns are left as they are.
func (t *Table) SyncCatalog(ctx context.Context, cat catalog.Catalog) error {
	d, err := t.catalogDataset(ctx, cat)
	if err != nil {
		return err
	}
	return d.SyncCatalog(ctx)
}

// catalogDataset is a Dataset view of t that syncs to cat and keeps the
// catalog table's schema (its columns are the log's, and its catalog
// schema is the catalog's own, so no sync replaces it).
func (t *Table) catalogDataset(ctx context.Context, cat catalog.Catalog) (*Dataset[struct{}], error) {
	if cat == nil {
		return nil, fmt.Errorf("zones: sync catalog of %s: no catalog: %w", t.prefix, ErrInvalid)
	}
	ct, err := cat.GetTable(ctx, t.database, t.name)
	if err != nil {
		return nil, fmt.Errorf("zones: sync catalog of %s: %w", t.prefix, err)
	}
	st, err := t.stateAt(ctx, 0)
	if err != nil {
		return nil, err
	}
	return &Dataset[struct{}]{table: t, opts: Options[struct{}]{Catalog: cat},
		columns: st.Schema, partKeys: st.PartitionKeys, catSchema: ct.Schema, logger: t.logger}, nil
}

// VacuumOptions configure Table.VacuumWith. A nil *VacuumOptions means
// Table.Vacuum.
type VacuumOptions struct {
	// Catalog, when set, is consulted as Dataset.Vacuum consults its
	// own: brought to the newest version first, and no file a catalog
	// location shows to Athena is deleted.
	Catalog catalog.Catalog
	// DryRun changes nothing (no file moved, deleted or audited, the
	// catalog left as it is) and reports in VacuumResult.Deleted and Bytes
	// what a run would delete now. Files that only an out-of-date catalog
	// still shows count as kept: a real run brings the catalog forward
	// first and may then delete them.
	DryRun bool
}

// VacuumWith is Vacuum for untyped tables with a catalog to consult, or as
// a dry run (see VacuumOptions).
func (t *Table) VacuumWith(ctx context.Context, retention time.Duration, opts *VacuumOptions) (*VacuumResult, error) {
	if opts == nil || (opts.Catalog == nil && !opts.DryRun) {
		return t.Vacuum(ctx, retention)
	}
	if !opts.DryRun {
		d, err := t.catalogDataset(ctx, opts.Catalog)
		if err != nil {
			return nil, err
		}
		return d.Vacuum(ctx, retention)
	}
	retention = t.retention(retention)
	if retention < 0 {
		return nil, fmt.Errorf("zones: vacuum %s: negative retention %v: %w", t.prefix, retention, ErrInvalid)
	}
	var keep []string
	if opts.Catalog != nil {
		var err error
		if keep, err = catalogKeyPrefixes(ctx, opts.Catalog, t); err != nil {
			return nil, fmt.Errorf("zones: vacuum %s: catalog locations: %w", t.prefix, err)
		}
	}
	return t.vacuum(ctx, retention, keep, true)
}
