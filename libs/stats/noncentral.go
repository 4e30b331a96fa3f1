package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// Confidence intervals by inverting a noncentral distribution (Steiger 2004; the method of R's
// effectsize package): the 95% interval of the noncentrality λ is [λlo, λhi] with
// P(X <= observed; λlo) = 0.975 and P(X <= observed; λhi) = 0.025 (a bound is 0 when even λ = 0 does
// not reach its probability), and each bound is mapped to the effect size the way the observed
// statistic is.

// poissonMix sums Σ_j Pois(j; λ/2)·P_j where P_j comes from start(j0) at the Poisson mode and
// moves one step with up(P_j) -> P_{j+1} and down(P_j) -> P_{j-1} (each call moves one step further). Terms are added outward
// from the mode until the Poisson weights are negligible.
func poissonMix(lam float64, start func(j int) float64, up, down func(p float64) float64) float64 {
	h := lam / 2
	j0 := int(math.Floor(h))
	lw0 := -h + float64(j0)*math.Log(h) - lgamma(float64(j0)+1)
	p0 := start(j0)
	sum := math.Exp(lw0) * p0
	// Upward: weights fall once past the mode; stop when they (or the probabilities) vanish.
	w, p := math.Exp(lw0), p0
	for j := j0; j < j0+1_000_000; j++ {
		p = up(p)
		w *= h / float64(j+1)
		sum += w * p
		if w < 1e-300 || w*p < 1e-17*sum {
			break
		}
	}
	// Downward.
	w, p = math.Exp(lw0), p0
	for j := j0; j > 0; j-- {
		p = down(p)
		w *= float64(j) / h
		sum += w * p
		if w < 1e-300 || w < 1e-17*sum {
			break
		}
	}
	return math.Min(1, math.Max(0, sum))
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// NoncentralChi2CDF is P(X <= x) for a noncentral chi-square distribution with k degrees of freedom
// and noncentrality lam (scipy.stats.ncx2.cdf).
func NoncentralChi2CDF(x, k, lam float64) float64 {
	if x <= 0 {
		return 0
	}
	if math.IsInf(x, 1) {
		return 1
	}
	y := x / 2
	if lam <= 0 {
		return mathext.GammaIncReg(k/2, y)
	}
	ly := math.Log(y)
	// P_j = P(a_j, y) with a_j = k/2 + j, and P(a+1, y) = P(a, y) - t(a) with t(a) = y^a e^-y / Γ(a+1);
	// log t moves by log y - log(a+1) per step up, so only the starting term needs lgamma.
	var upA, upLT, dnA, dnLT float64
	start := func(j int) float64 {
		a := k/2 + float64(j)
		upA, upLT = a, a*ly-y-lgamma(a+1)     // t(a), subtracted on the first step up
		dnA, dnLT = a-1, (a-1)*ly-y-lgamma(a) // t(a-1), added on the first step down
		return mathext.GammaIncReg(a, y)
	}
	return poissonMix(lam, start,
		func(p float64) float64 {
			p = math.Max(0, p-math.Exp(upLT))
			upA++
			upLT += ly - math.Log(upA)
			return p
		},
		func(p float64) float64 {
			p = math.Min(1, p+math.Exp(dnLT))
			dnLT -= ly - math.Log(dnA)
			dnA--
			return p
		})
}

// NoncentralFCDF is P(F <= f) for a noncentral F distribution with d1, d2 degrees of freedom and
// noncentrality lam (scipy.stats.ncf.cdf).
func NoncentralFCDF(f, d1, d2, lam float64) float64 {
	if f <= 0 {
		return 0
	}
	if math.IsInf(f, 1) {
		return 1
	}
	y := d1 * f / (d1*f + d2)
	b := d2 / 2
	if lam <= 0 {
		return mathext.RegIncBeta(d1/2, b, y)
	}
	ly, l1y := math.Log(y), math.Log1p(-y)
	// I_y(a+1, b) = I_y(a, b) - t(a) with t(a) = y^a (1-y)^b Γ(a+b) / (Γ(a+1) Γ(b)), and
	// t(a+1) = t(a)·y·(a+b)/(a+1): only the starting term needs lgamma.
	lt := func(a float64) float64 { return a*ly + b*l1y + lgamma(a+b) - lgamma(a+1) - lgamma(b) }
	var upA, upLT, dnA, dnLT float64
	start := func(j int) float64 {
		a := d1/2 + float64(j)
		upA, upLT = a, lt(a)
		dnA, dnLT = a-1, lt(a-1)
		return mathext.RegIncBeta(a, b, y)
	}
	return poissonMix(lam, start,
		func(p float64) float64 {
			p = math.Max(0, p-math.Exp(upLT))
			upLT += ly + math.Log(upA+b) - math.Log(upA+1)
			upA++
			return p
		},
		func(p float64) float64 {
			p = math.Min(1, p+math.Exp(dnLT))
			// t(a-1) = t(a)·a / (y·(a-1+b)), with a = dnA.
			dnLT += math.Log(dnA) - ly - math.Log(dnA-1+b)
			dnA--
			return p
		})
}

// noncentralityCI returns the 95% interval [lo, hi] of the noncentrality λ given cdf(λ) =
// P(X <= observed; λ), which decreases in λ; guess is a rough λ (the statistic) to bracket from.
func noncentralityCI(cdf func(lam float64) float64, guess float64) (lo, hi float64) {
	solve := func(p float64) float64 {
		if cdf(0) <= p {
			return 0
		}
		a, b := 0.0, math.Max(1, 2*guess)
		for cdf(b) > p {
			a, b = b, 2*b
			if b > 1e12 {
				return math.NaN()
			}
		}
		// Illinois (modified regula falsi) on g(λ) = cdf(λ) - p, which is positive at a and not at b.
		ga, gb := cdf(a)-p, cdf(b)-p
		side := 0
		for i := 0; i < 200 && b-a > 1e-13*math.Max(1, b); i++ {
			m := b - gb*(b-a)/(gb-ga)
			if !(m > a && m < b) {
				m = (a + b) / 2
			}
			gm := cdf(m) - p
			switch {
			case gm == 0:
				return m
			case gm > 0:
				a, ga = m, gm
				if side == -1 {
					gb /= 2
				}
				side = -1
			default:
				b, gb = m, gm
				if side == 1 {
					ga /= 2
				}
				side = 1
			}
		}
		return (a + b) / 2
	}
	return solve(0.975), solve(0.025)
}

// CramersVCI is the 95% confidence interval of Cramér's V for a chi-square statistic with df
// degrees of freedom from an r x c table of n counts: the noncentrality interval mapped by
// V = sqrt(λ / (n·(min(r,c)-1))), capped at 1.
func CramersVCI(chi2, df float64, n, r, c int) (lo, hi float64) {
	m := float64(min(r, c) - 1)
	if !(chi2 > 0) || n <= 0 || m <= 0 || df <= 0 { // a statistic of exactly 0 cannot be inverted
		return math.NaN(), math.NaN()
	}
	l, h := noncentralityCI(func(lam float64) float64 { return NoncentralChi2CDF(chi2, df, lam) }, chi2)
	v := func(lam float64) float64 { return math.Min(1, math.Sqrt(lam/(float64(n)*m))) }
	return v(l), v(h)
}

// EtaSquaredCI is the 95% confidence interval of η² for a one-way ANOVA F statistic with d1, d2
// degrees of freedom: the noncentrality interval mapped by η² = λ / (λ + d2), the mapping that turns
// λ = F·d1 into the observed η² = SSB/(SSB+SSW).
func EtaSquaredCI(f, d1, d2 float64) (lo, hi float64) {
	if !(f > 0) || d1 <= 0 || d2 <= 0 {
		return math.NaN(), math.NaN()
	}
	l, h := noncentralityCI(func(lam float64) float64 { return NoncentralFCDF(f, d1, d2, lam) }, f*d1)
	return l / (l + d2), h / (h + d2)
}

// RankBiserialCI is the 95% confidence interval of the rank-biserial correlation of two samples of
// sizes n1 and n2 by the Fisher z transform with SE = sqrt((n1+n2+1)/(3·n1·n2)) (R effectsize's
// rank_biserial). Undefined (NaN) when |r| = 1.
func RankBiserialCI(r float64, n1, n2 int) (lo, hi float64) {
	if math.IsNaN(r) || math.Abs(r) >= 1 || n1 < 1 || n2 < 1 {
		return math.NaN(), math.NaN()
	}
	f1, f2 := float64(n1), float64(n2)
	se := math.Sqrt((f1 + f2 + 1) / (3 * f1 * f2))
	z := math.Atanh(r)
	return math.Tanh(z - z975*se), math.Tanh(z + z975*se)
}
