package learn

import (
	"context"
	"errors"
	"math"
	"sort"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// Algorithm names of the simple learners.
const (
	AlgoNaiveBayes = "naive_bayes" // Gaussian naive Bayes (classification)
	AlgoKNN        = "knn"         // k nearest neighbours
)

type nbParams struct {
	// VarSmoothing adds this share of the largest feature variance to every variance (scikit-learn's var_smoothing).
	VarSmoothing float64
}

type knnParams struct {
	K        int
	Weighted bool
}

// fitNaiveBayes estimates per-class priors, means and variances of the features (scikit-learn's
// GaussianNB). Missing features (NaN) are left out of the estimates.
func fitNaiveBayes(x *dense, yc []int, k int, prm nbParams) (*mlv1.NaiveBayes, error) {
	if yc == nil {
		return nil, errors.New("naive Bayes is a classifier")
	}
	p := x.p
	nb := &mlv1.NaiveBayes{Features: int32(p), LogPrior: make([]float64, k), Mean: make([]float64, k*p), Variance: make([]float64, k*p)}
	counts := make([]float64, k)
	for _, c := range yc {
		counts[c]++
	}
	var maxVar float64
	for j := 0; j < p; j++ {
		sum := make([]float64, k)
		sq := make([]float64, k)
		cnt := make([]float64, k)
		var all, allSq, allN float64
		for i, v := range x.cols[j] {
			if math.IsNaN(v) {
				continue
			}
			c := yc[i]
			sum[c] += v
			sq[c] += v * v
			cnt[c]++
			all += v
			allSq += v * v
			allN++
		}
		if allN > 0 {
			maxVar = math.Max(maxVar, allSq/allN-(all/allN)*(all/allN))
		}
		for c := 0; c < k; c++ {
			if cnt[c] == 0 {
				continue
			}
			m := sum[c] / cnt[c]
			nb.Mean[c*p+j] = m
			nb.Variance[c*p+j] = math.Max(sq[c]/cnt[c]-m*m, 0)
		}
	}
	eps := prm.VarSmoothing * maxVar
	if eps <= 0 {
		eps = 1e-9
	}
	for i := range nb.Variance {
		nb.Variance[i] += eps
	}
	n := float64(len(yc))
	for c := range counts {
		nb.LogPrior[c] = math.Log((counts[c] + 1e-9) / n)
	}
	return nb, nil
}

// naiveBayesScores returns the class log-likelihoods (multiclass) or their difference (binary).
func naiveBayesScores(nb *mlv1.NaiveBayes, x *dense, binary bool) [][]float64 {
	k, p := len(nb.LogPrior), int(nb.Features)
	ll := make([][]float64, k)
	for c := 0; c < k; c++ {
		ll[c] = make([]float64, x.n)
		for i := range ll[c] {
			ll[c][i] = nb.LogPrior[c]
		}
		for j := 0; j < p && j < x.p; j++ {
			m, v := nb.Mean[c*p+j], nb.Variance[c*p+j]
			norm := -0.5 * math.Log(2*math.Pi*v)
			for i, xv := range x.cols[j] {
				if math.IsNaN(xv) {
					continue
				}
				d := xv - m
				ll[c][i] += norm - d*d/(2*v)
			}
		}
	}
	if binary {
		out := make([]float64, x.n)
		for i := range out {
			out[i] = ll[1][i] - ll[0][i]
		}
		return [][]float64{out}
	}
	return ll
}

// fitKNN keeps the training points.
func fitKNN(x *dense, y []float64, prm knnParams) *mlv1.NearestNeighbors {
	nn := &mlv1.NearestNeighbors{K: int32(prm.K), Features: int32(x.p), DistanceWeighted: prm.Weighted,
		Points: make([]float64, x.n*x.p), Targets: append([]float64(nil), y...)}
	for j, col := range x.cols {
		for i, v := range col {
			if math.IsNaN(v) {
				v = 0 // standardized features: the mean
			}
			nn.Points[i*x.p+j] = v
		}
	}
	return nn
}

// knnScores returns the regression mean, or per-class log shares (binary: log-odds) of the k
// nearest training points of every row.
func knnScores(ctx context.Context, nn *mlv1.NearestNeighbors, x *dense, task Task, classes int) [][]float64 {
	p := int(nn.Features)
	m := len(nn.Targets)
	k := int(nn.K)
	if k > m {
		k = m
	}
	outs := 1
	if task == TaskMulticlass {
		outs = classes
	}
	res := make([][]float64, outs)
	for o := range res {
		res[o] = make([]float64, x.n)
	}
	type cand struct {
		d float64
		i int
	}
	best := make([]cand, 0, k+1)
	row := make([]float64, p)
	share := make([]float64, max(classes, 2))
	for i := 0; i < x.n; i++ {
		if i%256 == 0 && ctx.Err() != nil {
			return res
		}
		for j := 0; j < p; j++ {
			v := 0.0
			if j < x.p {
				v = x.cols[j][i]
			}
			if math.IsNaN(v) {
				v = 0
			}
			row[j] = v
		}
		best = best[:0]
		for t := 0; t < m; t++ {
			pt := nn.Points[t*p : (t+1)*p]
			var d float64
			for j, v := range row {
				e := v - pt[j]
				d += e * e
			}
			if len(best) == k && d >= best[k-1].d {
				continue
			}
			pos := sort.Search(len(best), func(a int) bool { return best[a].d > d })
			if len(best) < k {
				best = append(best, cand{})
			}
			copy(best[pos+1:], best[pos:len(best)-1])
			best[pos] = cand{d, t}
		}
		var wsum float64
		for c := range share {
			share[c] = 0
		}
		var mean float64
		for _, b := range best {
			w := 1.0
			if nn.DistanceWeighted {
				w = 1 / (math.Sqrt(b.d) + 1e-9)
			}
			wsum += w
			if task == TaskRegression {
				mean += w * nn.Targets[b.i]
			} else {
				share[int(nn.Targets[b.i])] += w
			}
		}
		switch task {
		case TaskRegression:
			res[0][i] = mean / wsum
		case TaskBinary:
			// shrink the shares a little towards 1/2 so that a unanimous vote is not infinitely sure
			p1 := (share[1] + 0.5*wsum/float64(k)) / (wsum + wsum/float64(k))
			res[0][i] = math.Log(p1 / (1 - p1))
		default:
			for c := 0; c < classes; c++ {
				res[c][i] = math.Log((share[c] + wsum/float64(k*classes)) / (wsum + wsum/float64(k)))
			}
		}
	}
	return res
}
