package learn

import (
	"context"
	"math"
	"math/rand"
	"testing"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// condExpect is the path-dependent conditional expectation E[f(x) | x_S] of one tree: follow x at
// splits on features in S, otherwise average the children weighted by their cover.
func condExpect(tr *mlv1.Tree, nd int32, x []float64, in map[int32]bool) float64 {
	if tr.Feature[nd] < 0 {
		return tr.Value[nd]
	}
	l, r := tr.Left[nd], tr.Right[nd]
	if in[tr.Feature[nd]] {
		if treeDecide(tr, treeCats(tr), nd, x) {
			return condExpect(tr, l, x, in)
		}
		return condExpect(tr, r, x, in)
	}
	return (tr.Cover[l]*condExpect(tr, l, x, in) + tr.Cover[r]*condExpect(tr, r, x, in)) / tr.Cover[nd]
}

// bruteShapley computes Shapley values of one tree for row x from the definition, over all subsets
// of the features the tree uses.
func bruteShapley(tr *mlv1.Tree, x []float64, p int) []float64 {
	var used []int32
	seen := map[int32]bool{}
	for _, f := range tr.Feature {
		if f >= 0 && !seen[f] {
			seen[f] = true
			used = append(used, f)
		}
	}
	m := len(used)
	fact := func(n int) float64 {
		r := 1.0
		for i := 2; i <= n; i++ {
			r *= float64(i)
		}
		return r
	}
	phi := make([]float64, p)
	for j, fj := range used {
		for mask := 0; mask < 1<<m; mask++ {
			if mask&(1<<j) != 0 {
				continue
			}
			in := map[int32]bool{}
			s := 0
			for k := 0; k < m; k++ {
				if mask&(1<<k) != 0 {
					in[used[k]] = true
					s++
				}
			}
			without := condExpect(tr, 0, x, in)
			in[fj] = true
			with := condExpect(tr, 0, x, in)
			phi[fj] += fact(s) * fact(m-s-1) / fact(m) * (with - without)
		}
	}
	return phi
}

func TestTreeSHAPMatchesBruteForceShapley(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: 2 * time.Second, Seed: 4, Algorithms: []string{AlgoGBDT}, Exclude: []string{"alive"}, NoEnsemble: true})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Best
	ens := m.pb.GetTrees()
	x := transform(m.pb.GetPreprocessing(), f, nil)
	checked := 0
	for ti, tr := range ens.Trees {
		if ti >= 25 {
			break
		}
		ts := newTreeSHAP(tr)
		for i := 0; i < x.n; i += 37 {
			row := make([]float64, x.p)
			for j := range row {
				row[j] = x.cols[j][i]
			}
			got := make([]float64, x.p)
			ts.explain(row, 1, got)
			want := bruteShapley(tr, row, x.p)
			for j := range got {
				if math.Abs(got[j]-want[j]) > 1e-10 {
					t.Fatalf("tree %d row %d feature %d: TreeSHAP %.12g, brute force %.12g", ti, i, j, got[j], want[j])
				}
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d rows checked", checked)
	}

	// Additivity over the whole model: expected value plus the column attributions is the raw score.
	sv, err := m.SHAP(f)
	if err != nil {
		t.Fatal(err)
	}
	raw := m.rawScores(f)
	for i := 0; i < f.Rows; i++ {
		s := sv.Expected[0]
		for _, v := range sv.Values[0][i] {
			s += v
		}
		if math.Abs(s-raw[0][i]) > 1e-9 {
			t.Fatalf("row %d: expected + SHAP = %.12g, raw score %.12g", i, s, raw[0][i])
		}
	}
	// sex is the strongest driver of survival on the Titanic.
	mean := make([]float64, len(sv.Columns))
	for _, row := range sv.Values[0] {
		for j, v := range row {
			mean[j] += math.Abs(v)
		}
	}
	top := 0
	for j := range mean {
		if mean[j] > mean[top] {
			top = j
		}
	}
	if c := sv.Columns[top]; c != "sex" && c != "who" && c != "adult_male" {
		t.Errorf("top mean |SHAP| column %q, want sex (or its proxies who/adult_male)", c)
	}
}

func TestLinearSHAPAndPartialDependence(t *testing.T) {
	n := 600
	rng := rand.New(rand.NewSource(9))
	x1 := &frame.Column{Name: "x1", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	x2 := &frame.Column{Name: "x2", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		x1.F[i], x2.F[i] = rng.NormFloat64()*2, rng.NormFloat64()
		y.F[i] = 3*x1.F[i] - x2.F[i] + 0.1*rng.NormFloat64()
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{x1, x2, y}}
	r, err := AutoML(context.Background(), f, Options{Target: "y", Budget: 2 * time.Second, Seed: 1, Algorithms: []string{AlgoLinear}})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Best
	sv, err := m.SHAP(f)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Predict(f)
	for i := 0; i < n; i++ {
		s := sv.Expected[0] + sv.Values[0][i][0] + sv.Values[0][i][1]
		if math.Abs(s-p.Value[i]) > 1e-9 {
			t.Fatalf("row %d: expected + SHAP %.12g != prediction %.12g", i, s, p.Value[i])
		}
	}
	// The partial dependence of a linear model is a line with the column's slope (3 for x1).
	pd, err := m.PartialDependence(f, "x1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pd) != 10 {
		t.Fatalf("%d grid points", len(pd))
	}
	for k := 1; k < len(pd); k++ {
		slope := (pd[k].Y[0] - pd[k-1].Y[0]) / (pd[k].X - pd[k-1].X)
		if math.Abs(slope-3) > 0.02 {
			t.Fatalf("slope %.4f between %v and %v, want 3", slope, pd[k-1].X, pd[k].X)
		}
	}
	if _, err := m.PartialDependence(f, "nope", 10); err == nil {
		t.Fatal("unknown column accepted")
	}
}
