package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakekit/lakekit/lake/driver"
	"github.com/lakekit/lakekit/lake/memstore"
)

// TestMain lets the memory scenario re-execute the test binary as its child.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestShortRun runs the harness as CI does (-short) and checks that every
// scenario produced a number and that the JSON lines, bench.json and
// bench.svg parse.
func TestShortRun(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-short", "-json", "-out", out}, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	if code != 0 {
		t.Fatalf("bench -short exited %d", code)
	}
	got := map[string]Result{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var r Result
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %q does not parse: %v", line, err)
		}
		var raw map[string]any
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"name", "unit", "lakekit", "peer", "peer_value", "ratio", "target"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("%s: field %q missing in %s", r.Name, k, line)
			}
		}
		for k, v := range map[string]float64{"lakekit": r.Lakekit, "peer_value": r.PeerValue, "ratio": r.Ratio} {
			if math.IsNaN(v) || math.IsInf(v, 0) || (k == "ratio" && v <= 0) {
				t.Errorf("%s: %s = %v", r.Name, k, v)
			}
		}
		if _, dup := got[r.Name]; dup {
			t.Errorf("%s reported twice", r.Name)
		}
		got[r.Name] = r
		t.Logf("%s: lakekit %v, peer %v, ratio %v, target %q", r.Name, r.Lakekit, r.PeerValue, r.Ratio, r.Target)
	}
	skipped := stderr.String()
	for _, s := range scenarios {
		if _, ok := got[s.name]; !ok {
			if strings.Contains(skipped, s.name+": skipped") && !inCI() {
				t.Logf("%s skipped here: its peer is missing", s.name)
				continue
			}
			t.Errorf("scenario %s produced no JSON line", s.name)
		}
	}
	for name := range got {
		if !contains(order, name) {
			t.Errorf("scenario %q is not in the documented order", name)
		}
	}

	b, err := os.ReadFile(filepath.Join(out, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("bench.json: %v", err)
	}
	if len(rep.Results) != len(got) || rep.Machine.Cores == 0 || rep.Machine.Go == "" {
		t.Errorf("bench.json: %d results (want %d), machine %+v", len(rep.Results), len(got), rep.Machine)
	}
	svg, err := os.ReadFile(filepath.Join(out, "bench.svg"))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("bench.svg is not well-formed XML: %v", err)
		}
	}
	for name := range got {
		if !bytes.Contains(svg, []byte(">"+name+"<")) {
			t.Errorf("bench.svg has no label for %s", name)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range got {
		if !bytes.Contains(md, []byte("`"+name+"`")) {
			t.Errorf("bench.md has no row for %s", name)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-only", "no_such_scenario"},
		{"-rows", "-5"},
		{"-rows", "10", "-partitions", "20"},
		{"stray"},
		{"-scale", "20000,10000"},
		{"-scale", "1000,x"},
		{"-scale", "50", "-partitions", "100"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("%v printed %q", args, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	run([]string{"-only", "nope"}, &stdout, &stderr)
	if !strings.Contains(stderr.String(), "write_vs_parquetgo") {
		t.Errorf("unknown-scenario error does not list the scenarios: %q", stderr.String())
	}
	stderr.Reset()
	run([]string{"-h"}, &stdout, &stderr)
	if strings.Contains(stderr.String(), childPrefix) {
		t.Errorf("usage shows the hidden child flags:\n%s", stderr.String())
	}
}

func TestRatioDirection(t *testing.T) {
	hi := &Result{Lakekit: 90, PeerValue: 100}
	hi.finish(0.9, target{op: ">=", value: 0.85}, 0.85)
	if hi.Ratio != 0.9 || hi.Met == nil || !*hi.Met || hi.Target != ">= 0.85" {
		t.Errorf("higher-is-better: %+v", hi)
	}
	lo := &Result{Lakekit: 120, PeerValue: 100, LowerIsBetter: true}
	lo.finish(1.2, target{op: "<=", value: 1.1}, 1/1.1)
	if math.Abs(lo.Ratio-1/1.2) > 1e-4 || *lo.Met {
		t.Errorf("lower-is-better: ratio %v met %v, want %v and false", lo.Ratio, *lo.Met, 1/1.2)
	}
	zero := &Result{Lakekit: 0, PeerValue: 40, LowerIsBetter: true}
	zero.finish(0, target{op: "<=", value: 0}, 40)
	if zero.Ratio != 40 || !*zero.Met {
		t.Errorf("zero count: ratio %v met %v, want 40 and true", zero.Ratio, *zero.Met)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}

// The pruned-read scenario depends on the counting driver hiding the
// ReaderAt fast path, so every byte is counted.
func TestCountingDriverHasNoReaderAt(t *testing.T) {
	var d driver.Driver = newCountingDriver(memstore.New())
	if _, ok := d.(driver.ReaderAtOpener); ok {
		t.Fatal("countingDriver implements ReaderAtOpener: reads would bypass the count")
	}
}

// TestScaleTable: -scale writes each size in a memory child and prints one
// table row per size, then the growth line comparing the last with the
// first; -out gets the same text as scale.md.
func TestScaleTable(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-scale", "20000,40000", "-partitions", "4", "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench -scale exited %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[2], "| 20k |") || !strings.HasPrefix(lines[3], "| 40k |") ||
		!strings.HasPrefix(lines[5], "20k → 40k rows into 4 partitions:") {
		t.Fatalf("scale table:\n%s", stdout.String())
	}
	for _, l := range lines[2:4] {
		cells := strings.Split(l, "|")
		if files := strings.TrimSpace(cells[len(cells)-2]); files != "4" {
			t.Errorf("row %q: %s files, want 4 (one per partition)", l, files)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "scale.md"))
	if err != nil || string(md) != stdout.String() {
		t.Fatalf("scale.md: %v\n%s", err, md)
	}
}
