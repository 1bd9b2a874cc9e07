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

// Run merges the change files not yet in the ledger.
func (m *Merger[C, T, K, O]) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	res := &Result{Transform: m.name}
	l, err := m.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	units, err := m.src.plan(ctx, l, planOptions{filesPerUnit: 1})
	if err != nil {
		return nil, fmt.Errorf("merge %s: plan: %w", m.name, err)
	}
	if m.opts.MaxFiles > 0 && len(units) > m.opts.MaxFiles {
		units = units[:m.opts.MaxFiles]
	}
	if len(units) == 0 {
		res.Duration = time.Since(start)
		m.logger.Info("transform: merge", res.logAttrs()...)
		return res, nil
	}
	// 1. decode and validate the changes of every unit, in parallel; the
	// changes of each unit keep their order, units are concatenated in
	// plan order so ties in the ordering column resolve by arrival.
	now := time.Now().UTC()
	perUnit := make([][]C, len(units))
	var mu sync.Mutex
	var q []Quarantine
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Parallelism)
	for i, u := range units {
		g.Go(func() error {
			var mine []C
			var rq []Quarantine
			var in int64
			for d, err := range m.src.rows(gctx, u) {
				if err != nil {
					return fmt.Errorf("merge %s: %s: %w", m.name, u.name, err)
				}
				in++
				if d.Err != nil {
					rq = append(rq, quarantineOf(m.name, d.Record, u.partPath, nil, "decode", "", reasonOf(d.Err), now))
					continue
				}
				if m.val.Len() > 0 {
					if vi := m.val.Check(d.Row); vi != nil {
						rq = append(rq, quarantineOf(m.name, d.Record, u.partPath, d.Row, vi.Rule, vi.Field, vi.Reason, now))
						continue
					}
				}
				if op := m.spec.Op(d.Row); op != Insert && op != Update && op != Delete {
					rq = append(rq, quarantineOf(m.name, d.Record, u.partPath, d.Row, "op", "", fmt.Sprintf("operation %q is not I, U or D", op), now))
					continue
				}
				img := m.spec.Image(d.Row)
				if _, err := m.out.PartitionOf(&img); err != nil {
					rq = append(rq, quarantineOf(m.name, d.Record, u.partPath, d.Row, "partition", "", err.Error(), now))
					continue
				}
				mine = append(mine, d.Row)
			}
			perUnit[i] = mine
			mu.Lock()
			q = append(q, rq...)
			res.RowsIn += in
			res.Rejected += int64(len(rq))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	byPart := map[string]*partChanges[C]{}
	for _, changes := range perUnit {
		for _, c := range changes {
			img := m.spec.Image(c)
			p, err := m.out.PartitionOf(&img)
			if err != nil {
				return res, fmt.Errorf("merge %s: %w", m.name, err)
			}
			path := partitionPath(p)
			pc := byPart[path]
			if pc == nil {
				pc = &partChanges[C]{part: p}
				byPart[path] = pc
			}
			pc.changes = append(pc.changes, c)
		}
	}
	paths := make([]string, 0, len(byPart))
	for p := range byPart {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	// 2. the ledger entry and the commit's idempotency key
	var inputs []InputFile
	for _, u := range units {
		inputs = append(inputs, u.inputs...)
	}
	h := sha256.New()
	for _, f := range inputs {
		fmt.Fprintf(h, "%s\x00", f.Key)
	}
	entry := &LedgerEntry{Transform: m.name, Epoch: l.Epoch, Unit: "merge:" + hex.EncodeToString(h.Sum(nil)[:12]), Inputs: inputs}
	key := entry.idempotencyKey()
	if len(q) > 0 {
		if err := writeQuarantine(ctx, m.qds, m.name, inputs, m.opts.Caller, q); err != nil {
			return res, err
		}
	}

	// 3. merge each affected partition with its current rows and
	// tombstones, in parallel; then write them all in one commit.
	var base int64
	snap, err := m.out.Snapshot(ctx, 0)
	switch {
	case err == nil:
		base = snap.Version
	case isNoTable(err):
	default:
		return res, err
	}
	md, err := entry.metadata()
	if err != nil {
		return res, err
	}
	w, err := m.out.NewWriter(ctx, &zones.WriterOptions{Mode: zones.OverwritePartitions, IdempotencyKey: key, Metadata: md, Caller: m.opts.Caller})
	if err != nil {
		return res, err
	}
	abort := func(err error) (*Result, error) {
		w.Abort(context.WithoutCancel(ctx))
		return res, err
	}
	type merged struct {
		rows  []T
		tombs map[K]O
		st    MergeStats
	}
	results := make([]merged, len(paths))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Parallelism)
	for i, path := range paths {
		g.Go(func() error {
			var current []T
			if base > 0 {
				for r, err := range readPartition(gctx, m.out, base, path) {
					if err != nil {
						return err
					}
					current = append(current, r)
				}
			}
			tombs, err := m.loadTombstones(gctx, path)
			if err != nil {
				return err
			}
			rows, newTombs, st, err := applyChanges(&m.spec, current, tombs, byPart[path].changes)
			if err != nil {
				return err
			}
			results[i] = merged{rows, newTombs, st}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return abort(err)
	}
	var empty []lake.Partition
	for i, path := range paths {
		r := results[i]
		res.Merge.add(r.st)
		// tombstones first: a crash before the data commit leaves them
		// ahead of the data, which a retry (same changes) reproduces.
		if err := m.saveTombstones(ctx, path, r.tombs); err != nil {
			return abort(err)
		}
		if len(r.rows) == 0 {
			empty = append(empty, byPart[path].part)
			continue
		}
		for len(r.rows) > 0 {
			n := min(len(r.rows), 8192)
			if err := w.Write(ctx, r.rows[:n]); err != nil {
				return abort(err)
			}
			res.RowsOut += int64(n)
			r.rows = r.rows[n:]
		}
	}
	if len(empty) > 0 {
		if err := w.ClearPartitions(empty...); err != nil {
			return abort(err)
		}
	}
	entry.RowsIn, entry.RowsOut, entry.Rejected = res.RowsIn, res.RowsOut, res.Rejected
	if b, err := json.Marshal(entry); err == nil {
		md[MetaLedger] = string(b) // the writer holds md: the final counts go into the commit
	}
	cr, err := w.Commit(ctx)
	if err != nil && (cr == nil || !errors.Is(err, zones.ErrCatalog)) {
		return res, err
	}
	res.Units, res.Files = 1, len(inputs)
	res.Versions = []int64{cr.Version}
	if cr.Duplicate {
		res.DuplicateCommits = 1
	}
	res.Duration = time.Since(start)
	if _, err := m.Ledger(ctx); err != nil {
		m.logger.Warn("transform: ledger cache not refreshed", "err", err)
	}
	m.logger.Info("transform: merge", append(res.logAttrs(), "partitions", len(paths), "inserted", res.Merge.Inserted,
		"updated", res.Merge.Updated, "deleted", res.Merge.Deleted, "stale", res.Merge.Stale)...)
	return res, nil
}

// writeQuarantine commits the rejects of a unit to the quarantine table:
// one commit per input file with rejects, keyed by the transform and the
// file (key, size, ETag) only. A retried unit, or a replay that groups the
// files differently, rejects the same records again and zones returns the
// earlier commit: they are not recorded twice.
func writeQuarantine(ctx context.Context, qds *zones.Dataset[Quarantine], name string, inputs []InputFile, caller string, q []Quarantine) error {
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
		qw, err := qds.NewWriter(ctx, &zones.WriterOptions{IdempotencyKey: e.idempotencyKey() + "-quarantine",
			Metadata: map[string]string{MetaTransform: name, "lakekit.transform.source": src}, Caller: caller})
		if err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		if err := qw.Write(ctx, bySource[src]); err != nil {
			qw.Abort(context.WithoutCancel(ctx))
			return fmt.Errorf("quarantine: %w", err)
		}
		if _, err := qw.Commit(ctx); err != nil && !errors.Is(err, zones.ErrCatalog) {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	return nil
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
