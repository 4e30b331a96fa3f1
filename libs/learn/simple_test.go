package learn

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// standardized builds a dense matrix of the columns of a shared file, standardized with the
// population standard deviation (scikit-learn's StandardScaler).
func standardized(t *testing.T, rel string, cols []string) (*dense, func(string) *[]float64) {
	f := shared(t, rel)
	x := newDense(f.Rows, len(cols))
	for j, c := range cols {
		v := f.Col(c).F
		var m, s float64
		for _, a := range v {
			m += a / float64(f.Rows)
		}
		for _, a := range v {
			s += (a - m) * (a - m) / float64(f.Rows)
		}
		for i, a := range v {
			x.cols[j][i] = (a - m) / math.Sqrt(s)
		}
	}
	return x, func(c string) *[]float64 { return &f.Col(c).F }
}

func rowsOf(x *dense, rows []int) *dense {
	out := newDense(len(rows), x.p)
	for j := range x.cols {
		for i, r := range rows {
			out.cols[j][i] = x.cols[j][r]
		}
	}
	return out
}

// Reference values from scikit-learn 1.2 on StandardScaler-transformed columns:
//
//	GaussianNB().fit(X_iris, species codes).predict_proba(X_iris[[0, 60, 120, 70]])
//	KNeighborsRegressor(n_neighbors=7[, weights="distance"]).fit(X_mpg[:300], mpg[:300]).predict(X_mpg[300:305])
func TestNaiveBayesAndKNNAgainstSklearn(t *testing.T) {
	x, _ := standardized(t, "tabular/iris.csv", []string{"sepal_length", "sepal_width", "petal_length", "petal_width"})
	f := shared(t, "tabular/iris.csv")
	idx := map[string]int{"setosa": 0, "versicolor": 1, "virginica": 2}
	yc := make([]int, f.Rows)
	for i, s := range f.Col("species").S {
		yc[i] = idx[s]
	}
	nb, err := fitNaiveBayes(x, yc, 3, nbParams{VarSmoothing: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	sc := naiveBayesScores(nb, rowsOf(x, []int{0, 60, 120, 70}), false)
	want := [][]float64{{1.0, 0.0, 0.0}, {0.0, 0.9999997649, 2.351e-07}, {0.0, 1.17e-08, 0.9999999883}, {0.0, 0.1544940613, 0.8455059387}}
	for i, w := range want {
		mx := math.Max(sc[0][i], math.Max(sc[1][i], sc[2][i]))
		var s float64
		for c := 0; c < 3; c++ {
			s += math.Exp(sc[c][i] - mx)
		}
		for c := 0; c < 3; c++ {
			if got := math.Exp(sc[c][i]-mx) / s; math.Abs(got-w[c]) > 1e-9 {
				t.Errorf("naive Bayes row %d class %d: %.10g, sklearn %.10g", i, c, got, w[c])
			}
		}
	}

	xm, col := standardized(t, "tabular/mpg.csv", []string{"cylinders", "displacement", "weight", "acceleration", "model_year"})
	train := make([]int, 300)
	for i := range train {
		train[i] = i
	}
	mpg := *col("mpg")
	cases := []struct {
		weighted bool
		want     []float64
	}{
		{false, []float64{17.6142857143, 31.4, 30.7428571429, 34.1857142857, 32.4857142857}},
		{true, []float64{17.5989231303, 31.4723262773, 31.0078909562, 34.4571496331, 32.6354736216}},
	}
	for _, c := range cases {
		nn := fitKNN(rowsOf(xm, train), mpg[:300], knnParams{K: 7, Weighted: c.weighted})
		got := knnScores(context.Background(), nn, rowsOf(xm, []int{300, 301, 302, 303, 304}), TaskRegression, 0)[0]
		for i, w := range c.want {
			if math.Abs(got[i]-w) > 1e-6 {
				t.Errorf("knn weighted=%v row %d: %.10g, sklearn %.10g", c.weighted, i, got[i], w)
			}
		}
	}
}

// TestSimpleLearnersInAutoML trains each simple learner alone through AutoML on iris and checks its
// cross-validated accuracy and that the artifact survives a round trip with identical predictions.
func TestSimpleLearnersInAutoML(t *testing.T) {
	f := shared(t, "tabular/iris.csv")
	for _, algo := range []string{AlgoNaiveBayes, AlgoKNN, AlgoElasticNet, AlgoRandomForest, AlgoExtraTrees} {
		t.Run(algo, func(t *testing.T) {
			r, err := AutoML(context.Background(), f, Options{Target: "species", Budget: 3 * time.Second, Seed: 1, Algorithms: []string{algo}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Best.Algorithm() != algo || r.Leaderboard[0].Metrics["accuracy"] < 0.9 {
				t.Fatalf("best %s accuracy %.3f", r.Best.Algorithm(), r.Leaderboard[0].Metrics["accuracy"])
			}
			b, err := r.Best.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			p1, _ := r.Best.Predict(f)
			p2, _ := m2.Predict(f)
			samePredictions(t, p1, p2)
		})
	}
}

// TestForests checks random forests and extra trees on Titanic (binary) and mpg (regression):
// cross-validated scores must clear floors well above a weak model (ranking Titanic passengers by
// sex alone gives ROC AUC 0.767, computed with scikit-learn's roc_auc_score), and SHAP must run.
func TestForests(t *testing.T) {
	titanic := shared(t, "tabular/titanic.csv")
	mpg := shared(t, "tabular/mpg.csv")
	cases := []struct {
		name, algo, target string
		f                  *frame.Frame
		exclude            []string
		metric             string
		min                float64
	}{
		{"rf titanic", AlgoRandomForest, "survived", titanic, []string{"alive"}, "roc_auc", 0.84},
		{"et titanic", AlgoExtraTrees, "survived", titanic, []string{"alive"}, "roc_auc", 0.81},
		{"rf mpg", AlgoRandomForest, "mpg", mpg, []string{"name"}, "r2", 0.85},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := AutoML(context.Background(), c.f, Options{Target: c.target, Budget: 2 * time.Second, Seed: 1, Algorithms: []string{c.algo}, Exclude: c.exclude})
			if err != nil {
				t.Fatal(err)
			}
			e := r.Leaderboard[0]
			got := e.CVScore
			if c.metric == "r2" {
				got = e.Metrics["r2"]
			}
			t.Logf("%s %s %.4f (%s)", c.algo, c.metric, got, e.Config)
			if r.Best.Algorithm() != c.algo || got < c.min {
				t.Fatalf("%s %s = %.4f, want at least %.2f", r.Best.Algorithm(), c.metric, got, c.min)
			}
			if _, err := r.Best.SHAP(subFrame(c.f, []int{0, 1, 2})); err != nil {
				t.Fatalf("SHAP on a forest: %v", err)
			}
		})
	}
}
