package transform

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/zones"
)

// FanOut splits a transform's pending work into plan → workers → one
// commit, so that thousands of units (a backfill, a reprocessing) can run
// on many machines — a Step Functions Distributed Map (see the orchestrate
// package's DistributedMapStep), or N local workers (RunLocal) — and still
// land as ONE table version holding every unit's output and ledger entry,
// or as nothing:
//
//   - Plan lists the units not yet in the ledger and writes them as a
//     manifest, one JSON object per line (FanOutUnit), in the transform's
//     system store: "<transform>/fanout/<plan id>/manifest.jsonl", the
//     JSONL a Distributed Map's ItemReader reads. The plan id is derived
//     from the transform, the ledger epoch and the units' exact inputs, so
//     planning the same pending work again gives the same plan.
//   - Work processes a batch of units. Each unit's output is written as
//     Parquet (one file per output partition) under the output table's
//     staging folder "_lakekit/staging/fanout-<plan id>/u-<unit hash>/",
//     with names derived from the unit: a worker that is retried or runs
//     twice overwrites the same objects, so no row is written twice. Nothing
//     is committed; the batch's result (files, counts, ledger entries) is
//     returned and stored under "<transform>/fanout/<plan id>/results/".
//   - Commit gathers the results, checks that every unit of the manifest
//     has one, and adopts all the files (zones.Dataset.AddFiles, footers
//     checked) in one commit whose metadata holds every ledger entry
//     (MetaLedgerBatch), under an idempotency key derived from the plan.
//     The files are taken over where they are, not copied: the commit
//     moves them into place as it does a writer's staged files, so the
//     commit step's time is that of the moves (16 at once), and no worker
//     of the plan may still run once its commit step starts (a Map state
//     ends only when every child has). A missing result commits nothing. Files of workers whose results are
//     never committed stay in the staging folder, invisible to readers,
//     until Vacuum deletes them after the retention.
//
// Rejected records go to the quarantine dataset from the workers, in its
// own idempotent commits (as Transform.Run does). DedupKey is refused:
// workers on other machines cannot deduplicate against each other.
type FanOut[In, Out any] struct {
	t *Transform[In, Out]
}

// NewFanOut returns the fan-out form of t.
func NewFanOut[In, Out any](t *Transform[In, Out]) (*FanOut[In, Out], error) {
	if t == nil {
		return nil, invalidf("fan-out: nil transform")
	}
	if t.opts.DedupKey != nil {
		return nil, invalidf("transform %s: fan-out: DedupKey is not supported (workers cannot deduplicate against each other)", t.name)
	}
	return &FanOut[In, Out]{t: t}, nil
}

// Name is the transform's name.
func (f *FanOut[In, Out]) Name() string { return f.t.name }

// FanOutUnit is one unit of work of a plan: one line of the manifest, and
// the item a Distributed Map hands a worker.
type FanOutUnit struct {
	Plan      string      `json:"plan"`
	Unit      string      `json:"unit"`
	Partition string      `json:"partition,omitempty"`
	Inputs    []InputFile `json:"inputs"`
	// InputVersion and Files are set for a dataset source: the version
	// read and the data files of the unit.
	InputVersion int64            `json:"input_version,omitempty"`
	Files        []zones.DataFile `json:"files,omitempty"`
	// ErrorOutput lists inputs that are a service's error output.
	ErrorOutput []string `json:"error_output,omitempty"`
}

// FanOutPlan describes a plan: what Plan wrote and the state machine and
// workers need to find it.
type FanOutPlan struct {
	ID        string `json:"id"`
	Transform string `json:"transform"`
	Epoch     int    `json:"epoch"`
	Units     int    `json:"units"`
	// Manifest is the manifest's key in the transform's system store and
	// ManifestURL its location (s3://bucket/key on S3): a Distributed
	// Map's ItemReader reads it (ManifestBucket, ManifestKey).
	Manifest       string `json:"manifest"`
	ManifestURL    string `json:"manifest_url"`
	ManifestBucket string `json:"manifest_bucket,omitempty"`
	ManifestKey    string `json:"manifest_key,omitempty"`
	// ResultsURL is the folder the workers' results go to; a Distributed
	// Map's ResultWriter may write there too (Commit reads only the
	// workers' own result objects).
	ResultsURL string `json:"results_url"`
	// Staging is the output table's folder the workers write under.
	Staging string `json:"staging"`
	// BaseVersion is the output table's version when the plan was made.
	BaseVersion int64 `json:"base_version"`
	// Replay is set for the plan of a replay (FanOut.Replay): its units
	// are every input partition in the range, and its commit overwrites
	// the output partitions they write.
	Replay *ReplayRange `json:"replay,omitempty"`
}

// FanOutResult is what a worker returns for a batch: small (no rows).
type FanOutResult struct {
	Plan  string          `json:"plan"`
	Units []FanOutUnitOut `json:"units"`
}

// FanOutUnitOut is one unit's outcome: its ledger entry (with counts) and
// the staging files holding its output (keys in the output table's zone).
type FanOutUnitOut struct {
	Entry LedgerEntry `json:"entry"`
	Files []string    `json:"files,omitempty"`
}

// ErrFanOutIncomplete is returned by Commit when a unit of the plan has no
// worker result: nothing is committed.
var ErrFanOutIncomplete = errors.New("transform: fan-out incomplete")

func (f *FanOut[In, Out]) sys() *lake.Store { return f.t.sys }

func (f *FanOut[In, Out]) planDir(id string) string { return f.t.name + "/fanout/" + id + "/" }

func (f *FanOut[In, Out]) stagingPrefix(id string) string {
	return f.t.out.Table().Prefix() + "/" + zones.StagingDir + "fanout-" + id + "/"
}

// Plan lists the units not yet in the ledger (all of them: Options.MaxUnits
// bounds them as for Run) and writes the manifest and the plan. A plan
// with no unit is written too (an empty manifest): its Commit does nothing.
func (f *FanOut[In, Out]) Plan(ctx context.Context) (*FanOutPlan, error) {
	return f.plan(ctx, nil)
}

// plan plans the pending units, or with r the replay of r's input
// partitions (see Replay).
func (f *FanOut[In, Out]) plan(ctx context.Context, r *ReplayRange) (*FanOutPlan, error) {
	t := f.t
	l, err := t.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	var units []*unit
	if r == nil {
		units, err = t.src.plan(ctx, l, planOptions{wholePartitions: t.opts.Mode == zones.OverwritePartitions,
			filesPerUnit: t.opts.FilesPerUnit, maxUnits: t.opts.MaxUnits})
	} else {
		units, err = f.replayUnits(ctx, r)
	}
	if err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan: %w", t.name, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", t.name, l.Epoch)
	if r != nil { // a replay is of the output version it replaces partitions of
		fmt.Fprintf(h, "replay\x00%s\x00%s\x00%s\x00%d\x00", r.Key, r.From, r.To, l.Version)
	}
	for _, u := range units {
		e := LedgerEntry{Transform: t.name, Epoch: l.Epoch, Unit: u.name, Inputs: u.inputs}
		fmt.Fprintf(h, "%s\x00", e.idempotencyKey())
	}
	id := hex.EncodeToString(h.Sum(nil)[:10])
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, u := range units {
		fu := FanOutUnit{Plan: id, Unit: u.name, Partition: u.partPath, Inputs: u.inputs, InputVersion: u.version, Files: u.files}
		for k := range u.errorOutput {
			fu.ErrorOutput = append(fu.ErrorOutput, k)
		}
		sort.Strings(fu.ErrorOutput)
		if err := enc.Encode(fu); err != nil {
			return nil, err
		}
	}
	sys := f.sys()
	dir := f.planDir(id)
	p := &FanOutPlan{ID: id, Transform: t.name, Epoch: l.Epoch, Units: len(units), Manifest: dir + "manifest.jsonl",
		ManifestURL: sys.Location(dir + "manifest.jsonl"), ResultsURL: sys.Location(dir + "results/"),
		Staging: t.out.Table().Zone().Store().Location(f.stagingPrefix(id)), BaseVersion: l.Version, Replay: r}
	if b, k, ok := strings.Cut(strings.TrimPrefix(p.ManifestURL, "s3://"), "/"); ok && strings.HasPrefix(p.ManifestURL, "s3://") {
		p.ManifestBucket, p.ManifestKey = b, k
	}
	if err := sys.PutBytes(ctx, p.Manifest, buf.Bytes(), &lake.PutOptions{ContentType: "application/jsonl"}); err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan: writing the manifest: %w", t.name, err)
	}
	pb, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := sys.PutBytes(ctx, dir+"plan.json", pb, &lake.PutOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan: writing the plan: %w", t.name, err)
	}
	return p, nil
}

// LoadPlan reads a plan Plan wrote.
func (f *FanOut[In, Out]) LoadPlan(ctx context.Context, id string) (*FanOutPlan, error) {
	if err := checkPlanID(id); err != nil {
		return nil, err
	}
	b, err := readAll(ctx, f.sys(), f.planDir(id)+"plan.json")
	if err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan %s: %w", f.t.name, id, err)
	}
	var p FanOutPlan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan %s: %v: %w", f.t.name, id, err, ErrLedger)
	}
	return &p, nil
}

// Units reads the plan's manifest: the units in plan order.
func (f *FanOut[In, Out]) Units(ctx context.Context, id string) ([]FanOutUnit, error) {
	if err := checkPlanID(id); err != nil {
		return nil, err
	}
	b, err := readAll(ctx, f.sys(), f.planDir(id)+"manifest.jsonl")
	if err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan %s: manifest: %w", f.t.name, id, err)
	}
	var units []FanOutUnit
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var u FanOutUnit
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			return nil, fmt.Errorf("transform %s: fan-out plan %s: manifest line %d: %v: %w", f.t.name, id, n, err, ErrInvalid)
		}
		units = append(units, u)
	}
	return units, sc.Err()
}

func checkPlanID(id string) error {
	if len(id) != 20 || strings.Trim(id, "0123456789abcdef") != "" {
		return invalidf("fan-out plan id %q (want the 20 hex digits Plan returned)", id)
	}
	return nil
}

func readAll(ctx context.Context, st *lake.Store, key string) ([]byte, error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	return buf.Bytes(), err
}

// unitHash names a unit's staging folder and files.
func unitHash(planID, unit string) string {
	h := sha256.Sum256([]byte(planID + "\x00" + unit))
	return hex.EncodeToString(h[:10])
}

// Work processes a batch of the plan's units (manifest items, as a
// Distributed Map's ItemBatcher hands them) and writes their output,
// without committing, where engines reading the output table do not look:
// the plan's generation folder for partitions the table does not have (or
// all of them, for a replay), which the commit makes their locations with
// no move, else the table's staging folder (see fanOutOutputs). It stores the batch's result under
// the plan's results folder and returns it. Running a batch again (a
// retry, a second worker) writes the same objects again.
func (f *FanOut[In, Out]) Work(ctx context.Context, units []FanOutUnit) (*FanOutResult, error) {
	t := f.t
	if len(units) == 0 {
		return nil, invalidf("transform %s: fan-out work: an empty batch", t.name)
	}
	id := units[0].Plan
	if err := checkPlanID(id); err != nil {
		return nil, err
	}
	out := &FanOutResult{Plan: id, Units: make([]FanOutUnitOut, len(units))}
	for _, fu := range units {
		if fu.Plan != id {
			return nil, invalidf("transform %s: fan-out work: a batch mixes plans %s and %s", t.name, id, fu.Plan)
		}
	}
	place, err := f.outputs(ctx, id)
	if err != nil {
		return nil, err
	}
	var names []string
	for i, fu := range units {
		uo, err := f.workUnit(ctx, fu, place)
		if err != nil {
			return nil, fmt.Errorf("transform %s: fan-out plan %s: unit %s: %w", t.name, id, fu.Unit, err)
		}
		out.Units[i] = *uo
		names = append(names, fu.Unit)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	key := f.planDir(id) + "results/" + unitHash(id, strings.Join(names, "\x00")) + ".json"
	if err := f.sys().PutBytes(ctx, key, b, &lake.PutOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("transform %s: fan-out plan %s: storing the batch result: %w", t.name, id, err)
	}
	return out, nil
}

// stagedPart is one output partition's file of a unit, being written.
type stagedPart[Out any] struct {
	buf bytes.Buffer
	w   *parquet.GenericWriter[Out]
}

func (f *FanOut[In, Out]) workUnit(ctx context.Context, fu FanOutUnit, place *fanOutOutputs) (*FanOutUnitOut, error) {
	t := f.t
	u := &unit{name: fu.Unit, partPath: fu.Partition, inputs: fu.Inputs, files: fu.Files, version: fu.InputVersion}
	if fu.Partition != "" {
		p, err := lake.ParsePartitionPath(fu.Partition)
		if err != nil {
			return nil, invalidf("manifest unit %s: partition %q: %v", fu.Unit, fu.Partition, err)
		}
		u.partition = p
	}
	if len(fu.ErrorOutput) > 0 {
		u.errorOutput = map[string]bool{}
		for _, k := range fu.ErrorOutput {
			u.errorOutput[k] = true
		}
	}
	parts := map[string]*stagedPart[Out]{}
	var order []string
	sink := func(_ context.Context, rows []Out) error {
		for i := range rows {
			p, err := t.out.PartitionOf(&rows[i])
			if err != nil {
				return err
			}
			pp := partitionPath(p)
			sp := parts[pp]
			if sp == nil {
				sp = &stagedPart[Out]{}
				sp.w = parquet.NewGenericWriter[Out](&sp.buf, t.out.Schema(), parquet.Compression(&parquet.Zstd))
				parts[pp] = sp
				order = append(order, pp)
			}
			if _, err := sp.w.Write(rows[i : i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	r := &unitRun[In, Out]{t: t, u: u, res: &Result{Transform: t.name}, now: time.Now().UTC(), sink: sink}
	r.entry = &LedgerEntry{Transform: t.name, Epoch: 0, Unit: u.name, Partition: u.partPath, Inputs: u.inputs, InputVersion: u.version}
	if err := r.process(ctx); err != nil {
		return nil, err
	}
	if len(r.q) > 0 {
		if _, err := writeQuarantine(ctx, t.qds, t.name, u.inputs, t.opts.Caller, r.q); err != nil {
			return nil, err
		}
	}
	st := t.out.Table().Zone().Store()
	h := unitHash(fu.Plan, fu.Unit)
	dir := f.stagingPrefix(fu.Plan) + "u-" + h + "/"
	uo := &FanOutUnitOut{Entry: *r.entry}
	uo.Entry.RowsIn, uo.Entry.RowsOut, uo.Entry.Rejected = r.res.RowsIn, r.res.RowsOut, r.res.Rejected
	sort.Strings(order)
	for i, pp := range order {
		sp := parts[pp]
		if err := sp.w.Close(); err != nil {
			return nil, err
		}
		key := place.key(dir, pp, fmt.Sprintf("part-%s-%05d.parquet", h, i))
		if err := st.PutBytes(ctx, key, sp.buf.Bytes(), nil); err != nil {
			return nil, fmt.Errorf("staging %s: %w", st.Location(key), err)
		}
		uo.Files = append(uo.Files, key)
	}
	return uo, nil
}

// Results reads the batch results the workers stored for the plan.
func (f *FanOut[In, Out]) Results(ctx context.Context, id string) ([]*FanOutResult, error) {
	if err := checkPlanID(id); err != nil {
		return nil, err
	}
	sys := f.sys()
	entries, err := sys.ListAll(ctx, f.planDir(id)+"results/", nil)
	if err != nil {
		return nil, err
	}
	var out []*FanOutResult
	for _, e := range entries {
		if e.IsDir || !strings.HasSuffix(e.Key, ".json") {
			continue
		}
		b, err := readAll(ctx, sys, e.Key)
		if err != nil {
			return nil, err
		}
		var r FanOutResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("transform %s: fan-out result %s: %v: %w", f.t.name, sys.Location(e.Key), err, ErrInvalid)
		}
		out = append(out, &r)
	}
	return out, nil
}

// Commit makes the plan's one commit: every unit's staging files and
// ledger entry, from results (nil: the results the workers stored, see
// Results). Each unit of the manifest must have a result, else nothing is
// committed and the error wraps ErrFanOutIncomplete naming the first
// missing units. A plan whose commit is already in the table is reported
// as a duplicate (Result.DuplicateCommits 1); a plan made stale by another
// commit of its units (or a rewind) is refused with ErrConflict: plan
// again. A replay's plan (Replay) commits with OverwritePartitions and is
// stale once the output table has any commit after the one it was
// planned on. The error says what is committed as for Transform.Run.
func (f *FanOut[In, Out]) Commit(ctx context.Context, id string, results []*FanOutResult) (*Result, error) {
	start := time.Now()
	t := f.t
	p, err := f.LoadPlan(ctx, id)
	if err != nil {
		return nil, err
	}
	units, err := f.Units(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &Result{Transform: t.name}
	if len(units) == 0 {
		res.finish(start)
		return res, nil
	}
	if results == nil {
		if results, err = f.Results(ctx, id); err != nil {
			return nil, err
		}
	}
	entries, files, err := f.gather(p, units, results, res)
	if err != nil {
		return nil, err
	}
	key := "transform-" + t.name + "-fanout-" + id
	l, err := t.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	stale := l.Epoch != p.Epoch
	if p.Replay != nil { // replayed units are done: the table must not have moved on
		stale = stale || l.Version != p.BaseVersion
	} else {
		stale = stale || f.anyDone(l, units)
	}
	if stale {
		prev, err := commitWithKey(ctx, t.out.Table(), key)
		if err != nil {
			return nil, err
		}
		if prev == nil {
			return nil, fmt.Errorf("transform %s: fan-out plan %s is stale: the ledger moved on since it was made (another run or a rewind); nothing committed, plan again: %w", t.name, id, zones.ErrConflict)
		}
		res.Units, res.Versions, res.DuplicateCommits, res.RowsOut = len(units), []int64{prev.Version}, 1, prev.Rows()
		res.finish(start)
		return res, nil
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	md := map[string]string{MetaTransform: t.name, MetaLedgerBatch: string(b)}
	mode := t.opts.Mode
	if p.Replay != nil {
		mode = zones.OverwritePartitions
	}
	var c *committed
	if len(files) == 0 {
		w, err := t.out.NewWriter(ctx, &zones.WriterOptions{Mode: mode, Caller: t.opts.Caller, IdempotencyKey: key, Metadata: md})
		if err != nil {
			return nil, err
		}
		c, err = commitWriter(ctx, w, t.out.Table(), key)
		if err != nil {
			return nil, fmt.Errorf("transform %s: fan-out plan %s: %w", t.name, id, err)
		}
	} else {
		c, err = commitWriter(ctx, adoption[Out]{out: t.out, files: files,
			opts: &zones.AddFilesOptions{Mode: mode, IdempotencyKey: key, Metadata: md, Caller: t.opts.Caller}}, t.out.Table(), key)
		if err != nil {
			return nil, fmt.Errorf("transform %s: fan-out plan %s: %w", t.name, id, err)
		}
	}
	res.Units = len(units)
	res.Versions = []int64{c.version}
	if c.duplicate {
		res.DuplicateCommits = 1
		res.RowsOut = c.rows
	}
	res.CatalogErr = c.catalogErr
	// The staging files are the table's now: AddFiles took them over and
	// the commit moved them into place (or the next commit, SyncCatalog or
	// Vacuum does, when a move failed); they must not be deleted here.
	if _, lerr := t.Ledger(ctx); lerr != nil {
		t.logger.Warn("transform: ledger cache not refreshed", "err", lerr)
	}
	res.finish(start)
	t.logger.Info("transform: fan-out committed", append(res.logAttrs(), "plan", id)...)
	return res, catalogOutcome(t.name, res)
}

// gather finds every unit's result: the ledger entries (with the plan's
// epoch and the manifest's inputs) and staging files to commit, counted in
// res; a unit without a result is ErrFanOutIncomplete.
func (f *FanOut[In, Out]) gather(p *FanOutPlan, units []FanOutUnit, results []*FanOutResult, res *Result) ([]*LedgerEntry, []string, error) {
	done := map[string]*FanOutUnitOut{}
	for _, r := range results {
		if r == nil || r.Plan != p.ID {
			continue
		}
		for i := range r.Units {
			done[r.Units[i].Entry.Unit] = &r.Units[i]
		}
	}
	var missing, files []string
	entries := make([]*LedgerEntry, 0, len(units))
	for _, u := range units {
		uo := done[u.Unit]
		if uo == nil {
			missing = append(missing, u.Unit)
			continue
		}
		e := uo.Entry
		e.Transform, e.Epoch, e.Unit, e.Partition, e.Inputs, e.InputVersion = f.t.name, p.Epoch, u.Unit, u.Partition, u.Inputs, u.InputVersion
		entries = append(entries, &e)
		files = append(files, uo.Files...)
		res.RowsIn += e.RowsIn
		res.RowsOut += e.RowsOut
		res.Rejected += e.Rejected
		res.Files += len(e.Inputs)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("transform %s: fan-out plan %s: %d of %d unit(s) have no worker result (first: %s); nothing committed (rerun the failed batches, then Commit): %w",
			f.t.name, p.ID, len(missing), len(units), strings.Join(missing[:min(3, len(missing))], ", "), ErrFanOutIncomplete)
	}
	return entries, files, nil
}

// anyDone reports whether the ledger already holds one of the units.
func (f *FanOut[In, Out]) anyDone(l *Ledger, units []FanOutUnit) bool {
	for _, u := range units {
		if strings.HasPrefix(u.Unit, "partition:") {
			if l.partitionDone(u.Unit, u.Inputs) {
				return true
			}
			continue
		}
		all := len(u.Inputs) > 0
		for _, in := range u.Inputs {
			all = all && l.Consumed(in)
		}
		if all {
			return true
		}
	}
	return false
}
