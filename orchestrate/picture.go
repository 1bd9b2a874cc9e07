package orchestrate

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// stateColors are the fill colours of step states in pictures.
var stateColors = map[State]string{
	StateSucceeded: "#b7e4c7",
	StateFailed:    "#f4a6a6",
	StateRunning:   "#a6c8f4",
	StateSkipped:   "#dddddd",
	StatePending:   "#ffffff",
}

var stateOrder = []State{StateSucceeded, StateFailed, StateRunning, StateSkipped, StatePending}

type picNode struct {
	id, name, label string
	kind            Kind
	parent          string // the Parallel step holding this branch's steps
}

type picEdge struct {
	from, to, label string
	dashed          bool
}

// layout lists the nodes and edges of a pipeline (branches nested under
// their Parallel step), in a stable order.
func layout(p *Pipeline) ([]picNode, []picEdge, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	var nodes []picNode
	var edges []picEdge
	ids := map[string]string{}
	var walk func(q *Pipeline, parent string)
	walk = func(q *Pipeline, parent string) {
		g, _ := newGraph(q)
		for _, i := range g.order {
			s := g.steps[i]
			id := fmt.Sprintf("s%d", len(ids))
			ids[s.Name] = id
			nodes = append(nodes, picNode{id: id, name: s.Name, label: s.Name + "\\n" + s.Kind.String(), kind: s.Kind, parent: parent})
			for _, b := range s.Branches {
				walk(b, s.Name)
			}
		}
		for _, i := range g.order {
			for _, t := range g.succ[i] {
				l := g.labels[[2]int{i, t}]
				edges = append(edges, picEdge{from: ids[g.steps[i].Name], to: ids[g.steps[t].Name], label: l,
					dashed: strings.HasPrefix(l, "catch")})
			}
		}
	}
	walk(p, "")
	return nodes, edges, nil
}

func quoteMermaid(s string) string {
	return strings.NewReplacer(`"`, "#quot;", `\n`, "<br/>").Replace(s)
}

// Mermaid renders the pipeline as a Mermaid flowchart.
func Mermaid(p *Pipeline) (string, error) { return mermaid(p, nil) }

// MermaidRun renders the pipeline with each step coloured by its state in run.
func MermaidRun(p *Pipeline, run *Run) (string, error) { return mermaid(p, run) }

func mermaid(p *Pipeline, run *Run) (string, error) {
	nodes, edges, err := layout(p)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	var emitNodes func(parent, indent string)
	emitNodes = func(parent, indent string) {
		for _, n := range nodes {
			if n.parent != parent {
				continue
			}
			shape := `["%s"]`
			switch n.kind {
			case KindChoice:
				shape = `{"%s"}`
			case KindMap:
				shape = `[["%s"]]`
			}
			if n.kind == KindParallel {
				fmt.Fprintf(&b, "%ssubgraph %s [\"%s\"]\n", indent, n.id, quoteMermaid(n.label))
				emitNodes(n.name, indent+"  ")
				fmt.Fprintf(&b, "%send\n", indent)
				continue
			}
			fmt.Fprintf(&b, "%s%s"+shape+"\n", indent, n.id, quoteMermaid(n.label))
		}
	}
	emitNodes("", "  ")
	for _, e := range edges {
		arrow := "-->"
		if e.dashed {
			arrow = "-.->"
		}
		if e.label != "" {
			fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", e.from, arrow, quoteMermaid(e.label), e.to)
		} else {
			fmt.Fprintf(&b, "  %s %s %s\n", e.from, arrow, e.to)
		}
	}
	if run != nil {
		for _, st := range stateOrder {
			fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:#333\n", st, stateColors[st])
		}
		for _, st := range stateOrder {
			var ids []string
			for _, n := range nodes {
				if runState(run, n.name) == st {
					ids = append(ids, n.id)
				}
			}
			if len(ids) > 0 {
				fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), st)
			}
		}
	}
	return b.String(), nil
}

func runState(run *Run, step string) State {
	if sr := run.Steps[step]; sr != nil && sr.State != "" {
		return sr.State
	}
	return StatePending
}

func quoteDOT(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// DOT renders the pipeline as a Graphviz digraph.
func DOT(p *Pipeline) (string, error) { return dot(p, nil) }

// DOTRun renders the pipeline with each step coloured by its state in run.
func DOTRun(p *Pipeline, run *Run) (string, error) { return dot(p, run) }

func dot(p *Pipeline, run *Run) (string, error) {
	nodes, edges, err := layout(p)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n", quoteDOT(p.Name()))
	var emitNodes func(parent, indent string)
	emitNodes = func(parent, indent string) {
		for _, n := range nodes {
			if n.parent != parent {
				continue
			}
			attrs := []string{"label=" + strings.ReplaceAll(quoteDOT(strings.ReplaceAll(n.label, `\n`, "\x00")), "\x00", `\n`)}
			switch n.kind {
			case KindChoice:
				attrs = append(attrs, "shape=diamond")
			case KindMap:
				attrs = append(attrs, "peripheries=2")
			}
			if run != nil {
				st := runState(run, n.name)
				attrs = append(attrs, fmt.Sprintf("fillcolor=%q", stateColors[st]), "tooltip="+quoteDOT(string(st)))
			}
			fmt.Fprintf(&b, "%s%s [%s];\n", indent, n.id, strings.Join(attrs, ", "))
			if n.kind == KindParallel {
				fmt.Fprintf(&b, "%ssubgraph cluster_%s {\n%s  label=%s;\n", indent, n.id, indent, quoteDOT(n.name+" branches"))
				emitNodes(n.name, indent+"  ")
				fmt.Fprintf(&b, "%s}\n", indent)
			}
		}
	}
	emitNodes("", "  ")
	for _, e := range edges {
		var attrs []string
		if e.label != "" {
			attrs = append(attrs, "label="+quoteDOT(e.label))
		}
		if e.dashed {
			attrs = append(attrs, "style=dashed")
		}
		if len(attrs) > 0 {
			fmt.Fprintf(&b, "  %s -> %s [%s];\n", e.from, e.to, strings.Join(attrs, ", "))
		} else {
			fmt.Fprintf(&b, "  %s -> %s;\n", e.from, e.to)
		}
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// SVG renders the pipeline as an SVG picture that any browser, image
// viewer or README shows as it is: one box per step (a Parallel step holds
// its branches), arrows for the transitions (dashed for catches). The
// layout is lakekit's own: steps in rows by their longest path from the
// start, so it needs no Graphviz, browser or network.
func SVG(p *Pipeline) (string, error) { return svgPicture(p, nil) }

// SVGRun renders the pipeline with each step coloured by its state in run,
// with a legend of the states.
func SVGRun(p *Pipeline, run *Run) (string, error) { return svgPicture(p, run) }

// Sizes of the SVG picture, in pixels.
const (
	svgNodeW, svgNodeH = 150.0, 46.0
	svgGapX, svgGapY   = 26.0, 46.0
	svgPad, svgHead    = 14.0, 24.0
	svgMargin          = 20.0
	svgCharW           = 7.2 // of the 13px sans-serif labels
)

type svgBox struct{ x, y, w, h float64 }

// svgPlan places a pipeline's nodes: each scope (the top level, or a
// Parallel step's branches) in rows by longest path from its first steps.
type svgPlan struct {
	nodes []picNode
	edges []picEdge
	index map[string]int // node id → position in nodes
	box   map[string]svgBox
}

// rows groups the nodes of one scope by rank: the longest path to them
// over forward transitions (a transition to an earlier step is a loop and
// does not rank).
func (pl *svgPlan) rows(scope string) [][]int {
	rank := map[int]int{}
	var members []int
	for i, n := range pl.nodes {
		if n.parent == scope {
			members = append(members, i)
			rank[i] = 0
		}
	}
	for _, i := range members { // nodes are in topological order
		for _, e := range pl.edges {
			f, t := pl.index[e.from], pl.index[e.to]
			if f == i && t > f && pl.nodes[t].parent == scope {
				rank[t] = max(rank[t], rank[i]+1)
			}
		}
	}
	var rows [][]int
	for _, i := range members {
		for len(rows) <= rank[i] {
			rows = append(rows, nil)
		}
		rows[rank[i]] = append(rows[rank[i]], i)
	}
	return rows
}

// size is a node's size: a step's box, or a Parallel step's frame around
// its branches.
func (pl *svgPlan) size(i int) (float64, float64) {
	n := pl.nodes[i]
	w := max(svgNodeW, svgCharW*float64(len(n.name))+24)
	if n.kind != KindParallel {
		return w, svgNodeH
	}
	iw, ih := pl.scopeSize(n.name)
	return max(w, iw+2*svgPad), svgHead + ih + svgPad
}

func (pl *svgPlan) scopeSize(scope string) (w, h float64) {
	for r, row := range pl.rows(scope) {
		rw, rh := 0.0, 0.0
		for k, i := range row {
			nw, nh := pl.size(i)
			rw += nw
			if k > 0 {
				rw += svgGapX
			}
			rh = max(rh, nh)
		}
		w = max(w, rw)
		if r > 0 {
			h += svgGapY
		}
		h += rh
	}
	return w, h
}

// place sets the boxes of a scope's nodes inside width, from (x, y).
func (pl *svgPlan) place(scope string, x, y, width float64) {
	for _, row := range pl.rows(scope) {
		rw, rh := 0.0, 0.0
		for k, i := range row {
			nw, nh := pl.size(i)
			rw += nw
			if k > 0 {
				rw += svgGapX
			}
			rh = max(rh, nh)
		}
		cx := x + (width-rw)/2
		for _, i := range row {
			n := pl.nodes[i]
			nw, nh := pl.size(i)
			pl.box[n.id] = svgBox{cx, y, nw, nh}
			if n.kind == KindParallel {
				pl.place(n.name, cx+svgPad, y+svgHead, nw-2*svgPad)
			}
			cx += nw + svgGapX
		}
		y += rh + svgGapY
	}
}

// svgText escapes s for SVG text and attribute values.
func svgText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}

func svgPicture(p *Pipeline, run *Run) (string, error) {
	nodes, edges, err := layout(p)
	if err != nil {
		return "", err
	}
	pl := &svgPlan{nodes: nodes, edges: edges, index: map[string]int{}, box: map[string]svgBox{}}
	for i, n := range nodes {
		pl.index[n.id] = i
	}
	w, h := pl.scopeSize("")
	legend := 0.0
	title := "pipeline " + p.Name()
	if run != nil {
		legend = 30
		title += " — run " + run.ID + " " + string(run.State)
	}
	// room for edges around the right side, the legend and the title (bold 15px)
	inner := max(w+60, 5*110, 1.25*svgCharW*float64(len([]rune(title))))
	width, height := inner+2*svgMargin, h+2*svgMargin+legend+28
	pl.place("", svgMargin+(inner-w)/2, svgMargin+28, w)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n", width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="15" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin+6, svgText(title))
	pl.drawNodes(&b, run)
	pl.drawEdges(&b)
	if run != nil {
		x := svgMargin
		y := height - svgMargin - 12
		for _, st := range stateOrder {
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="14" height="14" rx="3" fill="%s" stroke="#333"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
				x, y, stateColors[st], x+20, y+12, svgText(string(st)))
			x += 110
		}
	}
	b.WriteString("</svg>\n")
	return b.String(), nil
}

// drawNodes draws the frames of Parallel steps first, then the steps.
func (pl *svgPlan) drawNodes(b *strings.Builder, run *Run) {
	for _, frames := range []bool{true, false} {
		for _, n := range pl.nodes {
			if (n.kind == KindParallel) != frames {
				continue
			}
			bx := pl.box[n.id]
			fill, state := "#ffffff", ""
			if run != nil {
				st := runState(run, n.name)
				fill, state = stateColors[st], string(st)
			}
			dash := ""
			if n.kind == KindMap {
				dash = ` stroke-width="2.5"`
			}
			fmt.Fprintf(b, `<g id="step-%s"><title>%s</title>`, svgText(n.id), svgText(strings.TrimSpace(n.name+" ("+n.kind.String()+") "+state)))
			if frames {
				fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="%s" fill-opacity="0.35" stroke="#333" stroke-dasharray="5 3"/>`,
					bx.x, bx.y, bx.w, bx.h, fill)
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text></g>`+"\n", bx.x+10, bx.y+17, svgText(n.name+" · parallel"))
				continue
			}
			if n.kind == KindChoice {
				fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s" stroke="#333"/>`,
					bx.x+bx.w/2, bx.y, bx.x+bx.w, bx.y+bx.h/2, bx.x+bx.w/2, bx.y+bx.h, bx.x, bx.y+bx.h/2, fill)
			} else {
				fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="%s" stroke="#333"%s/>`, bx.x, bx.y, bx.w, bx.h, fill, dash)
			}
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>`, bx.x+bx.w/2, bx.y+20, svgText(n.name))
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#444">%s</text></g>`+"\n", bx.x+bx.w/2, bx.y+36, svgText(n.kind.String()))
		}
	}
}

// drawEdges draws each transition: down from the bottom of a step to the
// top of a later one, or around the right side back to an earlier one.
func (pl *svgPlan) drawEdges(b *strings.Builder) {
	for _, e := range pl.edges {
		f, t := pl.box[e.from], pl.box[e.to]
		style := ""
		if e.dashed {
			style = ` stroke-dasharray="6 4"`
		}
		var d string
		var lx, ly float64
		if t.y > f.y+f.h {
			x1, y1, x2, y2 := f.x+f.w/2, f.y+f.h, t.x+t.w/2, t.y
			d = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, x1, y1+svgGapY/2, x2, y2-svgGapY/2, x2, y2)
			lx, ly = (x1+x2)/2+4, (y1+y2)/2
		} else {
			x1, y1, x2, y2 := f.x+f.w, f.y+f.h/2, t.x+t.w, t.y+t.h/2
			bend := max(x1, x2) + 40
			d = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, bend, y1, bend, y2, x2, y2)
			lx, ly = bend-10, (y1+y2)/2
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="#555" stroke-width="1.4"%s marker-end="url(#arrow)"/>`+"\n", d, style)
		if e.label != "" {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" fill="#333">%s</text>`+"\n", lx, ly, svgText(e.label))
		}
	}
}
