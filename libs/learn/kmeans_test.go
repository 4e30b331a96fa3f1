package learn

import (
	"context"
	"math"
	"testing"
)

// TestKMeansAgainstSklearn compares inertia on the standardized iris measurements with
// scikit-learn 1.2: KMeans(k, n_init=10, random_state=0).fit(StandardScaler().fit_transform(X)).inertia_
func TestKMeansAgainstSklearn(t *testing.T) {
	x, _ := standardized(t, "tabular/iris.csv", []string{"sepal_length", "sepal_width", "petal_length", "petal_width"})
	rows := make([][]float64, x.n)
	for i := range rows {
		rows[i] = make([]float64, x.p)
		for j := range rows[i] {
			rows[i][j] = x.cols[j][i]
		}
	}
	for _, c := range []struct {
		k    int
		want float64
	}{{2, 222.36170496502294}, {3, 139.82049635974968}, {4, 114.35407164049774}} {
		r, err := KMeans(context.Background(), rows, c.k, 10, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Both are local optima of a non-convex problem (other seeds find 114.09 for k=4, below
		// scikit-learn's), so the test asks for an inertia no worse than scikit-learn's by 0.1%.
		if r.Inertia > c.want*(1+1e-3) {
			t.Errorf("k=%d inertia %.10g, sklearn %.10g", c.k, r.Inertia, c.want)
		}
		sizes := make([]int, c.k)
		for _, l := range r.Labels {
			sizes[l]++
		}
		for ci, s := range sizes {
			if s == 0 {
				t.Errorf("k=%d cluster %d is empty", c.k, ci)
			}
		}
	}
	if _, err := KMeans(context.Background(), [][]float64{{1}, {math.NaN()}}, 1, 1, 1); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := KMeans(context.Background(), rows[:2], 3, 1, 1); err == nil {
		t.Error("k > rows accepted")
	}
}
