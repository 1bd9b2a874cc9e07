package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lakekit/lakekit/internal/eventgen"
)

// Result is one scenario's outcome, printed as one JSON line.
type Result struct {
	Name string `json:"name"`
	// Unit says what lakekit and peer_value measure and which way ratio
	// points.
	Unit string `json:"unit"`
	// Lakekit is lakekit's median measurement.
	Lakekit float64 `json:"lakekit"`
	// Peer names what lakekit is compared with; PeerValue is its median.
	Peer      string  `json:"peer"`
	PeerValue float64 `json:"peer_value"`
	// Ratio is lakekit/peer when higher is better, peer/lakekit when lower
	// is better: above 1 means lakekit did better.
	Ratio float64 `json:"ratio"`
	// LowerIsBetter tells which way Lakekit and PeerValue point.
	LowerIsBetter bool `json:"lower_is_better"`
	// Value is the number Target is stated on; Target the condition as
	// text ("" when the scenario has none); Met whether it held.
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Met    *bool   `json:"met,omitempty"`
	// RatioTarget is Target translated to the ratio axis (0: none), used
	// by the chart.
	RatioTarget float64 `json:"ratio_target,omitempty"`

	// Output bytes of the write scenarios (0 elsewhere): LakekitBytes and
	// PeerBytes are the data files each side wrote for the same rows,
	// BytesRatio lakekit/peer (at most 1 means lakekit's files are no
	// larger), BytesMet whether BytesTarget held.
	LakekitBytes int64   `json:"lakekit_bytes,omitempty"`
	PeerBytes    int64   `json:"peer_bytes,omitempty"`
	BytesRatio   float64 `json:"bytes_ratio,omitempty"`
	BytesTarget  string  `json:"bytes_target,omitempty"`
	BytesMet     *bool   `json:"bytes_met,omitempty"`

	Reps int `json:"reps"`
	// Rows and Partitions are the scenario's sizes (0: not applicable).
	Rows           int       `json:"rows"`
	Partitions     int       `json:"partitions"`
	LakekitSamples []float64 `json:"lakekit_samples,omitempty"`
	PeerSamples    []float64 `json:"peer_samples,omitempty"`
	// Seconds is the scenario's wall time, setup included; CPUSeconds the
	// CPU time (user+system) of the harness and its children (memory
	// child, moto_server) meanwhile: on a busy machine wall time grows,
	// CPU time much less.
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// Extra holds scenario-specific details (breakdowns, sizes, notes).
	Extra map[string]any `json:"extra,omitempty"`
}

// target describes a scenario's target on Value.
type target struct {
	op    string // "<=", ">=", or "" for none
	value float64
	text  string // overrides the generated text
}

// finish fills Ratio, Value, Met and RatioTarget from Lakekit and PeerValue.
// value is the number the target is stated on; ratioTarget the same
// target on the ratio axis.
func (r *Result) finish(value float64, t target, ratioTarget float64) {
	if r.LowerIsBetter {
		r.Ratio = r.PeerValue / math.Max(r.Lakekit, tiny(r.Lakekit))
	} else {
		r.Ratio = r.Lakekit / r.PeerValue
	}
	r.Ratio = round(r.Ratio, 4)
	r.Value = round(value, 4)
	r.RatioTarget = round(ratioTarget, 4)
	if t.op != "" {
		ok := (t.op == "<=" && value <= t.value) || (t.op == ">=" && value >= t.value)
		r.Met = &ok
		r.Target = fmt.Sprintf("%s %g", t.op, t.value)
	}
	if t.text != "" {
		r.Target = t.text
	}
}

// setBytes records both sides' output bytes and checks them against
// "lakekit/peer <= limit".
func (r *Result) setBytes(lakekit, peer int64, limit float64) {
	r.LakekitBytes, r.PeerBytes = lakekit, peer
	if lakekit <= 0 || peer <= 0 {
		return
	}
	r.BytesRatio = round(float64(lakekit)/float64(peer), 4)
	ok := r.BytesRatio <= limit
	r.BytesMet = &ok
	r.BytesTarget = fmt.Sprintf("<= %g", limit)
}

// tiny avoids dividing by zero for counts whose ideal is 0: a count of 0 is
// taken as 1 for the ratio (the unit says so).
func tiny(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}

func round(v float64, digits int) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	if a := math.Abs(v); a > 0 && a < 1 {
		// small numbers keep digits significant digits
		digits = max(digits, digits-int(math.Floor(math.Log10(a))))
	}
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// errSkip marks a scenario that could not run here (a missing peer). It is
// reported, not counted as a number.
var errSkip = errors.New("skipped")

// config is one run of the harness.
type config struct {
	rows       int
	partitions int
	reps       int
	only       string
	jsonOnly   bool
	short      bool
	out        string
	keep       bool
	repsSet    bool // -reps given explicitly
	cpuprofile string
	depthMax   int // deepest table of commit_depth

	scenario string // the scenario running, for profile labels

	tmp    string // scratch directory of this run
	stderr io.Writer

	events []eventgen.Event // generated once per run
}

// scenario is one named measurement.
type scenario struct {
	name string
	// what is a one-line description for the table.
	what string
	run  func(ctx context.Context, c *config) (*Result, error)
}

// scenarios lists every scenario in the order they run. Each file adds
// its own in an init function; order fixes the sequence.
var scenarios []scenario

var order = []string{
	"write_vs_parquetgo",
	"write_vs_duckdb",
	"read_vs_parquetgo",
	"read_pruned_bytes",
	"memory_10m",
	"transform_rerun_reads",
	"query_vs_read_parquet",
	"s3_gets_per_projected_read",
	"glue_calls_10k_partitions",
	"commit_depth",
	"s3_write",
	"transform_json_to_parquet",
	"ingest_buffer",
	"fanout_local",
	"iceberg_vs_hive",
}

func register(s scenario) { scenarios = append(scenarios, s) }

func sortedScenarios() []scenario {
	rank := map[string]int{}
	for i, n := range order {
		rank[n] = i
	}
	out := append([]scenario(nil), scenarios...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, oki := rank[out[i].name]
		rj, okj := rank[out[j].name]
		if !oki {
			ri = len(order)
		}
		if !okj {
			rj = len(order)
		}
		return ri < rj
	})
	return out
}

// Defaults. The default row count keeps each scenario under 2 minutes and
// the whole run under 10 on 2 cores (see the package doc of the report).
const (
	defaultRows       = 1_000_000
	defaultPartitions = 100
	defaultReps       = 3
	shortRows         = 20_000
	shortPartitions   = 10
	defaultDepth      = 10_000
	shortDepth        = 100
)

// run is the harness's main: it returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{stderr: stderr}
	fs.IntVar(&c.rows, "rows", 0, fmt.Sprintf("rows of the generated table (default %d; %d with -short)", defaultRows, shortRows))
	fs.IntVar(&c.partitions, "partitions", 0, fmt.Sprintf("daily partitions (default %d; %d with -short)", defaultPartitions, shortPartitions))
	fs.IntVar(&c.reps, "reps", 0, fmt.Sprintf("repetitions per side; the median is reported (default %d; 1 with -short)", defaultReps))
	fs.StringVar(&c.only, "only", "", "run only the scenario with this name (comma-separated names for several)")
	fs.BoolVar(&c.jsonOnly, "json", false, "print JSON lines only (no table)")
	fs.BoolVar(&c.short, "short", false, "smoke run: tiny sizes, 1 rep; fails if a scenario fails or produces no number")
	fs.StringVar(&c.out, "out", "", "directory to write bench.svg, bench.json and bench.md into")
	fs.BoolVar(&c.keep, "keep", false, "keep the scratch directory (its path is printed)")
	fs.IntVar(&c.depthMax, "depth", 0, fmt.Sprintf("commits of commit_depth's deepest table (default %d; %d with -short)", defaultDepth, shortDepth))
	scale := fs.String("scale", "", "instead of the scenarios, write each of these row counts (comma-separated, e.g. 1000000,10000000,30000000) in a child process and print how time, peak RSS and bytes grow (Markdown; scale.md in -out)")
	render := fs.String("render", "", "re-draw bench.svg and bench.md into -out from this bench.json, without running anything")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile to this file; samples carry the labels scenario and side (lakekit or peer): go tool pprof -tagfocus side=lakekit -top bench FILE")
	var child childFlags
	child.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "reps" {
			c.repsSet = true
		}
	})
	if child.active() {
		return child.run(stdout, stderr)
	}
	if *render != "" {
		if err := rerender(*render, c.out); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	if c.rows == 0 {
		c.rows = defaultRows
		if c.short {
			c.rows = shortRows
		}
	}
	if c.partitions == 0 {
		c.partitions = defaultPartitions
		if c.short {
			c.partitions = shortPartitions
		}
	}
	if c.depthMax == 0 {
		c.depthMax = defaultDepth
		if c.short {
			c.depthMax = shortDepth
		}
	}
	if c.depthMax < 1 {
		fmt.Fprintf(stderr, "bench: -depth must be positive (got %d)\n", c.depthMax)
		return 2
	}
	if c.reps == 0 {
		c.reps = defaultReps
		if c.short {
			c.reps = 1
		}
	}
	if c.rows <= 0 || c.partitions <= 0 || c.reps <= 0 {
		fmt.Fprintf(stderr, "bench: -rows, -partitions and -reps must be positive (got %d, %d, %d)\n", c.rows, c.partitions, c.reps)
		return 2
	}
	if c.partitions > c.rows {
		fmt.Fprintf(stderr, "bench: -partitions %d is more than -rows %d\n", c.partitions, c.rows)
		return 2
	}
	if c.partitions > 3650 {
		fmt.Fprintf(stderr, "bench: -partitions %d: at most 3650 daily partitions\n", c.partitions)
		return 2
	}

	var sizes []int
	if *scale != "" {
		var err error
		if sizes, err = parseScale(*scale, c.partitions); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 2
		}
	}

	var todo []scenario
	if c.only == "" {
		todo = sortedScenarios()
	} else {
		for _, name := range strings.Split(c.only, ",") {
			found := false
			for _, s := range scenarios {
				if s.name == name {
					todo = append(todo, s)
					found = true
				}
			}
			if !found {
				var names []string
				for _, s := range sortedScenarios() {
					names = append(names, s.name)
				}
				fmt.Fprintf(stderr, "bench: unknown scenario %q (have: %s)\n", name, strings.Join(names, ", "))
				return 2
			}
		}
	}

	tmp, err := os.MkdirTemp("", "lakekit-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	c.tmp = tmp
	if c.keep {
		fmt.Fprintf(stderr, "bench: scratch directory %s kept\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	if sizes != nil {
		return runScale(context.Background(), c, sizes, stdout, stderr)
	}

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	ctx := context.Background()
	start := time.Now()
	var results []*Result
	var skipped, failed []string
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, s := range todo {
		if !c.jsonOnly {
			fmt.Fprintf(stderr, "bench: %s ...\n", s.name)
		}
		t0, cpu0 := time.Now(), cpuTime()
		c.scenario = s.name
		res, err := runScenario(ctx, c, s)
		switch {
		case errors.Is(err, errSkip):
			if inCI() {
				fmt.Fprintf(stderr, "bench: %s: %v (CI=true: a missing peer is a failure)\n", s.name, err)
				failed = append(failed, s.name)
				continue
			}
			fmt.Fprintf(stderr, "bench: %s: %v\n", s.name, err)
			skipped = append(skipped, s.name+" ("+strings.TrimPrefix(err.Error(), errSkip.Error()+": ")+")")
			continue
		case err != nil:
			fmt.Fprintf(stderr, "bench: %s FAILED: %v\n", s.name, err)
			failed = append(failed, s.name)
			continue
		}
		res.Name = s.name
		res.Seconds = round(time.Since(t0).Seconds(), 2)
		res.CPUSeconds = round(cpuTime()-cpu0, 2)
		if err := res.check(); err != nil {
			fmt.Fprintf(stderr, "bench: %s produced no number: %v\n", s.name, err)
			failed = append(failed, s.name)
			continue
		}
		results = append(results, res)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	elapsed := time.Since(start)
	if !c.jsonOnly {
		printTable(stdout, results)
		fmt.Fprintf(stdout, "%d scenarios in %s", len(results), elapsed.Round(time.Second))
		if len(skipped) > 0 {
			fmt.Fprintf(stdout, "; skipped: %s", strings.Join(skipped, "; "))
		}
		if len(failed) > 0 {
			fmt.Fprintf(stdout, "; FAILED: %s", strings.Join(failed, ", "))
		}
		fmt.Fprintln(stdout)
	}
	if c.out != "" {
		if err := writeOutputs(c, results, skipped, failed, elapsed); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(stderr, "bench: FAILED: %s\n", strings.Join(failed, ", "))
		return 1
	}
	return 0
}

// runScenario runs one scenario, turning a panic into an error so one
// broken scenario does not hide the others' numbers.
func runScenario(ctx context.Context, c *config, s scenario) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	runtime.GC()
	res, err = s.run(ctx, c)
	if err == nil && res == nil {
		err = errors.New("scenario returned no result")
	}
	return res, err
}

// check verifies a result carries numbers.
func (r *Result) check() error {
	for name, v := range map[string]float64{"lakekit": r.Lakekit, "peer_value": r.PeerValue, "ratio": r.Ratio, "value": r.Value} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s is %v", name, v)
		}
	}
	if r.Unit == "" || r.Peer == "" {
		return errors.New("unit or peer missing")
	}
	if r.Ratio <= 0 {
		return fmt.Errorf("ratio %v is not positive", r.Ratio)
	}
	return nil
}

// cpuTime is the CPU seconds used so far by this process and its waited-for
// children.
func cpuTime() float64 {
	var total float64
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		}
	}
	return total
}

func inCI() bool { return os.Getenv("CI") == "true" }

// runSide runs one side of one rep (rep -1: warm-up) after a GC, with
// profile labels naming the scenario and the side.
func runSide(c *config, name string, f func(int) (float64, error), rep int) (v float64, err error) {
	runtime.GC()
	pprof.Do(context.Background(), pprof.Labels("scenario", c.scenario, "side", name), func(context.Context) {
		v, err = f(rep)
	})
	return v, err
}

// measureTimed is measure for timings: one untimed round of both sides
// first, so neither pays for cold caches, heap growth or pools alone
// (skipped with -short).
func measureTimed(c *config, lakekit, peer func(rep int) (float64, error)) (lk, pv float64, lks, pvs []float64, err error) {
	if !c.short {
		if _, err := runSide(c, "lakekit", lakekit, -1); err != nil {
			return 0, 0, nil, nil, fmt.Errorf("warm-up: %w", err)
		}
		if _, err := runSide(c, "peer", peer, -1); err != nil {
			return 0, 0, nil, nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	return measure(c, lakekit, peer)
}

// measure runs lakekit and its peer reps times each, alternating which goes
// first, and returns both medians and the samples.
func measure(c *config, lakekit, peer func(rep int) (float64, error)) (lk, pv float64, lks, pvs []float64, err error) {
	for rep := 0; rep < c.reps; rep++ {
		first, second := "lakekit", "peer"
		ff, sf := lakekit, peer
		if rep%2 == 1 {
			first, second = second, first
			ff, sf = sf, ff
		}
		a, err := runSide(c, first, ff, rep)
		if err != nil {
			return 0, 0, nil, nil, err
		}
		b, err := runSide(c, second, sf, rep)
		if err != nil {
			return 0, 0, nil, nil, err
		}
		if rep%2 == 1 {
			a, b = b, a
		}
		lks = append(lks, a)
		pvs = append(pvs, b)
	}
	return median(lks), median(pvs), lks, pvs, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func roundAll(xs []float64, digits int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round(x, digits)
	}
	return out
}

// scratch returns a fresh directory under the run's scratch directory.
func (c *config) scratch(name string) (string, error) {
	if err := os.MkdirAll(c.tmp, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(c.tmp, name+"-")
}

// data returns the run's generated rows (generated on first use).
func (c *config) data() []eventgen.Event {
	if c.events == nil {
		c.events = eventgen.Generate(c.rows, c.partitions, 1)
	}
	return c.events
}

// dirSize sums the sizes of the regular files under dir whose names end
// with suffix.
func dirSize(dir, suffix string) (n int64, files int, err error) {
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), suffix) {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
			files++
		}
		return nil
	})
	return n, files, err
}

func printTable(w io.Writer, results []*Result) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nscenario\tlakekit\tpeer\tratio\ttarget\tmet\tunit")
	for _, r := range results {
		met := "-"
		if r.Met != nil {
			met = "no"
			if *r.Met {
				met = "yes"
			}
		}
		target := r.Target
		if target == "" {
			target = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3g\t%s\t%s\t%s\n", r.Name, human(r.Lakekit), human(r.PeerValue), r.Ratio, target, met, r.Unit)
	}
	tw.Flush()
}

// human prints a number compactly: 1.23M, 45.6k, 0.912.
func human(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	case a >= 100 || a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
