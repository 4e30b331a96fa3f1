package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vdsproject/vds/libs/stats"
)

// Debate roles.
const (
	Statistician = "statistician"
	Skeptic      = "skeptic"
	Engineer     = "engineer"
	Synthesis    = "synthesis"
)

func (r *run) flag(role, what string) {
	r.flags = append(r.flags, what)
	r.claim(role, "FLAG: "+what)
}

// bin is a SQL expression that turns a column into at most a dozen groups: itself when it has few
// values, otherwise its quartile.
func (r *run) bin(col string) string {
	c := r.s.Col(col)
	if c.IsNumeric() && !lowCard(c) {
		return fmt.Sprintf("'Q' || CAST(ntile(4) OVER (ORDER BY %s) AS VARCHAR)", q(col))
	}
	return r.text(col)
}

// assoc measures how entangled two columns are: Cramér's V of their groups (quartiles for numbers).
func (r *run) assoc(role, a, b string) (float64, error) {
	v, _, err := r.assocDep(role, a, b)
	return v, err
}

// assocDep is assoc that also reports whether one column is a function of the other (a recoding such
// as class and pclass, or a coarsening): then stratifying one on the other checks nothing.
func (r *run) assocDep(role, a, b string) (float64, bool, error) {
	query := fmt.Sprintf("SELECT a, b, count(*) FROM (SELECT %s AS a, %s AS b FROM data%s) GROUP BY 1, 2", r.bin(a), r.bin(b), r.where(a, b))
	t, err := r.sql(fmt.Sprintf("%s: association of %s and %s", role, a, b), query)
	if err != nil {
		return math.NaN(), false, err
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
	v := stats.ChiSquare(tab, false).EffectSize
	return v, v >= 0.99 || functional(tab) || functional(transpose(tab)), nil
}

// functional reports whether every row of a contingency table has a single non-empty cell (the column
// variable is a function of the row variable), with at least two rows and two columns (a constant
// column is a function of anything and says nothing).
func functional(tab [][]float64) bool {
	if len(tab) < 2 || len(tab[0]) < 2 {
		return false
	}
	for _, row := range tab {
		n := 0
		for _, x := range row {
			if x > 0 {
				n++
			}
		}
		if n != 1 {
			return false
		}
	}
	return true
}

func transpose(tab [][]float64) [][]float64 {
	if len(tab) == 0 {
		return nil
	}
	out := make([][]float64, len(tab[0]))
	for j := range out {
		out[j] = make([]float64, len(tab))
		for i := range tab {
			out[j][i] = tab[i][j]
		}
	}
	return out
}

// ---- statistician

func (r *run) statistician() (string, error) {
	m := r.main
	role := Statistician
	claim := ""
	switch m.kind {
	case "mean":
		if m.n > 1 {
			se := m.sd / math.Sqrt(m.n)
			lo, hi := m.est-1.96*se, m.est+1.96*se
			r.values["ci_low"], r.values["ci_high"] = lo, hi
			r.claim(role, fmt.Sprintf("Mean %s with standard error %s: 95%% CI %s to %s (n = %.0f).", f3(m.est), f3(se), f3(lo), f3(hi), m.n))
			claim = fmt.Sprintf("The mean is estimated within ±%s.", f3(1.96*se))
		}
	case "compare", "assoc":
		r.values["p_value"] = m.p
		r.values[m.effName] = m.effect
		if m.agg == "sum" || m.agg == "count" {
			// A total grows with the group's row count, and a count is a tally: neither has a test of
			// a difference; the means behind a total do.
			if m.agg == "count" || math.IsNaN(m.p) {
				claim = "The counts are tallies of the rows, so no test of a difference applies."
				break
			}
			r.claim(role, fmt.Sprintf("Totals are not tested (a total grows with the number of rows in the group); the group means behind them: p %s, %s = %.3f.", pv(m.p), m.effName, m.effect))
			claim = fmt.Sprintf("The totals differ partly by the groups' sizes; the means behind them differ %s (p %s).", map[bool]string{true: "significantly", false: "not significantly"}[m.p < 0.05], pv(m.p))
			break
		}
		r.claim(role, fmt.Sprintf("Test of a difference between groups: p %s, %s = %.3f.", pv(m.p), m.effName, m.effect))
		switch {
		case math.IsNaN(m.p):
			claim = "No test could be computed."
		case m.p < 0.05:
			claim = fmt.Sprintf("The groups differ significantly (p %s) with a %s effect (%s = %.3f).", pv(m.p), effWord(m.effName, m.effect), m.effName, m.effect)
		default:
			claim = fmt.Sprintf("The difference is not significant (p %s).", pv(m.p))
			r.flag(role, "the difference between groups is not statistically significant")
		}
	case "corr":
		r.values["p_value"] = m.p
		r.claim(role, fmt.Sprintf("Pearson r = %.3f, 95%% CI %.3f to %.3f (Fisher z), p %s, n = %.0f.", m.est, m.lo, m.hi, pv(m.p), m.n))
		claim = fmt.Sprintf("The correlation is %s (p %s) and its interval is %.3f to %.3f.", sigWord(m.p), pv(m.p), m.lo, m.hi)
		if m.p >= 0.05 {
			r.flag(role, "the correlation is not statistically significant")
		}
	case "trend":
		r.values["p_value"] = m.p
		r.claim(role, fmt.Sprintf("Mann-Kendall over %.0f periods: τ = %.3f, p %s.", m.n, m.effect, pv(m.p)))
		claim = fmt.Sprintf("The monotonic trend is %s.", sigWord(m.p))
		if m.p >= 0.05 {
			r.flag(role, "the trend is not statistically significant")
		}
	case "drivers":
		r.claim(role, fmt.Sprintf("%d hypotheses tested through the profiling engine; %d passed Benjamini-Hochberg at 5%%.", r.hypTested, r.hypSurvive))
		for _, f := range r.res.Findings {
			if f.Values["q_value"] > 0 && !strings.HasPrefix(f.Statement, "Did not") && len(r.turns[role].Evidence) < 5 {
				r.claim(role, fmt.Sprintf("%s (q = %.2g).", f.Statement, f.Values["q_value"]))
			}
		}
		// Only the hypotheses about the target back its drivers (the profile tests other pairs too).
		claim = fmt.Sprintf("The model's drivers are backed by %d significant associations with %s (of %d hypotheses that passed, %d tested in all).", r.hypTarget, m.col, r.hypSurvive, r.hypTested)
	case "hypotheses":
		r.claim(role, fmt.Sprintf("%d hypotheses tested; %d passed Benjamini-Hochberg at 5%%; each one's effect size and interval is in its finding.", r.hypTested, r.hypSurvive))
		claim = "Survivors are significant after false-discovery control; effect sizes say which matter."
	case "model":
		r.claim(role, fmt.Sprintf("Cross-validated score %.3f ± %.3f.", m.est, m.sd))
		claim = "The score is an out-of-sample estimate; its spread across folds is the uncertainty."
	case "effect":
		r.claim(role, fmt.Sprintf("ATE %s, 95%% CI %s to %s.", f3(m.est), f3(m.lo), f3(m.hi)))
		if m.lo <= 0 && m.hi >= 0 {
			claim = "The interval includes zero: the data are consistent with no effect."
			r.flag(role, "the effect's confidence interval includes zero")
		} else {
			claim = "The interval excludes zero."
		}
	default:
		claim = "No significance test applies to this question."
	}
	r.turn(role, claim)
	return "", nil
}

// pv renders a p-value after "p": "= 0.0123", or "< 1e-15" below what double precision resolves
// (1 - CDF floors at about 1.1e-16; printing that as a value claims a precision it does not have).
func pv(p float64) string {
	if p < 1e-15 {
		return "< 1e-15"
	}
	return fmt.Sprintf("= %.3g", p)
}

func sigWord(p float64) string {
	if p < 0.05 {
		return fmt.Sprintf("significant at 5%%")
	}
	return "not significant at 5%"
}

func effWord(name string, v float64) string {
	a := math.Abs(v)
	switch name {
	case "eta_squared":
		switch {
		case a >= 0.14:
			return "large"
		case a >= 0.06:
			return "medium"
		case a >= 0.01:
			return "small"
		}
	default:
		switch {
		case a >= 0.5:
			return "large"
		case a >= 0.3:
			return "medium"
		case a >= 0.1:
			return "small"
		}
	}
	return "negligible"
}

// ---- skeptic

func (r *run) skeptic() (string, error) {
	role := Skeptic
	in := r.res.Intent
	var claims []string
	switch r.main.kind {
	case "mean":
		e := r.expr(in.Measure)
		query := fmt.Sprintf("WITH b AS (SELECT quantile_cont(%[1]s, 0.01) AS lo, quantile_cont(%[1]s, 0.99) AS hi FROM data) SELECT avg(%[1]s), count(%[1]s) FROM data, b WHERE %[1]s BETWEEN lo AND hi", e)
		t, err := r.sql("skeptic: the mean without the extreme 1% on each side", query)
		if err != nil {
			return "", err
		}
		tm := t.Float(0, 0)
		r.values["trimmed_mean"] = tm
		r.claim(role, fmt.Sprintf("Without the values below the 1st and above the 99th percentile the mean is %s (n = %.0f), against %s.", f3(tm), t.Float(0, 1), f3(r.main.est)))
		if r.main.est != 0 && math.Abs(tm-r.main.est)/math.Abs(r.main.est) > 0.1 {
			r.flag(role, fmt.Sprintf("the mean moves %.0f%% without the extreme 1%%: it is driven by outliers; the median may describe it better", 100*math.Abs(tm-r.main.est)/math.Abs(r.main.est)))
			claims = append(claims, "the mean is sensitive to extremes")
		} else {
			claims = append(claims, "the mean is robust to the extreme 1%")
		}
	case "compare":
		if err := r.skepticCompare(&claims); err != nil {
			return "", err
		}
	case "corr":
		if err := r.skepticCorr(&claims); err != nil {
			return "", err
		}
	case "trend":
		if err := r.skepticTrend(&claims); err != nil {
			return "", err
		}
	case "hypotheses":
		r.claim(role, fmt.Sprintf("Multiple testing: %d tests, so about %.1f false discoveries are expected among the survivors at a 5%% false-discovery rate.", r.hypTested, 0.05*float64(r.hypSurvive)))
		claims = append(claims, "associations are not causes: each survivor may share a confounder")
	case "drivers", "model":
		if err := r.skepticDrivers(&claims); err != nil {
			return "", err
		}
	case "effect":
		if est := r.effectEst; est != nil {
			for _, ref := range est.Refutations {
				r.claim(role, fmt.Sprintf("Refutation %s: new estimate %s (passed: %v).", ref.Name, f3(ref.NewEffect), ref.Passed))
				if !ref.Passed {
					r.flag(role, "refutation "+ref.Name+" failed")
				}
			}
			// The causal service's other diagnostics (overlap of the groups, covariate balance after
			// weighting): a failed one undermines the estimate as much as a failed refutation.
			for _, fc := range est.FailedChecks {
				refutation := false
				for _, ref := range est.Refutations {
					refutation = refutation || ref.Name == fc
				}
				if !refutation {
					r.flag(role, "the "+strings.ReplaceAll(fc, "_", " ")+" check failed")
				}
			}
			for _, w := range est.Warnings {
				r.claim(role, "Causal service: "+w)
			}
			if est.EValue > 0 {
				r.claim(role, fmt.Sprintf("E-value %.2f: an unmeasured confounder would need that risk ratio with both treatment and outcome to explain the effect away.", est.EValue))
			}
			claims = append(claims, "the estimate relies on no unmeasured confounding")
		}
	}
	if r.tests > 1 {
		r.claim(role, fmt.Sprintf("%d tests were run for this answer; at a Bonferroni threshold of %.2g per test.", r.tests, 0.05/float64(r.tests)))
		if p := r.main.p; !math.IsNaN(p) && p > 0 && p*float64(r.tests) >= 0.05 && p < 0.05 {
			r.flag(role, fmt.Sprintf("p = %.3g does not survive the multiple-testing correction for %d tests", p, r.tests))
		}
	}
	claim := "The result survives the checks I ran."
	if len(claims) > 0 {
		claim = "Checked: " + strings.Join(claims, "; ") + "."
	}
	r.turn(role, claim)
	return "", nil
}

// outcomeWords name columns that record what happened in the end (the usual targets).
var outcomeWords = map[string]bool{"survived": true, "survive": true, "survival": true, "alive": true, "died": true, "dead": true,
	"death": true, "deceased": true, "churn": true, "churned": true, "attrition": true, "outcome": true, "target": true,
	"label": true, "defaulted": true, "converted": true, "conversion": true, "readmitted": true, "cancelled": true}

// outcomeLike reports whether a column's name says it records an outcome ("survived", "Churn", "is_churned").
func outcomeLike(name string) bool {
	for _, w := range words(name) {
		if outcomeWords[w] {
			return true
		}
	}
	return false
}

// confounder picks, among the other low-cardinality or numeric columns, the one most entangled with col.
func (r *run) confounder(role, col string, exclude ...string) (string, float64, error) {
	best, bestV := "", 0.0
	tried := 0
	for _, c := range r.s.Columns {
		if c.Name == col || contains(exclude, c.Name) || tried >= 6 {
			continue
		}
		if !(c.IsGroup() && lowCard(&c)) && !c.IsNumeric() {
			continue
		}
		if c.Type == "identifier" {
			continue
		}
		if outcomeLike(c.Name) {
			// An outcome recorded after the groups were formed (survived, churn) cannot explain a
			// difference between them; stratifying on it would condition on a consequence.
			r.claim(role, fmt.Sprintf("%s records an outcome, so it is not used as a stratifier.", c.Name))
			continue
		}
		tried++
		v, dep, err := r.assocDep(role, col, c.Name)
		if err != nil {
			return "", 0, err
		}
		if dep {
			// The same variable recoded (class and pclass) or a coarsening of it: no check at all.
			r.claim(role, fmt.Sprintf("%s is a recoding of %s (one determines the other), so it is not used as a stratifier.", c.Name, col))
			continue
		}
		if v > bestV {
			best, bestV = c.Name, v
		}
	}
	return best, bestV, nil
}

func (r *run) skepticCompare(claims *[]string) error {
	role := Skeptic
	in := r.res.Intent
	m, g := in.Measure, in.Group
	if m == "" {
		return nil
	}
	if r.s.Col(m).IsNumeric() && !lowCard(r.s.Col(m)) {
		e := r.expr(m)
		gs, _, err := r.groupStats(in.Agg, m, g, fmt.Sprintf("%[1]s BETWEEN (SELECT quantile_cont(%[1]s, 0.01) FROM data) AND (SELECT quantile_cont(%[1]s, 0.99) FROM data)", e))
		if err != nil {
			return err
		}
		if len(gs) > 1 {
			r.claim(role, fmt.Sprintf("Without the extreme 1%% of %s on each side the highest group is %s and the lowest %s (was %s and %s).", m, gs[0].name, gs[len(gs)-1].name, r.main.top, r.main.low))
			if gs[0].name != r.main.top || gs[len(gs)-1].name != r.main.low {
				r.flag(role, "the ranking of groups changes without the extreme 1%")
			} else {
				*claims = append(*claims, "the ranking holds without the extreme 1%")
			}
		}
	}
	z, v, err := r.confounder(role, g, m)
	if err != nil || z == "" {
		return err
	}
	r.claim(role, fmt.Sprintf("The column most entangled with %s is %s (Cramér's V = %.2f).", g, z, v))
	held, total, err := r.stratified(m, in.Agg, g, z)
	if err != nil {
		return err
	}
	if total > 0 {
		r.claim(role, fmt.Sprintf("Stratifying on %s: %s stays above %s in %d of %d strata.", z, r.main.top, r.main.low, held, total))
	}
	// With no shared stratum no check was possible; the entanglement flag below still says how much z and the groups overlap.
	if total == 0 {
		r.claim(role, fmt.Sprintf("Stratifying on %s could not be checked: %s and %s never share a stratum of %s with 10 rows each.", z, r.main.top, r.main.low, z))
	} else if held < total {
		r.flag(role, fmt.Sprintf("Simpson's paradox risk: the %s–%s gap reverses in %d of %d strata of %s", r.main.top, r.main.low, total-held, total, z))
	} else {
		*claims = append(*claims, fmt.Sprintf("the gap holds within every stratum of %s", z))
	}
	if v >= 0.3 {
		r.flag(role, fmt.Sprintf("%s and %s are entangled (V = %.2f): part of the difference may be due to %s", g, z, v, z))
	}
	return nil
}

// stratified counts the strata of z in which the top group still beats the low group.
func (r *run) stratified(m, agg, g, z string) (held, total int, err error) {
	query := fmt.Sprintf("SELECT zb, %s AS g, count(*) AS n, %s AS v FROM (SELECT *, %s AS zb FROM data%s) GROUP BY 1, 2 ORDER BY 1", r.text(g), aggSQL(agg, r.expr(m)), r.bin(z), r.where(g, m, z))
	t, err := r.sql(fmt.Sprintf("skeptic: %s by %s within strata of %s", m, g, z), query)
	if err != nil {
		return 0, 0, err
	}
	type pair struct{ top, low, ntop, nlow float64 }
	by := map[string]*pair{}
	var order []string
	for i := range t.Rows {
		zb := t.Str(i, 0)
		if by[zb] == nil {
			by[zb] = &pair{top: math.NaN(), low: math.NaN()}
			order = append(order, zb)
		}
		switch t.Str(i, 1) {
		case r.main.top:
			by[zb].top, by[zb].ntop = t.Float(i, 3), t.Float(i, 2)
		case r.main.low:
			by[zb].low, by[zb].nlow = t.Float(i, 3), t.Float(i, 2)
		}
	}
	for _, zb := range order {
		p := by[zb]
		if math.IsNaN(p.top) || math.IsNaN(p.low) || p.ntop < 10 || p.nlow < 10 {
			continue
		}
		total++
		if p.top >= p.low {
			held++
		}
	}
	return held, total, nil
}

func (r *run) skepticCorr(claims *[]string) error {
	role := Skeptic
	x, y := r.res.Intent.Group, r.res.Intent.Measure
	ex, ey := r.expr(x), r.expr(y)
	query := fmt.Sprintf("WITH b AS (SELECT quantile_cont(%[1]s, 0.01) AS xl, quantile_cont(%[1]s, 0.99) AS xh, quantile_cont(%[2]s, 0.01) AS yl, quantile_cont(%[2]s, 0.99) AS yh FROM data) SELECT corr(%[1]s, %[2]s), count(*) FROM data, b WHERE %[1]s BETWEEN xl AND xh AND %[2]s BETWEEN yl AND yh", ex, ey)
	t, err := r.sql("skeptic: the correlation without the extreme 1%", query)
	if err != nil {
		return err
	}
	tr := t.Float(0, 0)
	r.values["trimmed_corr"] = tr
	r.claim(role, fmt.Sprintf("Without the extreme 1%% of either column r = %.3f (n = %.0f).", tr, t.Float(0, 1)))
	if math.Abs(tr-r.main.est) > 0.1 {
		r.flag(role, "the correlation depends on the extreme 1%")
	} else {
		*claims = append(*claims, "the correlation holds without the extreme 1%")
	}
	// Simpson: the correlation within the groups of each categorical column.
	for _, c := range r.s.Columns {
		if !(c.IsGroup() && lowCard(&c)) || c.Name == x || c.Name == y || outcomeLike(c.Name) {
			continue // an outcome (survived) is a consequence, not a confounder of the two
		}
		query := fmt.Sprintf("SELECT %s, corr(%s, %s), count(*) FROM data%s GROUP BY 1 HAVING count(*) >= 10 ORDER BY 1", r.text(c.Name), ex, ey, r.where(x, y, c.Name))
		t, err := r.sql("skeptic: the correlation within groups of "+c.Name, query)
		if err != nil {
			return err
		}
		var parts []string
		flip := 0
		for i := range t.Rows {
			w := t.Float(i, 1)
			parts = append(parts, fmt.Sprintf("%s r = %.2f", t.Str(i, 0), w))
			if math.Signbit(w) != math.Signbit(r.main.est) && math.Abs(w) > 0.1 {
				flip++
			}
			r.values[Key("corr", x+","+y, c.Name, t.Str(i, 0))] = w
		}
		r.claim(role, fmt.Sprintf("Within %s: %s.", c.Name, strings.Join(parts, ", ")))
		if flip > 0 {
			r.flag(role, fmt.Sprintf("Simpson's paradox: within %d group(s) of %s the correlation has the opposite sign", flip, c.Name))
		}
		break
	}
	return nil
}

func (r *run) skepticTrend(claims *[]string) error {
	role := Skeptic
	in := r.res.Intent
	pe, _ := r.periodExpr()
	// Seasonality: does the trend hold within each season (a month-like column, or the calendar month)?
	var season string
	for _, c := range r.s.Columns {
		n := strings.ToLower(c.Name)
		if c.Name != in.Time && (n == "month" || n == "quarter" || n == "season" || n == "weekday" || n == "day") {
			season = q(c.Name)
			break
		}
	}
	if _, unit := r.periodExpr(); season == "" && r.s.Col(in.Time).Type == "datetime" {
		switch unit {
		case "day":
			season = "dayname(" + q(in.Time) + ")"
		case "month", "year":
			season = "monthname(" + q(in.Time) + ")"
		}
	}
	if season != "" {
		query := fmt.Sprintf("SELECT CAST(%s AS VARCHAR) AS season, regr_slope(%s, %s) AS slope, count(*) FROM data%s GROUP BY 1 ORDER BY 1", season, r.expr(in.Measure), pe, r.where(in.Time, in.Measure))
		t, err := r.sql("skeptic: the slope within each season", query)
		if err != nil {
			return err
		}
		same := 0
		for i := range t.Rows {
			if math.Signbit(t.Float(i, 1)) == math.Signbit(r.main.est) {
				same++
			}
		}
		r.values["seasons_same_direction"] = float64(same)
		r.claim(role, fmt.Sprintf("Seasonality: within each of the %d seasons the slope has the same sign in %d.", len(t.Rows), same))
		if same < len(t.Rows) {
			r.flag(role, fmt.Sprintf("the trend does not hold in %d of %d seasons", len(t.Rows)-same, len(t.Rows)))
		} else {
			*claims = append(*claims, "the trend holds within every season, so it is not a seasonal artefact")
		}
	}
	e := r.expr(in.Measure)
	query := fmt.Sprintf("WITH b AS (SELECT quantile_cont(%[1]s, 0.01) AS lo, quantile_cont(%[1]s, 0.99) AS hi FROM data) SELECT regr_slope(%[1]s, %[2]s) FROM data, b WHERE %[1]s BETWEEN lo AND hi", e, pe)
	t, err := r.sql("skeptic: the slope without the extreme 1%", query)
	if err != nil {
		return err
	}
	_, unit := r.periodExpr()
	r.claim(role, fmt.Sprintf("Without the extreme 1%% of %s the row-level slope is %s per %s.", in.Measure, f3(t.Float(0, 0)), unit))
	if math.Signbit(t.Float(0, 0)) != math.Signbit(r.main.est) {
		r.flag(role, "the trend's direction depends on the extreme 1%")
	} else {
		*claims = append(*claims, "the direction holds without the extreme 1%")
	}
	return nil
}

func (r *run) skepticDrivers(claims *[]string) error {
	role := Skeptic
	ds := first(r.drivers, 4)
	if len(ds) > 0 && ds[len(ds)-1] == "…" {
		ds = ds[:len(ds)-1]
	}
	type ent struct {
		a, b string
		v    float64
	}
	var ents []ent
	for i := 0; i < len(ds); i++ {
		for j := i + 1; j < len(ds); j++ {
			v, dep, err := r.assocDep(role, ds[i], ds[j])
			if err != nil {
				return err
			}
			if dep {
				r.claim(role, fmt.Sprintf("%s and %s are recodings of one variable (one determines the other): their importances are one driver counted twice.", ds[i], ds[j]))
				continue
			}
			r.claim(role, fmt.Sprintf("%s and %s: Cramér's V = %.2f.", ds[i], ds[j], v))
			if v >= 0.3 {
				ents = append(ents, ent{ds[i], ds[j], v})
			}
		}
	}
	sort.SliceStable(ents, func(i, j int) bool { return ents[i].v > ents[j].v })
	for k, e := range ents {
		r.values["entangled("+e.a+","+e.b+")"] = e.v
		r.flag(role, fmt.Sprintf("%s and %s are entangled (Cramér's V = %.2f): their importances share credit and neither effect is separable from the other without an adjusted estimate", e.a, e.b, e.v))
		if k >= 2 {
			continue
		}
		// Does the categorical driver's gap survive within strata of the other? (Simpson's check)
		a, b := e.a, e.b
		if !r.s.Col(a).IsGroup() {
			a, b = b, a
		}
		if !r.s.Col(a).IsGroup() || r.res.Intent.Measure == "" {
			continue
		}
		agg := "mean"
		if !r.s.Col(r.res.Intent.Measure).IsNumeric() {
			agg = "rate"
		}
		gs, _, err := r.groupStats(agg, r.res.Intent.Measure, a, "")
		if err != nil {
			return err
		}
		if len(gs) < 2 {
			continue
		}
		r.main.top, r.main.low = gs[0].name, gs[len(gs)-1].name
		held, total, err := r.stratified(r.res.Intent.Measure, agg, a, b)
		if err != nil {
			return err
		}
		switch {
		case total == 0:
			r.claim(role, fmt.Sprintf("Within strata of %s the %s gap could not be checked: %s = %s and %s = %s never share a stratum of %s with 10 rows each.", b, a, a, gs[0].name, a, gs[len(gs)-1].name, b))
		case held < total:
			r.claim(role, fmt.Sprintf("Within strata of %s, %s = %s stays above %s in %d of %d strata.", b, a, gs[0].name, gs[len(gs)-1].name, held, total))
			r.flag(role, fmt.Sprintf("Simpson's paradox risk: the %s gap reverses within some strata of %s", a, b))
		default:
			r.claim(role, fmt.Sprintf("Within strata of %s, %s = %s stays above %s in %d of %d strata.", b, a, gs[0].name, gs[len(gs)-1].name, held, total))
			*claims = append(*claims, fmt.Sprintf("the %s gap holds within every stratum of %s, so %s matters beyond %s", a, b, a, b))
		}
	}
	if len(ents) == 0 {
		*claims = append(*claims, "the top drivers are not strongly entangled")
	}
	if r.hypTested > 0 {
		r.claim(role, fmt.Sprintf("Multiple testing: %d hypotheses were tested and false discoveries controlled by Benjamini-Hochberg at 5%%; %d did not survive.", r.hypTested, r.hypTested-r.hypSurvive))
	}
	return nil
}

// ---- engineer

func (r *run) engineer() (string, error) {
	role := Engineer
	var used []string
	for _, c := range r.used {
		if c != "" && !contains(used, c) && r.s.Col(c) != nil {
			used = append(used, c)
		}
	}
	var sel []string
	for _, c := range used {
		sel = append(sel, fmt.Sprintf("count(*) - count(%s)", q(c)))
	}
	sel = append(sel, "count(*)")
	t, err := r.sql("engineer: missing values in the columns used", "SELECT "+strings.Join(sel, ", ")+" FROM data")
	if err != nil {
		return "", err
	}
	n := t.Float(0, len(used))
	var miss []string
	for i, c := range used {
		k := t.Float(0, i)
		if k > 0 {
			miss = append(miss, fmt.Sprintf("%s %.0f (%s)", c, k, pct(k/n)))
			if k/n > 0.2 {
				r.flag(role, fmt.Sprintf("%s is missing in %s of rows; the answer covers only the rest", c, pct(k/n)))
			}
		}
	}
	if len(miss) > 0 {
		r.claim(role, "Missing values in the columns used: "+strings.Join(miss, ", ")+"; those rows were left out.")
	} else {
		r.claim(role, fmt.Sprintf("No missing values in %s.", strings.Join(used, ", ")))
	}
	d, err := r.sql("engineer: duplicate rows", "SELECT (SELECT count(*) FROM data) - (SELECT count(*) FROM (SELECT DISTINCT * FROM data))")
	if err != nil {
		return "", err
	}
	dup := d.Float(0, 0)
	r.values["duplicate_rows"] = dup
	r.claim(role, fmt.Sprintf("%.0f exact duplicate row(s) of %.0f.", dup, n))
	if dup/n > 0.01 {
		r.flag(role, fmt.Sprintf("%.0f duplicate rows (%s) may inflate the evidence", dup, pct(dup/n)))
	}
	// Sample size and power.
	switch r.main.kind {
	case "compare":
		minN := math.Inf(1)
		for k, v := range r.values {
			if strings.HasPrefix(k, "n|") && v < minN {
				minN = v
			}
		}
		if !math.IsInf(minN, 1) {
			r.claim(role, fmt.Sprintf("The smallest group has %.0f rows.", minN))
			if minN < 30 {
				r.flag(role, fmt.Sprintf("a group has only %.0f rows: its number is imprecise and a test has little power", minN))
			}
		}
	case "corr":
		// Smallest |r| detectable with 80% power at 5%: (z_0.975 + z_0.8)/sqrt(n-3) on Fisher's scale.
		if r.main.n > 3 {
			mde := math.Tanh((1.96 + 0.8416) / math.Sqrt(r.main.n-3))
			r.claim(role, fmt.Sprintf("With n = %.0f the smallest correlation detectable with 80%% power is |r| = %.2f.", r.main.n, mde))
		}
	case "trend":
		r.claim(role, fmt.Sprintf("%.0f periods in the series.", r.main.n))
		if r.main.n < 8 {
			r.flag(role, "fewer than 8 periods: a trend test has little power")
		}
	default:
		r.claim(role, fmt.Sprintf("%.0f rows in the sample.", n))
		if n < 30 {
			r.flag(role, "fewer than 30 rows")
		}
	}
	// Leakage: identifiers, columns that are near-copies of the target.
	if k := r.main.kind; k == "drivers" || k == "model" {
		target := r.res.Intent.Measure
		for _, l := range r.leaks {
			r.flag(role, "possible leakage: "+l)
		}
		for _, dname := range first(r.drivers, 3) {
			if dname == "…" {
				continue
			}
			v, err := r.assoc(role, target, dname)
			if err != nil {
				return "", err
			}
			if v > 0.9 {
				r.flag(role, fmt.Sprintf("possible leakage: %s nearly determines %s (Cramér's V = %.2f); is it known before the outcome?", dname, target, v))
			}
		}
		for _, c := range r.s.Columns {
			if c.Type == "identifier" {
				r.claim(role, fmt.Sprintf("%s is an identifier and was kept out of the features.", c.Name))
			}
		}
		if len(r.leaks) == 0 {
			r.claim(role, "No driver nearly determines the target on its own (checked the top three).")
		}
	}
	claim := "The data support the answer as far as its quality goes."
	if len(miss) > 0 || dup > 0 {
		claim = "Data quality issues are listed; none invalidates the answer unless flagged."
	}
	r.turn(role, claim)
	return "", nil
}

// ---- synthesis

func (r *run) synthesis() (conf, text string) {
	// Decisive flags (the result may not hold) make confidence low; caveats alone make it medium.
	switch {
	case len(r.turns) == 0:
		return "high", ""
	case len(r.flags) == 0:
		conf = "high"
	default:
		conf = "medium"
	}
	for _, f := range r.flags {
		for _, d := range []string{"not statistically significant", "includes zero", "reverses", "does not survive", "depends on the extreme", "does not hold", "leakage", "opposite sign", "too few"} {
			if strings.Contains(f, d) {
				conf = "low"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Confidence: %s.", conf)
	if len(r.flags) > 0 {
		fmt.Fprintf(&b, " Caveats: %s.", strings.Join(r.flags, "; "))
	}
	change := map[string]string{
		"mean":    "a different definition of the population (filters) or a better treatment of outliers",
		"compare": "adjusting for the entangled column in a model, or a different grouping", "corr": "a confounder that drives both columns",
		"trend": "a structural break or a longer series", "drivers": "an adjusted (causal) estimate of each driver's effect, or new columns",
		"model": "new data from another period (drift) or a leak in the features", "effect": "an unmeasured confounder",
		"hypotheses": "a stricter false-discovery rate or stratifying on the likely confounders",
	}[r.main.kind]
	if change != "" {
		fmt.Fprintf(&b, " What would change it: %s.", change)
	}
	r.turn(Synthesis, b.String())
	return conf, b.String()
}
