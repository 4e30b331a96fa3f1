package learn

import (
	"context"
	"math"
	"testing"
)

// TestElasticNetAgainstSklearn fits the elastic net on the standardized numeric mpg columns and
// compares with scikit-learn 1.2 (OMP_NUM_THREADS=1):
//
//	X = StandardScaler().fit_transform(d[["cylinders","displacement","weight","acceleration","model_year"]])
//	ElasticNet(alpha=0.5, l1_ratio=0.5, tol=1e-12, max_iter=1000000).fit(X, d.mpg)
//	LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=0.5, C=0.05, tol=1e-12,
//	    max_iter=1000000).fit(X, d.origin == "usa")
func TestElasticNetAgainstSklearn(t *testing.T) {
	f := shared(t, "tabular/mpg.csv")
	cols := []string{"cylinders", "displacement", "weight", "acceleration", "model_year"}
	n := f.Rows
	x := newDense(n, len(cols))
	for j, c := range cols {
		v := f.Col(c).F
		var m, s float64
		for _, a := range v {
			m += a / float64(n)
		}
		for _, a := range v {
			s += (a - m) * (a - m) / float64(n)
		}
		for i, a := range v {
			x.cols[j][i] = (a - m) / math.Sqrt(s)
		}
	}
	mpg := f.Col("mpg").F
	usa := make([]float64, n)
	for i, o := range f.Col("origin").S {
		if o == "usa" {
			usa[i] = 1
		}
	}
	cases := []struct {
		name      string
		task      Task
		y         []float64
		prm       linearParams
		coef      []float64
		intercept float64
		tol       float64
	}{
		// ElasticNet's alpha is our lambda = 1/(C n), so C = 1/(alpha n).
		{"regression", TaskRegression, mpg, linearParams{C: 1 / (0.5 * float64(n)), L1Ratio: 0.5, MaxIter: 3000},
			[]float64{-1.10529477, -1.38060036, -2.6651173, 0.01631274, 2.04288439}, 23.51457286, 1e-5},
		{"binary", TaskBinary, usa, linearParams{C: 0.05, L1Ratio: 0.5, MaxIter: 3000},
			[]float64{0.32571347, 1.19657929, 0.36083991, 0, 0}, 1.02727973, 1e-4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lm, err := fitLinear(context.Background(), c.task, x, c.y, nil, 2, c.prm)
			if err != nil {
				t.Fatal(err)
			}
			for j, want := range c.coef {
				got := lm.Coefficients[j]
				if math.Abs(got-want) > c.tol || (want == 0 && got != 0) {
					t.Errorf("%s coefficient %.8f, sklearn %.8f", cols[j], got, want)
				}
			}
			if math.Abs(lm.Intercepts[0]-c.intercept) > c.tol {
				t.Errorf("intercept %.8f, sklearn %.8f", lm.Intercepts[0], c.intercept)
			}
		})
	}
}
