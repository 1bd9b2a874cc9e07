package torture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/internal/testaws"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/filestore"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/zones"
)

// This file holds what the failure-path torture tests share: the lakes
// they run on (file store + local catalog, S3 on gofakes3 + local catalog,
// S3 + Glue on moto), a catalog wrapper that acts before or after any
// catalog call, externalView (a table read the way Athena reads it,
// counted and checksummed by DuckDB), drift accounting and counters.

// lakeSpec is one isolated lake: a raw store (what is on disk or in the
// bucket) and how a process opens its catalog. Every open() is a fresh
// "process" over the same storage: no caches shared with earlier opens.
type lakeSpec struct {
	kind   string // "file", "gofakes3", "moto"
	where  string // file: the root folder; S3: the endpoint
	prefix string // S3: the lake's prefix in bucket "torture"
	raw    driver.Driver
	db     string
	newCat func(lk *lake.Lake) (catalog.Catalog, error)
	local  bool // objects are local files (DuckDB reads them in place)
}

// xenv is one process's view of a lakeSpec: hooks on every store and
// catalog call, the torture table with the catalog attached.
type xenv struct {
	spec *lakeSpec
	hd   *hookDriver
	hc   *hookCatalog
	lk   *lake.Lake
	ds   *zones.Dataset[Row]
}

func (s *lakeSpec) open() (*xenv, error) {
	x := &xenv{spec: s, hd: &hookDriver{Driver: s.raw}}
	var err error
	if x.lk, err = lake.New(lake.NewStore(x.hd.hooked()), &lake.Options{Logger: quiet}); err != nil {
		return nil, err
	}
	cat, err := s.newCat(x.lk)
	if err != nil {
		return nil, err
	}
	x.hc = &hookCatalog{Catalog: cat}
	x.ds, err = zones.NewDataset[Row](x.lk, lake.Curated, s.db, "events", &zones.Options[Row]{Catalog: x.hc, InMemoryBuffers: true})
	return x, err
}

func (s *lakeSpec) mustOpen(t testing.TB) *xenv {
	t.Helper()
	x, err := s.open()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// lakeFactory makes fresh lakes of one kind for one test.
type lakeFactory struct {
	kind string
	make func(t testing.TB) *lakeSpec
}

var specSeq struct {
	sync.Mutex
	n int
}

func nextSpecID() int {
	specSeq.Lock()
	defer specSeq.Unlock()
	specSeq.n++
	return specSeq.n
}

func localCat(lk *lake.Lake) (catalog.Catalog, error) { return catalog.OpenLocal(lk) }

// factories returns the lakes a failure-path test runs on. The gofakes3
// server and moto_server are started once per test (lazily). moto is
// skipped with a message where it is missing, and fails under CI=true.
func factories(t *testing.T) []lakeFactory {
	fake := testaws.StartFakeS3(t)
	var moto *testaws.Moto
	if _, err := exec.LookPath("moto_server"); err == nil || testaws.InCI() {
		moto = testaws.StartMoto(t)
		if _, err := s3.NewFromConfig(moto.Config(t), func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(context.Background(),
			&s3.CreateBucketInput{Bucket: aws.String("torture")}); err != nil {
			t.Fatal(err)
		}
	}
	return []lakeFactory{
		{"file", func(t testing.TB) *lakeSpec { return openSpec(t, "file", t.TempDir(), "", "torture") }},
		{"gofakes3", func(t testing.TB) *lakeSpec {
			return openSpec(t, "gofakes3", fake.Endpoint, fmt.Sprintf("r%d", nextSpecID()), "torture")
		}},
		{"moto", func(t testing.TB) *lakeSpec {
			if moto == nil {
				testaws.SkipOrFail(t, "moto_server is not installed (pip install 'moto[server]==5.2.1'): the S3 + Glue case is skipped")
			}
			id := nextSpecID()
			return openSpec(t, "moto", moto.Endpoint, fmt.Sprintf("r%d", id), fmt.Sprintf("torture_%d", id))
		}},
	}
}

// openSpec opens the lake of kind at where (a folder, or an S3 endpoint
// with bucket "torture" and prefix), with the catalog database db: also
// how a child process reopens its parent's lake.
func openSpec(t testing.TB, kind, where, prefix, db string) *lakeSpec {
	s := &lakeSpec{kind: kind, where: where, prefix: prefix, db: db, newCat: localCat}
	switch kind {
	case "file":
		fs, err := filestore.New(where, &filestore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		s.raw, s.local = fs, true
		return s
	}
	cfg := testaws.Config(t, where)
	d, err := s3store.New(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "torture", prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.raw = d
	if kind == "moto" {
		s.newCat = func(*lake.Lake) (catalog.Catalog, error) { return catalog.NewGlue(cfg, nil) }
	}
	return s
}

// env describes the spec for a child process (see specFromEnv).
func (s *lakeSpec) env() []string {
	return []string{"TORTURE_LAKE=" + strings.Join([]string{s.kind, s.where, s.prefix, s.db}, "|")}
}

// specFromEnv reopens the lake a parent described with env, or nil.
func specFromEnv(t testing.TB) *lakeSpec {
	v := os.Getenv("TORTURE_LAKE")
	if v == "" {
		return nil
	}
	f := strings.Split(v, "|")
	if len(f) != 4 {
		t.Fatalf("TORTURE_LAKE=%q", v)
	}
	return openSpec(t, f[0], f[1], f[2], f[3])
}

// hookCatalog calls hook before each catalog call the commit path makes
// (op is the method name) and after (which may replace the error): the
// catalog counterpart of hookDriver.
type hookCatalog struct {
	catalog.Catalog
	mu    sync.Mutex
	hook  func(ctx context.Context, op string) error
	after func(ctx context.Context, op string, err error) error
}

func (h *hookCatalog) set(hook func(ctx context.Context, op string) error, after func(ctx context.Context, op string, err error) error) {
	h.mu.Lock()
	h.hook, h.after = hook, after
	h.mu.Unlock()
}

func (h *hookCatalog) call(ctx context.Context, op string, f func() error) error {
	h.mu.Lock()
	hook, after := h.hook, h.after
	h.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, op); err != nil {
			return err
		}
	}
	err := f()
	if after != nil {
		err = after(ctx, op, err)
	}
	return err
}

func (h *hookCatalog) CreateDatabase(ctx context.Context, db catalog.Database) error {
	return h.call(ctx, "CreateDatabase", func() error { return h.Catalog.CreateDatabase(ctx, db) })
}

func (h *hookCatalog) CreateTable(ctx context.Context, t *catalog.Table) error {
	return h.call(ctx, "CreateTable", func() error { return h.Catalog.CreateTable(ctx, t) })
}

func (h *hookCatalog) GetTable(ctx context.Context, database, name string) (ct *catalog.Table, err error) {
	err = h.call(ctx, "GetTable", func() error {
		var e error
		ct, e = h.Catalog.GetTable(ctx, database, name)
		return e
	})
	if err != nil {
		return nil, err
	}
	return ct, nil
}

func (h *hookCatalog) UpdateTable(ctx context.Context, t *catalog.Table, opts *catalog.UpdateOptions) error {
	return h.call(ctx, "UpdateTable", func() error { return h.Catalog.UpdateTable(ctx, t, opts) })
}

func (h *hookCatalog) AddPartitions(ctx context.Context, database, table string, parts []catalog.Partition) error {
	return h.call(ctx, "AddPartitions", func() error { return h.Catalog.AddPartitions(ctx, database, table, parts) })
}

func (h *hookCatalog) UpdatePartitionLocations(ctx context.Context, database, table string, parts []catalog.Partition) error {
	return h.call(ctx, "UpdatePartitionLocations", func() error { return h.Catalog.UpdatePartitionLocations(ctx, database, table, parts) })
}

func (h *hookCatalog) DeletePartitions(ctx context.Context, database, table string, values [][]string) error {
	return h.call(ctx, "DeletePartitions", func() error { return h.Catalog.DeletePartitions(ctx, database, table, values) })
}

func (h *hookCatalog) Partitions(ctx context.Context, database, table, filter string) iter.Seq2[catalog.Partition, error] {
	return func(yield func(catalog.Partition, error) bool) {
		h.mu.Lock()
		hook := h.hook
		h.mu.Unlock()
		if hook != nil {
			if err := hook(ctx, "Partitions"); err != nil {
				yield(catalog.Partition{}, err)
				return
			}
		}
		for p, err := range h.Catalog.Partitions(ctx, database, table, filter) {
			if !yield(p, err) {
				return
			}
		}
	}
}

// ---- DuckDB ----

var duck struct {
	once sync.Once
	db   *sql.DB
	err  error
}

func duckDB() (*sql.DB, error) {
	duck.once.Do(func() {
		duck.db, duck.err = sql.Open("duckdb", "")
		if duck.err != nil {
			return
		}
		duck.db.SetMaxOpenConns(1)
		_, duck.err = duck.db.Exec("SET threads TO 1")
	})
	return duck.db, duck.err
}

// view is a table's content as some reader sees it: the ids it reads
// (with multiplicity), their count and DuckDB's sum(hash(id)).
type view struct {
	files []string // the objects read (externalView only)
	ids   map[string]int
	n     int64
	sum   string
}

func (v *view) equal(o *view) bool { return v.n == o.n && v.sum == o.sum && sameIDs(v.ids, o.ids) }

func sameIDs(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	return true
}

// diff describes how got differs from want, briefly.
func (v *view) diff(want *view) string {
	var extra, missing []string
	for id, n := range v.ids {
		if n > want.ids[id] {
			extra = append(extra, fmt.Sprintf("%s×%d", id, n-want.ids[id]))
		}
	}
	for id, n := range want.ids {
		if n > v.ids[id] {
			missing = append(missing, fmt.Sprintf("%s×%d", id, n-v.ids[id]))
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	cut := func(s []string) []string {
		if len(s) > 6 {
			return append(s[:6:6], fmt.Sprintf("… (%d in all)", len(s)))
		}
		return s
	}
	return fmt.Sprintf("%d rows (sum %s), want %d rows (sum %s); extra %v; missing %v", v.n, v.sum, want.n, want.sum, cut(extra), cut(missing))
}

// checksum counts ids and sums DuckDB's hash of them.
func checksum(ids []string) (*view, error) {
	db, err := duckDB()
	if err != nil {
		return nil, err
	}
	v := &view{ids: map[string]int{}}
	for _, id := range ids {
		v.ids[id]++
	}
	err = db.QueryRow(`SELECT count(*), CAST(coalesce(sum(hash(id)), 0) AS VARCHAR) FROM (SELECT unnest(?::VARCHAR[]) AS id)`, ids).Scan(&v.n, &v.sum)
	return v, err
}

// viewOfRows is the view of a set of expected rows.
func viewOfRows(rows map[string]Row) (*view, error) {
	ids := make([]string, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	return checksum(ids)
}

// lakekitView reads the newest version through lakekit, in a fresh
// process view of the lake.
func lakekitView(ctx context.Context, s *lakeSpec) (*view, error) {
	x, err := s.open()
	if err != nil {
		return nil, err
	}
	rows, err := readAll(ctx, x.ds, 0)
	if errors.Is(err, zones.ErrNoSuchTable) {
		return checksum(nil)
	}
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return checksum(ids)
}

// visibleFiles lists what an engine that reads the catalog's locations
// the way Athena does reads: the table's location (unpartitioned) or every
// partition's, and under each every *.parquet object whose path below the
// location has no folder or name starting with "_" or ".".
func visibleFiles(ctx context.Context, s *lakeSpec) ([]string, error) {
	x, err := s.open() // a fresh catalog client and store: nothing cached
	if err != nil {
		return nil, err
	}
	cat := x.hc.Catalog
	ct, err := cat.GetTable(ctx, s.db, "events")
	if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchDatabase) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("external view: GetTable: %w", err)
	}
	var locs []string
	if len(ct.Schema.PartitionKeys) == 0 {
		locs = append(locs, ct.Location)
	} else {
		for p, err := range cat.Partitions(ctx, s.db, "events", "") {
			if err != nil {
				return nil, fmt.Errorf("external view: partitions: %w", err)
			}
			locs = append(locs, p.Location)
		}
	}
	zs := x.ds.Table().Zone().Store()
	root := zs.Location("")
	seen := map[string]bool{}
	var files []string
	for _, loc := range locs {
		if !strings.HasSuffix(loc, "/") {
			loc += "/"
		}
		rel, ok := strings.CutPrefix(loc, root)
		if !ok {
			return nil, fmt.Errorf("external view: catalog location %s is outside the zone %s", loc, root)
		}
		for e, err := range zs.List(ctx, rel, nil) {
			if err != nil {
				return nil, fmt.Errorf("external view: list %s: %w", rel, err)
			}
			if e.IsDir || !strings.HasSuffix(e.Key, ".parquet") || !visible(strings.TrimPrefix(e.Key, rel)) || seen[e.Key] {
				continue
			}
			seen[e.Key] = true
			files = append(files, e.Key)
		}
	}
	sort.Strings(files)
	return files, nil
}

func visible(rest string) bool {
	for _, seg := range strings.Split(rest, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// externalView reads the table as Athena does (visibleFiles) and has
// DuckDB count and checksum the rows: read_parquet over the local files of
// a file lake, or over copies (read through lakekit's store) of S3 objects.
func externalView(ctx context.Context, s *lakeSpec) (*view, error) {
	files, err := visibleFiles(ctx, s)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		v, err := checksum(nil)
		return v, err
	}
	x, err := s.open()
	if err != nil {
		return nil, err
	}
	zs := x.ds.Table().Zone().Store()
	paths := make([]string, len(files))
	if s.local {
		for i, k := range files {
			u, err := url.Parse(zs.Location(k))
			if err != nil {
				return nil, err
			}
			paths[i] = u.Path
		}
	} else {
		dir, err := os.MkdirTemp("", "extview-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		for i, k := range files {
			b, err := zs.ReadAll(ctx, k)
			if errors.Is(err, lake.ErrNotFound) {
				// deleted between the listing and the read: Athena's query
				// would have failed; list again
				return externalView(ctx, s)
			}
			if err != nil {
				return nil, fmt.Errorf("external view: read %s: %w", k, err)
			}
			paths[i] = filepath.Join(dir, fmt.Sprintf("%05d.parquet", i))
			if err := os.WriteFile(paths[i], b, 0o600); err != nil {
				return nil, err
			}
		}
	}
	db, err := duckDB()
	if err != nil {
		return nil, err
	}
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	src := "read_parquet([" + strings.Join(quoted, ",") + "], union_by_name=true)"
	v := &view{files: files, ids: map[string]int{}}
	if err := db.QueryRowContext(ctx, `SELECT count(*), CAST(coalesce(sum(hash(id)), 0) AS VARCHAR) FROM `+src).Scan(&v.n, &v.sum); err != nil {
		if s.local && strings.Contains(err.Error(), "No files found") {
			return externalView(ctx, s) // a file moved between the listing and the read
		}
		return nil, fmt.Errorf("external view: duckdb over %d files: %w", len(files), err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM `+src)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		v.ids[id]++
	}
	return v, rows.Err()
}

// externalMatches: externalView equals lakekit's read of the newest
// version (row count, checksum, the ids themselves).
func externalMatches(ctx context.Context, s *lakeSpec) error {
	ext, err := externalView(ctx, s)
	if err != nil {
		return err
	}
	own, err := lakekitView(ctx, s)
	if err != nil {
		return fmt.Errorf("lakekit read: %w", err)
	}
	if !ext.equal(own) {
		return fmt.Errorf("external view (%d files) differs from lakekit's read of the newest version: %s", len(ext.files), ext.diff(own))
	}
	return nil
}

// wholeVersion returns the version whose replayed rows the external view
// equals (0 for the empty table), or -1 when it equals none: a mix.
func wholeVersion(ext *view, log []zones.Commit) (int, error) {
	for v := len(log); v >= 0; v-- {
		want, err := replay(log[:v])
		if err != nil {
			return -1, err
		}
		wv, err := viewOfRows(want)
		if err != nil {
			return -1, err
		}
		if ext.equal(wv) {
			return v, nil
		}
	}
	return -1, nil
}

// driftTracker follows, commit outcome by commit outcome, whether the
// external view is the newest version or (after ErrCatalog) a whole
// earlier one, and how many outcomes each drift lasted.
type driftTracker struct {
	open    bool
	length  int
	lengths []int
}

// observe checks the external view after one commit outcome. excused
// says whether a drift is allowed now (a commit reported ErrCatalog, or a
// crash or unknown outcome left the publish undone); a drift must end at
// the next successful commit or SyncCatalog (when excused is false).
func (d *driftTracker) observe(ctx context.Context, s *lakeSpec, excused bool) error {
	ext, err := externalView(ctx, s)
	if err != nil {
		return err
	}
	x, err := s.open()
	if err != nil {
		return err
	}
	log, err := x.ds.History(ctx)
	if errors.Is(err, zones.ErrNoSuchTable) {
		log, err = nil, nil
	}
	if err != nil {
		return err
	}
	own, err := lakekitView(ctx, s)
	if err != nil {
		return err
	}
	want, err := replay(log)
	if err != nil {
		return err
	}
	wv, err := viewOfRows(want)
	if err != nil {
		return err
	}
	if !own.equal(wv) {
		return fmt.Errorf("lakekit's read of version %d differs from the replayed log: %s", len(log), own.diff(wv))
	}
	if ext.equal(own) {
		if d.open {
			d.lengths = append(d.lengths, d.length)
			d.open, d.length = false, 0
		}
		return nil
	}
	v, err := wholeVersion(ext, log)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("external view (%d files) is no whole version of the log (versions 0..%d): a mix; against the newest: %s", len(ext.files), len(log), ext.diff(own))
	}
	if !excused {
		return fmt.Errorf("external view shows version %d of %d after an outcome that should have published the newest: %s", v, len(log), ext.diff(own))
	}
	if !d.open {
		d.open = true
	}
	d.length++
	return nil
}

func (d *driftTracker) finish() {
	if d.open {
		d.lengths = append(d.lengths, d.length)
		d.open, d.length = false, 0
	}
}

// counters are what a test reports for the closing note.
type counters struct {
	mu sync.Mutex
	m  map[string]int64
}

func newCounters() *counters { return &counters{m: map[string]int64{}} }

func (c *counters) add(name string, n int64) {
	c.mu.Lock()
	c.m[name] += n
	c.mu.Unlock()
}

func (c *counters) get(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

func (c *counters) drifts(d *driftTracker) {
	d.finish()
	for _, l := range d.lengths {
		c.add("drifts", 1)
		c.add(fmt.Sprintf("drift_len_%d", l), 1)
		if l > int(c.get("drift_max_len")) {
			c.mu.Lock()
			c.m["drift_max_len"] = int64(l)
			c.mu.Unlock()
		}
	}
}

// report logs every counter and a one-line summary.
func (c *counters) report(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.m))
	for k := range c.m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%d", k, c.m[k])
	}
	t.Logf("SUMMARY %s: %s", t.Name(), strings.Join(parts, " "))
}

// attemptWrite is one write attempt with explicit rows: NewWriter, Write,
// Commit, returning what Commit returned.
func attemptWrite(ctx context.Context, ds *zones.Dataset[Row], key string, mode zones.Mode, rows []Row) (*zones.CommitResult, error) {
	w, err := ds.NewWriter(ctx, &zones.WriterOptions{Mode: mode, IdempotencyKey: key, Caller: "torture"})
	if err != nil {
		return nil, err
	}
	if err := w.Write(ctx, rows); err != nil {
		w.Abort(ctx)
		return nil, err
	}
	return w.Commit(ctx)
}

// classify sorts a commit's outcome: committed (nil, or ErrCatalog with a
// result), unknown (ErrCommitUnknown) or not committed.
func classify(res *zones.CommitResult, err error) string {
	switch {
	case err == nil:
		return "committed"
	case errors.Is(err, zones.ErrCatalog) && res != nil:
		return "committed_catalog_error"
	case errors.Is(err, zones.ErrCommitUnknown):
		return "unknown"
	}
	return "not_committed"
}

// keyInLog reports whether key is in the log, reading it in a fresh view.
func keyInLog(ctx context.Context, s *lakeSpec, key string) (bool, int, error) {
	x, err := s.open()
	if err != nil {
		return false, 0, err
	}
	log, err := x.ds.History(ctx)
	if errors.Is(err, zones.ErrNoSuchTable) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	n := 0
	for _, c := range log {
		if c.IdempotencyKey == key {
			n++
		}
	}
	return n > 0, n, nil
}

// dataFiles lists the table's data files outside _lakekit/ (raw).
func dataFiles(ctx context.Context, s *lakeSpec) ([]string, error) {
	x, err := s.open()
	if err != nil {
		return nil, err
	}
	var out []string
	for e, err := range x.ds.Table().Zone().Store().List(ctx, x.ds.Table().Prefix()+"/", nil) {
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(e.Key, ".parquet") && !strings.Contains(e.Key, "/_lakekit/") {
			out = append(out, e.Key)
		}
	}
	return out, nil
}
