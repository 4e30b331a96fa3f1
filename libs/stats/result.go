package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// Result is the outcome of one statistical test or estimate.
type Result struct {
	// Test names the method, e.g. "welch_t", "mann_whitney_u", "chi_square".
	Test string
	// Statistic is the test statistic (t, U, chi-square, F, H, r, rho, S, ...).
	Statistic float64
	// DF and DF2 are degrees of freedom where the reference distribution has them (DF2 only for F).
	DF, DF2 float64
	// PValue is the two-sided p-value.
	PValue float64
	// Estimate is the primary estimate (mean difference, correlation, odds ratio, Sen's slope, ...);
	// EstimateLow/EstimateHigh is its 95% confidence interval when one is computed, otherwise NaN.
	Estimate, EstimateLow, EstimateHigh float64
	// EffectName names EffectSize: "hedges_g", "rank_biserial", "cramers_v", "odds_ratio",
	// "eta_squared", "epsilon_squared", "r", "rho", "tau".
	EffectName string
	EffectSize float64
	// CILow/CIHigh is the 95% confidence interval of EffectSize when defined, otherwise NaN.
	CILow, CIHigh float64
	// N is the number of observations used.
	N int
}

func newResult(test string) Result {
	nan := math.NaN()
	return Result{Test: test, Statistic: nan, DF: nan, DF2: nan, PValue: nan, Estimate: nan,
		EstimateLow: nan, EstimateHigh: nan, EffectSize: nan, CILow: nan, CIHigh: nan}
}

// z975 is the 0.975 quantile of the standard normal distribution.
var z975 = distuv.UnitNormal.Quantile(0.975)

// normTwoSided is the two-sided p-value of a standard normal statistic.
func normTwoSided(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// tTwoSided is the two-sided p-value of a Student t statistic with df degrees of freedom.
func tTwoSided(t, df float64) float64 {
	if math.IsNaN(t) || df <= 0 {
		return math.NaN()
	}
	if math.IsInf(t, 0) {
		return 0
	}
	return mathext.RegIncBeta(df/2, 0.5, df/(df+t*t))
}

// fSurvival is P(F > x) for an F(d1, d2) distribution, computed without cancellation.
func fSurvival(x, d1, d2 float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	if x <= 0 {
		return 1
	}
	if math.IsInf(x, 1) {
		return 0
	}
	return mathext.RegIncBeta(d2/2, d1/2, d2/(d2+d1*x))
}

// chi2Survival is P(X > x) for a chi-square distribution with k degrees of freedom.
func chi2Survival(x, k float64) float64 {
	if math.IsNaN(x) || k <= 0 {
		return math.NaN()
	}
	if math.IsInf(x, 1) {
		return 0
	}
	return distuv.ChiSquared{K: k}.Survival(x)
}

// Mean is the arithmetic mean (NaN for no values).
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Variance is the sample variance (denominator n-1).
func Variance(x []float64) float64 {
	n := len(x)
	if n < 2 {
		return math.NaN()
	}
	m := Mean(x)
	s := 0.0
	for _, v := range x {
		d := v - m
		s += d * d
	}
	return s / float64(n-1)
}

// Moments holds the central moments of a sample in one pass.
type Moments struct {
	N                 int
	Mean              float64
	M2, M3, M4        float64 // sums of powers of deviations from the mean
	Min, Max          float64
	Zeros, Negatives  int
	SumAbsDevFromMean float64
}

// ComputeMoments computes mean, central moment sums, extremes and zero/negative counts,
// skipping NaN values.
func ComputeMoments(x []float64) Moments {
	m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
	s := 0.0
	for _, v := range x {
		if v != v {
			continue
		}
		m.N++
		s += v
		if v < m.Min {
			m.Min = v
		}
		if v > m.Max {
			m.Max = v
		}
		if v == 0 {
			m.Zeros++
		} else if v < 0 {
			m.Negatives++
		}
	}
	if m.N == 0 {
		m.Mean, m.Min, m.Max = math.NaN(), math.NaN(), math.NaN()
		return m
	}
	m.Mean = s / float64(m.N)
	for _, v := range x {
		if v != v {
			continue
		}
		d := v - m.Mean
		d2 := d * d
		m.M2 += d2
		m.M3 += d2 * d
		m.M4 += d2 * d2
		m.SumAbsDevFromMean += math.Abs(d)
	}
	return m
}

// Std is the sample standard deviation (denominator n-1).
func (m Moments) Std() float64 {
	if m.N < 2 {
		return math.NaN()
	}
	return math.Sqrt(m.M2 / float64(m.N-1))
}

// Skewness is the biased sample skewness g1 = m3/m2^1.5 (scipy.stats.skew with bias=True).
func (m Moments) Skewness() float64 {
	n := float64(m.N)
	if m.N < 2 || m.M2 == 0 {
		return math.NaN()
	}
	m2 := m.M2 / n
	return (m.M3 / n) / math.Pow(m2, 1.5)
}

// Kurtosis is the biased excess kurtosis g2 = m4/m2^2 - 3 (scipy.stats.kurtosis, fisher=True, bias=True).
func (m Moments) Kurtosis() float64 {
	n := float64(m.N)
	if m.N < 2 || m.M2 == 0 {
		return math.NaN()
	}
	m2 := m.M2 / n
	return (m.M4/n)/(m2*m2) - 3
}

// Skewness is the biased sample skewness of x (scipy.stats.skew default, bias=True).
func Skewness(x []float64) float64 { return ComputeMoments(x).Skewness() }

// Kurtosis is the biased excess kurtosis of x (scipy.stats.kurtosis default, fisher=True, bias=True).
func Kurtosis(x []float64) float64 { return ComputeMoments(x).Kurtosis() }

// Quantile returns the p-quantile of sorted (ascending, no NaN) values with linear interpolation
// (numpy.quantile's default method).
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 1 {
		return sorted[n-1]
	}
	h := p * float64(n-1)
	lo := int(math.Floor(h))
	if lo+1 >= n {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Median returns the median of x (x is not modified).
func Median(x []float64) float64 {
	s := slices.Clone(x)
	SortFloat64s(s)
	return Quantile(s, 0.5)
}

// Ranks returns the 1-based ranks of x with ties given their average rank, and the tie correction
// sum of (t^3 - t) over tie groups.
func Ranks(x []float64) (ranks []float64, tieSum float64) {
	n := len(x)
	idx := argsort(x)
	ranks = make([]float64, n)
	for i := 0; i < n; {
		j := i + 1
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // average of ranks i+1..j
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		t := float64(j - i)
		tieSum += t*t*t - t
		i = j
	}
	return ranks, tieSum
}
