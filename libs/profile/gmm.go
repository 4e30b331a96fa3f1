package profile

import (
	"math"
	"slices"
)

// gmmBins is the number of histogram bins the mixture fit runs on.
const gmmBins = 256

// multimodality compares a one- and a two-component Gaussian mixture by BIC. The fits run on a
// fine histogram of the standardized values (gmmBins equal-width bins, weighted by count), so the
// cost does not grow with the row count. It returns a score in 0..1 and whether the column is
// multimodal: the two-component fit must win by ΔBIC > 10, both components must hold at least 10%
// of the mass, and the fitted mixture density must have two modes separated by a dip of at least
// 20% of the lower mode (the last two rule out skewed unimodal shapes, which a second component
// also fits better).
func multimodality(values []float64, mean, std float64) (float64, bool) {
	m := fitMixture(values, mean, std)
	return m.score, m.ok
}

// mixture is the outcome of fitMixture: the two-component fit g (on standardized values), its
// score and verdict as multimodality reports them.
type mixture struct {
	g         gmm2
	dBIC      float64
	depth     float64
	score     float64
	ok        bool
	fitted    bool
	mean, std float64
}

// fitMixture fits the one- and two-component mixtures behind multimodality to sorted, NaN-free
// values.
func fitMixture(values []float64, mean, std float64) mixture {
	out := mixture{mean: mean, std: std}
	if std <= 0 {
		return out
	}
	// values are sorted and NaN-free: bin by binary search on the bin edges.
	n := float64(len(values))
	if len(values) < 20 {
		return out
	}
	lo, hi := (values[0]-mean)/std, (values[len(values)-1]-mean)/std
	if hi <= lo {
		return out
	}
	w := (hi - lo) / gmmBins
	counts := make([]float64, gmmBins)
	prev := 0
	for k := 0; k < gmmBins; k++ {
		end := len(values)
		if k < gmmBins-1 {
			end = prev + lowerBound(values[prev:], mean+std*(lo+float64(k+1)*w))
		}
		counts[k] = float64(end - prev)
		prev = end
	}
	var xs, ws []float64
	for k, c := range counts {
		if c > 0 {
			xs = append(xs, lo+(float64(k)+0.5)*w)
			ws = append(ws, c)
		}
	}
	// One component: the binned mean and variance.
	m1, v1 := weightedMoments(xs, ws, nil)
	v1 = math.Max(v1, 1e-3)
	ll1 := 0.0
	for i, x := range xs {
		ll1 += ws[i] * logNorm(x, m1, v1)
	}
	bic1 := -2*ll1 + 2*math.Log(n)
	g, ll2 := fitGMM2(xs, ws)
	bic2 := -2*ll2 + 5*math.Log(n)
	out.g, out.fitted = g, true
	out.dBIC = bic1 - bic2
	out.depth = dipDepth(g)
	if out.dBIC > 0 {
		out.score = (1 - math.Exp(-out.dBIC/20)) * out.depth
	}
	out.ok = out.dBIC > 10 && math.Min(g.w[0], g.w[1]) >= 0.1 && out.depth >= 0.2
	return out
}

// boundary is the mixture's decision boundary in the values' own units: the point between the
// two component means where both components are equally likely a posteriori
// (w0·N(x; μ0, σ0²) = w1·N(x; μ1, σ1²)), found by bisection. When the posterior does not change
// sides between the means (a very unequal fit) it is the lowest point of the mixture density
// there. ok is false when there is no two-component fit.
func (m mixture) boundary() (float64, bool) {
	if !m.fitted {
		return 0, false
	}
	g := m.g
	a, b := g.mu[0], g.mu[1]
	if a > b {
		a, b = b, a
	}
	if !(b > a) {
		return 0, false
	}
	diff := func(x float64) float64 {
		return math.Log(g.w[0]) + logNorm(x, g.mu[0], g.v[0]) - math.Log(g.w[1]) - logNorm(x, g.mu[1], g.v[1])
	}
	lo, hi := a, b
	flo, fhi := diff(lo), diff(hi)
	var z float64
	if flo*fhi < 0 {
		for iter := 0; iter < 100; iter++ {
			mid := (lo + hi) / 2
			fm := diff(mid)
			if fm*flo > 0 {
				lo, flo = mid, fm
			} else {
				hi = mid
			}
		}
		z = (lo + hi) / 2
	} else {
		const steps = 400
		best := math.Inf(1)
		for i := 0; i <= steps; i++ {
			x := a + (b-a)*float64(i)/steps
			d := g.w[0]*math.Exp(logNorm(x, g.mu[0], g.v[0])) + g.w[1]*math.Exp(logNorm(x, g.mu[1], g.v[1]))
			if d < best {
				best, z = d, x
			}
		}
	}
	return m.mean + m.std*z, true
}

type gmm2 struct{ w, mu, v [2]float64 }

func logNorm(x, mu, v float64) float64 {
	d := x - mu
	return -0.5*math.Log(2*math.Pi*v) - d*d/(2*v)
}

// weightedMoments is the weighted mean and variance of xs with weights ws (times resp when given).
func weightedMoments(xs, ws, resp []float64) (float64, float64) {
	var sw, s float64
	for i, x := range xs {
		w := ws[i]
		if resp != nil {
			w *= resp[i]
		}
		sw += w
		s += w * x
	}
	if sw == 0 {
		return 0, 0
	}
	m := s / sw
	q := 0.0
	for i, x := range xs {
		w := ws[i]
		if resp != nil {
			w *= resp[i]
		}
		q += w * (x - m) * (x - m)
	}
	return m, q / sw
}

// fitGMM2 runs EM for a two-component mixture on weighted points (variance floor 1e-3), started
// from the lower and upper halves of the mass.
func fitGMM2(xs, ws []float64) (gmm2, float64) {
	total := 0.0
	for _, w := range ws {
		total += w
	}
	resp := make([]float64, len(xs))
	acc := 0.0
	for i, w := range ws { // xs are in increasing order
		if acc+w/2 < total/2 {
			resp[i] = 1
		}
		acc += w
	}
	m0, v0 := weightedMoments(xs, ws, resp)
	inv := make([]float64, len(xs))
	for i := range resp {
		inv[i] = 1 - resp[i]
	}
	m1, v1 := weightedMoments(xs, ws, inv)
	g := gmm2{w: [2]float64{0.5, 0.5}, mu: [2]float64{m0, m1}, v: [2]float64{math.Max(v0, 1e-3), math.Max(v1, 1e-3)}}
	prev := math.Inf(-1)
	ll := 0.0
	for iter := 0; iter < 200; iter++ {
		c0 := math.Log(g.w[0]) - 0.5*math.Log(2*math.Pi*g.v[0])
		c1 := math.Log(g.w[1]) - 0.5*math.Log(2*math.Pi*g.v[1])
		ll = 0
		for i, x := range xs {
			d0, d1 := x-g.mu[0], x-g.mu[1]
			a := c0 - d0*d0/(2*g.v[0])
			b := c1 - d1*d1/(2*g.v[1])
			m := math.Max(a, b)
			l := m + math.Log1p(math.Exp(-math.Abs(a-b)))
			ll += ws[i] * l
			resp[i] = math.Exp(a - l)
		}
		var r0 float64
		for i := range xs {
			r0 += ws[i] * resp[i]
			inv[i] = 1 - resp[i]
		}
		if r0 < 1 || total-r0 < 1 {
			break
		}
		mu0, va0 := weightedMoments(xs, ws, resp)
		mu1, va1 := weightedMoments(xs, ws, inv)
		g = gmm2{w: [2]float64{r0 / total, 1 - r0/total}, mu: [2]float64{mu0, mu1}, v: [2]float64{math.Max(va0, 1e-3), math.Max(va1, 1e-3)}}
		if ll-prev < 1e-8*math.Abs(ll) {
			break
		}
		prev = ll
	}
	return g, ll
}

// dipDepth evaluates the mixture density on a grid between the two means and returns
// 1 - (lowest density between the modes)/(lower of the two mode heights), or 0 when the density
// has a single mode there.
func dipDepth(g gmm2) float64 {
	a, b := g.mu[0], g.mu[1]
	if a > b {
		a, b = b, a
	}
	dens := func(x float64) float64 {
		return g.w[0]*math.Exp(logNorm(x, g.mu[0], g.v[0])) + g.w[1]*math.Exp(logNorm(x, g.mu[1], g.v[1]))
	}
	const steps = 200
	ys := make([]float64, steps+1)
	for i := range ys {
		ys[i] = dens(a + (b-a)*float64(i)/steps)
	}
	l := 0
	for l < steps && ys[l+1] >= ys[l] {
		l++
	}
	r := steps
	for r > 0 && ys[r-1] >= ys[r] {
		r--
	}
	if r <= l {
		return 0
	}
	low := slices.Min(ys[l : r+1])
	peak := math.Min(ys[l], ys[r])
	if peak <= 0 {
		return 0
	}
	return math.Max(0, 1-low/peak)
}
