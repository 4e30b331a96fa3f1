package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	"github.com/vdsproject/vds/libs/charts"
)

// ---- drivers

func (r *run) hypotheses() (string, error) {
	target := r.res.Intent.Measure
	hs, err := r.tools.Hypotheses(r.ctx, target)
	args := map[string]string{"dataset_id": r.s.DatasetID, "target": target, "fdr": "0.05"}
	if err != nil {
		r.toolEvent("profile_hypotheses", args, "", err)
		return "", err
	}
	survived, aboutTarget := 0, 0
	for _, h := range hs {
		if h.Survived {
			survived++
			if target != "" && contains(h.Columns, target) {
				aboutTarget++
			}
		}
	}
	r.hypTested, r.hypSurvive, r.hypTarget = len(hs), survived, aboutTarget
	r.tests += len(hs)
	r.toolEvent("profile_hypotheses", args, fmt.Sprintf("%d hypotheses tested, %d passed false-discovery control at 5%%", len(hs), survived), nil)
	// Findings about the target, strongest first; hypotheses that did not survive are reported too.
	sort.SliceStable(hs, func(i, j int) bool { return math.Abs(hs[i].EffectSize) > math.Abs(hs[j].EffectSize) })
	shown, rejected := 0, 0
	for _, h := range hs {
		if target != "" && !contains(h.Columns, target) {
			continue
		}
		if h.Survived && shown < 8 {
			r.finding(h.Statement, h.Test, h.Columns, h.Query, map[string]float64{"p_value": h.PValue, "q_value": h.QValue, h.EffectSizeName: h.EffectSize, "n": float64(h.N)})
			shown++
		} else if !h.Survived && rejected < 3 {
			r.finding("Did not survive false-discovery control: "+h.Statement, h.Test, h.Columns, h.Query, map[string]float64{"p_value": h.PValue, "q_value": h.QValue})
			rejected++
		}
	}
	r.values["hypotheses_tested"], r.values["hypotheses_survived"] = float64(len(hs)), float64(survived)
	return "", nil
}

func (r *run) rankDrivers() (string, error) {
	target := r.res.Intent.Measure
	m, err := r.tools.Train(r.ctx, target, r.budget)
	args := map[string]string{"dataset_id": r.s.DatasetID, "target": target, "budget_seconds": fmt.Sprint(r.budget.Seconds())}
	if err != nil {
		r.toolEvent("train", args, "", err)
		return "", err
	}
	r.toolEvent("train", args, fmt.Sprintf("best model %s (%s), cross-validated %s %.3f ± %.3f", m.Id, m.Algorithm, m.Metric, m.CvScore, m.CvStd), nil, m.Id)
	imps := append(m.Importances[:0:0], m.Importances...)
	sort.SliceStable(imps, func(i, j int) bool { return imps[i].Importance > imps[j].Importance })
	var names []string
	var vals []float64
	var total float64
	for _, im := range imps {
		if im.Importance > 0 {
			total += im.Importance
		}
	}
	for _, im := range imps {
		if im.Importance <= 0 || len(names) >= 8 {
			continue
		}
		names, vals = append(names, im.Feature), append(vals, im.Importance)
		r.values["importance("+im.Feature+")"] = im.Importance
		if total > 0 && im.Importance/total > 0.6 {
			r.leaks = append(r.leaks, fmt.Sprintf("%s carries %.0f%% of the model's importance", im.Feature, 100*im.Importance/total))
		}
	}
	r.drivers = names
	r.values[m.Metric] = m.CvScore
	title := fmt.Sprintf("What drives %s: drop in %s when each column is shuffled", target, m.Metric)
	r.chart("Drivers of "+target, "importance", charts.Importance(title, names, vals), "model "+m.Id)
	r.used = append(r.used, target)
	r.used = append(r.used, first(names, 3)...)
	top := first(names, 5)
	txt := fmt.Sprintf("The strongest drivers of %s are %s (permutation importance of the best model, %s, cross-validated %s %.3f).", target, strings.Join(top, ", "), m.Algorithm, m.Metric, m.CvScore)
	r.finding(txt, "permutation_importance", append([]string{target}, names...), "", map[string]float64{m.Metric: m.CvScore})
	r.main = mainStat{kind: "drivers", col: target, est: m.CvScore}
	return txt, nil
}

// driverChart shows the target across the strongest categorical driver (or the quartiles of the strongest numeric one).
func (r *run) driverChart() (string, error) {
	target := r.res.Intent.Measure
	agg := "mean"
	if !r.s.Col(target).IsNumeric() {
		agg = "rate"
	}
	for _, d := range r.drivers {
		c := r.s.Col(d)
		if c == nil || !(c.IsGroup() || lowCard(c)) {
			continue
		}
		gs, query, err := r.groupStats(agg, target, d, "")
		if err != nil {
			return "", err
		}
		var cats []string
		var vals []float64
		var parts []string
		for _, g := range gs {
			cats, vals = append(cats, g.name), append(vals, g.val)
			r.values[Key(agg, target, d, g.name)] = g.val
			parts = append(parts, fmt.Sprintf("%s %s", g.name, fmtAgg(agg, g.val)))
		}
		title := fmt.Sprintf("%s by %s", r.label(agg, target), d)
		r.chart(title, "bar", charts.Bar(title, d, cats, vals), "SQL on "+r.s.DatasetID)
		r.finding(fmt.Sprintf("The %s by %s: %s.", r.label(agg, target), d, strings.Join(parts, ", ")), "group_by", []string{d, target}, query, nil)
		return "", nil
	}
	return "", nil
}

func fmtAgg(agg string, v float64) string {
	if agg == "rate" {
		return pct(v)
	}
	return f3(v)
}

// hypothesisLoop states hypotheses from the profile, tests them with false-discovery control and
// reports the ones that survived and the ones that did not.
func (r *run) hypothesisLoop() (string, error) {
	if _, err := r.hypotheses(); err != nil {
		return "", err
	}
	var kept, dropped []string
	for _, f := range r.res.Findings {
		if strings.HasPrefix(f.Statement, "Did not survive") {
			dropped = append(dropped, strings.TrimPrefix(f.Statement, "Did not survive false-discovery control: "))
		} else if len(kept) < 3 {
			kept = append(kept, strings.TrimSuffix(f.Statement, "."))
		}
		for _, c := range f.Columns {
			if !contains(r.used, c) && len(r.used) < 6 {
				r.used = append(r.used, c)
			}
		}
	}
	r.main = mainStat{kind: "hypotheses", col: r.res.Intent.Measure}
	txt := fmt.Sprintf("I stated and tested %d hypotheses from the profile; %d passed false-discovery control (Benjamini-Hochberg at 5%%).", r.hypTested, r.hypSurvive)
	if len(kept) > 0 {
		txt += " The strongest: " + strings.Join(kept, "; ") + "."
	}
	if len(dropped) > 0 {
		txt += " Not supported: " + strings.Join(dropped, "; ") + "."
	}
	return txt, nil
}

// ---- predict

func (r *run) predict() (string, error) {
	target := r.res.Intent.Measure
	m, err := r.tools.Train(r.ctx, target, r.budget)
	args := map[string]string{"dataset_id": r.s.DatasetID, "target": target}
	if err != nil {
		r.toolEvent("train", args, "", err)
		return "", err
	}
	r.toolEvent("train", args, fmt.Sprintf("best model %s (%s), %s %.3f ± %.3f over %d folds", m.Id, m.Algorithm, m.Metric, m.CvScore, m.CvStd, m.CvFolds), nil, m.Id)
	r.values[m.Metric], r.values[m.Metric+"_std"] = m.CvScore, m.CvStd
	r.used = append(r.used, target)
	var top []string
	sort.SliceStable(m.Importances, func(i, j int) bool { return m.Importances[i].Importance > m.Importances[j].Importance })
	for _, im := range m.Importances {
		if im.Importance > 0 && len(top) < 3 {
			top = append(top, im.Feature)
		}
	}
	r.drivers = top
	txt := fmt.Sprintf("%s can be predicted with a %s model (ID %s): %d-fold cross-validated %s %.3f (± %.3f). It leans most on %s.", target, m.Algorithm, m.Id, m.CvFolds, m.Metric, m.CvScore, m.CvStd, strings.Join(top, ", "))
	r.finding(txt, "cross_validation", []string{target}, "", map[string]float64{m.Metric: m.CvScore})
	r.main = mainStat{kind: "model", est: m.CvScore, sd: m.CvStd}
	return txt, nil
}

// ---- effect

func (r *run) effect() (string, error) {
	in := r.res.Intent
	tr, y := in.Group, in.Measure
	var conf []string
	for _, c := range r.s.Columns {
		if c.Name == tr || c.Name == y || c.Type == "identifier" || c.Type == "text" || c.Type == "datetime" || c.Type == "empty" {
			continue
		}
		if len(c.Values) == 1 {
			continue // constant: nothing to adjust for
		}
		if c.IsNumeric() || lowCard(&c) || c.Type == "boolean" {
			conf = append(conf, c.Name)
		}
	}
	if len(conf) > 12 {
		conf = conf[:12]
	}
	r.used = append(r.used, tr, y)
	est, err := r.tools.Effect(r.ctx, tr, y, conf)
	args := map[string]string{"dataset_id": r.s.DatasetID, "treatment": tr, "outcome": y, "confounders": strings.Join(conf, ",")}
	if err != nil {
		r.toolEvent("estimate_effect", args, "", err)
		return "", err
	}
	r.toolEvent("estimate_effect", args, fmt.Sprintf("%s: ATE %.4g (95%% CI %.4g to %.4g), naive difference %.4g", est.Method, est.Ate, est.CiLow, est.CiHigh, est.NaiveDifference), nil, est.Id)
	r.values["ate"], r.values["ci_low"], r.values["ci_high"], r.values["naive_difference"] = est.Ate, est.CiLow, est.CiHigh, est.NaiveDifference
	for _, c := range est.Charts {
		r.addChart(c)
	}
	r.effectEst = est
	r.tests++
	r.main = mainStat{kind: "effect", est: est.Ate, lo: est.CiLow, hi: est.CiHigh, n: float64(est.NTreated + est.NControl)}
	txt := fmt.Sprintf("The average effect of %s on %s is %s (95%% CI %s to %s; %s adjusting for %s; %d treated and %d control rows); the naive difference was %s.",
		tr, y, f3(est.Ate), f3(est.CiLow), f3(est.CiHigh), strings.ReplaceAll(est.Method, "_", " "), strings.Join(est.AdjustmentSet, ", "), est.NTreated, est.NControl, f3(est.NaiveDifference))
	// A treatment of several levels: the headline compares two of them; the answer says which (the
	// causal service's first warning names them and the rows left out).
	if len(est.LevelEffects) > 0 && len(est.Warnings) > 0 {
		txt += " Note: " + strings.TrimSuffix(est.Warnings[0], ".") + "."
	}
	r.finding(txt, est.Method, []string{tr, y}, "", map[string]float64{"ate": est.Ate, "ci_low": est.CiLow, "ci_high": est.CiHigh})
	return txt, nil
}

// ---- segments

func (r *run) segments() (string, error) {
	in := r.res.Intent
	m := in.Measure
	agg := "mean"
	if m == "" {
		agg = "count"
	} else if !r.s.Col(m).IsNumeric() {
		agg = "rate"
	}
	type cand struct {
		col    string
		spread float64
		gs     []group
	}
	var cs []cand
	for _, c := range r.s.Columns {
		if c.Name == m || !(c.IsGroup() && lowCard(&c)) || len(cs) >= 8 {
			continue
		}
		gs, _, err := r.groupStats(agg, m, c.Name, "")
		if err != nil {
			return "", err
		}
		if len(gs) < 2 {
			continue
		}
		spread := gs[0].val - gs[len(gs)-1].val
		if agg == "count" {
			spread = gs[0].n
		}
		cs = append(cs, cand{c.Name, spread, gs})
	}
	if len(cs) == 0 {
		return "There is no low-cardinality column to segment by.", nil
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].spread > cs[j].spread })
	best := cs[0]
	r.used = append(r.used, best.col, m)
	var cats []string
	var vals []float64
	for _, g := range best.gs {
		cats, vals = append(cats, g.name), append(vals, g.val)
		r.values[Key(agg, orDefault(m, "rows"), best.col, g.name)] = g.val
	}
	title := fmt.Sprintf("%s by %s", r.label(agg, orDefault(m, "rows")), best.col)
	r.chart(title, "bar", charts.Bar(title, best.col, cats, vals), "SQL on "+r.s.DatasetID)
	top, low := best.gs[0], best.gs[len(best.gs)-1]
	txt := fmt.Sprintf("%s separates the rows most: the %s is %s for %s (n = %.0f) and %s for %s (n = %.0f).", best.col, r.label(agg, orDefault(m, "rows")), fmtAgg(agg, top.val), top.name, top.n, fmtAgg(agg, low.val), low.name, low.n)
	if len(cs) > 1 {
		sec := cs[1]
		query := fmt.Sprintf("SELECT %s, %s, count(*), %s FROM data%s GROUP BY 1, 2 HAVING count(*) >= 20 ORDER BY 4 DESC", r.text(best.col), r.text(sec.col), aggSQL(agg, r.expr(orDefault(m, best.col))), r.where(best.col, sec.col, m))
		t, err := r.sql("two-way segments", query)
		if err == nil && len(t.Rows) > 1 {
			n := len(t.Rows) - 1
			txt += fmt.Sprintf(" Crossed with %s, the extreme segments (at least 20 rows) are %s/%s at %s and %s/%s at %s.", sec.col, t.Str(0, 0), t.Str(0, 1), fmtAgg(agg, t.Float(0, 3)), t.Str(n, 0), t.Str(n, 1), fmtAgg(agg, t.Float(n, 3)))
			r.values["segments"] = float64(len(t.Rows))
		}
	}
	r.finding(txt, "group_by", []string{best.col, m}, "", nil)
	if m != "" {
		r.main = mainStat{kind: "compare", col: m, top: top.name, low: low.name, est: top.val - low.val}
		r.main.p, r.main.effect, r.main.effName = r.groupTest(agg, best.gs)
		r.res.Intent.Group, r.res.Intent.Agg = best.col, agg
		r.tests += len(cs)
	}
	return txt, nil
}

// ---- anomalies

func (r *run) anomalies() (string, error) {
	cols := []string{r.res.Intent.Measure}
	if cols[0] == "" {
		cols = nil
		for _, c := range r.s.Columns {
			if c.IsNumeric() && len(cols) < 6 {
				cols = append(cols, c.Name)
			}
		}
	}
	var parts []string
	for _, c := range cols {
		e := r.expr(c)
		query := fmt.Sprintf(`WITH s AS (SELECT quantile_cont(%[1]s, 0.25) AS q1, quantile_cont(%[1]s, 0.75) AS q3, avg(%[1]s) AS mu, stddev_samp(%[1]s) AS sd FROM data)
SELECT count(*) FILTER (WHERE %[1]s < q1 - 1.5*(q3-q1) OR %[1]s > q3 + 1.5*(q3-q1)) AS iqr, count(*) FILTER (WHERE abs(%[1]s - mu) > 3*sd) AS z3, count(%[1]s) AS n, min(%[1]s), max(%[1]s), any_value(q1), any_value(q3) FROM data, s`, e)
		t, err := r.sql("outliers of "+c, query)
		if err != nil {
			return "", err
		}
		iqr, z3, n := t.Float(0, 0), t.Float(0, 1), t.Float(0, 2)
		r.values["outliers_iqr("+c+")"], r.values["outliers_z3("+c+")"] = iqr, z3
		r.used = append(r.used, c)
		parts = append(parts, fmt.Sprintf("%s: %.0f of %.0f values outside the IQR fences (%s to %s quartiles), %.0f beyond 3 sd, range %s to %s", c, iqr, n, f3(t.Float(0, 5)), f3(t.Float(0, 6)), z3, f3(t.Float(0, 3)), f3(t.Float(0, 4))))
		r.tests++
	}
	txt := "Outliers — " + strings.Join(parts, "; ") + "."
	r.finding(txt, "iqr_fences", cols, "", nil)
	return txt, nil
}

var _ = causalv1.Estimate{}
