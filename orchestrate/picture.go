package orchestrate

import (
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
