package learn

import (
	"math"
	"sort"
)

// ROCAUC is the area under the ROC curve of scores for the 0/1 labels y, with tied scores counted
// as one half (the Mann-Whitney statistic). It returns NaN when y holds a single class.
func ROCAUC(y []float64, score []float64) float64 {
	n := len(y)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < n; {
		j := i
		for j < n && score[idx[j]] == score[idx[i]] {
			j++
		}
		// ranks i+1..j share the average rank
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if y[idx[k]] > 0.5 {
				rankSum += avg
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

const probEps = 1e-15

// LogLoss is the mean negative log-likelihood of the class indices y under the per-row class
// probabilities proba (rows are renormalized and clipped to [1e-15, 1-1e-15]).
func LogLoss(y []int, proba [][]float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i, c := range y {
		var tot float64
		for _, p := range proba[i] {
			tot += clip(p)
		}
		s -= math.Log(clip(proba[i][c]) / tot)
	}
	return s / float64(len(y))
}

// BinaryLogLoss is LogLoss for 0/1 labels and positive-class probabilities p.
func BinaryLogLoss(y, p []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range y {
		q := clip(p[i])
		if y[i] > 0.5 {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(y))
}

func clip(p float64) float64 {
	if p < probEps || math.IsNaN(p) {
		return probEps
	}
	if p > 1-probEps {
		return 1 - probEps
	}
	return p
}

// Accuracy is the share of rows whose predicted class index equals the true one.
func Accuracy(y, pred []int) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	ok := 0
	for i := range y {
		if y[i] == pred[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

// RMSE is the root mean squared error.
func RMSE(y, pred []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range y {
		d := y[i] - pred[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(y)))
}

// MAE is the mean absolute error.
func MAE(y, pred []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var s float64
	for i := range y {
		s += math.Abs(y[i] - pred[i])
	}
	return s / float64(len(y))
}

// R2 is the coefficient of determination (1 - SSres/SStot); NaN when y is constant.
func R2(y, pred []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	var m float64
	for _, v := range y {
		m += v
	}
	m /= float64(len(y))
	var ssr, sst float64
	for i := range y {
		ssr += (y[i] - pred[i]) * (y[i] - pred[i])
		sst += (y[i] - m) * (y[i] - m)
	}
	if sst == 0 {
		return math.NaN()
	}
	return 1 - ssr/sst
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	if len(v) < 2 {
		return m, 0
	}
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}
