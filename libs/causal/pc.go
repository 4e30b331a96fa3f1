package causal

import (
	"context"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/vdsproject/vds/libs/frame"
)

// PCOptions configures the PC search.
type PCOptions struct {
	// Columns to search over (all columns when empty).
	Columns []string
	// Alpha is the significance level of the conditional-independence tests (default 0.01).
	Alpha float64
	// MaxCond bounds the size of conditioning sets (default 3).
	MaxCond int
	// Forbidden lists directed edges that must not exist (a -> b); forbidding both directions
	// removes the adjacency.
	Forbidden [][2]string
	// Tiers orders the columns in time: a column in an earlier tier cannot be caused by one in a
	// later tier. Columns not in any tier are unconstrained.
	Tiers [][]string
}

// PCResult is the outcome of the PC search.
type PCResult struct {
	Graph *Graph
	// Tests is the number of conditional-independence tests run.
	Tests int
	// Notes describe the tests used and what the output means.
	Notes []string
}

// ciTester runs conditional-independence tests on complete rows: Fisher's z on partial
// correlations for numeric columns; when every column of a test is discrete (text or at most 10
// distinct values), the G-test (likelihood-ratio chi-square) within the strata of the conditioning
// columns.
type ciTester struct {
	n        int
	corr     *mat.SymDense
	codes    [][]int
	levels   []int
	discrete []bool
	tests    int
}

func newTester(f *frame.Frame, cols []string) (*ciTester, error) {
	var rows []int
	for i := 0; i < f.Rows; i++ {
		ok := true
		for _, c := range cols {
			col := f.Col(c)
			if col.Null[i] || (col.Kind != frame.String && math.IsNaN(col.F[i])) {
				ok = false
				break
			}
		}
		if ok {
			rows = append(rows, i)
		}
	}
	n, p := len(rows), len(cols)
	if n < p+10 {
		return nil, fmt.Errorf("causal: only %d complete rows for %d columns", n, p)
	}
	ct := &ciTester{n: n, codes: make([][]int, p), levels: make([]int, p), discrete: make([]bool, p)}
	X := mat.NewDense(n, p, nil)
	for j, c := range cols {
		col := f.Col(c)
		idx := map[string]int{}
		codes := make([]int, n)
		var keys []string
		for i, r := range rows {
			var k string
			if col.Kind == frame.String {
				k = col.S[r]
			} else {
				k = fmt.Sprint(col.F[r])
			}
			if _, ok := idx[k]; !ok {
				idx[k] = len(idx)
				keys = append(keys, k)
			}
			codes[i] = idx[k]
		}
		if len(idx) < 2 {
			return nil, fmt.Errorf("causal: column %q is constant", c)
		}
		ct.levels[j] = len(idx)
		ct.discrete[j] = col.Kind == frame.String || len(idx) <= 10
		ct.codes[j] = codes
		if col.Kind == frame.String {
			// Text enters the correlation matrix by its level rank in sorted order; tests that mix
			// text with continuous columns are therefore approximate.
			sort.Strings(keys)
			rank := map[string]int{}
			for i, k := range keys {
				rank[k] = i
			}
			for i, r := range rows {
				X.Set(i, j, float64(rank[col.S[r]]))
			}
		} else {
			for i, r := range rows {
				X.Set(i, j, col.F[r])
			}
		}
	}
	means := make([]float64, p)
	sds := make([]float64, p)
	for j := 0; j < p; j++ {
		s := 0.0
		for i := 0; i < n; i++ {
			s += X.At(i, j)
		}
		means[j] = s / float64(n)
		v := 0.0
		for i := 0; i < n; i++ {
			d := X.At(i, j) - means[j]
			v += d * d
		}
		sds[j] = math.Sqrt(v / float64(n))
	}
	ct.corr = mat.NewSymDense(p, nil)
	for a := 0; a < p; a++ {
		for b := a; b < p; b++ {
			s := 0.0
			for i := 0; i < n; i++ {
				s += (X.At(i, a) - means[a]) * (X.At(i, b) - means[b])
			}
			ct.corr.SetSym(a, b, s/float64(n)/(sds[a]*sds[b]))
		}
	}
	return ct, nil
}

// pvalue tests x independent of y given z.
func (ct *ciTester) pvalue(x, y int, z []int) float64 {
	ct.tests++
	allDiscrete := ct.discrete[x] && ct.discrete[y]
	for _, v := range z {
		allDiscrete = allDiscrete && ct.discrete[v]
	}
	if allDiscrete {
		return ct.gtest(x, y, z)
	}
	return ct.fisherZ(x, y, z)
}

func (ct *ciTester) fisherZ(x, y int, z []int) float64 {
	idx := append([]int{x, y}, z...)
	k := len(idx)
	sub := mat.NewSymDense(k, nil)
	for a := 0; a < k; a++ {
		for b := a; b < k; b++ {
			sub.SetSym(a, b, ct.corr.At(idx[a], idx[b]))
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(sub); err != nil {
		return 1
	}
	r := -inv.At(0, 1) / math.Sqrt(inv.At(0, 0)*inv.At(1, 1))
	r = math.Max(math.Min(r, 1-1e-12), -1+1e-12)
	dof := float64(ct.n - len(z) - 3)
	if dof <= 0 {
		return 1
	}
	stat := math.Sqrt(dof) * 0.5 * math.Log((1+r)/(1-r))
	return 2 * distuv.UnitNormal.Survival(math.Abs(stat))
}

func (ct *ciTester) gtest(x, y int, z []int) float64 {
	lx, ly := ct.levels[x], ct.levels[y]
	strata := map[int][]int{}
	for i := 0; i < ct.n; i++ {
		key := 0
		for _, v := range z {
			key = key*ct.levels[v] + ct.codes[v][i]
		}
		strata[key] = append(strata[key], i)
	}
	g, dof := 0.0, 0
	for _, rows := range strata {
		tab := make([]float64, lx*ly)
		rx, ry := make([]float64, lx), make([]float64, ly)
		for _, i := range rows {
			a, b := ct.codes[x][i], ct.codes[y][i]
			tab[a*ly+b]++
			rx[a]++
			ry[b]++
		}
		m := float64(len(rows))
		nx, ny := 0, 0
		for _, v := range rx {
			if v > 0 {
				nx++
			}
		}
		for _, v := range ry {
			if v > 0 {
				ny++
			}
		}
		if nx < 2 || ny < 2 {
			continue
		}
		dof += (nx - 1) * (ny - 1)
		for a := 0; a < lx; a++ {
			for b := 0; b < ly; b++ {
				if o := tab[a*ly+b]; o > 0 {
					g += 2 * o * math.Log(o*m/(rx[a]*ry[b]))
				}
			}
		}
	}
	if dof == 0 {
		return 1
	}
	return distuv.ChiSquared{K: float64(dof)}.Survival(g)
}

// PC runs the PC-stable algorithm (Spirtes, Glymour and Scheines; Colombo and Maathuis 2014):
// remove adjacencies by conditional-independence tests with growing conditioning sets drawn from
// the current neighbours, orient v-structures from the separating sets, then apply Meek's rules.
// Background knowledge removes forbidden adjacencies and orients edges between tiers.
func PC(ctx context.Context, f *frame.Frame, opts PCOptions) (*PCResult, error) {
	cols := opts.Columns
	if len(cols) == 0 {
		cols = f.Names()
	}
	if len(cols) < 2 {
		return nil, fmt.Errorf("causal: the graph search needs at least 2 columns")
	}
	if len(cols) > 40 {
		return nil, fmt.Errorf("causal: the graph search is limited to 40 columns, got %d", len(cols))
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if f.Col(c) == nil {
			return nil, fmt.Errorf("causal: unknown column %q", c)
		}
		if seen[c] {
			return nil, fmt.Errorf("causal: column %q listed twice", c)
		}
		seen[c] = true
	}
	if opts.Alpha == 0 {
		opts.Alpha = 0.01
	}
	if opts.Alpha < 0 || opts.Alpha >= 1 {
		return nil, fmt.Errorf("causal: alpha %v must lie in (0, 1)", opts.Alpha)
	}
	if opts.MaxCond == 0 {
		opts.MaxCond = 3
	}
	ct, err := newTester(f, cols)
	if err != nil {
		return nil, err
	}
	p := len(cols)
	at := map[string]int{}
	for i, c := range cols {
		at[c] = i
	}
	tier := make([]int, p)
	for i := range tier {
		tier[i] = -1
	}
	for k, tr := range opts.Tiers {
		for _, c := range tr {
			i, ok := at[c]
			if !ok {
				return nil, fmt.Errorf("causal: tier column %q is not searched", c)
			}
			tier[i] = k
		}
	}
	forbid := map[[2]int]bool{}
	for _, e := range opts.Forbidden {
		a, ok1 := at[e[0]]
		b, ok2 := at[e[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("causal: forbidden edge %s -> %s names a column that is not searched", e[0], e[1])
		}
		forbid[[2]int{a, b}] = true
	}
	allowed := func(a, b int) bool {
		if forbid[[2]int{a, b}] {
			return false
		}
		return !(tier[a] >= 0 && tier[b] >= 0 && tier[a] > tier[b])
	}
	adj := make([][]bool, p)
	for i := range adj {
		adj[i] = make([]bool, p)
		for j := range adj[i] {
			adj[i][j] = i != j && (allowed(i, j) || allowed(j, i))
		}
	}
	sepset := map[[2]int][]int{}
	for l := 0; l <= opts.MaxCond; l++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// PC-stable: neighbourhoods are frozen at the start of each level.
		nb := make([][]int, p)
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				if adj[i][j] {
					nb[i] = append(nb[i], j)
				}
			}
		}
		more := false
		for x := 0; x < p; x++ {
			for y := 0; y < p; y++ {
				if x == y || !adj[x][y] {
					continue
				}
				var others []int
				for _, v := range nb[x] {
					if v != y {
						others = append(others, v)
					}
				}
				if len(others) < l {
					continue
				}
				more = true
				subsets(others, l, func(z []int) bool {
					if ct.pvalue(x, y, z) > opts.Alpha {
						adj[x][y], adj[y][x] = false, false
						s := append([]int{}, z...)
						sepset[[2]int{x, y}], sepset[[2]int{y, x}] = s, s
						return false
					}
					return true
				})
			}
		}
		if !more {
			break
		}
	}
	dir := make([][]bool, p)
	for i := range dir {
		dir[i] = make([]bool, p)
	}
	orient := func(a, b int) bool {
		if !adj[a][b] || dir[a][b] || dir[b][a] {
			return false
		}
		dir[a][b] = true
		return true
	}
	for a := 0; a < p; a++ {
		for b := 0; b < p; b++ {
			if adj[a][b] && !allowed(b, a) && allowed(a, b) {
				orient(a, b)
			}
		}
	}
	// V-structures x -> z <- y for non-adjacent x, y with z outside their separating set.
	for z := 0; z < p; z++ {
		for x := 0; x < p; x++ {
			for y := x + 1; y < p; y++ {
				if x == z || y == z || !adj[x][z] || !adj[y][z] || adj[x][y] {
					continue
				}
				if containsInt(sepset[[2]int{x, y}], z) {
					continue
				}
				if allowed(x, z) && allowed(y, z) && !dir[z][x] && !dir[z][y] {
					orient(x, z)
					orient(y, z)
				}
			}
		}
	}
	undirected := func(a, b int) bool { return adj[a][b] && !dir[a][b] && !dir[b][a] }
	// Meek rules R1-R3 until nothing changes.
	for changed := true; changed; {
		changed = false
		for a := 0; a < p; a++ {
			for b := 0; b < p; b++ {
				if !undirected(a, b) || !allowed(a, b) {
					continue
				}
				for c := 0; c < p && !dir[a][b]; c++ { // R1: c -> a - b, c and b non-adjacent.
					if c != b && dir[c][a] && !adj[c][b] {
						changed = orient(a, b) || changed
					}
				}
				for c := 0; c < p && !dir[a][b]; c++ { // R2: a -> c -> b.
					if dir[a][c] && dir[c][b] {
						changed = orient(a, b) || changed
					}
				}
				for c := 0; c < p && !dir[a][b]; c++ { // R3: a - c -> b, a - d -> b, c and d non-adjacent.
					for d := c + 1; d < p && !dir[a][b]; d++ {
						if undirected(a, c) && undirected(a, d) && dir[c][b] && dir[d][b] && !adj[c][d] {
							changed = orient(a, b) || changed
						}
					}
				}
			}
		}
	}
	var edges, und [][2]string
	for a := 0; a < p; a++ {
		for b := 0; b < p; b++ {
			switch {
			case dir[a][b]:
				edges = append(edges, [2]string{cols[a], cols[b]})
			case a < b && undirected(a, b):
				und = append(und, [2]string{cols[a], cols[b]})
			}
		}
	}
	g, err := NewGraph(cols, edges)
	if err != nil {
		// Conflicting orientations on a finite sample can close a cycle: keep the skeleton.
		g, _ = NewGraph(cols, nil)
		und = append(und, edges...)
	}
	g.Undirected = und
	return &PCResult{Graph: g, Tests: ct.tests, Notes: []string{
		fmt.Sprintf("PC-stable over %d complete rows with alpha %.3g and conditioning sets up to %d columns: Fisher's z on partial correlations, or the G-test within strata when every column of a test is discrete (text or at most 10 values).", ct.n, opts.Alpha, opts.MaxCond),
		"The result is an equivalence class: undirected edges could point either way given the data. It assumes no latent common causes (causal sufficiency), faithfulness and, for Fisher's z, roughly linear relations. Review and edit it before estimating.",
	}}, nil
}

// Skeleton returns the adjacencies of g (directed and undirected) as sorted pairs.
func (g *Graph) Skeleton() map[[2]string]bool {
	out := map[[2]string]bool{}
	add := func(a, b string) {
		if a > b {
			a, b = b, a
		}
		out[[2]string{a, b}] = true
	}
	for _, e := range g.Edges() {
		add(e[0], e[1])
	}
	for _, e := range g.Undirected {
		add(e[0], e[1])
	}
	return out
}

func containsInt(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// subsets calls fn with every k-subset of xs in lexicographic order until fn returns false.
func subsets(xs []int, k int, fn func([]int) bool) {
	if k > len(xs) {
		return
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	cur := make([]int, k)
	for {
		for i, v := range idx {
			cur[i] = xs[v]
		}
		if !fn(cur) {
			return
		}
		i := k - 1
		for i >= 0 && idx[i] == len(xs)-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}
