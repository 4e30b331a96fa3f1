package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// WelchT is Welch's unequal-variance two-sample t-test of mean(a) == mean(b)
// (scipy.stats.ttest_ind(a, b, equal_var=False)). Estimate is mean(a)-mean(b) with its Welch 95% CI;
// the effect size is Hedges' g with its 95% CI (see HedgesG).
func WelchT(a, b []float64) Result {
	r := newResult("welch_t")
	n1, n2 := float64(len(a)), float64(len(b))
	r.N = len(a) + len(b)
	if len(a) < 2 || len(b) < 2 {
		return r
	}
	m1, m2 := Mean(a), Mean(b)
	v1, v2 := Variance(a), Variance(b)
	se2 := v1/n1 + v2/n2
	se := math.Sqrt(se2)
	r.Estimate = m1 - m2
	r.Statistic = r.Estimate / se
	r.DF = se2 * se2 / ((v1/n1)*(v1/n1)/(n1-1) + (v2/n2)*(v2/n2)/(n2-1))
	r.PValue = tTwoSided(r.Statistic, r.DF)
	if se == 0 {
		r.Statistic, r.PValue = math.NaN(), math.NaN()
	}
	tq := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: r.DF}.Quantile(0.975)
	r.EstimateLow, r.EstimateHigh = r.Estimate-tq*se, r.Estimate+tq*se
	g := HedgesG(a, b)
	r.EffectName, r.EffectSize, r.CILow, r.CIHigh = g.EffectName, g.EffectSize, g.CILow, g.CIHigh
	return r
}

// CohensD is the standardized mean difference (mean(a)-mean(b))/s_pooled, with s_pooled from the
// n-1 variances. The 95% CI is d ± 1.96·SE with SE = sqrt((n1+n2)/(n1·n2) + d²/(2(n1+n2)))
// (Hedges & Olkin's large-sample approximation).
func CohensD(a, b []float64) Result {
	r := newResult("cohens_d")
	r.EffectName = "cohens_d"
	n1, n2 := float64(len(a)), float64(len(b))
	r.N = len(a) + len(b)
	if len(a) < 2 || len(b) < 2 {
		return r
	}
	sp := math.Sqrt(((n1-1)*Variance(a) + (n2-1)*Variance(b)) / (n1 + n2 - 2))
	d := (Mean(a) - Mean(b)) / sp
	se := math.Sqrt((n1+n2)/(n1*n2) + d*d/(2*(n1+n2)))
	r.Statistic, r.EffectSize, r.Estimate = d, d, d
	r.CILow, r.CIHigh = d-z975*se, d+z975*se
	r.EstimateLow, r.EstimateHigh = r.CILow, r.CIHigh
	return r
}

// HedgesG is Cohen's d times the small-sample correction J = 1 - 3/(4(n1+n2)-9); its CI is the
// CohensD interval scaled by J.
func HedgesG(a, b []float64) Result {
	r := CohensD(a, b)
	r.Test, r.EffectName = "hedges_g", "hedges_g"
	j := 1 - 3/(4*float64(len(a)+len(b))-9)
	r.Statistic *= j
	r.EffectSize *= j
	r.Estimate *= j
	r.CILow *= j
	r.CIHigh *= j
	r.EstimateLow, r.EstimateHigh = r.CILow, r.CIHigh
	return r
}

// MannWhitneyU is the two-sided Mann-Whitney U test with the normal approximation, tie correction
// and continuity correction (scipy.stats.mannwhitneyu(a, b, method="asymptotic")). Statistic is U of
// a; the effect size is the rank-biserial correlation 2U/(n1·n2) - 1 (positive when a tends to be
// larger) with its Fisher-z 95% CI (RankBiserialCI); Estimate is median(a) - median(b).
func MannWhitneyU(a, b []float64) Result {
	r := newResult("mann_whitney_u")
	n1, n2 := len(a), len(b)
	r.N = n1 + n2
	if n1 == 0 || n2 == 0 {
		return r
	}
	all := make([]float64, 0, n1+n2)
	all = append(all, a...)
	all = append(all, b...)
	ranks, tie := Ranks(all)
	r1 := 0.0
	for _, v := range ranks[:n1] {
		r1 += v
	}
	f1, f2, n := float64(n1), float64(n2), float64(n1+n2)
	u1 := r1 - f1*(f1+1)/2
	r.Statistic = u1
	mu := f1 * f2 / 2
	s := math.Sqrt(f1 * f2 / 12 * ((n + 1) - tie/(n*(n-1))))
	u := math.Max(u1, f1*f2-u1)
	z := (u - mu - 0.5) / s
	r.PValue = math.Min(1, 2*0.5*math.Erfc(z/math.Sqrt2))
	r.EffectName = "rank_biserial"
	r.EffectSize = 2*u1/(f1*f2) - 1
	r.CILow, r.CIHigh = RankBiserialCI(r.EffectSize, n1, n2)
	r.Estimate = Median(a) - Median(b)
	return r
}

// ChiSquare is Pearson's chi-square test of independence on a contingency table of counts
// (scipy.stats.chi2_contingency(table, correction=yates)). Rows or columns that sum to zero are
// dropped. With yates true, Yates' continuity correction is applied when DF == 1 (scipy's default).
// The effect size is Cramér's V = sqrt(chi2/(n·(min(r,c)-1))) from the uncorrected statistic
// (scipy.stats.contingency.association(table, method="cramer")), with the noncentral chi-square
// 95% CI of CramersVCI.
func ChiSquare(table [][]float64, yates bool) Result {
	r := newResult("chi_square")
	r.EffectName = "cramers_v"
	t := compactTable(table)
	if len(t) < 2 || len(t[0]) < 2 {
		return r
	}
	rows, cols := len(t), len(t[0])
	rs := make([]float64, rows)
	cs := make([]float64, cols)
	n := 0.0
	for i := range t {
		for j, v := range t[i] {
			rs[i] += v
			cs[j] += v
			n += v
		}
	}
	r.N = int(math.Round(n))
	r.DF = float64((rows - 1) * (cols - 1))
	chi, chiC := 0.0, 0.0
	for i := range t {
		for j, o := range t[i] {
			e := rs[i] * cs[j] / n
			d := o - e
			chi += d * d / e
			ad := math.Abs(d)
			ad -= math.Min(0.5, ad)
			chiC += ad * ad / e
		}
	}
	r.Statistic = chi
	if yates && r.DF == 1 {
		r.Statistic = chiC
	}
	r.PValue = chi2Survival(r.Statistic, r.DF)
	r.EffectSize = math.Sqrt(chi / (n * float64(min(rows, cols)-1)))
	r.Estimate = r.EffectSize
	r.CILow, r.CIHigh = CramersVCI(chi, r.DF, r.N, rows, cols)
	return r
}

func compactTable(table [][]float64) [][]float64 {
	if len(table) == 0 {
		return nil
	}
	cols := len(table[0])
	keepC := make([]bool, cols)
	var rows [][]float64
	for _, row := range table {
		s := 0.0
		for j, v := range row {
			s += v
			if v != 0 {
				keepC[j] = true
			}
		}
		if s > 0 {
			rows = append(rows, row)
		}
	}
	out := make([][]float64, len(rows))
	for i, row := range rows {
		for j, v := range row {
			if keepC[j] {
				out[i] = append(out[i], v)
			}
		}
	}
	return out
}

// FisherExact is Fisher's exact test on the 2x2 table [[a, b], [c, d]] (scipy.stats.fisher_exact):
// the two-sided p-value sums the hypergeometric probabilities of all tables no more likely than the
// observed one (relative tolerance 1e-7). Statistic and EffectSize are the sample odds ratio ad/bc;
// the 95% CI is Woolf's log interval (NaN when a cell is zero).
func FisherExact(a, b, c, d int) Result {
	r := newResult("fisher_exact")
	r.EffectName = "odds_ratio"
	m := a + b + c + d
	r.N = m
	if m == 0 {
		return r
	}
	fa, fb, fc, fd := float64(a), float64(b), float64(c), float64(d)
	switch {
	case b*c == 0 && a*d == 0:
		r.Statistic = math.NaN()
	case b*c == 0:
		r.Statistic = math.Inf(1)
	default:
		r.Statistic = fa * fd / (fb * fc)
	}
	r.EffectSize, r.Estimate = r.Statistic, r.Statistic
	if a > 0 && b > 0 && c > 0 && d > 0 {
		se := math.Sqrt(1/fa + 1/fb + 1/fc + 1/fd)
		lo := math.Log(r.Statistic)
		r.CILow, r.CIHigh = math.Exp(lo-z975*se), math.Exp(lo+z975*se)
		r.EstimateLow, r.EstimateHigh = r.CILow, r.CIHigh
	}
	row1, col1 := a+b, a+c
	lo, hi := max(0, row1+col1-m), min(row1, col1)
	logPMF := func(x int) float64 {
		return lchoose(col1, x) + lchoose(m-col1, row1-x) - lchoose(m, row1)
	}
	pObs := logPMF(a)
	p := 0.0
	for x := lo; x <= hi; x++ {
		lp := logPMF(x)
		if lp <= pObs+math.Log1p(1e-7) {
			p += math.Exp(lp)
		}
	}
	r.PValue = math.Min(1, p)
	return r
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// OneWayANOVA is the one-way analysis of variance F test (scipy.stats.f_oneway). Groups with no
// values are ignored. The effect size is eta squared SS_between/SS_total.
func OneWayANOVA(groups [][]float64) Result {
	r := newResult("anova")
	r.EffectName = "eta_squared"
	var gs [][]float64
	for _, g := range groups {
		if len(g) > 0 {
			gs = append(gs, g)
		}
	}
	k := len(gs)
	n, sum := 0, 0.0
	for _, g := range gs {
		n += len(g)
		for _, v := range g {
			sum += v
		}
	}
	r.N = n
	if k < 2 || n <= k {
		return r
	}
	grand := sum / float64(n)
	ssb, ssw := 0.0, 0.0
	for _, g := range gs {
		m := Mean(g)
		ssb += float64(len(g)) * (m - grand) * (m - grand)
		for _, v := range g {
			ssw += (v - m) * (v - m)
		}
	}
	r.DF, r.DF2 = float64(k-1), float64(n-k)
	r.Statistic = (ssb / r.DF) / (ssw / r.DF2)
	r.PValue = fSurvival(r.Statistic, r.DF, r.DF2)
	r.EffectSize = ssb / (ssb + ssw)
	r.Estimate = r.EffectSize
	r.CILow, r.CIHigh = EtaSquaredCI(r.Statistic, r.DF, r.DF2)
	return r
}

// KruskalWallis is the Kruskal-Wallis H test with tie correction (scipy.stats.kruskal); the p-value
// is from the chi-square distribution with k-1 degrees of freedom. The effect size is
// epsilon squared H/(n-1).
func KruskalWallis(groups [][]float64) Result {
	r := newResult("kruskal_wallis")
	r.EffectName = "epsilon_squared"
	var gs [][]float64
	n := 0
	for _, g := range groups {
		if len(g) > 0 {
			gs = append(gs, g)
			n += len(g)
		}
	}
	r.N = n
	if len(gs) < 2 {
		return r
	}
	all := make([]float64, 0, n)
	for _, g := range gs {
		all = append(all, g...)
	}
	ranks, tie := Ranks(all)
	fn := float64(n)
	h, off := 0.0, 0
	for _, g := range gs {
		s := 0.0
		for _, v := range ranks[off : off+len(g)] {
			s += v
		}
		off += len(g)
		h += s * s / float64(len(g))
	}
	h = 12/(fn*(fn+1))*h - 3*(fn+1)
	if c := 1 - tie/(fn*fn*fn-fn); c > 0 {
		h /= c
	} else {
		h = math.NaN()
	}
	r.Statistic = h
	r.DF = float64(len(gs) - 1)
	r.PValue = chi2Survival(h, r.DF)
	r.EffectSize = h / (fn - 1)
	r.Estimate = r.EffectSize
	return r
}

// dropNaNPairs returns copies of x and y without the pairs where either is NaN.
func dropNaNPairs(x, y []float64) ([]float64, []float64) {
	n := min(len(x), len(y))
	xs, ys := make([]float64, 0, n), make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if x[i] == x[i] && y[i] == y[i] {
			xs = append(xs, x[i])
			ys = append(ys, y[i])
		}
	}
	return xs, ys
}

// Pearson is the Pearson correlation with its two-sided p-value from the t distribution with n-2
// degrees of freedom (scipy.stats.pearsonr) and the Fisher-z 95% CI (tanh(atanh r ± 1.96/sqrt(n-3)),
// as in pearsonr(...).confidence_interval()). Pairs with a NaN are dropped.
func Pearson(x, y []float64) Result {
	xs, ys := dropNaNPairs(x, y)
	r := corrResult("pearson", "r", pearsonR(xs, ys), len(xs))
	return r
}

// Spearman is the Spearman rank correlation (Pearson on average ranks) with the p-value from the t
// distribution with n-2 degrees of freedom (scipy.stats.spearmanr) and a Fisher-z 95% CI using
// SE = 1/sqrt(n-3). Pairs with a NaN are dropped.
func Spearman(x, y []float64) Result {
	xs, ys := dropNaNPairs(x, y)
	rx, _ := Ranks(xs)
	ry, _ := Ranks(ys)
	return corrResult("spearman", "rho", pearsonR(rx, ry), len(xs))
}

func corrResult(test, effect string, rho float64, n int) Result {
	r := newResult(test)
	r.EffectName = effect
	r.N = n
	r.Statistic, r.Estimate, r.EffectSize = rho, rho, rho
	if n < 3 || math.IsNaN(rho) {
		return r
	}
	fn := float64(n)
	if math.Abs(rho) >= 1 {
		r.PValue = 0
	} else {
		t := rho * math.Sqrt((fn-2)/(1-rho*rho))
		r.PValue = tTwoSided(t, fn-2)
	}
	r.DF = fn - 2
	if n > 3 {
		z := math.Atanh(rho)
		se := 1 / math.Sqrt(fn-3)
		r.CILow, r.CIHigh = math.Tanh(z-z975*se), math.Tanh(z+z975*se)
		r.EstimateLow, r.EstimateHigh = r.CILow, r.CIHigh
	}
	return r
}

// pearsonR is the correlation of equally long slices without NaN (NaN when a variance is zero).
func pearsonR(x, y []float64) float64 {
	n := len(x)
	if n < 2 {
		return math.NaN()
	}
	mx, my := Mean(x), Mean(y)
	sxy, sxx, syy := 0.0, 0.0, 0.0
	for i := 0; i < n; i++ {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	r := sxy / math.Sqrt(sxx*syy)
	return math.Max(-1, math.Min(1, r))
}

// MannKendall is the Mann-Kendall trend test of a series in time order (NaN values are dropped).
// S = Σ_{i<j} sign(x_j - x_i); Var(S) has the tie correction; Z uses the continuity correction
// (S∓1)/sqrt(Var S); the p-value is two-sided normal. EffectSize is Kendall's tau-a S/(n(n-1)/2);
// Estimate is Sen's slope (median of pairwise slopes per step) with the 95% CI of Sen (1968) as in
// scipy.stats.theilslopes. The cost is O(n²): aggregate long series to a few thousand points first.
func MannKendall(series []float64) Result {
	r := newResult("mann_kendall")
	r.EffectName = "tau"
	x := make([]float64, 0, len(series))
	pos := make([]float64, 0, len(series))
	for i, v := range series {
		if v == v {
			x = append(x, v)
			pos = append(pos, float64(i))
		}
	}
	n := len(x)
	r.N = n
	if n < 3 {
		return r
	}
	s := 0.0
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		xi, pi := x[i], pos[i]
		for j := i + 1; j < n; j++ {
			d := x[j] - xi
			if d > 0 {
				s++
			} else if d < 0 {
				s--
			}
			slopes = append(slopes, d/(pos[j]-pi))
		}
	}
	fn := float64(n)
	tieTerm := tieGroupsTerm(x)
	v := (fn*(fn-1)*(2*fn+5) - tieTerm) / 18
	var z float64
	switch {
	case s > 0:
		z = (s - 1) / math.Sqrt(v)
	case s < 0:
		z = (s + 1) / math.Sqrt(v)
	}
	r.Statistic = s
	r.PValue = normTwoSided(z)
	r.EffectSize = s / (fn * (fn - 1) / 2)
	slices.Sort(slopes)
	r.Estimate = Quantile(slopes, 0.5)
	nt := float64(len(slopes))
	sigma := math.Sqrt(v)
	ru := min(int(math.RoundToEven((nt+z975*sigma)/2)), len(slopes)-1)
	rl := max(int(math.RoundToEven((nt-z975*sigma)/2))-1, 0)
	r.EstimateLow, r.EstimateHigh = slopes[rl], slopes[ru]
	return r
}

// tieGroupsTerm is Σ t(t-1)(2t+5) over groups of tied values.
func tieGroupsTerm(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	out := 0.0
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		t := float64(j - i)
		out += t * (t - 1) * (2*t + 5)
		i = j
	}
	return out
}

// ACF returns the sample autocorrelation at lags 0..maxLag (statsmodels.tsa.stattools.acf with
// adjusted=False): the series is demeaned and every lag divided by the lag-0 sum of squares.
// NaN values must be removed or filled by the caller.
func ACF(x []float64, maxLag int) []float64 {
	n := len(x)
	if maxLag > n-1 {
		maxLag = n - 1
	}
	if maxLag < 0 {
		return nil
	}
	m := Mean(x)
	d := make([]float64, n)
	for i, v := range x {
		d[i] = v - m
	}
	out := make([]float64, maxLag+1)
	c0 := 0.0
	for _, v := range d {
		c0 += v * v
	}
	for k := 0; k <= maxLag; k++ {
		s := 0.0
		for t := 0; t+k < n; t++ {
			s += d[t] * d[t+k]
		}
		out[k] = s / c0
	}
	return out
}

// BenjaminiHochberg returns the BH-adjusted p-values (q-values) in the input order
// (statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]). NaN p-values are left NaN and
// do not count as tests.
func BenjaminiHochberg(p []float64) []float64 {
	q := make([]float64, len(p))
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			q[i] = math.NaN()
			continue
		}
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	m := float64(len(idx))
	prev := 1.0
	for k := len(idx) - 1; k >= 0; k-- {
		v := math.Min(prev, p[idx[k]]*m/float64(k+1))
		q[idx[k]] = v
		prev = v
	}
	return q
}

// CorrelationRatio is eta = sqrt(SS_between/SS_total) of y grouped by the category codes (codes < 0
// or NaN y are skipped). It is 0 when the groups share one mean and 1 when the category determines y.
func CorrelationRatio(codes []int, y []float64) float64 {
	levels := 0
	for _, c := range codes {
		levels = max(levels, c+1)
	}
	// Per-level sums in slices indexed by code (codes are small: levels of a category).
	sums := make([]float64, levels)
	counts := make([]float64, levels)
	total, n := 0.0, 0.0
	for i, c := range codes {
		if c < 0 || y[i] != y[i] {
			continue
		}
		sums[c] += y[i]
		counts[c]++
		total += y[i]
		n++
	}
	if n < 2 {
		return math.NaN()
	}
	grand := total / n
	sst := 0.0
	for i, c := range codes {
		if c < 0 || y[i] != y[i] {
			continue
		}
		sst += (y[i] - grand) * (y[i] - grand)
	}
	if sst == 0 {
		return math.NaN()
	}
	ssb := 0.0
	for c, s := range sums {
		if counts[c] == 0 {
			continue
		}
		m := s / counts[c]
		ssb += counts[c] * (m - grand) * (m - grand)
	}
	return math.Sqrt(math.Min(1, ssb/sst))
}

// MutualInformation is the mutual information in nats between two discrete codings
// (sklearn.metrics.mutual_info_score); pairs with a negative code are skipped.
func MutualInformation(x, y []int) float64 {
	type pair struct{ a, b int }
	joint := map[pair]float64{}
	px := map[int]float64{}
	py := map[int]float64{}
	n := 0.0
	for i := range x {
		if x[i] < 0 || y[i] < 0 {
			continue
		}
		joint[pair{x[i], y[i]}]++
		px[x[i]]++
		py[y[i]]++
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	mi := 0.0
	for k, c := range joint {
		mi += c / n * math.Log(c*n/(px[k.a]*py[k.b]))
	}
	return math.Max(0, mi)
}

// Entropy is the Shannon entropy in nats of a discrete coding (negative codes skipped).
func Entropy(x []int) float64 {
	counts := map[int]float64{}
	n := 0.0
	for _, v := range x {
		if v >= 0 {
			counts[v]++
			n++
		}
	}
	h := 0.0
	for _, c := range counts {
		h -= c / n * math.Log(c/n)
	}
	return h
}

// Discretize maps x to equal-frequency bin codes 0..bins-1 using the empirical quantiles as edges
// (ties never straddle bins, so fewer bins may result); NaN becomes -1.
func Discretize(x []float64, bins int) []int {
	vals := make([]float64, 0, len(x))
	for _, v := range x {
		if v == v {
			vals = append(vals, v)
		}
	}
	SortFloat64s(vals)
	edges := make([]float64, 0, bins)
	for i := 1; i < bins; i++ {
		e := Quantile(vals, float64(i)/float64(bins))
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	out := make([]int, len(x))
	for i, v := range x {
		if v != v {
			out[i] = -1
			continue
		}
		k, _ := slices.BinarySearch(edges, v)
		// values equal to an edge go to the lower bin, as with right-closed intervals.
		out[i] = k
	}
	return out
}
