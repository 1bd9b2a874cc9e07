package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Machine describes where a run happened.
type Machine struct {
	CPU       string            `json:"cpu"`
	Cores     int               `json:"cores"`
	MemoryGiB float64           `json:"memory_gib"`
	Go        string            `json:"go"`
	OS        string            `json:"os"`
	Deps      map[string]string `json:"deps,omitempty"`
	// LoadAvg is /proc/loadavg when the outputs were written: timings
	// from a machine busy with other work are noisy (counts are not).
	LoadAvg string `json:"load_avg,omitempty"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%g", &kb)
			}
		}
		m.MemoryGiB = math.Round(kb/(1<<20)*10) / 10
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		m.Deps = map[string]string{}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/parquet-go/parquet-go", "github.com/duckdb/duckdb-go/v2", "github.com/johannesboyne/gofakes3", "github.com/aws/aws-sdk-go-v2":
				m.Deps[d.Path] = d.Version
			}
		}
	}
	return m
}

func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d cores, %.0f GiB, %s, %s", m.CPU, m.Cores, m.MemoryGiB, m.OS, m.Go)
	if f := strings.Fields(m.LoadAvg); len(f) >= 3 {
		s += ", load average " + strings.Join(f[:3], " ")
	}
	return s
}

// Report is bench.json.
type Report struct {
	Time       time.Time `json:"time"`
	Machine    Machine   `json:"machine"`
	Rows       int       `json:"rows"`
	Partitions int       `json:"partitions"`
	Reps       int       `json:"reps"`
	Short      bool      `json:"short"`
	Seconds    float64   `json:"seconds"`
	Results    []*Result `json:"results"`
	Skipped    []string  `json:"skipped,omitempty"`
	Failed     []string  `json:"failed,omitempty"`
	// Chart is the path of bench.svg as the Markdown links it: relative to
	// the directory the harness ran in when -out was relative (so a run
	// from the repository root gives a link for the root README).
	Chart string `json:"chart"`
}

func chartPath(out string) string {
	if out == "" || filepath.IsAbs(out) {
		return "bench.svg"
	}
	return filepath.ToSlash(filepath.Join(out, "bench.svg"))
}

func writeOutputs(c *config, results []*Result, skipped, failed []string, elapsed time.Duration) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	rep := Report{
		Time: time.Now().UTC().Truncate(time.Second), Machine: machine(),
		Rows: c.rows, Partitions: c.partitions, Reps: c.reps, Short: c.short,
		Seconds: round(elapsed.Seconds(), 1), Results: results, Skipped: skipped, Failed: failed,
		Chart: chartPath(c.out),
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.out, "bench.json"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	var svg strings.Builder
	writeSVG(&svg, rep)
	if err := os.WriteFile(filepath.Join(c.out, "bench.svg"), []byte(svg.String()), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	writeMarkdown(&md, rep)
	return os.WriteFile(filepath.Join(c.out, "bench.md"), []byte(md.String()), 0o644)
}

// rerender draws bench.svg and bench.md in dir from the bench.json at path.
func rerender(path, dir string) error {
	if dir == "" {
		return fmt.Errorf("-render needs -out DIR")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var svg, md strings.Builder
	writeSVG(&svg, rep)
	writeMarkdown(&md, rep)
	if err := os.WriteFile(filepath.Join(dir, "bench.svg"), []byte(svg.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.md"), []byte(md.String()), 0o644)
}

// writeMarkdown writes the README's performance section.
func writeMarkdown(w io.Writer, rep Report) {
	fmt.Fprintf(w, "## Performance\n\n")
	fmt.Fprintf(w, "Measured with `go run ./internal/bench` (%d rows, %d daily partitions, median of %d runs per side, lakekit and peer interleaved in one run) on %s, %s.\n",
		rep.Rows, rep.Partitions, rep.Reps, rep.Machine.String(), rep.Time.Format("2006-01-02"))
	fmt.Fprintf(w, "A ratio above 1 means lakekit did better than its peer (for times, bytes, requests and memory the ratio is peer/lakekit). The run took %s; `bench.json` beside the chart holds every sample and each scenario's details.\n\n", (time.Duration(rep.Seconds) * time.Second).String())
	chart := rep.Chart
	if chart == "" {
		chart = "bench.svg"
	}
	fmt.Fprintf(w, "![lakekit against its peers](%s)\n\n", chart)
	fmt.Fprintf(w, "| scenario | lakekit | peer | ratio | target | met |\n|---|---:|---|---:|---|---|\n")
	for _, r := range rep.Results {
		met := ""
		if r.Met != nil {
			met = "no"
			if *r.Met {
				met = "yes"
			}
		}
		unit, _, _ := strings.Cut(r.Unit, " (")
		target := r.Target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(w, "| `%s` | %s %s | %s: %s | %.3g | %s | %s |\n", r.Name, human(r.Lakekit), unit, r.Peer, human(r.PeerValue), r.Ratio, mdEscape(target), met)
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped: %s.\n", strings.Join(rep.Skipped, "; "))
	}
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// writeSVG draws one horizontal bar per scenario on a log axis of ratios,
// from parity (1) to the ratio, with the target as a dashed line.
func writeSVG(w io.Writer, rep Report) {
	const (
		width  = 1000
		left   = 250 // axis starts
		right  = 960 // axis ends
		top    = 70
		rowH   = 54
		barH   = 18
		bottom = 84
	)
	rs := rep.Results
	lo, hi := 0.5, 2.0
	for _, r := range rs {
		for _, v := range []float64{r.Ratio, r.RatioTarget} {
			if v > 0 {
				lo = math.Min(lo, v)
				hi = math.Max(hi, v)
			}
		}
	}
	loExp, hiExp := int(math.Floor(math.Log10(lo)+1e-9)), int(math.Ceil(math.Log10(hi)-1e-9))
	lo, hi = math.Pow10(loExp), math.Pow10(hiExp)
	x := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return left + (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(right-left)
	}
	height := top + rowH*len(rs) + bottom
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="20" y="28" font-size="18" font-weight="bold">lakekit against its peers — ratio (above 1: lakekit better; log scale)</text>`+"\n")
	fmt.Fprintf(w, `<text x="20" y="48" font-size="12" fill="#555">%s · %d rows · %d partitions · median of %d · %s</text>`+"\n",
		html.EscapeString(rep.Machine.String()), rep.Rows, rep.Partitions, rep.Reps, rep.Time.Format("2006-01-02"))
	// grid
	axisBottom := top + rowH*len(rs)
	for e := loExp; e <= hiExp; e++ {
		for _, m := range []float64{1, 2, 5} {
			if e == hiExp && m > 1 {
				break
			}
			v := math.Pow10(e) * m
			gx := x(v)
			stroke, sw := "#e3e3e3", 1.0
			if e == 0 && m == 1 {
				stroke, sw = "#333", 1.5
			}
			fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%.1f"/>`+"\n", gx, top-8, gx, axisBottom, stroke, sw)
			fmt.Fprintf(w, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%s</text>`+"\n", gx, axisBottom+16, fmtTick(e, m))
		}
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#333">ratio (lakekit / peer, oriented so that higher is better for lakekit)</text>`+"\n", float64(left+right)/2, axisBottom+38)
	for i, r := range rs {
		y := top + i*rowH
		color := "#8a8fa3" // no target
		if r.Met != nil {
			color = "#c0392b"
			if *r.Met {
				color = "#27ae60"
			}
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" font-size="13" text-anchor="end" font-family="Menlo, Consolas, monospace">%s</text>`+"\n", left-10, y+barH-4, html.EscapeString(r.Name))
		x0, x1 := x(1), x(r.Ratio)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		fmt.Fprintf(w, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n", x0, y, math.Max(x1-x0, 1.5), barH, color, html.EscapeString(r.Unit))
		if r.RatioTarget > 0 {
			tx := x(r.RatioTarget)
			fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2" stroke-dasharray="4,2"/>`+"\n", tx, y-4, tx, y+barH+4)
		}
		verdict := "no target"
		if r.Met != nil {
			verdict = "target " + r.Target + ": missed"
			if *r.Met {
				verdict = "target " + r.Target + ": met"
			}
		}
		label := fmt.Sprintf("ratio %.3g · lakekit %s vs %s · %s", r.Ratio, human(r.Lakekit), human(r.PeerValue), verdict)
		fmt.Fprintf(w, `<text x="%d" y="%d" font-size="11" fill="#333" stroke="white" stroke-width="3" paint-order="stroke">%s</text>`+"\n", left, y+barH+15, html.EscapeString(label))
	}
	fmt.Fprintf(w, `<g font-size="11" fill="#333"><rect x="20" y="%d" width="12" height="10" fill="#27ae60"/><text x="36" y="%d">target met</text><rect x="110" y="%d" width="12" height="10" fill="#c0392b"/><text x="126" y="%d">target missed</text><rect x="215" y="%d" width="12" height="10" fill="#8a8fa3"/><text x="231" y="%d">no target</text><line x1="305" y1="%d" x2="305" y2="%d" stroke="#000" stroke-width="2" stroke-dasharray="4,2"/><text x="312" y="%d">target on the ratio axis</text></g>`+"\n",
		height-18, height-9, height-18, height-9, height-18, height-9, height-20, height-6, height-9)
	fmt.Fprintln(w, `</svg>`)
}

// fmtTick prints m×10^e without floating-point noise: 0.05×, 1×, 200×.
func fmtTick(e int, m float64) string {
	if e >= 0 {
		return strconv.FormatFloat(m*math.Pow10(e), 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(m*math.Pow10(e), 'f', -e, 64) + "×"
}
