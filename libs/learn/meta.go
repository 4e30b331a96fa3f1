package learn

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand"
	"sort"

	"github.com/vdsproject/vds/libs/frame"
)

// MetaFeatureNames names the entries of a meta-feature vector, in order.
var MetaFeatureNames = []string{
	"log10_rows", "log10_features", "log10_dimensionality", "log2_classes", "class_entropy",
	"mean_abs_skewness", "mean_log_kurtosis", "sparsity", "missingness", "categorical_share",
	"landmark_stump", "landmark_nb_or_linear", "landmark_1nn", "target_abs_skewness",
}

// metaRows is the subsample on which the landmarkers are cross-validated.
const metaRows = 400

// DatasetHash is the SHA-256 of a frame's contents: column names, kinds, missing flags and values.
// Two frames read the same way from the same file hash alike.
func DatasetHash(f *frame.Frame) string {
	h := sha256.New()
	var b [8]byte
	for _, c := range f.Columns {
		h.Write([]byte(c.Name))
		h.Write([]byte{0, byte(c.Kind)})
		for i := 0; i < f.Rows; i++ {
			if c.Null[i] {
				h.Write([]byte{1})
				continue
			}
			h.Write([]byte{0})
			if c.Kind == frame.String {
				h.Write([]byte(c.S[i]))
				h.Write([]byte{0})
			} else {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(c.F[i]))
				h.Write(b[:])
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// moments returns the skewness and excess kurtosis of the non-missing values (0, 0 when constant).
func moments(v []float64) (skew, kurt float64) {
	var n, m float64
	for _, x := range v {
		if !math.IsNaN(x) {
			n++
			m += x
		}
	}
	if n < 3 {
		return 0, 0
	}
	m /= n
	var m2, m3, m4 float64
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		d := x - m
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	m2, m3, m4 = m2/n, m3/n, m4/n
	if m2 <= 1e-300 {
		return 0, 0
	}
	return m3 / math.Pow(m2, 1.5), m4/(m2*m2) - 3
}

// metaFeatures describes the dataset (the screened features and the target) as the vector named by
// MetaFeatureNames. The landmarkers (a one-split tree, naive Bayes or ridge, one nearest neighbour)
// are scored by 2-fold CV on a seeded subsample of at most metaRows rows: accuracy for
// classification, R² (clipped to [-1, 1]) for regression.
func metaFeatures(f *frame.Frame, t *targetInfo, feats []string, seed int64) []float64 {
	n := len(t.rows)
	out := make([]float64, len(MetaFeatureNames))
	out[0] = math.Log10(float64(n))
	out[1] = math.Log10(float64(len(feats)))
	out[2] = out[1] - out[0]
	if t.yc != nil {
		k := len(t.classes)
		out[3] = math.Log2(float64(k))
		counts := make([]float64, k)
		for _, c := range t.yc {
			counts[c]++
		}
		var h float64
		for _, c := range counts {
			if c > 0 {
				p := c / float64(n)
				h -= p * math.Log(p)
			}
		}
		out[4] = h / math.Log(float64(k))
	} else {
		s, _ := moments(t.y)
		out[13] = math.Min(math.Abs(s), 10)
	}
	var numeric, cats int
	var skewSum, kurtSum, zeros, numCells, missing float64
	vals := make([]float64, n)
	for _, name := range feats {
		c := f.Col(name)
		for i, r := range t.rows {
			if c.Null[r] || (c.Kind == frame.String && c.S[r] == "") {
				missing++
			}
			vals[i] = math.NaN()
			if c.Kind != frame.String && !c.Null[r] {
				vals[i] = c.F[r]
			}
		}
		if c.Kind == frame.String {
			cats++
			continue
		}
		numeric++
		s, k := moments(vals)
		skewSum += math.Min(math.Abs(s), 20)
		kurtSum += math.Log1p(math.Max(k+3, 0)) // log of the (non-excess) kurtosis, tame on heavy tails
		for _, v := range vals {
			if !math.IsNaN(v) {
				numCells++
				if v == 0 {
					zeros++
				}
			}
		}
	}
	if numeric > 0 {
		out[5] = skewSum / float64(numeric)
		out[6] = kurtSum / float64(numeric)
	}
	if numCells > 0 {
		out[7] = zeros / numCells
	}
	out[8] = missing / float64(n*len(feats))
	out[9] = float64(cats) / float64(len(feats))
	out[10], out[11], out[12] = landmarkers(f, t, feats, seed)
	return out
}

// landmarkers scores three cheap learners by 2-fold CV on a subsample.
func landmarkers(f *frame.Frame, t *targetInfo, feats []string, seed int64) (stump, second, nn float64) {
	rng := rand.New(rand.NewSource(seed + 31))
	pos := rng.Perm(len(t.rows))
	if len(pos) > metaRows {
		pos = pos[:metaRows]
	}
	rows := make([]int, len(pos))
	y := make([]float64, len(pos))
	var yc []int
	if t.yc != nil {
		yc = make([]int, len(pos))
	}
	for i, p := range pos {
		rows[i] = t.rows[p]
		if yc != nil {
			yc[i] = t.yc[p]
			y[i] = float64(t.yc[p]) // the 1-NN landmarker predicts y
		} else {
			y[i] = t.y[p]
		}
	}
	pp := fitPrep(f, feats, rows, prepLinear)
	x := transform(pp, f, rows)
	if x.p > 200 {
		x.cols, x.p = x.cols[:200], 200
	}
	half := len(rows) / 2
	var sums [3]float64
	for fold := 0; fold < 2; fold++ {
		var tr, te []int
		for i := range rows {
			if (i < half) == (fold == 0) {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		p1 := stumpPredict(x, y, yc, len(t.classes), tr, te)
		var p2 []float64
		if yc != nil {
			p2 = nbPredict(x, yc, len(t.classes), tr, te)
		} else {
			p2 = ridgePredict(x, y, tr, te)
		}
		p3 := nnPredict(x, y, tr, te)
		for j, p := range [][]float64{p1, p2, p3} {
			sums[j] += landmarkScore(p, y, yc, te) / 2
		}
	}
	return sums[0], sums[1], sums[2]
}

func landmarkScore(pred, y []float64, yc []int, te []int) float64 {
	if yc != nil {
		var ok float64
		for i, r := range te {
			if int(pred[i]) == yc[r] {
				ok++
			}
		}
		return ok / float64(len(te))
	}
	var mean float64
	for _, r := range te {
		mean += y[r] / float64(len(te))
	}
	var ss, st float64
	for i, r := range te {
		ss += (y[r] - pred[i]) * (y[r] - pred[i])
		st += (y[r] - mean) * (y[r] - mean)
	}
	if st == 0 {
		return 0
	}
	return math.Max(-1, math.Min(1, 1-ss/st))
}

// stumpPredict fits the best single split (Gini or squared error over 16 quantile thresholds per
// feature) on tr and predicts te: a class index or a mean.
func stumpPredict(x *dense, y []float64, yc []int, k int, tr, te []int) []float64 {
	leafValue := func(idx []int) float64 {
		if yc != nil {
			cnt := make([]int, k)
			best := 0
			for _, i := range idx {
				cnt[yc[i]]++
			}
			for c := range cnt {
				if cnt[c] > cnt[best] {
					best = c
				}
			}
			return float64(best)
		}
		var m float64
		for _, i := range idx {
			m += y[i]
		}
		if len(idx) == 0 {
			return 0
		}
		return m / float64(len(idx))
	}
	impurity := func(idx []int) float64 {
		if len(idx) == 0 {
			return 0
		}
		if yc != nil {
			cnt := make([]float64, k)
			for _, i := range idx {
				cnt[yc[i]]++
			}
			g := 1.0
			for _, c := range cnt {
				p := c / float64(len(idx))
				g -= p * p
			}
			return g * float64(len(idx))
		}
		var s, s2 float64
		for _, i := range idx {
			s += y[i]
			s2 += y[i] * y[i]
		}
		return s2 - s*s/float64(len(idx))
	}
	bestJ, bestT, bestImp := -1, 0.0, impurity(tr)
	vals := make([]float64, len(tr))
	var left, right []int
	for j := 0; j < x.p; j++ {
		col := x.cols[j]
		for i, r := range tr {
			vals[i] = col[r]
		}
		sorted := append([]float64(nil), vals...)
		sort.Float64s(sorted)
		for q := 1; q < 16; q++ {
			th := sorted[q*len(sorted)/16]
			left, right = left[:0], right[:0]
			for _, r := range tr {
				if col[r] < th {
					left = append(left, r)
				} else {
					right = append(right, r)
				}
			}
			if len(left) == 0 || len(right) == 0 {
				continue
			}
			if imp := impurity(left) + impurity(right); imp < bestImp-1e-12 {
				bestJ, bestT, bestImp = j, th, imp
			}
		}
	}
	out := make([]float64, len(te))
	if bestJ < 0 {
		v := leafValue(tr)
		for i := range out {
			out[i] = v
		}
		return out
	}
	left, right = left[:0], right[:0]
	for _, r := range tr {
		if x.cols[bestJ][r] < bestT {
			left = append(left, r)
		} else {
			right = append(right, r)
		}
	}
	lv, rv := leafValue(left), leafValue(right)
	for i, r := range te {
		if x.cols[bestJ][r] < bestT {
			out[i] = lv
		} else {
			out[i] = rv
		}
	}
	return out
}

// nbPredict is Gaussian naive Bayes on the standardized features.
func nbPredict(x *dense, yc []int, k int, tr, te []int) []float64 {
	p := x.p
	mean := make([]float64, k*p)
	vr := make([]float64, k*p)
	cnt := make([]float64, k)
	for _, r := range tr {
		cnt[yc[r]]++
	}
	for j := 0; j < p; j++ {
		for _, r := range tr {
			mean[yc[r]*p+j] += x.cols[j][r]
		}
		for c := 0; c < k; c++ {
			if cnt[c] > 0 {
				mean[c*p+j] /= cnt[c]
			}
		}
		for _, r := range tr {
			d := x.cols[j][r] - mean[yc[r]*p+j]
			vr[yc[r]*p+j] += d * d
		}
		for c := 0; c < k; c++ {
			if cnt[c] > 0 {
				vr[c*p+j] /= cnt[c]
			}
			vr[c*p+j] += 1e-3
		}
	}
	out := make([]float64, len(te))
	for i, r := range te {
		best, bestLL := 0, math.Inf(-1)
		for c := 0; c < k; c++ {
			if cnt[c] == 0 {
				continue
			}
			ll := math.Log(cnt[c])
			for j := 0; j < p; j++ {
				d := x.cols[j][r] - mean[c*p+j]
				ll -= 0.5*math.Log(vr[c*p+j]) + d*d/(2*vr[c*p+j])
			}
			if ll > bestLL {
				best, bestLL = c, ll
			}
		}
		out[i] = float64(best)
	}
	return out
}

// ridgePredict is ridge regression (lambda 0.01) on the standardized features.
func ridgePredict(x *dense, y []float64, tr, te []int) []float64 {
	sub := newDense(len(tr), x.p)
	ys := make([]float64, len(tr))
	for i, r := range tr {
		ys[i] = y[r]
		for j := 0; j < x.p; j++ {
			sub.cols[j][i] = x.cols[j][r]
		}
	}
	out := make([]float64, len(te))
	lm, err := fitRidge(sub, ys, 0.01)
	if err != nil {
		var m float64
		for _, v := range ys {
			m += v / float64(len(ys))
		}
		for i := range out {
			out[i] = m
		}
		return out
	}
	tx := newDense(len(te), x.p)
	for i, r := range te {
		for j := 0; j < x.p; j++ {
			tx.cols[j][i] = x.cols[j][r]
		}
	}
	return linearScores(lm, tx)[0]
}

// nnPredict is one nearest neighbour (Euclidean on the standardized features); for classification
// y holds the class index as well.
func nnPredict(x *dense, y []float64, tr, te []int) []float64 {
	out := make([]float64, len(te))
	for i, r := range te {
		best, bestD := tr[0], math.Inf(1)
		for _, q := range tr {
			var d float64
			for j := 0; j < x.p && d < bestD; j++ {
				v := x.cols[j][r] - x.cols[j][q]
				d += v * v
			}
			if d < bestD {
				best, bestD = q, d
			}
		}
		out[i] = y[best]
	}
	return out
}
