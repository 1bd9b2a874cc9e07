// The history picture: rows per version, stacked by partition, as SVG.

package main

import (
	"encoding/xml"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/lakekit/lakekit/zones"
)

// palette colours the partitions of the history picture, in turn.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
	"#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295"}

// versionRows is the table at one version: rows per partition (Hive path;
// "" for an unpartitioned table).
type versionRows struct {
	version int64
	rows    map[string]int64
	total   int64
}

// rowsPerVersion replays the commits: each version's rows per partition.
func rowsPerVersion(commits []zones.Commit) ([]versionRows, []string) {
	cur := map[string]int64{}
	seen := map[string]bool{}
	var out []versionRows
	for _, c := range commits {
		for _, f := range c.Removed {
			cur[f.Partition.HivePath()] -= f.Rows
		}
		for _, f := range c.Added {
			p := f.Partition.HivePath()
			cur[p] += f.Rows
			seen[p] = true
		}
		v := versionRows{version: c.Version, rows: maps.Clone(cur)}
		for _, n := range cur {
			v.total += n
		}
		out = append(out, v)
	}
	return out, slices.Sorted(maps.Keys(seen))
}

// Geometry of the history picture, in pixels.
const (
	histLeft, histTop, histBottom = 80.0, 56.0, 56.0
	histPlotH, histLegendW        = 260.0, 190.0
)

// historySVG draws rows per version as stacked bars, one colour per
// partition, with a <title> on every bar and segment for viewers that
// show tooltips.
func historySVG(name string, commits []zones.Commit) string {
	versions, parts := rowsPerVersion(commits)
	n := max(len(versions), 1)
	barW := math.Max(8, math.Min(56, 640/float64(n)))
	gap := barW / 4
	plotW := float64(n) * (barW + gap)
	title := name + ": rows per version, by partition"
	width := math.Max(histLeft+plotW+40+histLegendW, 40+8.6*float64(len([]rune(title)))) // the bold 15px title fits
	height := histTop + histPlotH + histBottom
	height = math.Max(height, histTop+24+18*float64(min(len(parts), 12)+1))
	var top int64 = 1
	for _, v := range versions {
		top = max(top, v.total)
	}
	step := niceStep(float64(top) / 5)
	ymax := math.Ceil(float64(top)/step) * step
	y := func(rows float64) float64 { return histTop + histPlotH - rows/ymax*histPlotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="20" y="28" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	for r := 0.0; r <= ymax+step/2; r += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/><text x="%.1f" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n",
			histLeft, y(r), histLeft+plotW, y(r), histLeft-6, y(r)+4, fmtCount(int64(r)))
	}
	every := (len(versions) + 39) / 40
	for i, v := range versions {
		x := histLeft + gap/2 + float64(i)*(barW+gap)
		fmt.Fprintf(&b, `<g><title>version %d: %s rows</title>`, v.version, fmtCount(v.total))
		var base int64
		for pi, p := range parts {
			rows := v.rows[p]
			if rows <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>version %d %s: %s rows</title></rect>`,
				x, y(float64(base+rows)), barW, y(float64(base))-y(float64(base+rows)), palette[pi%len(palette)], v.version, esc(partLabel(p)), fmtCount(rows))
			base += rows
		}
		b.WriteString("</g>\n")
		if i%every == 0 || i == len(versions)-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#222">v%d</text>`+"\n", x+barW/2, histTop+histPlotH+16, v.version)
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", histLeft, y(0), histLeft+plotW, y(0))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">table version</text>`+"\n", histLeft+plotW/2, histTop+histPlotH+40)
	legend(&b, parts, histLeft+plotW+40)
	b.WriteString("</svg>\n")
	return b.String()
}

// legend lists the partitions' colours (the first 12, then how many more).
func legend(b *strings.Builder, parts []string, x float64) {
	for i, p := range parts {
		yy := histTop + float64(i)*18
		if i == 12 {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#444">+%d more (colours repeat)</text>`+"\n", x, yy+11, len(parts)-12)
			break
		}
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			x, yy, palette[i%len(palette)], x+18, yy+11, esc(partLabel(p)))
	}
}

// partLabel names a partition in the picture.
func partLabel(p string) string {
	if p == "" {
		return "(unpartitioned)"
	}
	return p
}

// niceStep rounds a tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 1 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return m * pow
		}
	}
	return 10 * pow
}

// esc escapes s for SVG text and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
