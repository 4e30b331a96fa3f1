package causal

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
)

func obs(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func TestParseGraph(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		edges      int
		err        string
	}{
		{"dot", `digraph G { rankdir=LR; node [shape=box]; "age" -> treat; age -> y [color=red]; treat -> y }`, 3, ""},
		{"dot chain", "digraph { a -> b -> c; d }", 2, ""},
		{"dot keywords as name prefixes", "digraph { node [shape=box]; edge [color=red]; nodegree -> treat; edges -> treat; graphite -> treat }", 3, ""},
		{"edge list", "# comment\na -> b\nb, c\nc d\n", 3, ""},
		{"cycle", "a -> b\nb -> c\nc -> a", 0, "cycle"},
		{"self loop", "a -> a", 0, "self-loop"},
		{"undirected dot", "graph { a -- b }", 0, "digraph"},
		{"bad line", "a -> b\nnonsense here now", 0, "line 2"},
		{"edge list chain", "a -> b -> c\nc -> d", 3, ""},
		{"dangling arrow", "x -> y\na -> b -> ", 0, `graph line 2 "a -> b ->" has no node name after the last ->`},
		{"leading arrow", "-> b", 0, `graph line 1 "-> b" has no node name before the first ->`},
		{"double arrow", "a -> -> b", 0, `has no node name between two ->`},
		{"empty", "  ", 0, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGraph(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Edges()) != tc.edges {
				t.Errorf("edges %v, want %d", g.Edges(), tc.edges)
			}
			// DOT output parses back to the same edges.
			h, err := ParseGraph(g.DOT(nil))
			if err != nil || !reflect.DeepEqual(h.Edges(), g.Edges()) {
				t.Errorf("round trip %v %v vs %v", err, h.Edges(), g.Edges())
			}
			var spec map[string]any
			if err := json.Unmarshal([]byte(g.Vega()), &spec); err != nil || spec["marks"] == nil {
				t.Errorf("vega spec: %v", err)
			}
		})
	}
}

func TestDSeparation(t *testing.T) {
	// a -> c <- b, c -> d: a and b are independent, dependent given the collider or its child.
	g, err := ParseGraph("a -> c\nb -> c\nc -> d\na -> e")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		x, y string
		z    []string
		sep  bool
	}{
		{"a", "b", nil, true},
		{"a", "b", []string{"c"}, false},
		{"a", "b", []string{"d"}, false},
		{"e", "d", nil, false},
		{"e", "d", []string{"a"}, true},
		{"e", "d", []string{"c"}, true},
		{"e", "b", []string{"c"}, false},
	} {
		if got := g.DSeparated([]string{tc.x}, []string{tc.y}, tc.z); got != tc.sep {
			t.Errorf("%s _||_ %s | %v: got %v, want %v", tc.x, tc.y, tc.z, got, tc.sep)
		}
	}
}

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		name, graph string
		observed    []string
		strategy    string
		adjust      []string
		extra       string
	}{
		{"confounder", "z -> t\nz -> y\nt -> y", []string{"z", "t", "y"}, "backdoor", []string{"z"}, ""},
		// M-bias: m is a collider; adjusting for it alone opens a path, the minimal set is empty.
		{"m-bias", "a -> t\na -> m\nb -> m\nb -> y\nt -> y", []string{"a", "b", "m", "t", "y"}, "backdoor", []string{}, ""},
		// Mediator and its descendant must not be adjusted; the confounder chain needs only one node.
		{"chain confounder and mediator", "c1 -> c2\nc2 -> t\nc1 -> y\nt -> m\nm -> y\nm -> d", []string{"c1", "c2", "t", "m", "d", "y"}, "backdoor", []string{"c2"}, "c1"},
		{"latent confounder with proxy parent", "u -> t\nu -> y\nw -> u\nt -> y", []string{"w", "t", "y"}, "", nil, ""},
		{"front door", "u -> t\nu -> y\nt -> m\nm -> y", []string{"t", "m", "y"}, "frontdoor", nil, "m"},
		{"instrument", "z -> t\nu -> t\nu -> y\nt -> y", []string{"z", "t", "y"}, "iv", nil, "z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGraph(tc.graph)
			if err != nil {
				t.Fatal(err)
			}
			id, err := g.Identify("t", "y", obs(tc.observed...))
			if err != nil {
				t.Fatal(err)
			}
			t.Log(id.Text)
			if id.Strategy != tc.strategy {
				t.Fatalf("strategy %q, want %q", id.Strategy, tc.strategy)
			}
			if tc.strategy == "backdoor" {
				if len(id.Adjustment) != len(tc.adjust) || (len(tc.adjust) > 0 && !reflect.DeepEqual(id.Adjustment, tc.adjust)) {
					t.Errorf("adjustment %v, want %v", id.Adjustment, tc.adjust)
				}
				if !g.ValidBackdoor("t", "y", id.Adjustment) {
					t.Errorf("returned set is not a valid back-door set")
				}
				// A second minimal set, when there is one, is offered as an alternative.
				if tc.extra != "" && (len(id.Alternatives) != 1 || strings.Join(id.Alternatives[0], ",") != tc.extra) {
					t.Errorf("alternatives %v, want [%s]", id.Alternatives, tc.extra)
				}
			}
			if tc.strategy == "frontdoor" && strings.Join(id.Mediators, ",") != tc.extra {
				t.Errorf("mediators %v", id.Mediators)
			}
			if tc.strategy == "iv" && id.Instrument != tc.extra {
				t.Errorf("instrument %q", id.Instrument)
			}
		})
	}
}

// simulateDAG draws n rows from a linear-Gaussian model over the edges (nodes in topological order).
func simulateDAG(nodes []string, edges [][2]string, n int, seed uint64) *frame.Frame {
	rng := rand.New(rand.NewPCG(seed, 1))
	at := map[string]int{}
	for i, v := range nodes {
		at[v] = i
	}
	coef := map[[2]int]float64{}
	for _, e := range edges {
		c := 0.5 + rng.Float64()*0.7
		if rng.IntN(2) == 0 {
			c = -c
		}
		coef[[2]int{at[e[0]], at[e[1]]}] = c
	}
	f := &frame.Frame{Rows: n}
	for range nodes {
		f.Columns = append(f.Columns, &frame.Column{Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)})
	}
	for j, v := range nodes {
		f.Columns[j].Name = v
		for i := 0; i < n; i++ {
			x := rng.NormFloat64()
			for k := 0; k < j; k++ {
				if c, ok := coef[[2]int{k, j}]; ok {
					x += c * f.Columns[k].F[i]
				}
			}
			f.Columns[j].F[i] = x
		}
	}
	return f
}

func skeletonF1(got, want map[[2]string]bool) float64 {
	tp := 0
	for e := range got {
		if want[e] {
			tp++
		}
	}
	if tp == 0 {
		return 0
	}
	prec, rec := float64(tp)/float64(len(got)), float64(tp)/float64(len(want))
	return 2 * prec * rec / (prec + rec)
}

func TestPCRecoversSkeleton(t *testing.T) {
	nodes := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	edges := [][2]string{{"a", "c"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"b", "f"}, {"f", "g"}, {"e", "g"}, {"a", "h"}, {"h", "i"}, {"g", "j"}, {"i", "j"}, {"c", "e"}}
	truth, _ := NewGraph(nodes, edges)
	for _, seed := range []uint64{1, 2, 3} {
		f := simulateDAG(nodes, edges, 5000, seed)
		res, err := PC(context.Background(), f, PCOptions{Alpha: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		f1 := skeletonF1(res.Graph.Skeleton(), truth.Skeleton())
		t.Logf("seed %d: skeleton F1 %.3f, %d tests, directed %v undirected %v", seed, f1, res.Tests, res.Graph.Edges(), res.Graph.Undirected)
		if f1 < 0.8 {
			t.Errorf("seed %d: skeleton F1 %.3f < 0.8", seed, f1)
		}
		// The v-structure a -> c <- b is identifiable and must be oriented.
		got := map[[2]string]bool{}
		for _, e := range res.Graph.Edges() {
			got[e] = true
		}
		if !got[[2]string{"a", "c"}] || !got[[2]string{"b", "c"}] {
			t.Errorf("seed %d: v-structure a -> c <- b not oriented: %v", seed, res.Graph.Edges())
		}
	}
}

func TestPCBackgroundKnowledge(t *testing.T) {
	// A chain x -> y -> z has no v-structure: PC alone leaves it undirected; tiers orient it, and a
	// forbidden adjacency removes an edge.
	nodes := []string{"x", "y", "z"}
	f := simulateDAG(nodes, [][2]string{{"x", "y"}, {"y", "z"}}, 3000, 9)
	res, err := PC(context.Background(), f, PCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Graph.Edges()) != 0 || len(res.Graph.Undirected) != 2 {
		t.Fatalf("without knowledge: directed %v undirected %v", res.Graph.Edges(), res.Graph.Undirected)
	}
	res, err = PC(context.Background(), f, PCOptions{Tiers: [][]string{{"x"}, {"y"}, {"z"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Graph.Edges(), [][2]string{{"x", "y"}, {"y", "z"}}) {
		t.Errorf("with tiers: %v undirected %v", res.Graph.Edges(), res.Graph.Undirected)
	}
	res, err = PC(context.Background(), f, PCOptions{Forbidden: [][2]string{{"y", "z"}, {"z", "y"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Graph.Skeleton()[[2]string{"y", "z"}] {
		t.Errorf("forbidden adjacency kept: %v", res.Graph.Skeleton())
	}
	if _, err := PC(context.Background(), f, PCOptions{Tiers: [][]string{{"nope"}}}); err == nil {
		t.Errorf("unknown tier column accepted")
	}
}

func TestPCDiscrete(t *testing.T) {
	// Text columns: smoker -> tar -> cancer; smoker and cancer independent given tar (G-test).
	rng := rand.New(rand.NewPCG(5, 5))
	n := 4000
	cols := []*frame.Column{
		{Name: "smoker", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)},
		{Name: "tar", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)},
		{Name: "cancer", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)},
	}
	for i := 0; i < n; i++ {
		s := rng.Float64() < 0.3
		tar := rng.Float64() < map[bool]float64{true: 0.8, false: 0.2}[s]
		c := rng.Float64() < map[bool]float64{true: 0.4, false: 0.1}[tar]
		cols[0].S[i] = map[bool]string{true: "yes", false: "no"}[s]
		cols[1].S[i] = map[bool]string{true: "high", false: "low"}[tar]
		cols[2].S[i] = map[bool]string{true: "yes", false: "no"}[c]
	}
	res, err := PC(context.Background(), &frame.Frame{Columns: cols, Rows: n}, PCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sk := res.Graph.Skeleton()
	if len(sk) != 2 || !sk[[2]string{"smoker", "tar"}] || !sk[[2]string{"cancer", "tar"}] {
		t.Errorf("skeleton %v", sk)
	}
}

// simulateSCM draws n rows of a small structural model with a binary treatment t, effect 2 on y.
func simulateSCM(kind string, n int, seed uint64) *frame.Frame {
	rng := rand.New(rand.NewPCG(seed, 3))
	names := []string{"z", "t", "m", "y"}
	f := &frame.Frame{Rows: n}
	for _, nm := range names {
		f.Columns = append(f.Columns, &frame.Column{Name: nm, Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)})
	}
	z, tt, m, y := f.Columns[0].F, f.Columns[1].F, f.Columns[2].F, f.Columns[3].F
	for i := 0; i < n; i++ {
		u := rng.NormFloat64() // latent in front_door and iv
		z[i] = rng.NormFloat64()
		var lin float64
		switch kind {
		case "backdoor":
			lin = 1.2 * z[i]
		case "front_door":
			lin = 1.2 * u
		case "iv":
			lin = 1.5*z[i] + 1.2*u
		}
		if rng.Float64() < 1/(1+math.Exp(-lin)) {
			tt[i] = 1
		}
		switch kind {
		case "backdoor":
			y[i] = 2*tt[i] + 1.5*z[i] + rng.NormFloat64()
			m[i] = rng.NormFloat64()
		case "front_door":
			m[i] = 1.0*tt[i] + 0.5*rng.NormFloat64()
			y[i] = 2*m[i] + 2*u + rng.NormFloat64()
		case "iv":
			y[i] = 2*tt[i] + 2*u + rng.NormFloat64()
			m[i] = rng.NormFloat64()
		}
	}
	return f
}

func TestEstimateWithGraph(t *testing.T) {
	for _, tc := range []struct {
		kind, graph, method string
		adjust              []string
	}{
		{"backdoor", "digraph { z -> t; z -> y; t -> y }", MethodAIPW, []string{"z"}},
		{"front_door", "u -> t\nu -> y\nt -> m\nm -> y", MethodFrontDoor, nil},
		{"iv", "z -> t\nu -> t\nu -> y\nt -> y", MethodIV, nil},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			f := simulateSCM(tc.kind, 4000, 11)
			g, err := ParseGraph(tc.graph)
			if err != nil {
				t.Fatal(err)
			}
			spec := Spec{Treatment: "t", Outcome: "y", Graph: g, Seed: 2, SkipRefutations: true}
			if tc.kind == "backdoor" {
				spec.Method = MethodAIPW
				// A wrong user set (the unrelated m) is replaced by the graph's set.
				spec.Confounders = []string{"m"}
			}
			if tc.kind == "front_door" {
				spec.Confounders = []string{"z"} // not used by a front-door estimate; the caller is told
			}
			e, err := Estimate(context.Background(), f, spec)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.4f [%.4f, %.4f] naive %.4f; %s; warnings %v", e.Method, e.Ate, e.CiLow, e.CiHigh, e.NaiveDifference, e.Identification, e.Warnings)
			if e.Method != tc.method || !reflect.DeepEqual(e.AdjustmentSet, tc.adjust) && len(tc.adjust) > 0 {
				t.Errorf("method %s adjustment %v, want %s %v", e.Method, e.AdjustmentSet, tc.method, tc.adjust)
			}
			if e.CiLow > 2 || e.CiHigh < 2 || math.Abs(e.Ate-2) > 0.3 {
				t.Errorf("effect %.4f [%.4f, %.4f], want 2", e.Ate, e.CiLow, e.CiHigh)
			}
			if math.Abs(e.NaiveDifference-2) < 0.5 {
				t.Errorf("naive %.4f is not biased: the simulation does not test anything", e.NaiveDifference)
			}
			if e.Identification == "" {
				t.Errorf("no identification text")
			}
			if warned := strings.Contains(strings.Join(e.Warnings, " "), "confounders {z} are not used"); warned != (tc.kind == "front_door") {
				t.Errorf("warnings %v: want a note on unused confounders only for the front-door case", e.Warnings)
			}
		})
	}
	// Not identified: latent confounder only.
	f := simulateSCM("front_door", 500, 1)
	g, _ := ParseGraph("u -> t\nu -> y\nt -> y\nz -> y")
	e, err := Estimate(context.Background(), f, Spec{Treatment: "t", Outcome: "y", Graph: g, SkipRefutations: true, Confounders: []string{"z"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(e.Warnings, " "), "ASSOCIATIONAL") || !strings.HasPrefix(e.Identification, "Not identified") {
		t.Errorf("unidentified effect not labelled: %v / %s", e.Warnings, e.Identification)
	}
}
