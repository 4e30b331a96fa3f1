package learn

import (
	"context"
	"math"
	"math/rand"
	"testing"
)

// Without row counts (minimum leaf of one row) split finding tells empty bins from their hessian
// sums. Histograms made by subtraction keep rounding residues in empty bins; with no minimum child
// weight and no L2 those residues must still never make a split with an empty side. Many rounds at
// a high learning rate make nodes nearly pure, where real gains are as small as the residues.
func TestGBDTNoEmptyChildrenWithoutCounts(t *testing.T) {
	const n, p = 3000, 6
	rng := rand.New(rand.NewSource(3))
	x := newDense(n, p)
	yb := make([]float64, n)
	yc := make([]int, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			v := rng.NormFloat64()
			if j == 4 && rng.Intn(6) == 0 {
				v = math.NaN()
			}
			x.cols[j][i] = v
		}
		z := x.cols[0][i] - 0.7*x.cols[1][i] + 0.3*x.cols[2][i]*x.cols[3][i]
		if z > 0 {
			yb[i] = 1
		}
		yc[i] = int(math.Min(2, math.Max(0, math.Floor(z+1))))
	}
	prm := gbdtParams{LearningRate: 0.8, MaxLeaves: 64, MaxDepth: 0, MinChildWeight: 0, MinSamplesLeaf: 1, Lambda: 0, Subsample: 1, Colsample: 1, MaxRounds: 60}
	for _, c := range []struct {
		name string
		task Task
		k    int
		yc   []int
	}{{"binary", TaskBinary, 2, nil}, {"multiclass", TaskMulticlass, 3, yc}} {
		y := yb
		if c.yc != nil {
			y = nil
		}
		ens, _, err := gbdtFit(context.Background(), c.task, x, y, c.yc, c.k, prm, prm.MaxRounds, 1)
		if err != nil {
			t.Fatal(err)
		}
		splits := 0
		for ti, tr := range ens.Trees {
			for nd := range tr.Feature {
				l, r := tr.Left[nd], tr.Right[nd]
				if l < 0 || r < 0 {
					continue // a leaf
				}
				splits++
				if tr.Cover[l] < 1 || tr.Cover[r] < 1 {
					t.Fatalf("%s: tree %d node %d splits %v rows into %v and %v", c.name, ti, nd, tr.Cover[nd], tr.Cover[l], tr.Cover[r])
				}
				if tr.Cover[l]+tr.Cover[r] != tr.Cover[nd] {
					t.Fatalf("%s: tree %d node %d: children cover %v + %v, parent %v", c.name, ti, nd, tr.Cover[l], tr.Cover[r], tr.Cover[nd])
				}
			}
		}
		if splits < len(ens.Trees) {
			t.Fatalf("%s: %d splits in %d trees: the trees did not grow", c.name, splits, len(ens.Trees))
		}
		for o, s := range treeScores(ens, x) {
			for i, v := range s {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: output %d row %d scores %v", c.name, o, i, v)
				}
			}
		}
	}
}

// TestGBDTMinLeafOnSmallData: on 142 rows (a small task's inner fold) a minimum leaf of 14 holds:
// every leaf covers at least 14 rows. The cap that lets small data split (a tenth of the rows) is
// 14 here; the earlier twentieth made it 7, and leaves of 7-13 rows grew.
func TestGBDTMinLeafOnSmallData(t *testing.T) {
	const n, p = 142, 5
	rng := rand.New(rand.NewSource(5))
	x := newDense(n, p)
	yc := make([]int, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			x.cols[j][i] = rng.NormFloat64()
		}
		yc[i] = int(math.Min(2, math.Max(0, math.Floor(x.cols[0][i]+0.5*x.cols[1][i]*x.cols[2][i]+1))))
	}
	for _, c := range []struct{ min, want int }{{14, 14}, {50, 14}, {5, 5}} {
		prm := gbdtParams{LearningRate: 0.1, MaxLeaves: 31, MaxDepth: 0, MinChildWeight: 1e-3, MinSamplesLeaf: c.min, Lambda: 0, Subsample: 1, Colsample: 1, MaxRounds: 30}
		ens, _, err := gbdtFit(context.Background(), TaskMulticlass, x, nil, yc, 3, prm, prm.MaxRounds, 1)
		if err != nil {
			t.Fatal(err)
		}
		smallest := math.Inf(1)
		for _, tr := range ens.Trees {
			for nd := range tr.Feature {
				if tr.Left[nd] < 0 && tr.Right[nd] < 0 && tr.Cover[nd] < smallest { // a leaf
					smallest = tr.Cover[nd]
				}
			}
		}
		if smallest < float64(c.want) || (c.want > 5 && smallest >= float64(c.want)*2) {
			t.Errorf("min_samples_leaf %d on %d rows: smallest leaf %v rows, want at least %d (and the cap not far above)", c.min, n, smallest, c.want)
		}
	}
}
