package orchestrate

import (
	"fmt"
	"slices"
	"strings"
)

// graph is the analysed shape of one pipeline level (a Parallel branch is a
// graph of its own): dependencies, choice gates and catch routes, in the
// order the steps were added.
type graph struct {
	p        *Pipeline
	steps    []*Step
	idx      map[string]int
	deps     [][]int           // explicit and implied dependencies
	choiceOf map[int]int       // choice target -> the choice that gates it
	sources  map[int][]int     // catch handler -> the steps whose errors it takes
	order    []int             // a stable topological order over all edges
	succ     map[int][]int     // all edges, for pictures and ordering
	labels   map[[2]int]string // edge labels (choice rules, catch)
}

func newGraph(p *Pipeline) (*graph, error) {
	g := &graph{p: p, steps: p.steps, idx: map[string]int{}, choiceOf: map[int]int{}, sources: map[int][]int{},
		succ: map[int][]int{}, labels: map[[2]int]string{}}
	for i, s := range p.steps {
		g.idx[s.Name] = i
	}
	g.deps = make([][]int, len(p.steps))
	addEdge := func(from, to int, label string) {
		if !slices.Contains(g.succ[from], to) {
			g.succ[from] = append(g.succ[from], to)
		}
		if label != "" {
			if old := g.labels[[2]int{from, to}]; old != "" {
				label = old + " / " + label
			}
			g.labels[[2]int{from, to}] = label
		}
	}
	for i, s := range p.steps {
		for _, d := range s.deps() {
			j, ok := g.idx[d]
			if !ok {
				return nil, stepErr(s.Name, "depends on unknown step %q", d)
			}
			g.deps[i] = append(g.deps[i], j)
			addEdge(j, i, "")
		}
	}
	for i, s := range p.steps {
		if s.Kind == KindChoice {
			targets := map[int]string{}
			for _, r := range s.Rules {
				targets[g.idx[r.Next]] = ruleLabel(r)
			}
			if s.Default != "" {
				if _, dup := targets[g.idx[s.Default]]; !dup {
					targets[g.idx[s.Default]] = "otherwise"
				}
			}
			for _, t := range sortedKeys(targets) {
				if t == i {
					return nil, stepErr(s.Name, "choice goes to itself")
				}
				if other, ok := g.choiceOf[t]; ok && other != i {
					return nil, stepErr(p.steps[t].Name, "is the target of two choices (%q and %q)", p.steps[other].Name, s.Name)
				}
				g.choiceOf[t] = i
				addEdge(i, t, targets[t])
			}
		}
		for _, c := range s.Catches {
			h := g.idx[c.Next]
			if !slices.Contains(g.sources[h], i) {
				g.sources[h] = append(g.sources[h], i)
			}
			addEdge(i, h, "catch "+strings.Join(c.ErrorEquals, ","))
		}
	}
	for h := range g.sources {
		hs := p.steps[h]
		if len(hs.deps()) > 0 {
			return nil, stepErr(hs.Name, "is a catch handler, which runs only when an error is routed to it; it cannot have dependencies")
		}
		if _, ok := g.choiceOf[h]; ok {
			return nil, stepErr(hs.Name, "is both a catch handler and a choice target")
		}
	}
	if err := g.topo(); err != nil {
		return nil, err
	}
	return g, nil
}

// inputDeps are the dependencies whose outputs step i's Input.Deps hold:
// all of them, except that a Map's iterations get their item rather than
// the whole output of the items source (unless it is also an explicit
// dependency), so that no iteration carries the full list.
func (g *graph) inputDeps(i int) []int {
	s := g.steps[i]
	if s.Kind != KindMap || slices.Contains(s.DependsOn, s.Map.ItemsFrom) {
		return g.deps[i]
	}
	var out []int
	for _, d := range g.deps[i] {
		if g.steps[d].Name != s.Map.ItemsFrom {
			out = append(out, d)
		}
	}
	return out
}

func ruleLabel(r Rule) string {
	f := r.Step
	if r.Field != "" {
		f += "." + r.Field
	}
	return fmt.Sprintf("%s %s %v", f, r.Op, r.Value)
}

// topo computes a stable topological order (Kahn's algorithm, always taking
// the earliest-added ready step) and reports a cycle naming its steps.
func (g *graph) topo() error {
	n := len(g.steps)
	indeg := make([]int, n)
	for _, ts := range g.succ {
		for _, t := range ts {
			indeg[t]++
		}
	}
	done := make([]bool, n)
	for len(g.order) < n {
		next := -1
		for i := 0; i < n; i++ {
			if !done[i] && indeg[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 {
			return g.cycleError(done)
		}
		done[next] = true
		g.order = append(g.order, next)
		for _, t := range g.succ[next] {
			indeg[t]--
		}
	}
	return nil
}

func (g *graph) cycleError(done []bool) error {
	// Walk predecessors among the unfinished steps until one repeats.
	pred := map[int]int{}
	for from, ts := range g.succ {
		for _, t := range ts {
			if !done[from] && !done[t] {
				pred[t] = from
			}
		}
	}
	start := -1
	for i := range g.steps {
		if !done[i] {
			start = i
			break
		}
	}
	seen := map[int]int{}
	var path []int
	for cur := start; ; cur = pred[cur] {
		if at, ok := seen[cur]; ok {
			cyc := path[at:]
			slices.Reverse(cyc)
			// Start at the earliest-added step, so the message is stable.
			m := 0
			for k := range cyc {
				if cyc[k] < cyc[m] {
					m = k
				}
			}
			cyc = append(slices.Clone(cyc[m:]), cyc[:m]...)
			names := make([]string, 0, len(cyc)+1)
			for _, c := range cyc {
				names = append(names, g.steps[c].Name)
			}
			names = append(names, g.steps[cyc[0]].Name)
			return stepErr(g.steps[cyc[0]].Name, "is on a cycle: %s", strings.Join(names, " -> "))
		}
		seen[cur] = len(path)
		path = append(path, cur)
	}
}

// outcome keys for reachability: a choice's chosen target, or whether a
// step with catch handlers succeeded ("ok") or was caught ("caught").
type conj map[int]string

const maxAlternatives = 64

// checkReachable refuses steps that can never run: ones that need two
// different outcomes of one choice, or a step's success and its failure.
func (g *graph) checkReachable() error {
	req := make([][]conj, len(g.steps))
	for _, i := range g.order {
		var alts []conj
		if srcs, ok := g.sources[i]; ok {
			for _, s := range srcs {
				for _, a := range req[s] {
					if c, ok := merge(a, conj{s: "caught"}); ok {
						alts = append(alts, c)
					}
				}
			}
		} else {
			alts = []conj{{}}
			for _, d := range g.deps[i] {
				need := conj{}
				if len(g.steps[d].Catches) > 0 {
					need[d] = "ok"
				}
				var next []conj
				for _, a := range alts {
					for _, b := range req[d] {
						if c, ok := merge(a, b); ok {
							if c, ok = merge(c, need); ok {
								next = append(next, c)
							}
						}
					}
				}
				alts = next
				if len(alts) > maxAlternatives {
					alts = alts[:maxAlternatives]
				}
			}
			if z, ok := g.choiceOf[i]; ok {
				var next []conj
				for _, a := range alts {
					for _, b := range req[z] {
						if c, ok := merge(a, b); ok {
							if c, ok = merge(c, conj{z: g.steps[i].Name}); ok {
								next = append(next, c)
							}
						}
					}
				}
				alts = next
			}
		}
		if len(alts) == 0 {
			return stepErr(g.steps[i].Name, "can never run: it needs %s", g.whyUnreachable(i))
		}
		req[i] = alts
	}
	return nil
}

func (g *graph) whyUnreachable(i int) string {
	var parts []string
	for _, d := range g.deps[i] {
		parts = append(parts, fmt.Sprintf("%q", g.steps[d].Name))
	}
	return "all of " + strings.Join(parts, ", ") + " to succeed, and they exclude each other (different branches of a choice, or a step's success and its catch handler)"
}

func merge(a, b conj) (conj, bool) {
	c := make(conj, len(a)+len(b))
	for k, v := range a {
		c[k] = v
	}
	for k, v := range b {
		if old, ok := c[k]; ok && old != v {
			return nil, false
		}
		c[k] = v
	}
	return c, true
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
