package learn

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// ensembleOf trains one model per algorithm on f (no ensembles) and blends them with weights.
func ensembleOf(t *testing.T, f *frame.Frame, target string, exclude []string, weights []float64, algos ...string) *Model {
	t.Helper()
	var pbs []*mlv1.ModelArtifact
	for _, algo := range algos {
		r, err := AutoML(context.Background(), f, Options{Target: target, Budget: time.Second, Seed: 2, Algorithms: []string{algo}, Exclude: exclude, NoEnsemble: true})
		if err != nil {
			t.Fatal(err)
		}
		pbs = append(pbs, r.Best.pb)
	}
	pb := proto.Clone(pbs[0]).(*mlv1.ModelArtifact)
	pb.Algorithm = AlgoEnsemble
	pb.Learner = &mlv1.ModelArtifact_Ensemble{Ensemble: &mlv1.Ensemble{Members: pbs, Weights: weights}}
	m, err := FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEnsembleSHAPAddsUp: the sampled Shapley values of an ensemble (boosted trees and logistic
// regression on titanic; forest, k-nearest neighbours and naive Bayes on penguins' three classes)
// add up, row by row and output by output, to the ensemble's raw score (log-odds of its blended
// probability; log class probabilities) minus the expected value. Additivity holds for any
// assignment of the steps to columns (each permutation telescopes), so the test also checks where
// the attributions land: on titanic the column with the largest mean |SHAP| is sex (or one of its
// stand-ins, who and adult_male), as the single boosted model's TreeSHAP and permutation
// importance have it.
func TestEnsembleSHAPAddsUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, target string
		exclude      []string
		algos        []string
		weights      []float64
		top          []string
	}{
		{"tabular/titanic.csv", "survived", []string{"alive"}, []string{AlgoGBDT, AlgoLogistic}, []float64{0.6, 0.4}, []string{"sex", "who", "adult_male"}},
		// No top column for penguins: island, bill and flipper measurements each separate the
		// species, and naive Bayes' near-zero probabilities give island the largest log-scale shares.
		{"tabular/penguins.csv", "species", nil, []string{AlgoRandomForest, AlgoKNN, AlgoNaiveBayes}, []float64{0.5, 0.3, 0.2}, nil},
	} {
		f := shared(t, tc.file)
		m := ensembleOf(t, f, tc.target, tc.exclude, tc.weights, tc.algos...)
		x := sampleFrame(f, 120)
		sv, err := m.SHAP(x)
		if err != nil {
			t.Fatal(err)
		}
		raw := m.rawScores(x)
		if len(sv.Values) != len(raw) || len(sv.Values[0]) != x.Rows {
			t.Fatalf("%s: %d outputs x %d rows, want %d x %d", tc.file, len(sv.Values), len(sv.Values[0]), len(raw), x.Rows)
		}
		var total float64
		for o := range raw {
			for i := range raw[o] {
				sum := sv.Expected[o]
				for _, v := range sv.Values[o][i] {
					sum += v
					total += math.Abs(v)
				}
				if math.Abs(sum-raw[o][i]) > 1e-9*(1+math.Abs(raw[o][i])) {
					t.Fatalf("%s output %d row %d: expected + sum of SHAP = %.12g, raw score %.12g", tc.file, o, i, sum, raw[o][i])
				}
			}
		}
		if total == 0 {
			t.Fatalf("%s: every SHAP value is zero", tc.file)
		}
		mean := make([]float64, len(sv.Columns))
		for o := range sv.Values {
			for _, row := range sv.Values[o] {
				for j, v := range row {
					mean[j] += math.Abs(v)
				}
			}
		}
		best := 0
		for j := range mean {
			if mean[j] > mean[best] {
				best = j
			}
		}
		if tc.top != nil && !slices.Contains(tc.top, sv.Columns[best]) {
			t.Errorf("%s: the largest mean |SHAP| is %s's, want one of %v (columns %v, sums %v)", tc.file, sv.Columns[best], tc.top, sv.Columns, mean)
		}
	}
}

// TestEnsembleSHAPAdditiveModel: for a blend of two linear regressions (an additive model), each
// column's sampled Shapley value differs between two rows by exactly the blend's coefficient times
// the column's difference, summed over the column's derived features: the differences that exact
// linear SHAP gives (the sampling only moves each column's values by a constant).
func TestEnsembleSHAPAdditiveModel(t *testing.T) {
	t.Parallel()
	f := shared(t, "tabular/tips.csv")
	m := ensembleOf(t, f, "tip", nil, []float64{0.7, 0.3}, AlgoRidge, AlgoLinear)
	x := sampleFrame(f, 60)
	sv, err := m.SHAP(x)
	if err != nil {
		t.Fatal(err)
	}
	// The exact linear SHAP of the blend: the members' linear SHAP values weighted.
	e := m.pb.GetEnsemble()
	exact := make([][]float64, x.Rows)
	for i := range exact {
		exact[i] = make([]float64, len(sv.Columns))
	}
	for mi, mem := range e.Members {
		ms, err := (&Model{pb: mem}).SHAP(x)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range ms.Columns {
			k := indexOf(sv.Columns, c)
			for i := range exact {
				exact[i][k] += e.Weights[mi] * ms.Values[0][i][j]
			}
		}
	}
	for i := 1; i < x.Rows; i++ {
		for j, c := range sv.Columns {
			got := sv.Values[0][i][j] - sv.Values[0][0][j]
			want := exact[i][j] - exact[0][j]
			if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
				t.Fatalf("column %s, row %d vs row 0: sampled SHAP differs by %.12g, exact by %.12g", c, i, got, want)
			}
		}
	}
}

// TestSHAPPlan: the permutations and rows of a sampled SHAP call stay within the budget.
func TestSHAPPlan(t *testing.T) {
	for _, tc := range []struct {
		n, p      int
		unit      float64
		rows, prm int
	}{
		{500, 20, 1, 500, 38},                    // 400,000 / (500*21) = 38 permutations
		{100, 5, 1, 100, shapMaxPermutations},    // small: the maximum
		{5000, 20, 1, 2380, shapMinPermutations}, // large: the minimum, fewer rows
		{500, 20, 36, 66, shapMinPermutations},   // a nearest-neighbour member of 7,000 points
	} {
		rows, prm := shapPlan(tc.n, tc.p, tc.unit)
		if rows != tc.rows || prm != tc.prm {
			t.Errorf("shapPlan(%d, %d, %v) = %d rows, %d permutations; want %d, %d", tc.n, tc.p, tc.unit, rows, prm, tc.rows, tc.prm)
		}
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// sampleFrame keeps the first n rows of f.
func sampleFrame(f *frame.Frame, n int) *frame.Frame {
	rows := make([]int, min(n, f.Rows))
	for i := range rows {
		rows[i] = i
	}
	return f.Take(rows)
}
