package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/stats"
)

// plan returns the fixed plan of an intent. Each step's text (when not empty) becomes the answer.
func (r *run) plan(in Intent) []planStep {
	debate := []planStep{
		{"checks", "Statistician: significance, effect size and interval", r.statistician},
		{"checks", "Skeptic: outliers, confounders (Simpson's paradox), seasonality, multiple testing", r.skeptic},
		{"checks", "Engineer: missingness, duplicates, sample size, leakage", r.engineer},
	}
	var main []planStep
	switch in.Kind {
	case Describe:
		if in.Measure == "" {
			main = []planStep{{"run_sql", "count rows and columns", r.describeDataset}}
		} else {
			main = []planStep{{"run_sql", fmt.Sprintf("summarise %s", in.Measure), r.describeColumn}}
		}
	case Quality:
		main = []planStep{{"run_sql", "count missing values per column and duplicate rows", r.quality}}
		debate = nil
	case Compare:
		main = []planStep{{"run_sql", fmt.Sprintf("%s by %s", r.label(in.Agg, orDefault(in.Measure, "rows")), in.Group), r.compare}}
	case Relationship:
		main = []planStep{{"run_sql", fmt.Sprintf("measure how %s and %s move together", in.Group, in.Measure), r.relationship}}
	case Trend:
		main = []planStep{{"run_sql", fmt.Sprintf("%s per %s and its slope", r.label(in.Agg, in.Measure), in.Time), r.trend}}
	case Drivers:
		main = []planStep{
			{"profile_hypotheses", "profile the data and test hypotheses about " + in.Measure + " (Benjamini-Hochberg at 5%)", r.hypotheses},
			{"train", "train models for " + in.Measure + " and rank drivers by permutation importance", r.rankDrivers},
			{"run_sql", in.Measure + " by its strongest categorical driver", r.driverChart},
		}
	case Hypotheses:
		main = []planStep{{"profile_hypotheses", "profile the data, state hypotheses and test them (Benjamini-Hochberg at 5%)", r.hypothesisLoop}}
	case Predict:
		main = []planStep{{"train", "train and cross-validate models for " + in.Measure, r.predict}}
	case Effect:
		main = []planStep{{"estimate_effect", fmt.Sprintf("estimate the effect of %s on %s adjusting for confounders", in.Group, in.Measure), r.effect}}
	case Segments:
		main = []planStep{{"run_sql", "find the groups of rows that differ most in " + orDefault(in.Measure, "size"), r.segments}}
	case Anomalies:
		main = []planStep{{"run_sql", "find outlying values (IQR fences and |z| > 3)", r.anomalies}}
	}
	return append(main, debate...)
}

func (r *run) where(cols ...string) string {
	var c []string
	for _, n := range cols {
		if n != "" {
			c = append(c, q(n)+" IS NOT NULL")
		}
	}
	if len(c) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c, " AND ")
}

// ---- describe

func (r *run) describeDataset() (string, error) {
	t, err := r.sql("row count", "SELECT count(*) AS n FROM data")
	if err != nil {
		return "", err
	}
	n := t.Float(0, 0)
	r.values["rows"], r.values["columns"] = n, float64(len(r.s.Columns))
	kinds := map[string][]string{}
	for _, c := range r.s.Columns {
		kinds[c.Type] = append(kinds[c.Type], c.Name)
	}
	var parts []string
	for _, k := range []string{"numeric", "categorical", "boolean", "datetime", "text", "identifier", "empty"} {
		if len(kinds[k]) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(kinds[k]), k, strings.Join(first(kinds[k], 6), ", ")))
		}
	}
	txt := fmt.Sprintf("%s has %.0f rows and %d columns: %s.", orDefault(r.s.Name, "The dataset"), n, len(r.s.Columns), strings.Join(parts, "; "))
	r.finding(txt, "count", nil, "SELECT count(*) FROM data", map[string]float64{"rows": n, "columns": float64(len(r.s.Columns))})
	return txt, nil
}

func first(xs []string, n int) []string {
	if len(xs) > n {
		return append(xs[:n:n], "…")
	}
	return xs
}

func (r *run) describeColumn() (string, error) {
	in := r.res.Intent
	m := in.Measure
	r.used = append(r.used, m)
	c := r.s.Col(m)
	if !c.IsNumeric() && in.Agg == "count" {
		query := fmt.Sprintf("SELECT %s AS v, count(*) AS n FROM data GROUP BY 1 ORDER BY 2 DESC LIMIT 20", r.text(m))
		t, err := r.sql("counts of "+m, query)
		if err != nil {
			return "", err
		}
		var cats []string
		var ns []float64
		var parts []string
		for i := range t.Rows {
			v, n := orDefault(t.Str(i, 0), "(missing)"), t.Float(i, 1)
			r.values[Key("count", m, m, v)] = n
			cats, ns = append(cats, v), append(ns, n)
			if i < 5 {
				parts = append(parts, fmt.Sprintf("%s %.0f", v, n))
			}
		}
		r.chart("Rows per "+m, "bar", charts.Bar("Rows per "+m, m, cats, ns), "SQL on "+r.s.DatasetID)
		txt := fmt.Sprintf("%s has %d distinct values; the most frequent: %s.", m, len(t.Rows), strings.Join(parts, ", "))
		r.finding(txt, "count", []string{m}, query, nil)
		return txt, nil
	}
	e := r.expr(m)
	query := fmt.Sprintf("SELECT count(*) AS n_rows, count(%[1]s) AS n, avg(%[1]s) AS mean, median(%[1]s) AS median, stddev_samp(%[1]s) AS sd, min(%[1]s) AS min, max(%[1]s) AS max, sum(%[1]s) AS sum FROM data", e)
	t, err := r.sql("summary of "+m, query)
	if err != nil {
		return "", err
	}
	n, mean, med, sd, mn, mx, sum := t.Float(0, 1), t.Float(0, 2), t.Float(0, 3), t.Float(0, 4), t.Float(0, 5), t.Float(0, 6), t.Float(0, 7)
	vals := map[string]float64{"n": n, Key("mean", m): mean, Key("median", m): med, Key("std", m): sd, Key("min", m): mn, Key("max", m): mx, Key("sum", m): sum}
	if in.Agg == "rate" {
		vals[Key("rate", m)] = mean
	}
	if in.Agg == "count" {
		vals[Key("count", m)] = n
	}
	for k, v := range vals {
		r.values[k] = v
	}
	r.main = mainStat{kind: "mean", col: m, est: mean, sd: sd, n: n}
	var txt string
	switch in.Agg {
	case "rate":
		txt = fmt.Sprintf("The %s is %s (n = %.0f).", r.label("rate", m), pct(mean), n)
	case "count":
		txt = fmt.Sprintf("%s has %.0f non-missing values.", m, n)
	default:
		main := map[string]float64{"mean": mean, "median": med, "sum": sum, "min": mn, "max": mx, "std": sd}[in.Agg]
		txt = fmt.Sprintf("The %s of %s is %s (mean %s, median %s, sd %s, range %s to %s, n = %.0f).", aggWord(in.Agg), m, f3(main), f3(mean), f3(med), f3(sd), f3(mn), f3(mx), n)
	}
	r.finding(txt, "summary", []string{m}, query, vals)
	return txt, nil
}

func aggWord(a string) string {
	return map[string]string{"mean": "mean", "median": "median", "sum": "total", "min": "minimum", "max": "maximum", "std": "standard deviation", "rate": "rate", "count": "count"}[a]
}

// mainStat is the headline number the debate checks.
type mainStat struct {
	kind     string // mean, compare, corr, trend, drivers, effect
	col      string
	est      float64
	sd, n    float64
	p        float64
	effect   float64
	effName  string
	lo, hi   float64
	top, low string // compare: highest and lowest group
	agg      string // compare: the aggregate compared (a total or a count is not tested)
}

// ---- data quality

func (r *run) quality() (string, error) {
	var sel []string
	for _, c := range r.s.Columns {
		sel = append(sel, fmt.Sprintf("count(*) - count(%s)", q(c.Name)))
	}
	query := "SELECT count(*) AS n, " + strings.Join(sel, ", ") + " FROM data"
	t, err := r.sql("missing values per column", query)
	if err != nil {
		return "", err
	}
	n := t.Float(0, 0)
	r.values["rows"] = n
	type miss struct {
		col string
		n   float64
	}
	var ms []miss
	for i, c := range r.s.Columns {
		k := t.Float(0, i+1)
		r.values["missing("+c.Name+")"] = k
		if k > 0 {
			ms = append(ms, miss{c.Name, k})
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].n > ms[j].n })
	dq := "SELECT (SELECT count(*) FROM data) - (SELECT count(*) FROM (SELECT DISTINCT * FROM data)) AS duplicates"
	d, err := r.sql("duplicate rows", dq)
	if err != nil {
		return "", err
	}
	dup := d.Float(0, 0)
	r.values["duplicate_rows"] = dup
	var parts []string
	var cats []string
	var shares []float64
	for _, m := range ms {
		if len(parts) < 8 {
			parts = append(parts, fmt.Sprintf("%s %.0f (%s)", m.col, m.n, pct(m.n/n)))
		}
		cats, shares = append(cats, m.col), append(shares, m.n)
	}
	txt := fmt.Sprintf("%.0f rows; ", n)
	if len(ms) == 0 {
		txt += "no column has missing values; "
	} else {
		txt += fmt.Sprintf("%d column(s) have missing values: %s; ", len(ms), strings.Join(parts, ", "))
		r.chart("Missing values per column", "bar", charts.Bar("Missing values per column", "column", cats, shares), "SQL on "+r.s.DatasetID)
	}
	txt += fmt.Sprintf("%.0f duplicate row(s).", dup)
	for _, c := range r.s.Columns {
		if c.Type == "identifier" {
			txt += fmt.Sprintf(" %s looks like an identifier: never use it as a feature.", c.Name)
		}
	}
	r.finding(txt, "missingness", nil, query, map[string]float64{"rows": n, "duplicate_rows": dup})
	return txt, nil
}

// ---- compare groups

type group struct {
	name     string
	n        float64
	val, sd  float64
	mean     float64
	positive float64
}

func (r *run) groupStats(agg, m, g, filter string) ([]group, string, error) {
	e := "1.0"
	if m != "" {
		e = r.expr(m)
	}
	w := r.where(g, m)
	if filter != "" {
		if w == "" {
			w = " WHERE " + filter
		} else {
			w += " AND " + filter
		}
	}
	query := fmt.Sprintf("SELECT %s AS grp, count(*) AS n, %s AS value, avg(%s) AS mean, stddev_samp(%s) AS sd FROM data%s GROUP BY 1 ORDER BY 3 DESC", r.text(g), aggSQL(agg, e), e, e, w)
	t, err := r.sql(fmt.Sprintf("%s by %s", r.label(agg, orDefault(m, "rows")), g), query)
	if err != nil {
		return nil, query, err
	}
	var gs []group
	for i := range t.Rows {
		gs = append(gs, group{name: t.Str(i, 0), n: t.Float(i, 1), val: t.Float(i, 2), mean: t.Float(i, 3), sd: t.Float(i, 4)})
	}
	return gs, query, nil
}

func (r *run) compare() (string, error) {
	in := r.res.Intent
	m, g := in.Measure, in.Group
	r.used = append(r.used, g, m)
	gs, query, err := r.groupStats(in.Agg, m, g, "")
	if err != nil {
		return "", err
	}
	if len(gs) == 0 {
		return "No rows have both values.", nil
	}
	var cats []string
	var vals []float64
	var parts []string
	fm := func(v float64) string {
		if in.Agg == "rate" {
			return pct(v)
		}
		return f3(v)
	}
	// "The top 3 clarity grades by average price": the first N groups are the answer (and the chart);
	// otherwise at most 8 are listed, the last two always among them (the lowest is named below).
	shown := gs
	if in.Top > 0 && in.Top < len(gs) {
		shown = gs[:in.Top]
	}
	for i, x := range gs {
		r.values[Key(in.Agg, orDefault(m, "rows"), g, x.name)] = x.val
		r.values["n|"+g+"="+x.name] = x.n
		if i < len(shown) {
			cats, vals = append(cats, x.name), append(vals, x.val)
		}
	}
	for i, x := range shown {
		if len(shown) > 8 && i == 6 {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(shown)-8))
		}
		if len(shown) <= 8 || i < 6 || i >= len(shown)-2 {
			parts = append(parts, fmt.Sprintf("%s %s (n = %.0f)", x.name, fm(x.val), x.n))
		}
	}
	title := fmt.Sprintf("%s by %s", r.label(in.Agg, orDefault(m, "rows")), g)
	if len(shown) < len(gs) {
		title = fmt.Sprintf("Top %d: %s", len(shown), title)
	}
	r.chart(title, "bar", charts.Bar(title, g, cats, vals), "SQL on "+r.s.DatasetID)
	top, low := gs[0], gs[len(gs)-1]
	txt := fmt.Sprintf("The %s by %s: %s.", r.label(in.Agg, orDefault(m, "rows")), g, strings.Join(parts, ", "))
	if len(shown) < len(gs) {
		txt = fmt.Sprintf("The top %d of %d %s groups by %s: %s.", len(shown), len(gs), g, r.label(in.Agg, orDefault(m, "rows")), strings.Join(parts, ", "))
	}
	if len(gs) > 1 {
		if in.Agg == "rate" || in.Agg == "mean" {
			if low.val > 0 && top.val > 0 {
				txt += " " + ratioWords(top.name, low.name, top.val/low.val)
			}
		}
	}
	// "Which day has the lowest total tip?": the answer names the group asked for first.
	if len(gs) > 1 && in.Rank != "" {
		x := top
		if in.Rank == "lowest" {
			x = low
		}
		txt = fmt.Sprintf("%s has the %s %s (%s). ", x.name, in.Rank, r.label(in.Agg, orDefault(m, "rows")), fm(x.val)) + txt
	}
	st := mainStat{kind: "compare", col: m, top: top.name, low: low.name, est: top.val - low.val, agg: in.Agg}
	if m != "" && len(gs) > 1 {
		st.p, st.effect, st.effName = r.groupTest(in.Agg, gs)
		r.tests++
	}
	r.main = st
	r.finding(txt, "group_by", []string{g, m}, query, map[string]float64{"groups": float64(len(gs)), "difference": top.val - low.val})
	return txt, nil
}

// groupTest tests whether groups differ: chi-square for rates (counts rebuilt from n and the share),
// one-way ANOVA from the groups' means and standard deviations otherwise.
func (r *run) groupTest(agg string, gs []group) (p, eff float64, name string) {
	if agg == "rate" {
		var tab [][]float64
		for _, x := range gs {
			pos := math.Round(x.mean * x.n)
			tab = append(tab, []float64{pos, x.n - pos})
		}
		res := stats.ChiSquare(tab, false)
		return res.PValue, res.EffectSize, "cramers_v"
	}
	var N, S float64
	for _, x := range gs {
		N += x.n
		S += x.n * x.mean
	}
	M := S / N
	var ssb, ssw float64
	for _, x := range gs {
		ssb += x.n * (x.mean - M) * (x.mean - M)
		if x.n > 1 && !math.IsNaN(x.sd) {
			ssw += (x.n - 1) * x.sd * x.sd
		}
	}
	k := float64(len(gs))
	if N-k <= 0 || ssw == 0 {
		return math.NaN(), math.NaN(), "eta_squared"
	}
	F := (ssb / (k - 1)) / (ssw / (N - k))
	p = 1 - distuv.F{D1: k - 1, D2: N - k}.CDF(F)
	return p, ssb / (ssb + ssw), "eta_squared"
}

// ---- relationship

func (r *run) relationship() (string, error) {
	in := r.res.Intent
	x, y := in.Group, in.Measure
	cx, cy := r.s.Col(x), r.s.Col(y)
	switch {
	case cx.IsNumeric() && cy.IsNumeric():
	case cx.IsNumeric() || cy.IsNumeric():
		// One side splits rows into groups: compare the numeric side across them.
		g, m := x, y
		if cx.IsNumeric() {
			g, m = y, x
		}
		r.res.Intent.Group, r.res.Intent.Measure, r.res.Intent.Agg = g, m, "mean"
		return r.compare()
	default:
		return r.crosstab(x, y)
	}
	r.used = append(r.used, x, y)
	query := fmt.Sprintf("SELECT corr(%[1]s, %[2]s) AS r, count(*) AS n, regr_slope(%[2]s, %[1]s) AS slope, regr_intercept(%[2]s, %[1]s) AS intercept FROM data%[3]s", r.expr(x), r.expr(y), r.where(x, y))
	t, err := r.sql("Pearson correlation and least-squares line", query)
	if err != nil {
		return "", err
	}
	rho, n, slope := t.Float(0, 0), t.Float(0, 1), t.Float(0, 2)
	r.values[Key("corr", x+","+y)] = rho
	r.values["n"] = n
	r.values[Key("slope", y+"~"+x)] = slope
	pairs, err := r.sql("the pairs for the chart and the rank correlation", fmt.Sprintf("SELECT %s, %s FROM data%s LIMIT 100000", r.expr(x), r.expr(y), r.where(x, y)))
	if err != nil {
		return "", err
	}
	xs, ys := make([]float64, len(pairs.Rows)), make([]float64, len(pairs.Rows))
	for i := range pairs.Rows {
		xs[i], ys[i] = pairs.Float(i, 0), pairs.Float(i, 1)
	}
	pr := stats.Pearson(xs, ys)
	sp := stats.Spearman(xs, ys)
	r.tests++
	r.values[Key("spearman", x+","+y)] = sp.Statistic
	r.main = mainStat{kind: "corr", est: rho, n: n, p: pr.PValue, effect: rho, effName: "r", lo: pr.CILow, hi: pr.CIHigh}
	title := fmt.Sprintf("%s against %s", y, x)
	r.chart(title, "scatter", charts.Scatter(title, x, y, xs, ys), "SQL on "+r.s.DatasetID)
	more := "more"
	if slope < 0 {
		more = "less" // "0.00768 less mpg", not "-0.00768 more mpg"
	}
	txt := fmt.Sprintf("%s and %s are %s correlated: Pearson r = %.3f (95%% CI %.3f to %.3f, n = %.0f), Spearman ρ = %.3f; each unit of %s goes with %s %s %s.",
		x, y, strength(rho), rho, pr.CILow, pr.CIHigh, n, sp.Statistic, x, f3(math.Abs(slope)), more, y)
	r.finding(txt, "pearson", []string{x, y}, query, map[string]float64{"r": rho, "p_value": pr.PValue, "n": n, "slope": slope})
	return txt, nil
}

// ratioWords compares the highest group with the lowest: "about the same" under a 5% gap, a
// percentage under double, a multiple from there ("1.0 times the lowest" said nothing). Both values
// are positive.
func ratioWords(top, low string, ratio float64) string {
	switch {
	case ratio < 1.05:
		return fmt.Sprintf("The highest (%s) is within 5%% of the lowest (%s).", top, low)
	case ratio < 1.95:
		return fmt.Sprintf("The highest (%s) is %.0f%% above the lowest (%s).", top, (ratio-1)*100, low)
	}
	return fmt.Sprintf("The highest (%s) is %.1f times the lowest (%s).", top, ratio, low)
}

func strength(r float64) string {
	a := math.Abs(r)
	dir := "positively"
	if r < 0 {
		dir = "negatively"
	}
	switch {
	case a >= 0.7:
		return "strongly " + dir
	case a >= 0.4:
		return "moderately " + dir
	case a >= 0.1:
		return "weakly " + dir
	}
	return "hardly"
}

func (r *run) crosstab(x, y string) (string, error) {
	r.used = append(r.used, x, y)
	query := fmt.Sprintf("SELECT %s, %s, count(*) FROM data%s GROUP BY 1, 2", r.text(x), r.text(y), r.where(x, y))
	t, err := r.sql("contingency table", query)
	if err != nil {
		return "", err
	}
	rows, cols := map[string]int{}, map[string]int{}
	for i := range t.Rows {
		if _, ok := rows[t.Str(i, 0)]; !ok {
			rows[t.Str(i, 0)] = len(rows)
		}
		if _, ok := cols[t.Str(i, 1)]; !ok {
			cols[t.Str(i, 1)] = len(cols)
		}
	}
	tab := make([][]float64, len(rows))
	for i := range tab {
		tab[i] = make([]float64, len(cols))
	}
	for i := range t.Rows {
		tab[rows[t.Str(i, 0)]][cols[t.Str(i, 1)]] = t.Float(i, 2)
	}
	res := stats.ChiSquare(tab, false)
	r.tests++
	r.values[Key("cramers_v", x+","+y)] = res.EffectSize
	r.values["p_value"] = res.PValue
	r.main = mainStat{kind: "assoc", est: res.EffectSize, p: res.PValue, effect: res.EffectSize, effName: "cramers_v", n: float64(res.N)}
	txt := fmt.Sprintf("%s and %s are associated with Cramér's V = %.3f (chi-square %.1f, p %s, n = %d).", x, y, res.EffectSize, res.Statistic, pv(res.PValue), res.N)
	r.finding(txt, "chi_square", []string{x, y}, query, map[string]float64{"cramers_v": res.EffectSize, "p_value": res.PValue})
	return txt, nil
}

// ---- trend

// periodExpr is the SQL of the trend's period as a number and its unit: the year column itself, or
// for datetimes days, months or years since 1970 depending on the span of the data.
func (r *run) periodExpr() (string, string) {
	t := r.res.Intent.Time
	if r.s.Col(t).IsNumeric() {
		return "CAST(" + q(t) + " AS DOUBLE)", "year"
	}
	if r.unit == "" {
		r.unit = "year"
		if sp, err := r.sql("span of "+t, fmt.Sprintf("SELECT CAST(date_diff('day', min(%[1]s), max(%[1]s)) AS DOUBLE) FROM data", q(t))); err == nil {
			switch d := sp.Float(0, 0); {
			case d < 120:
				r.unit = "day"
			case d < 3*366:
				r.unit = "month"
			}
		}
	}
	switch r.unit {
	case "day":
		return "floor(epoch(" + q(t) + ") / 86400.0)", "day"
	case "month":
		return "(date_part('year', " + q(t) + ") - 1970) * 12 + date_part('month', " + q(t) + ") - 1", "month"
	}
	return "CAST(date_part('year', " + q(t) + ") AS DOUBLE)", "year"
}

// periodTime turns a period number of unit back into a date.
func periodTime(p float64, unit string) time.Time {
	switch unit {
	case "day":
		return time.Unix(int64(p)*86400, 0).UTC()
	case "month":
		m := int(p)
		return time.Date(1970+m/12, time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(int(p), 1, 1, 0, 0, 0, 0, time.UTC)
}

func periodLabel(p float64, unit string) string {
	switch unit {
	case "day":
		return periodTime(p, unit).Format("2006-01-02")
	case "month":
		return periodTime(p, unit).Format("2006-01")
	}
	return trimFloat(p)
}

func (r *run) trend() (string, error) {
	in := r.res.Intent
	m := in.Measure
	r.used = append(r.used, in.Time, m)
	pe, unit := r.periodExpr()
	query := fmt.Sprintf("SELECT %s AS period, %s AS value, count(*) AS n FROM data%s GROUP BY 1 ORDER BY 1", pe, aggSQL(in.Agg, r.expr(m)), r.where(in.Time, m))
	t, err := r.sql(fmt.Sprintf("%s per %s", r.label(in.Agg, m), unit), query)
	if err != nil {
		return "", err
	}
	if len(t.Rows) < 3 {
		r.flags = append(r.flags, "too few periods for a trend")
		return fmt.Sprintf("Only %d %s(s) have data: too few for a trend.", len(t.Rows), unit), nil
	}
	var ps, vs []float64
	var ts []time.Time
	for i := range t.Rows {
		p, v := t.Float(i, 0), t.Float(i, 1)
		ps, vs = append(ps, p), append(vs, v)
		ts = append(ts, periodTime(p, unit))
	}
	slope, _ := ols(ps, vs)
	mk := stats.MannKendall(vs)
	r.tests++
	firstV, lastV := vs[0], vs[len(vs)-1]
	key := Key("slope", in.Agg+"("+m+")/"+unit)
	r.values[key] = slope
	r.values["first"], r.values["last"], r.values["periods"] = firstV, lastV, float64(len(vs))
	if firstV != 0 {
		r.values["change_pct"] = 100 * (lastV - firstV) / firstV
	}
	r.main = mainStat{kind: "trend", est: slope, p: mk.PValue, effect: mk.EffectSize, effName: "kendall_tau", n: float64(len(vs))}
	title := fmt.Sprintf("%s per %s", r.label(in.Agg, m), unit)
	r.chart(title, "line", charts.Line(title, in.Time, m, ts, vs), "SQL on "+r.s.DatasetID)
	dir := "rises"
	if slope < 0 {
		dir = "falls"
	}
	txt := fmt.Sprintf("The %s %s over time: from %s in %s to %s in %s (%+.0f%%), a least-squares slope of %s per %s; the Mann-Kendall test gives τ = %.2f (p = %.2g).",
		r.label(in.Agg, m), dir, f3(firstV), periodLabel(ps[0], unit), f3(lastV), periodLabel(ps[len(ps)-1], unit), r.values["change_pct"], f3(slope), unit, mk.EffectSize, mk.PValue)
	r.finding(txt, "mann_kendall", []string{in.Time, m}, query, map[string]float64{"slope": slope, "p_value": mk.PValue, "tau": mk.EffectSize})
	return txt, nil
}

func ols(x, y []float64) (slope, intercept float64) {
	mx, my := stats.Mean(x), stats.Mean(y)
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	slope = sxy / sxx
	return slope, my - slope*mx
}
