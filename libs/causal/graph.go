package causal

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
)

// Graph is a directed acyclic graph over named nodes. Nodes that are not columns of the data are
// latent (unobserved).
type Graph struct {
	Nodes []string
	// Edges: parent -> children.
	ch, pa map[string][]string
	// Undirected edges left unoriented by a discovery (each pair once, sorted).
	Undirected [][2]string
}

// NewGraph builds a graph from nodes and directed edges and checks that it is acyclic.
func NewGraph(nodes []string, edges [][2]string) (*Graph, error) {
	g := &Graph{ch: map[string][]string{}, pa: map[string][]string{}}
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			g.Nodes = append(g.Nodes, n)
		}
	}
	for _, n := range nodes {
		add(n)
	}
	dup := map[[2]string]bool{}
	for _, e := range edges {
		if e[0] == e[1] {
			return nil, fmt.Errorf("causal: graph edge %s -> %s is a self-loop", e[0], e[1])
		}
		add(e[0])
		add(e[1])
		if dup[e] {
			continue
		}
		dup[e] = true
		g.ch[e[0]] = append(g.ch[e[0]], e[1])
		g.pa[e[1]] = append(g.pa[e[1]], e[0])
	}
	if c := g.cycle(); c != "" {
		return nil, fmt.Errorf("causal: graph has a cycle through %s", c)
	}
	return g, nil
}

// Edges lists the directed edges in node order.
func (g *Graph) Edges() [][2]string {
	var out [][2]string
	for _, n := range g.Nodes {
		for _, c := range g.ch[n] {
			out = append(out, [2]string{n, c})
		}
	}
	return out
}

func (g *Graph) has(n string) bool { _, ok := g.index()[n]; return ok }

func (g *Graph) index() map[string]int {
	m := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		m[n] = i
	}
	return m
}

func (g *Graph) cycle() string {
	state := map[string]int{}
	var bad string
	var visit func(string) bool
	visit = func(n string) bool {
		state[n] = 1
		for _, c := range g.ch[n] {
			if state[c] == 1 {
				bad = c
				return true
			}
			if state[c] == 0 && visit(c) {
				return true
			}
		}
		state[n] = 2
		return false
	}
	for _, n := range g.Nodes {
		if state[n] == 0 && visit(n) {
			return bad
		}
	}
	return ""
}

var (
	dotAttr = regexp.MustCompile(`\[[^\]]*\]`)
	// dotKeyword matches an attribute statement such as "node" or "edge" (after removing [...]).
	dotKeyword = regexp.MustCompile(`(?i)^(graph|node|edge)\s*$`)
)

// ParseGraph reads a DOT digraph ("digraph { a -> b; b -> c }", chains "a -> b -> c" allowed,
// attributes ignored) or an edge list with one "a -> b" (or a chain "a -> b -> c", or "a,b" or
// "a b") per line. A line with a missing name ("a -> b -> ") is refused, naming the line.
func ParseGraph(text string) (*Graph, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("causal: the graph is empty")
	}
	unq := func(s string) string {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) && len(s) >= 2 {
			s = strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
		}
		return s
	}
	var nodes []string
	var edges [][2]string
	if i := strings.Index(text, "{"); i >= 0 && strings.Contains(strings.ToLower(text[:i]), "graph") {
		j := strings.LastIndex(text, "}")
		if j < i {
			return nil, fmt.Errorf("causal: DOT graph has no closing brace")
		}
		if !strings.Contains(strings.ToLower(text[:i]), "digraph") {
			return nil, fmt.Errorf("causal: the DOT graph must be a digraph (directed edges a -> b)")
		}
		body := dotAttr.ReplaceAllString(text[i+1:j], "")
		for _, stmt := range regexp.MustCompile(`[;\n]`).Split(body, -1) {
			stmt = strings.TrimSpace(stmt)
			if stmt == "" || strings.HasPrefix(stmt, "//") || strings.HasPrefix(stmt, "#") {
				continue
			}
			// Attribute statements (graph/node/edge defaults had their [...] removed) and a=b settings.
			if dotKeyword.MatchString(stmt) || strings.Contains(stmt, "=") && !strings.Contains(stmt, "->") {
				continue
			}
			if !strings.Contains(stmt, "->") {
				if strings.Contains(stmt, "--") {
					return nil, fmt.Errorf("causal: undirected edge in %q; use ->", stmt)
				}
				nodes = append(nodes, unq(stmt))
				continue
			}
			parts := strings.Split(stmt, "->")
			for k := 0; k+1 < len(parts); k++ {
				a, b := unq(parts[k]), unq(parts[k+1])
				if a == "" || b == "" {
					return nil, fmt.Errorf("causal: cannot read the DOT edge %q", stmt)
				}
				edges = append(edges, [2]string{a, b})
			}
		}
	} else {
		for ln, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			var a, b string
			switch {
			case strings.Contains(line, "->"):
				// A chain "a -> b -> c" is two edges, as in DOT; every name in it must be there:
				// "a -> b -> " would otherwise make a node named "b ->".
				p := strings.Split(line, "->")
				for k := range p {
					p[k] = unq(p[k])
					if p[k] == "" {
						where := "before the first ->"
						switch {
						case k == len(p)-1:
							where = "after the last ->"
						case k > 0:
							where = "between two ->"
						}
						return nil, fmt.Errorf("causal: graph line %d %q has no node name %s (write a -> b, or a chain a -> b -> c)", ln+1, line, where)
					}
				}
				for k := 0; k+1 < len(p); k++ {
					edges = append(edges, [2]string{p[k], p[k+1]})
				}
				continue
			case strings.Contains(line, ","):
				p := strings.SplitN(line, ",", 2)
				a, b = p[0], p[1]
			default:
				p := strings.Fields(line)
				if len(p) != 2 {
					return nil, fmt.Errorf("causal: graph line %d %q is not an edge (write a -> b)", ln+1, line)
				}
				a, b = p[0], p[1]
			}
			a, b = unq(a), unq(b)
			if a == "" || b == "" {
				return nil, fmt.Errorf("causal: graph line %d %q is not an edge (write a -> b)", ln+1, line)
			}
			edges = append(edges, [2]string{a, b})
		}
	}
	if len(edges) == 0 {
		return nil, fmt.Errorf("causal: the graph has no edges")
	}
	return NewGraph(nodes, edges)
}

// GraphFromProto builds a graph from its message (edges, or the DOT text when there are none).
func GraphFromProto(p *causalv1.CausalGraph) (*Graph, error) {
	if len(p.GetEdges()) == 0 && p.GetDot() != "" {
		return ParseGraph(p.GetDot())
	}
	var edges [][2]string
	for _, e := range p.GetEdges() {
		if e.From == "" || e.To == "" {
			return nil, fmt.Errorf("causal: graph edge with an empty end")
		}
		edges = append(edges, [2]string{e.From, e.To})
	}
	return NewGraph(p.GetNodes(), edges)
}

// DOT renders the graph; latent nodes (not in observed, when observed is non-nil) are dashed.
func (g *Graph) DOT(observed map[string]bool) string {
	var b strings.Builder
	b.WriteString("digraph {\n")
	for _, n := range g.Nodes {
		if observed != nil && !observed[n] {
			fmt.Fprintf(&b, "  %q [style=dashed];\n", n)
		} else {
			fmt.Fprintf(&b, "  %q;\n", n)
		}
	}
	for _, e := range g.Edges() {
		fmt.Fprintf(&b, "  %q -> %q;\n", e[0], e[1])
	}
	for _, e := range g.Undirected {
		fmt.Fprintf(&b, "  %q -> %q [dir=none];\n", e[0], e[1])
	}
	b.WriteString("}\n")
	return b.String()
}

// Proto converts the graph to its message, with DOT and a Vega spec.
func (g *Graph) Proto(observed map[string]bool) *causalv1.CausalGraph {
	p := &causalv1.CausalGraph{Nodes: append([]string{}, g.Nodes...), Dot: g.DOT(observed), VegaSpec: g.Vega()}
	for _, e := range g.Edges() {
		p.Edges = append(p.Edges, &causalv1.GraphEdge{From: e[0], To: e[1]})
	}
	for _, e := range g.Undirected {
		p.Undirected = append(p.Undirected, &causalv1.GraphEdge{From: e[0], To: e[1]})
	}
	return p
}

// Vega returns a Vega 6 spec drawing the nodes on a circle with the edges as lines (directed edges
// end in a small marker at the child).
func (g *Graph) Vega() string {
	n := len(g.Nodes)
	pos := map[string][2]float64{}
	type node struct {
		Name string  `json:"name"`
		X    float64 `json:"x"`
		Y    float64 `json:"y"`
	}
	type edge struct {
		X1, Y1, X2, Y2 float64
		Directed       bool `json:"directed"`
	}
	var nodes []node
	for i, name := range g.Nodes {
		a := 2 * math.Pi * float64(i) / float64(max(n, 1))
		x, y := 250+200*math.Cos(a), 250+200*math.Sin(a)
		pos[name] = [2]float64{x, y}
		nodes = append(nodes, node{name, math.Round(x*10) / 10, math.Round(y*10) / 10})
	}
	var edges []edge
	addE := func(a, b string, dir bool) {
		p, q := pos[a], pos[b]
		// Stop short of the child so that the marker is visible.
		dx, dy := q[0]-p[0], q[1]-p[1]
		l := math.Hypot(dx, dy)
		if l > 0 {
			q[0], q[1] = q[0]-12*dx/l, q[1]-12*dy/l
		}
		edges = append(edges, edge{math.Round(p[0]*10) / 10, math.Round(p[1]*10) / 10, math.Round(q[0]*10) / 10, math.Round(q[1]*10) / 10, dir})
	}
	for _, e := range g.Edges() {
		addE(e[0], e[1], true)
	}
	for _, e := range g.Undirected {
		addE(e[0], e[1], false)
	}
	spec := map[string]any{
		"$schema": "https://vega.github.io/schema/vega/v6.json",
		"width":   500, "height": 500, "padding": 10,
		"data": []any{
			map[string]any{"name": "nodes", "values": nodes},
			map[string]any{"name": "edges", "values": edges},
		},
		"marks": []any{
			map[string]any{"type": "rule", "from": map[string]any{"data": "edges"}, "encode": map[string]any{"enter": map[string]any{
				"x": map[string]any{"field": "X1"}, "y": map[string]any{"field": "Y1"},
				"x2": map[string]any{"field": "X2"}, "y2": map[string]any{"field": "Y2"},
				"stroke": map[string]any{"value": "#888"}, "strokeWidth": map[string]any{"value": 1.5}}}},
			map[string]any{"type": "symbol", "from": map[string]any{"data": "edges"}, "encode": map[string]any{"enter": map[string]any{
				"x": map[string]any{"field": "X2"}, "y": map[string]any{"field": "Y2"}, "size": map[string]any{"value": 30},
				"fill": map[string]any{"value": "#444"}, "opacity": map[string]any{"signal": "datum.directed ? 1 : 0"}}}},
			map[string]any{"type": "symbol", "from": map[string]any{"data": "nodes"}, "encode": map[string]any{"enter": map[string]any{
				"x": map[string]any{"field": "x"}, "y": map[string]any{"field": "y"}, "size": map[string]any{"value": 400},
				"fill": map[string]any{"value": "#dde6f5"}, "stroke": map[string]any{"value": "#335"}}}},
			map[string]any{"type": "text", "from": map[string]any{"data": "nodes"}, "encode": map[string]any{"enter": map[string]any{
				"x": map[string]any{"field": "x"}, "y": map[string]any{"field": "y", "offset": -16}, "text": map[string]any{"field": "name"},
				"align": map[string]any{"value": "center"}, "fontSize": map[string]any{"value": 12}}}},
		},
	}
	b, _ := json.Marshal(spec)
	return string(b)
}

// descendants returns the nodes reachable from n by directed paths (n excluded).
func (g *Graph) descendants(n string) map[string]bool {
	out := map[string]bool{}
	stack := []string{n}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range g.ch[v] {
			if !out[c] {
				out[c] = true
				stack = append(stack, c)
			}
		}
	}
	return out
}

// ancestors returns the nodes with a directed path into any of set, the set included.
func (g *Graph) ancestors(set []string) map[string]bool {
	out := map[string]bool{}
	stack := append([]string{}, set...)
	for _, s := range set {
		out[s] = true
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range g.pa[v] {
			if !out[p] {
				out[p] = true
				stack = append(stack, p)
			}
		}
	}
	return out
}

// without returns a copy of the graph without the edges out of (out=true) or into n.
func (g *Graph) without(n string, out bool) *Graph {
	var edges [][2]string
	for _, e := range g.Edges() {
		if (out && e[0] == n) || (!out && e[1] == n) {
			continue
		}
		edges = append(edges, e)
	}
	h, _ := NewGraph(g.Nodes, edges)
	return h
}

// DSeparated reports whether every node of xs is d-separated from every node of ys given zs, by
// the moralised ancestral graph criterion (Lauritzen et al. 1990).
func (g *Graph) DSeparated(xs, ys, zs []string) bool {
	anc := g.ancestors(append(append(append([]string{}, xs...), ys...), zs...))
	adj := map[string]map[string]bool{}
	link := func(a, b string) {
		if adj[a] == nil {
			adj[a] = map[string]bool{}
		}
		if adj[b] == nil {
			adj[b] = map[string]bool{}
		}
		adj[a][b], adj[b][a] = true, true
	}
	for v := range anc {
		ps := g.pa[v]
		for i, p := range ps {
			link(p, v)
			for _, q := range ps[i+1:] {
				link(p, q)
			}
		}
	}
	blocked := map[string]bool{}
	for _, z := range zs {
		blocked[z] = true
	}
	target := map[string]bool{}
	for _, y := range ys {
		target[y] = true
	}
	seen := map[string]bool{}
	stack := []string{}
	for _, x := range xs {
		if blocked[x] {
			continue
		}
		seen[x] = true
		stack = append(stack, x)
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if target[v] {
			return false
		}
		for w := range adj[v] {
			if !seen[w] && !blocked[w] {
				seen[w] = true
				stack = append(stack, w)
			}
		}
	}
	return true
}

// ValidBackdoor reports whether z satisfies the back-door criterion for t -> y.
func (g *Graph) ValidBackdoor(t, y string, z []string) bool {
	desc := g.descendants(t)
	for _, v := range z {
		if desc[v] || v == t || v == y {
			return false
		}
	}
	return g.without(t, true).DSeparated([]string{t}, []string{y}, z)
}

// Identification is the result of identifying the effect of a treatment on an outcome in a graph.
type Identification struct {
	// Strategy is "backdoor", "frontdoor", "iv" or "" (not identified).
	Strategy string
	// Adjustment is the minimal back-door set (observed nodes only); Mediators the front-door set;
	// Instrument the instrument.
	Adjustment []string
	Mediators  []string
	Instrument string
	// Alternatives lists further minimal back-door sets found.
	Alternatives [][]string
	// Text states the estimand and its assumptions in words.
	Text string
}

// Identify finds a minimal back-door adjustment set among the observed nodes; failing that, a
// front-door set or an instrument. Nodes not in observed are latent.
func (g *Graph) Identify(t, y string, observed map[string]bool) (*Identification, error) {
	if !g.has(t) {
		return nil, fmt.Errorf("causal: the treatment %q is not a node of the graph", t)
	}
	if !g.has(y) {
		return nil, fmt.Errorf("causal: the outcome %q is not a node of the graph", y)
	}
	desc := g.descendants(t)
	if !desc[y] {
		return &Identification{Strategy: "backdoor", Text: fmt.Sprintf("The graph has no directed path from %s to %s: the causal effect is zero by assumption; any association is confounding.", t, y)}, nil
	}
	// Candidates: observed non-descendants of t.
	var cand []string
	anc := g.ancestors([]string{t, y})
	for _, n := range g.Nodes {
		if n != t && n != y && !desc[n] && observed[n] && anc[n] {
			cand = append(cand, n)
		}
	}
	var sets [][]string
	try := func(start []string) {
		if !g.ValidBackdoor(t, y, start) {
			return
		}
		s := append([]string{}, start...)
		// Greedy removal in reverse order gives a minimal set (no proper subset obtained by removing
		// one element stays valid).
		for changed := true; changed; {
			changed = false
			for i := len(s) - 1; i >= 0; i-- {
				trial := append(append([]string{}, s[:i]...), s[i+1:]...)
				if g.ValidBackdoor(t, y, trial) {
					s, changed = trial, true
				}
			}
		}
		sort.Strings(s)
		for _, o := range sets {
			if strings.Join(o, "\x00") == strings.Join(s, "\x00") {
				return
			}
		}
		sets = append(sets, s)
	}
	// Observed parents of t, the parents of y that are non-descendants, and all candidates.
	var pt []string
	for _, p := range g.pa[t] {
		if observed[p] {
			pt = append(pt, p)
		}
	}
	try(pt)
	try(cand)
	rev := append([]string{}, cand...)
	sort.Sort(sort.Reverse(sort.StringSlice(rev)))
	try(rev)
	if len(sets) > 0 {
		sort.SliceStable(sets, func(a, b int) bool { return len(sets[a]) < len(sets[b]) })
		id := &Identification{Strategy: "backdoor", Adjustment: sets[0], Alternatives: sets[1:]}
		if len(sets[0]) == 0 {
			id.Text = fmt.Sprintf("Back-door criterion: no back-door path connects %s and %s in the graph, so E[%s | do(%s)] = E[%s | %s] and no adjustment is needed.", t, y, y, t, y, t)
		} else {
			z := strings.Join(sets[0], ", ")
			id.Text = fmt.Sprintf("Back-door criterion: {%s} blocks every back-door path from %s to %s and contains no descendant of %s, so E[%s | do(%s)] = E_Z[ E[%s | %s, Z] ] with Z = {%s} (a minimal set found by d-separation). Assumes the graph is right: no missing arrows and no unlisted common causes.", z, t, y, t, y, t, y, t, z)
		}
		return id, nil
	}
	// Front-door: the observed nodes on directed paths from t to y.
	var med []string
	for _, n := range g.Nodes {
		if desc[n] && n != y && observed[n] && g.ancestors([]string{y})[n] {
			med = append(med, n)
		}
	}
	if len(med) > 0 && g.frontdoor(t, y, med) {
		return &Identification{Strategy: "frontdoor", Mediators: med, Text: fmt.Sprintf("Front-door criterion: no observed set blocks the back-door paths, but {%s} intercepts every directed path from %s to %s, has no unblocked back-door path from %s, and %s blocks every back-door path from it to %s; the effect is P(%s | do(%s)) = sum_m P(m | %s) sum_t' P(%s | m, t') P(t').",
			strings.Join(med, ", "), t, y, t, t, y, y, t, t, y)}, nil
	}
	// Instrument: an observed z associated with t whose every path to y goes through t.
	gt := g.without(t, true)
	for _, z := range g.Nodes {
		if z == t || z == y || !observed[z] || desc[z] {
			continue
		}
		if !g.DSeparated([]string{z}, []string{t}, nil) && gt.DSeparated([]string{z}, []string{y}, nil) {
			return &Identification{Strategy: "iv", Instrument: z, Text: fmt.Sprintf("Instrumental variable: %s affects %s and reaches %s only through %s, with no common cause with %s; under linear, homogeneous effects (or monotonicity, giving a local effect for compliers) the effect is cov(%s, %s) / cov(%s, %s).",
				z, t, y, t, y, z, y, z, t)}, nil
		}
	}
	return &Identification{Text: fmt.Sprintf("Not identified: every set of observed variables leaves a back-door path from %s to %s open through a latent node, and neither a front-door set nor an instrument exists in the graph. Any estimate is associational.", t, y)}, nil
}

// frontdoor checks Pearl's front-door criterion for the set m.
func (g *Graph) frontdoor(t, y string, m []string) bool {
	// (1) m intercepts all directed paths t -> y: removing m leaves no directed path.
	var edges [][2]string
	ms := map[string]bool{}
	for _, v := range m {
		ms[v] = true
	}
	for _, e := range g.Edges() {
		if !ms[e[0]] && !ms[e[1]] {
			edges = append(edges, e)
		}
	}
	h, _ := NewGraph(g.Nodes, edges)
	if h.descendants(t)[y] {
		return false
	}
	// (2) no unblocked back-door path from t to m.
	if !g.without(t, true).DSeparated([]string{t}, m, nil) {
		return false
	}
	// (3) all back-door paths from m to y are blocked by t.
	for _, v := range m {
		if !g.without(v, true).DSeparated([]string{v}, []string{y}, []string{t}) {
			return false
		}
	}
	return true
}
