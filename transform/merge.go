package transform

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// MergeOptions configure a CDC merge. A nil *MergeOptions means defaults.
type MergeOptions struct {
	// Parallelism bounds the input files decoded and the partitions merged
	// at once (default 4).
	Parallelism int
	// MaxFiles bounds the input files one run merges (0: all pending).
	// A run holds its changes in memory, grouped by partition.
	MaxFiles int
	// Rules validate every change row; rejects go to quarantine.
	Rules []Rule
	// Quarantine receives rejected records; nil means
	// QuarantineDataset(out).
	Quarantine *zones.Dataset[Quarantine]
	// Caller goes into the audit record of each commit.
	Caller string
	// Logger receives a line per run; nil means the lake's.
	Logger *slog.Logger
}

// Merger applies CDC change rows (AWS DMS style: an operation, a primary
// key and an ordering column per row) to a curated table, keeping its
// current state. Build one with Merge.
type Merger[C, T any, K comparable, O cmp.Ordered] struct {
	name   string
	src    Source[C]
	out    *zones.Dataset[T]
	spec   MergeSpec[C, T, K, O]
	opts   MergeOptions
	val    *Validator[C]
	qds    *zones.Dataset[Quarantine]
	sys    *lake.Store
	logger *slog.Logger
}

// Merge makes a CDC merge called name from the change rows of src into the
// state table out. Each run reads the change files not in the ledger,
// groups the changes by the partition of their row image, and for every
// affected partition merges them with the partition's current rows: last
// write wins by the ordering column (a change older than the stored row,
// or than a recorded delete, is ignored — out-of-order updates never win
// over newer ones), deletes remove the row and leave a tombstone with
// their order so a late, older update cannot resurrect it. Only the
// affected partitions are rewritten, all in one OverwritePartitions commit
// that also carries the ledger entry.
//
// A key must stay in one partition: the partition columns of a key's rows
// must not change (as with Hudi's default index).
func Merge[C, T any, K comparable, O cmp.Ordered](name string, src Source[C], out *zones.Dataset[T], spec MergeSpec[C, T, K, O], opts *MergeOptions) (*Merger[C, T, K, O], error) {
	m := &Merger[C, T, K, O]{name: name, src: src, out: out, spec: spec}
	if opts != nil {
		m.opts = *opts
	}
	if err := lake.ValidateName("transform name", name); err != nil {
		return nil, fmt.Errorf("transform: %w: %w", ErrInvalid, err)
	}
	if src == nil || out == nil {
		return nil, invalidf("merge %s: nil source or output dataset", name)
	}
	if rs, ok := src.(interface{ check() error }); ok {
		if err := rs.check(); err != nil {
			return nil, err
		}
	}
	if err := m.spec.check(); err != nil {
		return nil, fmt.Errorf("merge %s: %w", name, err)
	}
	if m.opts.Parallelism <= 0 {
		m.opts.Parallelism = 4
	}
	val, err := NewValidator[C](m.opts.Rules...)
	if err != nil {
		return nil, fmt.Errorf("merge %s: %w", name, err)
	}
	m.val = val
	m.qds = m.opts.Quarantine
	if m.qds == nil {
		if m.qds, err = QuarantineDataset(out); err != nil {
			return nil, fmt.Errorf("merge %s: quarantine dataset: %w", name, err)
		}
	}
	lk := out.Table().Zone().Lake()
	if m.sys, err = lk.System("transform"); err != nil {
		return nil, err
	}
	m.logger = m.opts.Logger
	if m.logger == nil {
		m.logger = lk.Logger()
	}
	m.logger = m.logger.With("transform", name)
	return m, nil
}

// Name returns the merge's name.
func (m *Merger[C, T, K, O]) Name() string { return m.name }

// Ledger reads the merge's ledger back from the output table's commits.
func (m *Merger[C, T, K, O]) Ledger(ctx context.Context) (*Ledger, error) {
	return loadLedger(ctx, m.name, m.out.Table(), m.sys)
}

type partChanges[C any] struct {
	part    lake.Partition
	changes []C
}

// mergeRun holds the state of one Merger.Run.
type mergeRun[C, T any, K comparable, O cmp.Ordered] struct {
	m     *Merger[C, T, K, O]
	res   *Result
	units []*unit
	now   time.Time
	// perUnit holds each unit's accepted changes, in plan order; q the
	// rejected records of all units.
	perUnit [][]C
	q       []Quarantine
	// byPart groups the changes by the partition of their row image;
	// paths are its keys, sorted.
	byPart map[string]*partChanges[C]
	paths  []string
}

// merged is the new content of one affected partition.
type merged[T any, K comparable, O cmp.Ordered] struct {
	rows  []T
	tombs map[K]O
	st    MergeStats
}

// Run merges the change files not yet in the ledger: it decodes and
// validates them, groups the changes by partition, merges each affected
// partition with its current rows and tombstones, and commits the
// partitions together with the ledger entry in one OverwritePartitions
// commit. The error says what is committed as for Transform.Run: nil or
// one wrapping zones.ErrCatalog (only then) means the merge is committed
// and recorded (Result.CatalogErr has the catalog error); one wrapping
// zones.ErrCommitUnknown means rerun (the same change files give the same
// idempotency key); any other error means nothing of the merge is
// committed.
func (m *Merger[C, T, K, O]) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	r := &mergeRun[C, T, K, O]{m: m, res: &Result{Transform: m.name}, now: time.Now().UTC()}
	res := r.res
	l, err := m.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	var ps planStats
	if r.units, err = m.src.plan(ctx, l, planOptions{filesPerUnit: 1, stats: &ps}); err != nil {
		return nil, fmt.Errorf("merge %s: plan: %w", m.name, err)
	}
	res.Unaccepted = ps.unaccepted
	if m.opts.MaxFiles > 0 && len(r.units) > m.opts.MaxFiles {
		r.units = r.units[:m.opts.MaxFiles]
	}
	if len(r.units) == 0 {
		res.finish(start)
		m.logger.Info("transform: merge", res.logAttrs()...)
		return res, nil
	}
	if err := r.decode(ctx); err != nil {
		return res, err
	}
	if err := r.group(); err != nil {
		return res, err
	}
	entry := r.entry(l.Epoch)
	if len(r.q) > 0 {
		catErr, err := writeQuarantine(ctx, m.qds, m.name, entry.Inputs, m.opts.Caller, r.q)
		if err != nil {
			return res, err
		}
		res.CatalogErr = catErr
	}
	if err := r.write(ctx, entry); err != nil {
		return res, err
	}
	res.finish(start)
	if _, err := m.Ledger(ctx); err != nil {
		m.logger.Warn("transform: ledger cache not refreshed", "err", err)
	}
	m.logger.Info("transform: merge", append(res.logAttrs(), "partitions", len(r.paths), "inserted", res.Merge.Inserted,
		"updated", res.Merge.Updated, "deleted", res.Merge.Deleted, "stale", res.Merge.Stale)...)
	return res, catalogOutcome(m.name, res)
}

// decode reads and validates the changes of every unit, in parallel; the
// changes of each unit keep their order, and units stay in plan order so
// that ties in the ordering column resolve by arrival.
func (r *mergeRun[C, T, K, O]) decode(ctx context.Context) error {
	r.perUnit = make([][]C, len(r.units))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.m.opts.Parallelism)
	for i, u := range r.units {
		g.Go(func() error {
			mine, rq, in, err := r.decodeUnit(gctx, u)
			if err != nil {
				return err
			}
			r.perUnit[i] = mine
			mu.Lock()
			r.q = append(r.q, rq...)
			r.res.RowsIn += in
			r.res.Rejected += int64(len(rq))
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// decodeUnit returns a unit's accepted changes, its rejects and the number
// of records read.
func (r *mergeRun[C, T, K, O]) decodeUnit(ctx context.Context, u *unit) (mine []C, rq []Quarantine, in int64, err error) {
	m := r.m
	reject := func(rec Record, row any, rule, field, reason string) {
		rq = append(rq, quarantineOf(m.name, rec, u.partPath, row, rule, field, reason, r.now))
	}
	for d, err := range m.src.rows(ctx, u) {
		if err != nil {
			return nil, nil, in, fmt.Errorf("merge %s: %s: %w", m.name, u.name, err)
		}
		in++
		if d.Err != nil {
			reject(d.Record, nil, "decode", "", reasonOf(d.Err))
			continue
		}
		if m.val.Len() > 0 {
			if vi := m.val.Check(d.Row); vi != nil {
				reject(d.Record, d.Row, vi.Rule, vi.Field, vi.Reason)
				continue
			}
		}
		if op := m.spec.Op(d.Row); op != Insert && op != Update && op != Delete {
			reject(d.Record, d.Row, "op", "", fmt.Sprintf("operation %q is not I, U or D", op))
			continue
		}
		img := m.spec.Image(d.Row)
		if _, err := m.out.PartitionOf(&img); err != nil {
			reject(d.Record, d.Row, "partition", "", err.Error())
			continue
		}
		mine = append(mine, d.Row)
	}
	return mine, rq, in, nil
}

// group sorts the accepted changes into the partitions of their row
// images, keeping their order.
func (r *mergeRun[C, T, K, O]) group() error {
	r.byPart = map[string]*partChanges[C]{}
	for _, changes := range r.perUnit {
		for _, c := range changes {
			img := r.m.spec.Image(c)
			p, err := r.m.out.PartitionOf(&img)
			if err != nil {
				return fmt.Errorf("merge %s: %w", r.m.name, err)
			}
			path := partitionPath(p)
			pc := r.byPart[path]
			if pc == nil {
				pc = &partChanges[C]{part: p}
				r.byPart[path] = pc
			}
			pc.changes = append(pc.changes, c)
		}
	}
	r.paths = make([]string, 0, len(r.byPart))
	for p := range r.byPart {
		r.paths = append(r.paths, p)
	}
	sort.Strings(r.paths)
	return nil
}

// entry is the merge's ledger entry. Its unit is named by a hash of the
// change files' keys, so the idempotency key of the commit is a function
// of the change files merged: a rerun over the same files commits under
// the same key.
func (r *mergeRun[C, T, K, O]) entry(epoch int) *LedgerEntry {
	var inputs []InputFile
	for _, u := range r.units {
		inputs = append(inputs, u.inputs...)
	}
	h := sha256.New()
	for _, f := range inputs {
		fmt.Fprintf(h, "%s\x00", f.Key)
	}
	return &LedgerEntry{Transform: r.m.name, Epoch: epoch, Unit: "merge:" + hex.EncodeToString(h.Sum(nil)[:12]), Inputs: inputs}
}

// write merges the affected partitions and commits them with entry.
func (r *mergeRun[C, T, K, O]) write(ctx context.Context, entry *LedgerEntry) error {
	if fm, ok := formatMerger(r.m.out); ok { // an Iceberg target: merge_format.go
		return r.writeFormat(ctx, entry, fm)
	}
	var base int64
	snap, err := r.m.out.Snapshot(ctx, 0)
	switch {
	case err == nil:
		base = snap.Version
	case isNoTable(err):
	default:
		return err
	}
	w, err := newUnitWriter(ctx, r.m.out, entry, zones.WriterOptions{Mode: zones.OverwritePartitions, Caller: r.m.opts.Caller})
	if err != nil {
		return err
	}
	results, err := r.mergeAll(ctx, base)
	if err == nil {
		err = r.writeMerged(ctx, w, results)
	}
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return err
	}
	return w.commitUnit(ctx, r.res)
}

// mergeAll merges each affected partition with its rows at version base
// and its tombstones, in parallel.
func (r *mergeRun[C, T, K, O]) mergeAll(ctx context.Context, base int64) ([]merged[T, K, O], error) {
	m := r.m
	results := make([]merged[T, K, O], len(r.paths))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Parallelism)
	for i, path := range r.paths {
		g.Go(func() error {
			var current []T
			if base > 0 {
				for row, err := range readPartition(gctx, m.out, base, path) {
					if err != nil {
						return err
					}
					current = append(current, row)
				}
			}
			tombs, err := m.loadTombstones(gctx, path)
			if err != nil {
				return err
			}
			rows, newTombs, st, err := applyChanges(&m.spec, current, tombs, r.byPart[path].changes)
			if err != nil {
				return err
			}
			results[i] = merged[T, K, O]{rows, newTombs, st}
			return nil
		})
	}
	return results, g.Wait()
}

// writeMerged saves the tombstones and writes the merged partitions; the
// partitions left empty are cleared.
func (r *mergeRun[C, T, K, O]) writeMerged(ctx context.Context, w *unitWriter[T], results []merged[T, K, O]) error {
	var empty []lake.Partition
	for i, path := range r.paths {
		mr := results[i]
		r.res.Merge.add(mr.st)
		// tombstones first: a crash before the data commit leaves them
		// ahead of the data, which a retry (same changes) reproduces.
		if err := r.m.saveTombstones(ctx, path, mr.tombs); err != nil {
			return err
		}
		if len(mr.rows) == 0 {
			empty = append(empty, r.byPart[path].part)
			continue
		}
		for len(mr.rows) > 0 {
			n := min(len(mr.rows), 8192)
			if err := w.Write(ctx, mr.rows[:n]); err != nil {
				return err
			}
			r.res.RowsOut += int64(n)
			mr.rows = mr.rows[n:]
		}
	}
	if len(empty) > 0 {
		return w.ClearPartitions(empty...)
	}
	return nil
}

// writeQuarantine commits the rejects of a unit to the quarantine table:
// one commit per input file with rejects, keyed by the transform and the
// file (key, size, ETag) only. A retried unit, or a replay that groups the
// files differently, rejects the same records again; the key is already
// committed and the earlier commit stands (commitWriter reports it as a
// duplicate even though the new rejects carry other RejectedAt times), so
// they are not recorded twice. A commit whose catalog update failed is
// committed: its error (wrapping zones.ErrCatalog) is returned as
// catalogErr, and err is nil.
func writeQuarantine(ctx context.Context, qds *zones.Dataset[Quarantine], name string, inputs []InputFile, caller string, q []Quarantine) (catalogErr, err error) {
	bySource := map[string][]Quarantine{}
	var order []string
	for _, r := range q {
		if _, ok := bySource[r.Source]; !ok {
			order = append(order, r.Source)
		}
		bySource[r.Source] = append(bySource[r.Source], r)
	}
	files := map[string]InputFile{}
	for _, f := range inputs {
		files[f.Key] = f
	}
	sort.Strings(order)
	for _, src := range order {
		f, ok := files[src]
		if !ok {
			f = InputFile{Key: src}
		}
		e := LedgerEntry{Transform: name, Unit: "quarantine:" + src, Inputs: []InputFile{f}}
		key := e.idempotencyKey() + "-quarantine"
		qw, err := qds.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: key,
			Metadata: map[string]string{MetaTransform: name, "lakekit.transform.source": src}, Caller: caller})
		if err != nil {
			return catalogErr, fmt.Errorf("quarantine: %w", err)
		}
		if err := qw.Write(ctx, bySource[src]); err != nil {
			qw.Abort(context.WithoutCancel(ctx))
			return catalogErr, fmt.Errorf("quarantine: %w", err)
		}
		c, err := commitWriter(ctx, qw, qds.Table(), key)
		if err != nil {
			return catalogErr, fmt.Errorf("quarantine: %w", err)
		}
		catalogErr = errors.Join(catalogErr, c.catalogErr)
		recordQuarantined(ctx, qds.Table(), name, c, bySource[src])
	}
	return catalogErr, nil
}

// Tombstones live in the lake's system area, one object per partition:
// _lakekit/transform/<name>/tombstones/<partition path>/tombstones.json.
func (m *Merger[C, T, K, O]) tombstoneKey(path string) string {
	if path == "" {
		path = "_unpartitioned"
	}
	return m.name + "/tombstones/" + path + "/tombstones.json"
}

type tombstoneFile struct {
	// Keys maps the JSON of a key to the JSON of its delete's order.
	Keys map[string]json.RawMessage `json:"keys"`
}

func (m *Merger[C, T, K, O]) loadTombstones(ctx context.Context, path string) (map[K]O, error) {
	b, err := m.sys.ReadAll(ctx, m.tombstoneKey(path))
	if errors.Is(err, lake.ErrNotFound) {
		return map[K]O{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f tombstoneFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("merge %s: tombstones of %q: %v: %w", m.name, path, err, ErrLedger)
	}
	out := make(map[K]O, len(f.Keys))
	for ks, os := range f.Keys {
		var k K
		var o O
		if err := json.Unmarshal([]byte(ks), &k); err != nil {
			return nil, fmt.Errorf("merge %s: tombstone key %s: %v: %w", m.name, ks, err, ErrLedger)
		}
		if err := json.Unmarshal(os, &o); err != nil {
			return nil, fmt.Errorf("merge %s: tombstone order %s: %v: %w", m.name, os, err, ErrLedger)
		}
		out[k] = o
	}
	return out, nil
}

func (m *Merger[C, T, K, O]) saveTombstones(ctx context.Context, path string, tombs map[K]O) error {
	f := tombstoneFile{Keys: make(map[string]json.RawMessage, len(tombs))}
	for k, o := range tombs {
		kb, err := json.Marshal(k)
		if err != nil {
			return fmt.Errorf("merge %s: key %v: %w", m.name, k, err)
		}
		ob, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("merge %s: order %v: %w", m.name, o, err)
		}
		f.Keys[string(kb)] = ob
	}
	if len(f.Keys) == 0 {
		return m.sys.Delete(ctx, m.tombstoneKey(path))
	}
	b, err := json.Marshal(&f)
	if err != nil {
		return err
	}
	return m.sys.PutBytes(ctx, m.tombstoneKey(path), b, &lake.PutOptions{ContentType: "application/json"})
}
