package learn

import (
	"context"
	"errors"
	"math"
	"math/rand"
)

// KMeansResult is a clustering of the rows of a matrix.
type KMeansResult struct {
	Centers [][]float64 // k x p
	Labels  []int
	// Inertia is the sum of squared distances of the rows to their centers.
	Inertia float64
	Iter    int
}

// KMeans clusters rows (n x p, no missing values) into k groups: greedy k-means++ seeding (Arthur
// and Vassilvitskii 2007) and Lloyd iterations, restarted nInit times, keeping the lowest inertia.
func KMeans(ctx context.Context, rows [][]float64, k, nInit int, seed int64) (*KMeansResult, error) {
	n := len(rows)
	if k < 1 || n < k {
		return nil, errors.New("learn: k-means needs 1 <= k <= rows")
	}
	p := len(rows[0])
	for _, r := range rows {
		if len(r) != p {
			return nil, errors.New("learn: k-means rows differ in length")
		}
		for _, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, errors.New("learn: k-means needs finite values (impute missing values first)")
			}
		}
	}
	if nInit < 1 {
		nInit = 10
	}
	rng := rand.New(rand.NewSource(seed))
	dist := func(a, b []float64) float64 {
		var s float64
		for j := range a {
			d := a[j] - b[j]
			s += d * d
		}
		return s
	}
	var best *KMeansResult
	for run := 0; run < nInit; run++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		centers := make([][]float64, 0, k)
		centers = append(centers, append([]float64(nil), rows[rng.Intn(n)]...))
		d2 := make([]float64, n)
		for i, r := range rows {
			d2[i] = dist(r, centers[0])
		}
		// greedy k-means++ (as scikit-learn): draw 2+log(k) candidates, keep the one that lowers the potential most
		trials := 2 + int(math.Log(float64(k)))
		nd := make([]float64, n)
		for len(centers) < k {
			var tot float64
			for _, v := range d2 {
				tot += v
			}
			bestPot, bestC := math.Inf(1), -1
			var bestD []float64
			for tr := 0; tr < trials; tr++ {
				pick := rng.Intn(n)
				if tot > 0 {
					u := rng.Float64() * tot
					for i, v := range d2 {
						if u -= v; u <= 0 {
							pick = i
							break
						}
					}
				}
				var pot float64
				for i, r := range rows {
					nd[i] = math.Min(d2[i], dist(r, rows[pick]))
					pot += nd[i]
				}
				if pot < bestPot {
					bestPot, bestC = pot, pick
					bestD = append(bestD[:0], nd...)
				}
			}
			centers = append(centers, append([]float64(nil), rows[bestC]...))
			copy(d2, bestD)
		}
		labels := make([]int, n)
		var inertia float64
		it := 0
		for ; it < 300; it++ {
			inertia = 0
			changed := it == 0
			for i, r := range rows {
				bi, bd := 0, math.Inf(1)
				for c, ctr := range centers {
					if d := dist(r, ctr); d < bd {
						bi, bd = c, d
					}
				}
				if labels[i] != bi {
					labels[i], changed = bi, true
				}
				inertia += bd
			}
			if !changed {
				break
			}
			cnt := make([]float64, k)
			for c := range centers {
				for j := range centers[c] {
					centers[c][j] = 0
				}
			}
			for i, r := range rows {
				cnt[labels[i]]++
				for j, v := range r {
					centers[labels[i]][j] += v
				}
			}
			for c := range centers {
				if cnt[c] == 0 { // an empty cluster takes the row farthest from its center
					far, fd := 0, -1.0
					for i, r := range rows {
						if d := dist(r, centers[labels[i]]); d > fd {
							far, fd = i, d
						}
					}
					copy(centers[c], rows[far])
					continue
				}
				for j := range centers[c] {
					centers[c][j] /= cnt[c]
				}
			}
		}
		if best == nil || inertia < best.Inertia {
			best = &KMeansResult{Centers: centers, Labels: labels, Inertia: inertia, Iter: it}
		}
	}
	return best, nil
}
