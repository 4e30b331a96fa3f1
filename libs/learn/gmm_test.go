package learn

import (
	"context"
	"math"
	"sort"
	"testing"
)

// Reference values: scikit-learn 1.2.1 (Debian python3-sklearn) on the four iris measurements,
// produced by this script (run from the repository root):
//
//	import numpy as np, pandas as pd
//	from sklearn.mixture import GaussianMixture
//	X = pd.read_csv("../shared/data/tabular/iris.csv")[["sepal_length","sepal_width","petal_length","petal_width"]].to_numpy()
//	for cov in ["full", "diag"]:
//	    for k in range(1, 6):
//	        g = GaussianMixture(k, covariance_type=cov, n_init=10, tol=1e-10, max_iter=5000, random_state=0).fit(X)
//	        o = np.argsort(g.means_[:, 2])
//	        print(cov, k, repr(g.score(X)), repr(g.bic(X)), [round(w, 6) for w in g.weights_[o]], [round(m, 6) for m in g.means_[o, 2]])
var gmmSklearn = []struct {
	cov       string
	k         int
	score     float64 // mean log-likelihood
	bic       float64
	weights   []float64 // components ordered by their petal_length mean
	petalMean []float64
}{
	{CovFull, 1, -2.532764201306822, 829.9781545093942, []float64{1.0}, []float64{3.758}},
	{CovFull, 2, -1.429031363973182, 574.017832720746, []float64{0.333329, 0.666671}, []float64{1.462002, 4.905977}},
	{CovFull, 3, -1.2012365172833606, 580.8389081252434, []float64{0.333333, 0.299195, 0.367471}, []float64{1.462, 4.201557, 5.479558}},
	{CovDiag, 1, -4.940116901243928, 1522.1201527259486, []float64{1.0}, []float64{3.758}},
	{CovDiag, 2, -2.5745689803921965, 857.5514941172953, []float64{0.333333, 0.666667}, []float64{1.462, 4.906}},
	{CovDiag, 3, -2.0478504782458558, 744.6316611202593, []float64{0.333333, 0.413989, 0.252677}, []float64{1.462, 4.406367, 5.724606}},
	{CovDiag, 4, -1.765650438980399, 705.0673669874886, []float64{0.333333, 0.151322, 0.28473, 0.230615}, []float64{1.462, 3.862799, 4.747986, 5.785605}},
}

// scikit-learn's BIC over k = 1..5 (full covariance): the minimum is at k = 2.
var gmmSklearnFullBIC = []float64{829.9781545093942, 574.017832720746, 580.8389081252434, 621.7511711769741, 648.3453509702146}

func irisRows(t *testing.T) [][]float64 {
	f := shared(t, "tabular/iris.csv")
	cols := []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}
	rows := make([][]float64, f.Rows)
	for i := range rows {
		for _, c := range cols {
			rows[i] = append(rows[i], f.Col(c).F[i])
		}
	}
	return rows
}

func TestGaussianMixtureAgainstSklearn(t *testing.T) {
	rows := irisRows(t)
	ctx := context.Background()
	for _, c := range gmmSklearn {
		r, err := GaussianMixture(ctx, rows, GMMOptions{K: c.k, Covariance: c.cov, NInit: 10, Tol: 1e-10, MaxIter: 5000, Seed: 0})
		if err != nil {
			t.Fatal(err)
		}
		// EM finds local optima; at the optimum scikit-learn found, everything must agree.
		if r.LogLikelihood < c.score-1e-6 {
			t.Errorf("%s k=%d: mean log-likelihood %.10g, sklearn %.10g", c.cov, c.k, r.LogLikelihood, c.score)
			continue
		}
		if math.Abs(r.LogLikelihood-c.score) > 1e-6 {
			t.Logf("%s k=%d: found a better optimum than scikit-learn (%.10g > %.10g)", c.cov, c.k, r.LogLikelihood, c.score)
			continue
		}
		if math.Abs(r.BIC-c.bic) > 1e-4 {
			t.Errorf("%s k=%d: BIC %.10g, sklearn %.10g", c.cov, c.k, r.BIC, c.bic)
		}
		order := make([]int, c.k)
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return r.Means[order[a]][2] < r.Means[order[b]][2] })
		for i, o := range order {
			if math.Abs(r.Weights[o]-c.weights[i]) > 2e-5 || math.Abs(r.Means[o][2]-c.petalMean[i]) > 2e-5 {
				t.Errorf("%s k=%d component %d: weight %.6f petal mean %.6f, sklearn %.6f %.6f", c.cov, c.k, i, r.Weights[o], r.Means[o][2], c.weights[i], c.petalMean[i])
			}
		}
		// labels are the most probable components
		pr := r.Proba(rows)
		for i, l := range r.Labels {
			if argmax(pr[i]) != l {
				t.Fatalf("%s k=%d row %d: label %d, most probable %d", c.cov, c.k, i, l, argmax(pr[i]))
			}
		}
		t.Logf("%s k=%d: log-likelihood %.8f BIC %.4f (%d iterations)", c.cov, c.k, r.LogLikelihood, r.BIC, r.Iter)
	}
}

func TestChooseGMMByBIC(t *testing.T) {
	rows := irisRows(t)
	best, bics, err := ChooseGMM(context.Background(), rows, 1, 5, GMMOptions{Covariance: CovFull, NInit: 5, Tol: 1e-8, MaxIter: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if len(best.Weights) != 2 {
		t.Errorf("BIC chose k=%d (BIC %v), scikit-learn's minimum is k=2 (%v)", len(best.Weights), bics, gmmSklearnFullBIC)
	}
	// BIC at k = 1 and 2 are unique optima: they must equal scikit-learn's
	for k := 0; k < 2; k++ {
		if math.Abs(bics[k]-gmmSklearnFullBIC[k]) > 1e-3 {
			t.Errorf("k=%d: BIC %.6f, sklearn %.6f", k+1, bics[k], gmmSklearnFullBIC[k])
		}
	}
	if _, err := GaussianMixture(context.Background(), rows[:2], GMMOptions{K: 3}); err == nil {
		t.Error("k > rows accepted")
	}
	if _, err := GaussianMixture(context.Background(), rows, GMMOptions{K: 2, Covariance: "spherical"}); err == nil {
		t.Error("unknown covariance accepted")
	}
}

// TestSilhouetteAgainstSklearn: sklearn.metrics.silhouette_score(X, labels) on the iris
// measurements with the labels being the species codes (setosa 0, versicolor 1, virginica 2):
// 0.5034774406932966 (scikit-learn 1.2.1).
func TestSilhouetteAgainstSklearn(t *testing.T) {
	rows := irisRows(t)
	f := shared(t, "tabular/iris.csv")
	codes := map[string]int{"setosa": 0, "versicolor": 1, "virginica": 2}
	labels := make([]int, f.Rows)
	for i := range labels {
		labels[i] = codes[f.Col("species").S[i]]
	}
	if got := Silhouette(rows, labels, 3); math.Abs(got-0.5034774406932966) > 1e-12 {
		t.Errorf("silhouette %.15g, sklearn 0.5034774406932966", got)
	}
}
