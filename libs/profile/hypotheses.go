package profile

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/stats"
)

// Limits of the hypothesis generator.
const (
	// HypothesisColumns caps the columns paired with each other (target first, then frame order).
	HypothesisColumns = 30
	// HypothesisRows caps the rows used by the tests (a fixed-seed uniform sample beyond it).
	HypothesisRows = 100_000
	// DefaultFDR is the false discovery rate used when fdr <= 0.
	DefaultFDR     = 0.05
	maxGroupLevels = 20 // categorical columns with more levels are not used as grouping variables
	minGroupSize   = 5  // groups smaller than this are left out of group comparisons
	// hypothesisPrefix types hypothesis IDs (hyp_…).
	hypothesisPrefix = "hyp"
)

// hypCol is a column prepared for testing.
type hypCol struct {
	name   string
	num    []float64 // numeric role
	codes  []int     // categorical role (-1 missing)
	labels []string

	complete bool      // numeric role without missing values in the sample
	ranks    []float64 // average ranks, when complete
	skew     float64   // skewness, when complete
}

func (h *hypCol) numeric() bool { return h.num != nil }

// Hypotheses states and tests candidate relationships between the columns of f, using the profile
// for semantic types:
//   - a category splits a number: Welch t-test (2 groups) or one-way ANOVA when every group has at
//     least 30 rows and looks normal (|skewness| <= 1, |excess kurtosis| <= 3), otherwise
//     Mann-Whitney U or Kruskal-Wallis;
//   - two numbers correlate: Pearson when both look symmetric (|skewness| <= 1), otherwise Spearman;
//   - two categories are associated: Fisher's exact test for a 2x2 table with an expected count
//     below 5, otherwise the chi-square test of independence;
//   - a bimodal number suggests segments: it is split at the decision boundary of its
//     two-component mixture and every other column is compared between the two segments (the
//     tests above for a two-level category);
//   - a number trends over time (when a datetime column can index the rows): Mann-Kendall;
//   - pairs with the target are always included (it leads the column list).
//
// Pairs that the profile already explains (leakage, duplicate columns) or that encode the same
// information twice (Cramér's V >= 0.99) are not tested. Benjamini-Hochberg q-values are computed
// over all tests; a hypothesis survives when q <= fdr (default 0.05). Every survivor becomes a
// Finding with a plain-language statement, the numbers, a DuckDB query over table "data" that
// reproduces the descriptive numbers, and a chart. Hypotheses come back sorted by p-value.
func Hypotheses(f *frame.Frame, p *profilingv1.Profile, target string, fdr float64) ([]*profilingv1.Hypothesis, []*commonv1.Finding) {
	if f == nil || p == nil {
		return nil, nil
	}
	if fdr <= 0 || fdr >= 1 {
		fdr = DefaultFDR
	}
	rows := sampleRows(f.Rows, HypothesisRows)
	skip := explainedPairs(p)
	var cols []*hypCol
	addCol := func(cp *profilingv1.ColumnProfile) {
		c := f.Col(cp.Name)
		if c == nil || len(cols) >= HypothesisColumns {
			return
		}
		if hc := prepareHyp(c, cp, rows); hc != nil {
			cols = append(cols, hc)
		}
	}
	for _, cp := range p.Columns {
		if cp.Name == target {
			addCol(cp)
		}
	}
	for _, cp := range p.Columns {
		if cp.Name != target {
			addCol(cp)
		}
	}
	var hyps []*profilingv1.Hypothesis
	var makers []func(h *profilingv1.Hypothesis) *commonv1.Finding
	for i := 0; i < len(cols); i++ {
		for j := i + 1; j < len(cols); j++ {
			a, b := cols[i], cols[j]
			if skip[pairKey(a.name, b.name)] {
				continue
			}
			h, mk := testPair(a, b)
			if h == nil {
				continue
			}
			hyps = append(hyps, h)
			makers = append(makers, mk)
		}
	}
	// A bimodal column suggests segments: split it at its mixture's decision boundary and test
	// which other columns differ between the two segments.
	for _, s := range splitSegments(p, cols) {
		hs, mks := segmentHypotheses(s, cols, skip)
		hyps = append(hyps, hs...)
		makers = append(makers, mks...)
	}
	if tcol, gran, group, sources := timeIndex(f, p); tcol != nil {
		for _, c := range cols {
			if !c.numeric() || c.name == sources[0] || c.name == sources[1] {
				continue
			}
			if h, mk := testTrend(tcol, gran, group, c, rows); h != nil {
				hyps = append(hyps, h)
				makers = append(makers, mk)
			}
		}
	}
	ps := make([]float64, len(hyps))
	for i, h := range hyps {
		ps[i] = h.PValue
	}
	qs := stats.BenjaminiHochberg(ps)
	for i, h := range hyps {
		h.QValue = qs[i]
		h.Survived = qs[i] <= fdr
	}
	order := make([]int, len(hyps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		px, py := hyps[x].PValue, hyps[y].PValue
		switch {
		case px < py:
			return -1
		case px > py:
			return 1
		}
		return 0
	})
	outH := make([]*profilingv1.Hypothesis, 0, len(hyps))
	var findings []*commonv1.Finding
	for _, i := range order {
		h := hyps[i]
		h.Id = ids.New(hypothesisPrefix)
		outH = append(outH, h)
		if h.Survived {
			fd := makers[i](h)
			fd.Id = ids.New(ids.Finding)
			// The survivor's statement is the finding's sentence, with its numbers.
			h.Statement = fd.Statement
			findings = append(findings, fd)
		}
	}
	return outH, findings
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// explainedPairs are column pairs the profile already flags as leakage or duplicates.
func explainedPairs(p *profilingv1.Profile) map[[2]string]bool {
	out := map[[2]string]bool{}
	for _, a := range p.Alerts {
		if a.Kind != "leakage" && a.Kind != "duplicate_columns" {
			continue
		}
		for i := range a.Columns {
			for j := i + 1; j < len(a.Columns); j++ {
				out[pairKey(a.Columns[i], a.Columns[j])] = true
			}
		}
	}
	return out
}

func prepareHyp(c *frame.Column, cp *profilingv1.ColumnProfile, rows []int) *hypCol {
	hc := &hypCol{name: c.Name}
	switch cp.SemanticType {
	case commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC, commonv1.SemanticType_SEMANTIC_TYPE_LATITUDE,
		commonv1.SemanticType_SEMANTIC_TYPE_LONGITUDE:
		if c.Kind == frame.String || cp.DistinctCount < 3 {
			return nil
		}
		hc.num = make([]float64, len(rows))
		hc.complete = true
		for k, i := range rows {
			hc.num[k] = c.F[i]
			hc.complete = hc.complete && c.F[i] == c.F[i]
		}
		if hc.complete {
			hc.ranks, _ = stats.Ranks(hc.num)
			hc.skew = stats.Skewness(hc.num)
		}
		return hc
	case commonv1.SemanticType_SEMANTIC_TYPE_CATEGORICAL, commonv1.SemanticType_SEMANTIC_TYPE_BOOLEAN:
		if cp.DistinctCount < 2 || cp.DistinctCount > maxGroupLevels {
			return nil
		}
		idx := map[string]int{}
		hc.codes = make([]int, len(rows))
		for k, i := range rows {
			if c.Null[i] || (c.Kind != frame.String && c.F[i] != c.F[i]) {
				hc.codes[k] = -1
				continue
			}
			var v string
			if c.Kind == frame.String {
				v = c.S[i]
			} else {
				v = levelLabel(c, c.F[i])
			}
			code, ok := idx[v]
			if !ok {
				code = len(idx)
				idx[v] = code
				hc.labels = append(hc.labels, v)
			}
			hc.codes[k] = code
		}
		if len(hc.labels) < 2 {
			return nil
		}
		return hc
	}
	return nil
}

// levelLabel names the level v of a numeric-coded grouping column: a Bool column's class as the
// file spelled it when known ("Yes" for 1: frame.Column.Label), else the number ("1").
func levelLabel(c *frame.Column, v float64) string {
	if l := c.Label(v); l != "" {
		return l
	}
	return formatNum(v)
}

type findingMaker = func(h *profilingv1.Hypothesis) *commonv1.Finding

func testPair(a, b *hypCol) (*profilingv1.Hypothesis, findingMaker) {
	switch {
	case a.numeric() && b.numeric():
		return testCorrelation(a, b)
	case !a.numeric() && !b.numeric():
		return testAssociation(a, b)
	case a.numeric():
		return testGroups(b, a)
	default:
		return testGroups(a, b)
	}
}

func looksNormal(x []float64) bool {
	m := stats.ComputeMoments(x)
	return m.N >= 30 && math.Abs(m.Skewness()) <= 1 && math.Abs(m.Kurtosis()) <= 3
}

func fill(h *profilingv1.Hypothesis, r stats.Result) {
	h.Statistic = nz(r.Statistic)
	h.PValue = r.PValue
	if math.IsNaN(h.PValue) {
		h.PValue = 1
	}
	h.EffectSizeName = r.EffectName
	h.EffectSize = nz(r.EffectSize)
	// An interval is reported only when the test has one; never a made-up 0..0.
	if !math.IsNaN(r.CILow) && !math.IsNaN(r.CIHigh) && !math.IsInf(r.CILow, 0) && !math.IsInf(r.CIHigh, 0) {
		h.CiLow, h.CiHigh, h.HasCi = r.CILow, r.CIHigh, true
	}
	h.N = int64(r.N)
}

// testGroups compares the numeric column across the levels of the categorical one.
func testGroups(cat, num *hypCol) (*profilingv1.Hypothesis, findingMaker) {
	groups := make([][]float64, len(cat.labels))
	for i, c := range cat.codes {
		if c >= 0 && num.num[i] == num.num[i] {
			groups[c] = append(groups[c], num.num[i])
		}
	}
	var gs [][]float64
	var labels []string
	normal := true
	for k, g := range groups {
		if len(g) >= minGroupSize {
			gs = append(gs, g)
			labels = append(labels, cat.labels[k])
			normal = normal && looksNormal(g)
		}
	}
	if len(gs) < 2 || constantGroups(gs) {
		return nil, nil // no groups, or the category fixes the number (the same information twice)
	}
	var r stats.Result
	switch {
	case len(gs) == 2 && normal:
		r = stats.WelchT(gs[0], gs[1])
	case len(gs) == 2:
		r = stats.MannWhitneyU(gs[0], gs[1])
	case normal:
		r = stats.OneWayANOVA(gs)
	default:
		r = stats.KruskalWallis(gs)
	}
	if len(gs) == 2 && r.EffectSize < 0 {
		// Order two groups larger first, so the stored effect size (and its interval) is positive
		// and reads as "the first group against the second".
		gs[0], gs[1] = gs[1], gs[0]
		labels[0], labels[1] = labels[1], labels[0]
		if normal {
			r = stats.WelchT(gs[0], gs[1])
		} else {
			r = stats.MannWhitneyU(gs[0], gs[1])
		}
	}
	useMean := r.Test == "welch_t" || r.Test == "anova"
	centers := make([]float64, len(gs))
	for k, g := range gs {
		if useMean {
			centers[k] = stats.Mean(g)
		} else {
			centers[k] = stats.Median(g)
		}
	}
	hi, lo := 0, 0
	for k := range centers {
		if centers[k] > centers[hi] {
			hi = k
		}
		if centers[k] < centers[lo] {
			lo = k
		}
	}
	if len(gs) == 2 || hi == lo {
		hi, lo = 0, 1
	}
	h := &profilingv1.Hypothesis{
		Statement: fmt.Sprintf("%s differs between the groups of %s", num.name, cat.name),
		Test:      r.Test, Columns: []string{cat.name, num.name},
		Query: fmt.Sprintf("SELECT %[1]s, count(%[2]s) AS n, avg(%[2]s) AS mean, median(%[2]s) AS median, stddev_samp(%[2]s) AS sd FROM data WHERE %[1]s IS NOT NULL AND %[2]s IS NOT NULL GROUP BY %[1]s ORDER BY %[1]s",
			quoteIdent(cat.name), quoteIdent(num.name)),
	}
	fill(h, r)
	for k, g := range gs {
		h.GroupLabels = append(h.GroupLabels, labels[k])
		h.GroupSizes = append(h.GroupSizes, int64(len(g)))
	}
	mk := func(h *profilingv1.Hypothesis) *commonv1.Finding {
		what := "median"
		if useMean {
			what = "mean"
		}
		es, lo95, hi95 := h.EffectSize, h.CiLow, h.CiHigh
		sizes := ""
		if len(gs) == 2 {
			sizes = fmt.Sprintf(": %d vs %d", len(gs[hi]), len(gs[lo]))
		} else {
			sizes = fmt.Sprintf(" in %d groups", len(gs))
		}
		st := fmt.Sprintf("Rows with %s = %s have a %s %s of %s vs %s for %s = %s (%s, %s, %s, n = %d%s).",
			cat.name, labels[hi], what, num.name, fmtNum(centers[hi]), fmtNum(centers[lo]), cat.name, labels[lo],
			testName(h.Test), pq(h), effectText(h, es, lo95, hi95), h.N, sizes)
		boxes := make([]charts.FiveNum, len(gs))
		for k, g := range gs {
			s := slices.Clone(g)
			slices.Sort(s)
			boxes[k] = charts.FiveNum{Group: labels[k], Min: s[0], Q1: stats.Quantile(s, 0.25), Median: stats.Quantile(s, 0.5),
				Q3: stats.Quantile(s, 0.75), Max: s[len(s)-1], N: int64(len(s))}
		}
		title := num.name + " by " + cat.name
		h.Chart = makeChart(title, "box", charts.Box(title, cat.name, num.name, boxes), "columns "+cat.name+", "+num.name)
		return finding(h, st)
	}
	return h, mk
}

// testCorrelation tests a monotonic or linear association of two numbers.
func testCorrelation(a, b *hypCol) (*profilingv1.Hypothesis, findingMaker) {
	x, y := a.num, b.num
	complete := a.complete && b.complete
	if !complete {
		x, y = pairs(a.num, b.num)
	}
	if len(x) < 10 {
		return nil, nil
	}
	var r stats.Result
	sa, sb := a.skew, b.skew
	if !complete {
		sa, sb = stats.Skewness(x), stats.Skewness(y)
	}
	switch {
	case math.Abs(sa) <= 1 && math.Abs(sb) <= 1:
		r = stats.Pearson(x, y)
	case complete:
		// Ranks of complete columns are the pairwise ranks: reuse them.
		r = stats.Pearson(a.ranks, b.ranks)
		r.Test, r.EffectName = "spearman", "rho"
	default:
		r = stats.Spearman(x, y)
	}
	if math.IsNaN(r.Statistic) {
		return nil, nil
	}
	qa, qb := quoteIdent(a.name), quoteIdent(b.name)
	query := fmt.Sprintf("SELECT corr(%[1]s, %[2]s) AS pearson_r, count(*) AS n FROM data WHERE %[1]s IS NOT NULL AND %[2]s IS NOT NULL", qa, qb)
	if r.Test == "spearman" {
		query = fmt.Sprintf("WITH r AS (SELECT %[1]s AS a, %[2]s AS b, row_number() OVER (ORDER BY %[1]s) AS ra, row_number() OVER (ORDER BY %[2]s) AS rb FROM data WHERE %[1]s IS NOT NULL AND %[2]s IS NOT NULL), "+
			"s AS (SELECT avg(ra) OVER (PARTITION BY a) AS ra, avg(rb) OVER (PARTITION BY b) AS rb FROM r) SELECT corr(ra, rb) AS spearman_rho, count(*) AS n FROM s", qa, qb)
	}
	h := &profilingv1.Hypothesis{
		Statement: fmt.Sprintf("%s and %s are correlated", a.name, b.name),
		Test:      r.Test, Columns: []string{a.name, b.name}, Query: query,
	}
	fill(h, r)
	mk := func(h *profilingv1.Hypothesis) *commonv1.Finding {
		dir := "rises"
		if h.EffectSize < 0 {
			dir = "falls"
		}
		st := fmt.Sprintf("%s %s as %s rises (%s, %s, %s, n = %d).",
			b.name, dir, a.name, testName(h.Test), pq(h), effectText(h, h.EffectSize, h.CiLow, h.CiHigh), h.N)
		title := b.name + " vs " + a.name
		h.Chart = makeChart(title, "scatter", charts.Scatter(title, a.name, b.name, x, y), "columns "+a.name+", "+b.name)
		return finding(h, st)
	}
	return h, mk
}

// timeIndex is the first datetime column that can order the rows as a time series (at least
// tsMinPoints values, mostly distinct), as the profile's time-series checks choose it, and the
// granularity the profile found for it; without one, the calendar index of a year and a month
// column (calendarIndex). group names the columns of table data that identify a period and
// sources the columns a calendar index was built from.
func timeIndex(f *frame.Frame, p *profilingv1.Profile) (col *frame.Column, gran string, group []string, sources [2]string) {
	for _, cp := range p.Columns {
		present := cp.Count - cp.MissingCount
		c := f.Col(cp.Name)
		if cp.SemanticType == commonv1.SemanticType_SEMANTIC_TYPE_DATETIME && c != nil && c.Kind == frame.Time &&
			present >= tsMinPoints && float64(cp.DistinctCount) >= tsIndexUnique*float64(present) {
			return c, cp.GetDatetime().GetGranularity(), []string{c.Name}, sources
		}
	}
	if c, src, ok := calendarIndex(f); ok {
		return c, "month", src[:], src
	}
	return nil, "", nil, sources
}

// testTrend tests a monotonic trend of a numeric column over the time index: Mann-Kendall on the
// series in time order (bucket-averaged to at most TrendPoints points), Kendall's tau as the
// effect size (no interval) and Sen's slope per point.
func testTrend(tcol *frame.Column, gran string, groupCols []string, num *hypCol, rows []int) (*profilingv1.Hypothesis, findingMaker) {
	order := make([]int, 0, len(rows))
	for k, i := range rows {
		if !tcol.Null[i] && tcol.F[i] == tcol.F[i] && num.num[k] == num.num[k] {
			order = append(order, k)
		}
	}
	if len(order) < tsMinPoints {
		return nil, nil
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := tcol.F[rows[a]], tcol.F[rows[b]]
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return 0
	})
	series := make([]float64, len(order))
	times := make([]time.Time, len(order))
	for j, k := range order {
		series[j] = num.num[k]
		times[j] = frame.TimeOf(tcol.F[rows[k]])
	}
	points := bucketMeans(series, TrendPoints)
	r := stats.MannKendall(points)
	if math.IsNaN(r.Statistic) || math.IsNaN(r.PValue) {
		return nil, nil
	}
	qn := quoteIdent(num.name)
	var quoted, notNull []string
	for _, g := range groupCols {
		quoted = append(quoted, quoteIdent(g))
		notNull = append(notNull, quoteIdent(g)+" IS NOT NULL")
	}
	h := &profilingv1.Hypothesis{
		Statement: fmt.Sprintf("%s trends over %s", num.name, tcol.Name),
		Test:      "mann_kendall", Columns: []string{tcol.Name, num.name},
		Query: fmt.Sprintf("SELECT %[1]s, avg(%[2]s) AS mean, count(*) AS n FROM data WHERE %[3]s AND %[2]s IS NOT NULL GROUP BY %[1]s ORDER BY %[1]s", strings.Join(quoted, ", "), qn, strings.Join(notNull, " AND ")),
	}
	fill(h, r)
	h.N = int64(len(series))
	mk := func(h *profilingv1.Hypothesis) *commonv1.Finding {
		dir := "rises"
		if h.EffectSize < 0 {
			dir = "falls"
		}
		step := "point"
		if len(points) == len(series) && gran != "" {
			step = gran
		} else if len(points) < len(series) {
			step = fmt.Sprintf("%d-observation bucket", len(series)/len(points))
		}
		st := fmt.Sprintf("%s %s over %s by about %s per %s (Mann-Kendall trend test, %s, Kendall's τ = %s, n = %d observations from %s to %s).",
			num.name, dir, tcol.Name, fmtNum(math.Abs(r.Estimate)), step, pq(h), fmtNum(h.EffectSize), h.N,
			times[0].Format("2006-01-02"), times[len(times)-1].Format("2006-01-02"))
		title := num.name + " over " + tcol.Name
		h.Chart = makeChart(title, "line", charts.Line(title, tcol.Name, num.name, times, series), "columns "+tcol.Name+", "+num.name)
		fd := finding(h, st)
		fd.Values["sen_slope"] = nz(r.Estimate)
		return fd
	}
	return h, mk
}

func pairs(x, y []float64) ([]float64, []float64) {
	xs, ys := make([]float64, 0, len(x)), make([]float64, 0, len(x))
	for i := range x {
		if x[i] == x[i] && y[i] == y[i] {
			xs = append(xs, x[i])
			ys = append(ys, y[i])
		}
	}
	return xs, ys
}

// testAssociation tests independence of two categorical columns.
func testAssociation(a, b *hypCol) (*profilingv1.Hypothesis, findingMaker) {
	t := table(a.codes, len(a.labels), b.codes, len(b.labels))
	var r stats.Result
	chi := stats.ChiSquare(t, false)
	if chi.N == 0 || math.IsNaN(chi.PValue) {
		return nil, nil
	}
	if chi.EffectSize >= 0.99 {
		return nil, nil // the same information encoded twice
	}
	r = chi
	if len(a.labels) == 2 && len(b.labels) == 2 && minExpected(t) < 5 {
		r = stats.FisherExact(int(t[0][0]), int(t[0][1]), int(t[1][0]), int(t[1][1]))
	}
	qa, qb := quoteIdent(a.name), quoteIdent(b.name)
	h := &profilingv1.Hypothesis{
		Statement: fmt.Sprintf("%s and %s are associated", a.name, b.name),
		Test:      r.Test, Columns: []string{a.name, b.name},
		Query: fmt.Sprintf("SELECT %[1]s, %[2]s, count(*) AS n FROM data WHERE %[1]s IS NOT NULL AND %[2]s IS NOT NULL GROUP BY %[1]s, %[2]s ORDER BY %[1]s, %[2]s", qa, qb),
	}
	fill(h, r)
	mk := func(h *profilingv1.Hypothesis) *commonv1.Finding {
		// Describe the largest departure from independence.
		bi, bj, best := 0, 0, 0.0
		rs, cs, n := margins(t)
		for i := range t {
			for j := range t[i] {
				if rs[i] == 0 || cs[j] == 0 {
					continue
				}
				share := t[i][j] / rs[i]
				if d := math.Abs(share - cs[j]/n); d > best {
					bi, bj, best = i, j, d
				}
			}
		}
		v := fmt.Sprintf("Cramér's V = %s", fmtNum(chi.EffectSize))
		if !math.IsNaN(chi.CILow) && !math.IsNaN(chi.CIHigh) {
			v += fmt.Sprintf(" (95%% CI %s to %s)", fmtNum(chi.CILow), fmtNum(chi.CIHigh))
		}
		if h.Test == "fisher_exact" {
			v = effectText(h, h.EffectSize, h.CiLow, h.CiHigh) + ", " + v
		}
		st := fmt.Sprintf("%s = %s in %.1f%% of rows with %s = %s vs %.1f%% overall (%s, %s, %s, n = %d).",
			b.name, b.labels[bj], 100*t[bi][bj]/rs[bi], a.name, a.labels[bi], 100*cs[bj]/n,
			testName(h.Test), pq(h), v, h.N)
		var cats []string
		var counts []float64
		for i := range t {
			for j := range t[i] {
				if t[i][j] > 0 && len(cats) < 40 {
					cats = append(cats, a.labels[i]+" · "+b.labels[j])
					counts = append(counts, t[i][j])
				}
			}
		}
		title := a.name + " × " + b.name
		h.Chart = makeChart(title, "bar", charts.Bar(title, a.name+" · "+b.name, cats, counts), "columns "+a.name+", "+b.name)
		fd := finding(h, st)
		fd.Values["cramers_v"] = nz(chi.EffectSize)
		return fd
	}
	return h, mk
}

func constantGroups(gs [][]float64) bool {
	for _, g := range gs {
		for _, v := range g {
			if v != g[0] {
				return false
			}
		}
	}
	return true
}

func margins(t [][]float64) (rs, cs []float64, n float64) {
	rs = make([]float64, len(t))
	cs = make([]float64, len(t[0]))
	for i := range t {
		for j, v := range t[i] {
			rs[i] += v
			cs[j] += v
			n += v
		}
	}
	return rs, cs, n
}

func minExpected(t [][]float64) float64 {
	rs, cs, n := margins(t)
	m := math.Inf(1)
	for i := range rs {
		for j := range cs {
			m = math.Min(m, rs[i]*cs[j]/n)
		}
	}
	return m
}

func finding(h *profilingv1.Hypothesis, statement string) *commonv1.Finding {
	v := map[string]float64{
		"statistic": h.Statistic, "p_value": h.PValue, "q_value": h.QValue, "effect_size": h.EffectSize, "n": float64(h.N),
	}
	if h.HasCi {
		v["ci_low"], v["ci_high"] = h.CiLow, h.CiHigh
	}
	for k, s := range h.GroupSizes {
		v["n_"+h.GroupLabels[k]] = float64(s)
	}
	fd := &commonv1.Finding{Statement: statement, Test: h.Test, Values: v, Columns: slices.Clone(h.Columns), Query: h.Query}
	if h.Chart != nil {
		fd.ChartId = h.Chart.Id
	}
	return fd
}

// quoteIdent quotes a column name for DuckDB SQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return fmt.Sprintf("%d", int64(v))
	}
	if a := math.Abs(v); a >= 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// pq renders the p and q values for a sentence: "p < 1e-10, q < 1e-10" or "p = 0.0031, q = 0.012".
func pq(h *profilingv1.Hypothesis) string {
	one := func(name string, v float64) string {
		if v < 1e-10 {
			return name + " < 1e-10"
		}
		return name + " = " + fmtP(v)
	}
	return one("p", h.PValue) + ", " + one("q", h.QValue)
}

// effectText renders an effect size with its interval when there is one.
func effectText(h *profilingv1.Hypothesis, es, lo, hi float64) string {
	s := fmt.Sprintf("%s = %s", effectName(h.EffectSizeName), fmtNum(es))
	if h.HasCi {
		s += fmt.Sprintf(" (95%% CI %s to %s)", fmtNum(lo), fmtNum(hi))
	}
	return s
}

func fmtP(p float64) string {
	if p < 1e-300 {
		return "< 1e-300"
	}
	if p < 1e-4 {
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", p)
}

func testName(t string) string {
	switch t {
	case "welch_t":
		return "Welch t-test"
	case "mann_whitney_u":
		return "Mann-Whitney U test"
	case "anova":
		return "one-way ANOVA"
	case "kruskal_wallis":
		return "Kruskal-Wallis test"
	case "pearson":
		return "Pearson correlation"
	case "spearman":
		return "Spearman correlation"
	case "chi_square":
		return "chi-square test"
	case "fisher_exact":
		return "Fisher's exact test"
	case "mann_kendall":
		return "Mann-Kendall trend test"
	}
	return t
}

func effectName(e string) string {
	switch e {
	case "hedges_g":
		return "Hedges' g"
	case "rank_biserial":
		return "rank-biserial r"
	case "eta_squared":
		return "η²"
	case "epsilon_squared":
		return "ε²"
	case "r":
		return "r"
	case "rho":
		return "ρ"
	case "odds_ratio":
		return "odds ratio"
	case "cramers_v":
		return "Cramér's V"
	case "tau":
		return "Kendall's τ"
	}
	return e
}
