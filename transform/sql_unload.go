package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/query"
	"github.com/lakekit/lakekit/zones"
)

// This file is the SQL transform on engines that write files themselves
// (query.Unloader: Athena, Redshift). The statement's result never passes
// through the client: the engine UNLOADs it as Parquet into a staging
// folder of the output table, "<db>/<table>/_lakekit/staging/unload-<id>/",
// which Hive, Athena, Spectrum and crawlers skip (a folder starting with
// "_") and no catalog location names, and zones.Dataset.AddFiles adopts
// the files in one commit holding the ledger entry. The staging folder is
// deleted once AddFiles has returned (it copies what it commits into the
// table's own names); what a crash leaves there is deleted by Vacuum after
// the retention, since the table's staging folder only ever holds lakekit's
// objects.

// unloadPrefix is the staging folder, under the table's prefix, that an
// UNLOAD of one run writes into.
func unloadPrefix(t *zones.Table) string {
	return t.Prefix() + "/" + zones.StagingDir + "unload-" + query.NewToken() + "/"
}

// unloadColumns are the output table's columns as the UNLOAD must write
// them: the stored columns with their Glue types, then the partition keys
// (their types from the row type's tags; "string" for keys a PartitionBy
// function computes).
func unloadColumns[Out any](out *zones.Dataset[Out]) []catalog.Column {
	var cols []catalog.Column
	for _, c := range out.Columns() {
		cols = append(cols, catalog.Column{Name: c.Name, Type: c.Type})
	}
	types := map[string]string{}
	if pfs, err := catalog.PartitionFields(reflect.TypeFor[Out]()); err == nil {
		for _, pf := range pfs {
			types[pf.Name] = pf.Type
		}
	}
	for _, k := range out.PartitionKeys() {
		t := types[k]
		if t == "" {
			t = catalog.KindString
		}
		cols = append(cols, catalog.Column{Name: k, Type: t})
	}
	return cols
}

// errUnloadRefused: the engine's UnloadTo refused the output before
// running anything (a type its UNLOAD cannot write as lakekit reads it, a
// store off S3); Run then takes the row path.
var errUnloadRefused = errors.New("transform: the engine cannot UNLOAD this output")

// runUnload runs the statement as an UNLOAD into a staging folder of the
// output table and adopts the files with entry in one commit. Like the row
// path it returns an error only when nothing is committed or the outcome
// is unknown.
func (s *SQLTransform[Out]) runUnload(ctx context.Context, u query.Unloader, entry *LedgerEntry, res *Result) error {
	t := s.out.Table()
	st := t.Zone().Store()
	prefix := unloadPrefix(t)
	compression := "SNAPPY"
	if t.Zone().Config().Compression == lake.Zstd {
		compression = "ZSTD"
	}
	un, err := u.UnloadTo(ctx, query.UnloadRequest{SQL: s.stmt, Params: s.opts.Params, Store: st, Prefix: prefix,
		PartitionBy: s.out.PartitionKeys(), Columns: unloadColumns(s.out), Compression: compression})
	if errors.Is(err, query.ErrUnsupported) {
		// refused before anything ran (UnloadTo checks first)
		return fmt.Errorf("unload: %w: %w", errUnloadRefused, err)
	}
	if err != nil {
		return fmt.Errorf("unload: %w", err)
	}
	defer s.removeStaging(ctx, st, prefix, un.Keys)
	for _, k := range un.Keys {
		n, err := parquetRows(ctx, st, k)
		if err != nil {
			return fmt.Errorf("unload output %s: %w", st.Location(k), err)
		}
		res.RowsOut += n
	}
	res.RowsIn = res.RowsOut
	if len(un.Keys) == 0 {
		// an empty result still commits (an Overwrite empties the table)
		// and records the entry
		w, err := newUnitWriter(ctx, s.out, entry, zones.WriterOptions{Mode: s.mode, Caller: s.opts.Caller})
		if err != nil {
			return err
		}
		return w.commitUnit(ctx, res)
	}
	return commitAdoption(ctx, s.out, un.Keys, entry, s.mode, s.opts.Caller, res)
}

// removeStaging deletes the UNLOAD's files once AddFiles has returned:
// whatever it committed it copied into the table's own names. A failure is
// only logged: Vacuum deletes the staging folder's leftovers.
func (s *SQLTransform[Out]) removeStaging(ctx context.Context, st *lake.Store, prefix string, keys []string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := st.DeleteMany(dctx, keys); err != nil {
		s.logger.Warn("transform: sql: removing the unloaded files failed; Vacuum removes them after the retention",
			"prefix", st.Location(prefix), "err", err)
	}
}

// parquetRows reads the row count from a Parquet file's footer.
func parquetRows(ctx context.Context, st *lake.Store, key string) (int64, error) {
	r, err := st.OpenReader(ctx, key, nil)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("not a Parquet file: %w", err)
	}
	return f.NumRows(), nil
}

// adoption commits files through AddFiles: the committer commitWriter
// classifies the outcome of.
type adoption[T any] struct {
	out   *zones.Dataset[T]
	files []string
	opts  *zones.AddFilesOptions
}

func (a adoption[T]) Commit(ctx context.Context) (*zones.CommitResult, error) {
	return a.out.AddFiles(ctx, a.files, a.opts)
}

// commitAdoption adopts files (locations AddFiles takes) into out in one
// commit with entry, whose idempotency key it commits under, and records
// the outcome in res as commitUnit does: Units, Versions, DuplicateCommits
// (RowsOut then what the earlier commit holds) and CatalogErr. res.RowsIn
// and RowsOut are the entry's counts.
func commitAdoption[T any](ctx context.Context, out *zones.Dataset[T], files []string, entry *LedgerEntry, mode zones.Mode, caller string, res *Result) error {
	entry.RowsIn, entry.RowsOut, entry.Rejected = res.RowsIn, res.RowsOut, res.Rejected
	md, err := entry.metadata()
	if err != nil {
		return err
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	md[MetaLedger] = string(b)
	key := entry.idempotencyKey()
	c, err := commitWriter(ctx, adoption[T]{out: out, files: files,
		opts: &zones.AddFilesOptions{Mode: mode, IdempotencyKey: key, Metadata: md, Caller: caller}}, out.Table(), key)
	if err != nil {
		return err
	}
	res.Units = 1
	res.Files = len(entry.Inputs)
	res.Versions = []int64{c.version}
	if c.duplicate {
		res.DuplicateCommits = 1
		res.RowsOut = c.rows
	}
	res.CatalogErr = errors.Join(res.CatalogErr, c.catalogErr)
	return nil
}
