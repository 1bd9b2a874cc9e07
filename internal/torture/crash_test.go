package torture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/faultstore"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// scenario is what the killed child does; the parent prepares the lake
// for it and, after the kill, runs it again and checks the invariants.
type scenario string

const (
	scAppend    scenario = "append"    // append to days 0-3 of a table with days 0-1 (adds partitions)
	scOverwrite scenario = "overwrite" // OverwritePartitions of days 0-1 (moves partitions)
	scFirst     scenario = "first"     // the first commit of a table: catalog database and table created
	scCkpt      scenario = "checkpoint"
	scTransform scenario = "transform"
	scVacuum    scenario = "vacuum"
)

type crashCase struct {
	sc    scenario
	point KillPoint
}

const (
	mainData  = "curated/torture/events/"
	mainLog   = "curated/torture/events/_lakekit/log/"
	ckptTable = "curated/torture/ckpt/"
	copyData  = "curated/torture/copy/"
	copyLog   = "curated/torture/copy/_lakekit/log/"
	catParts  = "_lakekit/catalog/tables/torture/events/p/"
	catTable  = "_lakekit/catalog/tables/torture/events/_lakekit/log/"
)

// crashCases: one per named kill point.
var crashCases = []crashCase{
	{scAppend, KillPoint{Name: "write: before the first data-file upload", Op: "put", KeyContains: mainData, Nth: 1}},
	{scAppend, KillPoint{Name: "write: mid data-file upload", Op: "put", KeyContains: mainData, Nth: 2, MidBody: true}},
	{scAppend, KillPoint{Name: "write: after the last data-file upload", Op: "put", KeyContains: mainData, Nth: 4, After: true}},
	{scAppend, KillPoint{Name: "commit: before commit object create", Op: "create", KeyContains: mainLog, Nth: 1}},
	{scAppend, KillPoint{Name: "commit: mid commit object create", Op: "create", KeyContains: mainLog, Nth: 1, MidBody: true}},
	{scAppend, KillPoint{Name: "commit: after commit object create, before catalog", Op: "create", KeyContains: mainLog, Nth: 1, After: true}},
	{scAppend, KillPoint{Name: "catalog: before AddPartitions entry", Op: "create", KeyContains: catParts, Nth: 1}},
	{scAppend, KillPoint{Name: "catalog: after AddPartitions entry", Op: "create", KeyContains: catParts, Nth: 1, After: true}},
	{scAppend, KillPoint{Name: "catalog: before partition newest-version hint", Op: "put", KeyContains: catParts, Nth: 1}},
	{scOverwrite, KillPoint{Name: "overwrite: mid data-file upload", Op: "put", KeyContains: mainData, Nth: 1, MidBody: true}},
	{scOverwrite, KillPoint{Name: "overwrite: before commit object create", Op: "create", KeyContains: mainLog, Nth: 1}},
	{scOverwrite, KillPoint{Name: "overwrite: after commit, before catalog location swap", Op: "create", KeyContains: mainLog, Nth: 1, After: true}},
	{scOverwrite, KillPoint{Name: "overwrite: after catalog location swap entry", Op: "create", KeyContains: catParts, Nth: 1, After: true}},
	{scFirst, KillPoint{Name: "catalog: before CreateDatabase", Op: "create", KeyContains: "_lakekit/catalog/databases/", Nth: 1}},
	{scFirst, KillPoint{Name: "catalog: before CreateTable", Op: "create", KeyContains: catTable, Nth: 1}},
	{scFirst, KillPoint{Name: "catalog: after CreateTable, before partitions", Op: "create", KeyContains: catTable, Nth: 1, After: true}},
	{scCkpt, KillPoint{Name: "checkpoint: mid checkpoint upload", Op: "put", KeyContains: ckptTable + "_lakekit/checkpoint/", Nth: 1, MidBody: true}},
	{scCkpt, KillPoint{Name: "checkpoint: before _last_checkpoint hint", Op: "put", KeyContains: "_last_checkpoint", Nth: 1}},
	{scTransform, KillPoint{Name: "ledger: mid output data upload", Op: "put", KeyContains: copyData, Nth: 3, MidBody: true}},
	{scTransform, KillPoint{Name: "ledger: before the first output commit", Op: "create", KeyContains: copyLog, Nth: 1}},
	{scTransform, KillPoint{Name: "ledger: after the second output commit", Op: "create", KeyContains: copyLog, Nth: 2, After: true}},
	{scTransform, KillPoint{Name: "ledger: mid ledger cache write", Op: "put", KeyContains: "_lakekit/transform/", Nth: 1, MidBody: true}},
	{scVacuum, KillPoint{Name: "vacuum: after listing, before deleting", Op: "list", KeyContains: mainData, Nth: 1, After: true}},
	{scVacuum, KillPoint{Name: "vacuum: before the first delete", Op: "delete", KeyContains: ".parquet", Nth: 1}},
	{scVacuum, KillPoint{Name: "vacuum: after 3 of 5 deletes", Op: "delete", KeyContains: ".parquet", Nth: 3, After: true}},
	{scVacuum, KillPoint{Name: "vacuum: after the last delete", Op: "delete", KeyContains: ".parquet", Nth: 5, After: true}},
}

const crashRetention = 50 * time.Millisecond

// crashEnv is a lake over the file store at dir (through kd when set).
type crashEnv struct {
	dir  string
	lk   *lake.Lake
	cat  *catalog.Local
	main *zones.Dataset[Row]
	ckpt *zones.Dataset[Row]
	src  *zones.Dataset[Row]
	dst  *zones.Dataset[Row]
	tr   *transform.Transform[Row, Row]
}

func openCrashEnv(dir string, point *KillPoint) (*crashEnv, error) {
	fs, err := filestore.New(dir, &filestore.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	s := lake.NewStore(fs)
	if point != nil {
		s = lake.NewStore(&KillDriver{Driver: fs, Point: *point})
	}
	e := &crashEnv{dir: dir}
	if e.lk, err = lake.New(s, &lake.Options{Logger: quiet}); err != nil {
		return nil, err
	}
	if e.cat, err = catalog.OpenLocal(e.lk); err != nil {
		return nil, err
	}
	if e.main, err = zones.NewDataset[Row](e.lk, lake.Curated, "torture", "events", &zones.Options[Row]{Catalog: e.cat, InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	if e.ckpt, err = zones.NewDataset[Row](e.lk, lake.Curated, "torture", "ckpt", &zones.Options[Row]{InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	if e.src, err = zones.NewDataset[Row](e.lk, lake.Cleaned, "torture", "src", &zones.Options[Row]{InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	if e.dst, err = zones.NewDataset[Row](e.lk, lake.Curated, "torture", "copy", &zones.Options[Row]{InMemoryBuffers: true}); err != nil {
		return nil, err
	}
	e.tr, err = transform.New("copy", transform.FromDataset(e.src), transform.Identity[Row](), e.dst,
		&transform.Options[Row]{FilesPerUnit: 2, Parallelism: 1, Logger: quiet})
	return e, err
}

// the write each scenario's child makes.
func crashWrite(sc scenario) (key string, mode zones.Mode) {
	switch sc {
	case scOverwrite:
		return opKey("child", 1, zones.OverwritePartitions, 3), zones.OverwritePartitions
	case scCkpt:
		return opKey("child", 50, zones.Append, 5), zones.Append
	}
	return opKey("child", 1, zones.Append, 15), zones.Append
}

func mustWrite(ctx context.Context, ds *zones.Dataset[Row], key string, mode zones.Mode) error {
	o, _, _, err := write(ctx, ds, key, mode, 1)
	if o != committed {
		return fmt.Errorf("write %s: %v", key, err)
	}
	return nil
}

// prepare makes the lake the scenario starts from.
func prepare(ctx context.Context, e *crashEnv, sc scenario) error {
	switch sc {
	case scAppend, scOverwrite:
		return mustWrite(ctx, e.main, opKey("seed", 0, zones.Append, 3), zones.Append)
	case scCkpt:
		for i := 1; i < zones.CheckpointInterval; i++ {
			if err := mustWrite(ctx, e.ckpt, opKey("seed", i, zones.Append, 1<<(i%4)), zones.Append); err != nil {
				return err
			}
		}
	case scTransform:
		for i := 0; i < 6; i++ {
			if err := mustWrite(ctx, e.src, opKey("src", i, zones.Append, 1<<(i%4)), zones.Append); err != nil {
				return err
			}
		}
	case scVacuum:
		// 5 dead files: 4 replaced by overwrites, 1 orphan of an aborted write
		if err := mustWrite(ctx, e.main, opKey("seed", 0, zones.Append, 15), zones.Append); err != nil {
			return err
		}
		if err := mustWrite(ctx, e.main, opKey("seed", 1, zones.OverwritePartitions, 15), zones.OverwritePartitions); err != nil {
			return err
		}
		// a writer whose commit object is refused leaves its uploaded file behind
		fs, err := filestore.New(e.dir, &filestore.Options{NoSync: true})
		if err != nil {
			return err
		}
		fd := faultstore.Wrap(fs, &faultstore.Options{Rules: []faultstore.Rule{{Op: faultstore.OpCreate, KeyContains: mainLog, Probability: 1, Fault: faultstore.Fail}}})
		lk, err := lake.New(lake.NewStore(fd), &lake.Options{Logger: quiet})
		if err != nil {
			return err
		}
		ds, err := zones.NewDataset[Row](lk, lake.Curated, "torture", "events", &zones.Options[Row]{InMemoryBuffers: true})
		if err != nil {
			return err
		}
		if o, _, _, err := write(ctx, ds, opKey("orphan", 0, zones.Append, 1), zones.Append, 1); o != ambiguous {
			return fmt.Errorf("the orphan's commit was not refused: %v", err)
		}
		time.Sleep(2 * crashRetention) // the writer "crashed" here: its file stays, uncommitted
	}
	return nil
}

// run is the scenario itself (the child's work, and the parent's rerun).
func (e *crashEnv) run(ctx context.Context, sc scenario) error {
	switch sc {
	case scTransform:
		_, err := e.tr.Run(ctx)
		return err
	case scVacuum:
		_, err := e.main.Vacuum(ctx, crashRetention)
		return err
	case scCkpt:
		key, mode := crashWrite(sc)
		return mustWrite(ctx, e.ckpt, key, mode)
	}
	key, mode := crashWrite(sc)
	return mustWrite(ctx, e.main, key, mode)
}

func crashChild(name, dir string) int {
	for _, c := range crashCases {
		if c.point.Name != name {
			continue
		}
		e, err := openCrashEnv(dir, &c.point)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := e.run(context.Background(), c.sc); err != nil {
			fmt.Fprintln(os.Stderr, "scenario failed before the kill point:", err)
			return 2
		}
		fmt.Fprintln(os.Stderr, "the scenario finished without reaching the kill point")
		return 3
	}
	fmt.Fprintf(os.Stderr, "no crash point %q\n", name)
	return 2
}

func TestCrashPoints(t *testing.T) {
	if name := os.Getenv("CRASH_POINT"); name != "" {
		os.Exit(crashChild(name, os.Getenv("CRASH_DIR")))
	}
	if len(crashCases) < 20 {
		t.Fatalf("%d crash points, want at least 20", len(crashCases))
	}
	for _, c := range crashCases {
		t.Run(c.point.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			e, err := openCrashEnv(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := prepare(ctx, e, c.sc); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashPoints$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CRASH_POINT="+c.point.Name, "CRASH_DIR="+dir)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("child was not killed: %v; stderr: %s", err, stderr.String())
			}
			if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed at %q: %v; stderr: %s", c.point.Name, err, stderr.String())
			}
			// the next run, in a fresh process state, recovers
			e, err = openCrashEnv(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := recoverAndCheck(ctx, t, e, c.sc); err != nil {
				t.Fatalf("after a kill at %q: %v", c.point.Name, err)
			}
		})
	}
}

// recoverAndCheck checks what the crash left, reruns the scenario and
// checks every invariant.
func recoverAndCheck(ctx context.Context, t *testing.T, e *crashEnv, sc scenario) error {
	ds := e.main
	switch sc {
	case scCkpt:
		ds = e.ckpt
	case scTransform:
		ds = e.dst
	}
	// 1. what the crash left is the last committed snapshot, whole
	before, err := ds.History(ctx)
	if err != nil && !errors.Is(err, zones.ErrNoSuchTable) {
		return err
	}
	if len(before) > 0 {
		if sc == scTransform {
			got, err := e.dst.ReadAll(ctx, nil)
			if err != nil {
				return err
			}
			if err := wholeWrites(got); err != nil {
				return fmt.Errorf("transform output after the crash: %w", err)
			}
		} else if err := checkVersion(ctx, ds, before, len(before)); err != nil {
			return fmt.Errorf("after the crash: %w", err)
		}
	}
	key, _ := crashWrite(sc)
	committedBefore := false
	for _, c := range before {
		committedBefore = committedBefore || c.IdempotencyKey == key
	}
	// 2. the next run
	if sc == scAppend || sc == scOverwrite || sc == scFirst || sc == scCkpt {
		_, mode := crashWrite(sc)
		o, res, _, err := write(ctx, ds, key, mode, 1)
		if o != committed {
			return fmt.Errorf("rerun of the write: %v", err)
		}
		if res.Duplicate != committedBefore {
			return fmt.Errorf("rerun of the write: Duplicate %v, but the key was committed before the rerun: %v", res.Duplicate, committedBefore)
		}
	} else if err := e.run(ctx, sc); err != nil {
		return fmt.Errorf("rerun: %w", err)
	}
	// 3. invariants
	log, err := ds.History(ctx)
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	for _, c := range log {
		if keys[c.IdempotencyKey] {
			return fmt.Errorf("key %s committed twice", c.IdempotencyKey)
		}
		keys[c.IdempotencyKey] = true
	}
	switch sc {
	case scTransform:
		srcLog, err := e.src.History(ctx)
		if err != nil {
			return err
		}
		want, _ := replay(srcLog)
		got, err := e.dst.ReadAll(ctx, nil)
		if err != nil {
			return err
		}
		if err := checkRows(got, want); err != nil {
			return fmt.Errorf("transform output after the rerun: %w", err)
		}
		return nil
	case scVacuum:
		snap, err := ds.Snapshot(ctx, 0)
		if err != nil {
			return err
		}
		n, err := countData(ctx, ds)
		if err != nil {
			return err
		}
		if n != len(snap.Files) {
			return fmt.Errorf("after the vacuum rerun %d data files remain, %d are live", n, len(snap.Files))
		}
	default:
		if !keys[key] {
			return fmt.Errorf("the rerun's key %s is not in the log", key)
		}
	}
	for v := 1; v <= len(log); v++ {
		if sc == scVacuum && v < len(log) {
			continue // the vacuum removed the files of older versions
		}
		if err := checkVersion(ctx, ds, log, v); err != nil {
			return err
		}
	}
	if ds == e.main {
		// the rerun (a Duplicate when the commit had landed) repeats the
		// catalog step: no SyncCatalog needed
		if err := catalogMatches(ctx, e.cat, e.main); err != nil {
			return fmt.Errorf("catalog after the rerun: %w", err)
		}
	}
	// orphans of the killed writer go with a vacuum past the retention, live files stay
	time.Sleep(crashRetention)
	if _, err := ds.Vacuum(ctx, crashRetention); err != nil {
		return err
	}
	snap, err := ds.Snapshot(ctx, 0)
	if err != nil {
		return err
	}
	if n, err := countData(ctx, ds); err != nil || n != len(snap.Files) {
		return fmt.Errorf("after vacuum %d data files (%v), %d live", n, err, len(snap.Files))
	}
	return checkVersion(ctx, ds, log, len(log))
}

func checkVersion(ctx context.Context, ds *zones.Dataset[Row], log []zones.Commit, v int) error {
	want, err := replay(log[:v])
	if err != nil {
		return err
	}
	got, err := readAll(ctx, ds, int64(v))
	if err != nil {
		return fmt.Errorf("read version %d: %w", v, err)
	}
	if err := checkRows(got, want); err != nil {
		return fmt.Errorf("version %d: %w", v, err)
	}
	return nil
}

func countData(ctx context.Context, ds *zones.Dataset[Row]) (int, error) {
	n := 0
	for en, err := range ds.Table().Zone().Store().List(ctx, ds.Table().Prefix()+"/", nil) {
		if err != nil {
			return 0, err
		}
		if strings.HasSuffix(en.Key, ".parquet") && !strings.Contains(en.Key, "/_lakekit/") {
			n++
		}
	}
	return n, nil
}

// TestRetriedCommitRepairsCatalog: a writer killed after its commit object
// landed but before the catalog was told is retried with the same
// idempotency key, as the docs recommend. The retry returns the earlier
// commit (Duplicate) — and must bring the catalog up to date, or Athena
// keeps reading the old partition locations, which a vacuum deletes after
// the retention: an empty partition on AWS without any error reported.
// (Found by TestCrashPoints; fixed in zones 8e2ba99.)
func TestRetriedCommitRepairsCatalog(t *testing.T) {
	for _, name := range []string{"commit: after commit object create, before catalog", "overwrite: after commit, before catalog location swap"} {
		t.Run(name, func(t *testing.T) {
			var c crashCase
			for _, cc := range crashCases {
				if cc.point.Name == name {
					c = cc
				}
			}
			ctx := context.Background()
			dir := t.TempDir()
			e, err := openCrashEnv(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := prepare(ctx, e, c.sc); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashPoints$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CRASH_POINT="+name, "CRASH_DIR="+dir)
			if err := cmd.Run(); err == nil {
				t.Fatal("child was not killed")
			}
			e, err = openCrashEnv(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			key, mode := crashWrite(c.sc)
			o, res, _, err := write(ctx, e.main, key, mode, 1)
			if o != committed || !res.Duplicate {
				t.Fatalf("retry: %v %+v", err, res)
			}
			if err := catalogMatches(ctx, e.cat, e.main); err != nil {
				t.Fatalf("the retried commit (Duplicate) left the catalog behind the log: %v", err)
			}
		})
	}
}
