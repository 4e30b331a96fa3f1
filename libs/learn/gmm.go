package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Covariance types of a Gaussian mixture.
const (
	CovFull = "full" // one full covariance matrix per component
	CovDiag = "diag" // one diagonal covariance per component
)

// GMMOptions configures GaussianMixture. Zero values take the defaults in brackets.
type GMMOptions struct {
	K          int
	Covariance string  // full or diag [full]
	MaxIter    int     // EM iterations per start [100]
	Tol        float64 // stop when the mean log-likelihood gains less than this [1e-3]
	NInit      int     // starts (each seeded by k-means with k-means++ seeding); the best is kept [1]
	Reg        float64 // added to every variance, keeps components from collapsing [1e-6]
	Seed       int64
}

// GMMResult is a fitted Gaussian mixture.
type GMMResult struct {
	Covariance string
	Weights    []float64   // k mixing weights
	Means      [][]float64 // k x p
	// Covariances: full: k matrices p x p, row-major; diag: k vectors of p variances.
	Covariances [][]float64
	// Labels is the most probable component per row.
	Labels []int
	// LogLikelihood is the mean log-likelihood per row (scikit-learn's score).
	LogLikelihood float64
	// BIC is -2 n LogLikelihood + parameters ln n (lower is better).
	BIC       float64
	Params    int
	Iter      int
	Converged bool
	// chol holds the lower Cholesky factor (full) or standard deviations (diag) per component.
	chol [][]float64
}

// GaussianMixture fits a mixture of k Gaussians to rows (n x p, finite values) by
// expectation-maximization. Each start takes its responsibilities from a k-means clustering seeded
// by k-means++ (as scikit-learn's default init), then alternates E and M steps until the mean
// log-likelihood gains less than Tol.
func GaussianMixture(ctx context.Context, rows [][]float64, o GMMOptions) (*GMMResult, error) {
	n := len(rows)
	if o.K < 1 || n < o.K {
		return nil, errors.New("learn: a Gaussian mixture needs 1 <= k <= rows")
	}
	if o.Covariance == "" {
		o.Covariance = CovFull
	}
	if o.Covariance != CovFull && o.Covariance != CovDiag {
		return nil, fmt.Errorf("learn: covariance %q is not full or diag", o.Covariance)
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 100
	}
	if o.Tol <= 0 {
		o.Tol = 1e-3
	}
	if o.NInit <= 0 {
		o.NInit = 1
	}
	if o.Reg <= 0 {
		o.Reg = 1e-6
	}
	var best *GMMResult
	for run := 0; run < o.NInit; run++ {
		km, err := KMeans(ctx, rows, o.K, 1, o.Seed+int64(run))
		if err != nil {
			return nil, err
		}
		resp := make([][]float64, n)
		for i := range resp {
			resp[i] = make([]float64, o.K)
			resp[i][km.Labels[i]] = 1
		}
		r := &GMMResult{Covariance: o.Covariance}
		if err := r.mStep(rows, resp, o.Reg); err != nil {
			return nil, err
		}
		prev := math.Inf(-1)
		for it := 1; it <= o.MaxIter; it++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			ll := r.eStep(rows, resp)
			if err := r.mStep(rows, resp, o.Reg); err != nil {
				return nil, err
			}
			r.Iter = it
			if math.Abs(ll-prev) < o.Tol {
				r.Converged = true
				break
			}
			prev = ll
		}
		// final E step with the last parameters, as scikit-learn does, so labels match them
		r.LogLikelihood = r.eStep(rows, resp)
		if best == nil || r.LogLikelihood > best.LogLikelihood {
			r.Labels = make([]int, n)
			for i, rr := range resp {
				r.Labels[i] = argmax(rr)
			}
			best = r
		}
	}
	p := len(rows[0])
	k := o.K
	best.Params = k*p + k - 1
	if best.Covariance == CovFull {
		best.Params += k * p * (p + 1) / 2
	} else {
		best.Params += k * p
	}
	best.BIC = -2*float64(n)*best.LogLikelihood + float64(best.Params)*math.Log(float64(n))
	return best, nil
}

func argmax(v []float64) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

// mStep sets weights, means and covariances from the responsibilities.
func (r *GMMResult) mStep(rows [][]float64, resp [][]float64, reg float64) error {
	n, p, k := len(rows), len(rows[0]), len(resp[0])
	nk := make([]float64, k)
	for _, rr := range resp {
		for c, v := range rr {
			nk[c] += v
		}
	}
	const tiny = 10 * 2.220446049250313e-16 // keeps an empty component's division finite
	r.Weights = make([]float64, k)
	r.Means = make([][]float64, k)
	r.Covariances = make([][]float64, k)
	r.chol = make([][]float64, k)
	for c := 0; c < k; c++ {
		nk[c] += tiny
		r.Weights[c] = nk[c] / float64(n)
		mu := make([]float64, p)
		for i, x := range rows {
			if w := resp[i][c]; w != 0 {
				for j, v := range x {
					mu[j] += w * v
				}
			}
		}
		for j := range mu {
			mu[j] /= nk[c]
		}
		r.Means[c] = mu
		if r.Covariance == CovDiag {
			v := make([]float64, p)
			for i, x := range rows {
				if w := resp[i][c]; w != 0 {
					for j := range x {
						d := x[j] - mu[j]
						v[j] += w * d * d
					}
				}
			}
			sd := make([]float64, p)
			for j := range v {
				v[j] = v[j]/nk[c] + reg
				sd[j] = math.Sqrt(v[j])
			}
			r.Covariances[c], r.chol[c] = v, sd
			continue
		}
		cov := make([]float64, p*p)
		d := make([]float64, p)
		for i, x := range rows {
			w := resp[i][c]
			if w == 0 {
				continue
			}
			for j := range x {
				d[j] = x[j] - mu[j]
			}
			for a := 0; a < p; a++ {
				wa := w * d[a]
				for b := 0; b <= a; b++ {
					cov[a*p+b] += wa * d[b]
				}
			}
		}
		for a := 0; a < p; a++ {
			for b := 0; b <= a; b++ {
				cov[a*p+b] /= nk[c]
				cov[b*p+a] = cov[a*p+b]
			}
			cov[a*p+a] += reg
		}
		l, ok := cholesky(cov, p)
		if !ok {
			return errors.New("learn: a mixture component's covariance is not positive definite; raise the regularization or use fewer components")
		}
		r.Covariances[c], r.chol[c] = cov, l
	}
	return nil
}

// cholesky returns the lower factor L (row-major) with a = L Lᵀ.
func cholesky(a []float64, p int) ([]float64, bool) {
	l := make([]float64, p*p)
	for i := 0; i < p; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*p+j]
			for q := 0; q < j; q++ {
				s -= l[i*p+q] * l[j*p+q]
			}
			if i == j {
				if !(s > 0) {
					return nil, false
				}
				l[i*p+i] = math.Sqrt(s)
			} else {
				l[i*p+j] = s / l[j*p+j]
			}
		}
	}
	return l, true
}

// logDensity returns log(weight_c) + log N(x; mean_c, cov_c) for every component.
func (r *GMMResult) logDensity(x []float64, out, z []float64) {
	p := len(x)
	for c := range r.Weights {
		mu, l := r.Means[c], r.chol[c]
		var q, logdet float64
		if r.Covariance == CovDiag {
			for j := 0; j < p; j++ {
				v := (x[j] - mu[j]) / l[j]
				q += v * v
				logdet += math.Log(l[j])
			}
		} else {
			// forward substitution L z = x - mu
			for i := 0; i < p; i++ {
				s := x[i] - mu[i]
				for j := 0; j < i; j++ {
					s -= l[i*p+j] * z[j]
				}
				z[i] = s / l[i*p+i]
				q += z[i] * z[i]
				logdet += math.Log(l[i*p+i])
			}
		}
		out[c] = math.Log(r.Weights[c]) - 0.5*(float64(p)*math.Log(2*math.Pi)+q) - logdet
	}
}

// eStep fills the responsibilities and returns the mean log-likelihood.
func (r *GMMResult) eStep(rows [][]float64, resp [][]float64) float64 {
	z := make([]float64, len(rows[0]))
	var total float64
	for i, x := range rows {
		lp := resp[i]
		r.logDensity(x, lp, z)
		lse := logSumExp(lp)
		total += lse
		for c := range lp {
			lp[c] = math.Exp(lp[c] - lse)
		}
	}
	return total / float64(len(rows))
}

func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// Proba returns the component probabilities of each row under the fitted mixture.
func (r *GMMResult) Proba(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	if len(rows) == 0 {
		return out
	}
	z := make([]float64, len(rows[0]))
	for i, x := range rows {
		lp := make([]float64, len(r.Weights))
		r.logDensity(x, lp, z)
		lse := logSumExp(lp)
		for c := range lp {
			lp[c] = math.Exp(lp[c] - lse)
		}
		out[i] = lp
	}
	return out
}

// ChooseGMM fits mixtures with kMin..kMax components and returns the one with the lowest BIC and
// the BIC of every k tried (index 0 is kMin).
func ChooseGMM(ctx context.Context, rows [][]float64, kMin, kMax int, o GMMOptions) (*GMMResult, []float64, error) {
	if kMin < 1 {
		kMin = 1
	}
	if kMax > len(rows) {
		kMax = len(rows)
	}
	if kMax < kMin {
		return nil, nil, errors.New("learn: no k to try")
	}
	var best *GMMResult
	var bics []float64
	for k := kMin; k <= kMax; k++ {
		o.K = k
		r, err := GaussianMixture(ctx, rows, o)
		if err != nil {
			return nil, nil, err
		}
		bics = append(bics, r.BIC)
		if best == nil || r.BIC < best.BIC {
			best = r
		}
	}
	return best, bics, nil
}

// Silhouette is the mean silhouette coefficient of a clustering (Rousseeuw 1987): for each row,
// (b - a) / max(a, b) with a its mean Euclidean distance to its own cluster and b the smallest mean
// distance to another cluster; rows alone in their cluster count 0. It is quadratic in the rows:
// callers sample.
func Silhouette(rows [][]float64, labels []int, k int) float64 {
	n := len(rows)
	if n < 2 || k < 2 {
		return 0
	}
	size := make([]float64, k)
	for _, l := range labels {
		size[l]++
	}
	sum := make([]float64, k)
	var total float64
	for i, x := range rows {
		for c := range sum {
			sum[c] = 0
		}
		for j, y := range rows {
			if i == j {
				continue
			}
			var d float64
			for q := range x {
				e := x[q] - y[q]
				d += e * e
			}
			sum[labels[j]] += math.Sqrt(d)
		}
		own := labels[i]
		if size[own] <= 1 {
			continue
		}
		a := sum[own] / (size[own] - 1)
		b := math.Inf(1)
		for c := range sum {
			if c != own && size[c] > 0 {
				b = math.Min(b, sum[c]/size[c])
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if m := math.Max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	return total / float64(n)
}
