package causal

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/vdsproject/vds/libs/glm"
)

var z975 = distuv.UnitNormal.Quantile(0.975)

func normalCI(f *fit) {
	f.lo = f.effect - z975*f.se
	f.hi = f.effect + z975*f.se
}

// diffInMeans is the difference of group means with a Welch interval.
func diffInMeans(d *data) (*fit, error) {
	var y1, y0 []float64
	for i, t := range d.t {
		if t == 1 {
			y1 = append(y1, d.y[i])
		} else {
			y0 = append(y0, d.y[i])
		}
	}
	m1, s1 := meanSD(y1)
	m0, s0 := meanSD(y0)
	n1, n0 := float64(len(y1)), float64(len(y0))
	a, b := s1*s1/n1, s0*s0/n0
	f := &fit{effect: m1 - m0, se: math.Sqrt(a + b)}
	df := (a + b) * (a + b) / (a*a/(n1-1) + b*b/(n0-1))
	if f.se == 0 || math.IsNaN(df) {
		normalCI(f)
		return f, nil
	}
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(0.975)
	f.lo, f.hi = f.effect-q*f.se, f.effect+q*f.se
	f.notes = append(f.notes, fmt.Sprintf("Welch t interval with %.1f degrees of freedom.", df))
	return f, nil
}

type psFit struct {
	ps   []float64
	warn string
}

// propensity fits the logistic propensity model of treatment on the confounder design. Under
// separation it refits with a small ridge penalty.
func propensity(d *data) (*psFit, error) {
	r, err := glm.Logit(d.X, d.t, glm.Options{})
	if err == glm.ErrSingular {
		return nil, fmt.Errorf("causal: the propensity model is singular: confounder terms are collinear")
	}
	if err != nil {
		return nil, fmt.Errorf("causal: propensity model: %w", err)
	}
	out := &psFit{}
	if r.Separated || !r.Converged {
		r, err = glm.Logit(d.X, d.t, glm.Options{L2: 0.01})
		if err != nil {
			return nil, fmt.Errorf("causal: propensity model: %w", err)
		}
		out.warn = "the confounders (quasi-)perfectly separate treated from control rows; the propensity model was refitted with a small L2 penalty and positivity is doubtful"
	}
	out.ps = r.Fitted
	for i, p := range out.ps {
		out.ps[i] = math.Min(math.Max(p, 1e-8), 1-1e-8)
	}
	return out, nil
}

// trimRows keeps rows whose propensity lies in [trim, 1-trim].
func trimRows(ps []float64, trim float64) []int {
	var keep []int
	for i, p := range ps {
		if trim <= 0 || (p >= trim && p <= 1-trim) {
			keep = append(keep, i)
		}
	}
	return keep
}

// regression fits OLS of the outcome on treatment and confounders (ATE: the treatment coefficient
// with HC1 errors) or, for the ATT, the control-arm model averaged over the treated (g-computation).
func regression(d *data, spec *Spec) (*fit, error) {
	if spec.Estimand == EstimandATT {
		return regressionATT(d)
	}
	n, p := d.X.Dims()
	X := mat.NewDense(n, p+1, nil)
	for i := 0; i < n; i++ {
		row := X.RawRowView(i)
		copy(row, d.X.RawRowView(i))
		row[p] = d.t[i]
	}
	r, err := glm.OLS(X, d.y, glm.Options{Cov: glm.CovHC1})
	if err == glm.ErrSingular {
		return nil, fmt.Errorf("causal: the outcome model is singular: confounder terms are collinear with each other or the treatment")
	}
	if err != nil {
		return nil, fmt.Errorf("causal: outcome model: %w", err)
	}
	f := &fit{effect: r.Coef[p], se: r.SE[p], lo: r.CILow[p], hi: r.CIHigh[p]}
	f.notes = append(f.notes, "Correct model: the outcome is linear in the treatment and the listed confounder terms, with one constant effect (no treatment-covariate interactions); HC1 robust standard error.")
	return f, nil
}

func regressionATT(d *data) (*fit, error) {
	_, p := d.X.Dims()
	var c, tr []int
	for i, t := range d.t {
		if t == 1 {
			tr = append(tr, i)
		} else {
			c = append(c, i)
		}
	}
	ctrl := d.subset(c)
	r, err := glm.OLS(ctrl.X, ctrl.y, glm.Options{Cov: glm.CovHC1})
	if err != nil {
		return nil, fmt.Errorf("causal: control outcome model: %w", err)
	}
	xbar := make([]float64, p)
	diffs := make([]float64, 0, len(tr))
	for _, i := range tr {
		row := d.X.RawRowView(i)
		m0 := 0.0
		for j := range row {
			m0 += row[j] * r.Coef[j]
			xbar[j] += row[j] / float64(len(tr))
		}
		diffs = append(diffs, d.y[i]-m0)
	}
	m, sd := meanSD(diffs)
	v := mat.NewVecDense(p, xbar)
	f := &fit{effect: m, se: math.Sqrt(sd*sd/float64(len(tr)) + mat.Inner(v, r.Cov, v))}
	normalCI(f)
	f.notes = append(f.notes, "Correct model: the control outcome is linear in the listed confounder terms; the ATT averages observed minus predicted untreated outcomes over the treated (g-computation), with a delta-method standard error.")
	return f, nil
}

// ipw is the Hajek inverse-probability-weighted difference with stabilised ATE weights (or ATT
// weights), after trimming extreme propensities; its SE is the HC0 sandwich of the weighted
// regression of outcome on treatment (as GEE with an independence working correlation gives).
func ipw(d *data, spec *Spec) (*fit, error) {
	pf, err := propensity(d)
	if err != nil {
		return nil, err
	}
	keep := trimRows(pf.ps, spec.Trim)
	f := &fit{ps: pf.ps, trimmed: 1 - float64(len(keep))/float64(d.n())}
	if pf.warn != "" {
		f.warns = append(f.warns, pf.warn)
	}
	if f.trimmed > 0 {
		f.warns = append(f.warns, fmt.Sprintf("trimmed %d rows (%.1f%%) with propensity outside [%.3g, %.3g]; the estimate refers to the remaining population",
			d.n()-len(keep), 100*f.trimmed, spec.Trim, 1-spec.Trim))
	}
	w, err := ipwWeights(d, pf.ps, keep, spec.Estimand)
	if err != nil {
		return nil, err
	}
	X := mat.NewDense(len(keep), 2, nil)
	y := make([]float64, len(keep))
	wk := make([]float64, len(keep))
	for k, i := range keep {
		X.Set(k, 0, 1)
		X.Set(k, 1, d.t[i])
		y[k] = d.y[i]
		wk[k] = w[i]
	}
	r, err := glm.OLS(X, y, glm.Options{Weights: wk, Cov: glm.CovHC0})
	if err != nil {
		return nil, fmt.Errorf("causal: weighted difference: %w", err)
	}
	f.effect, f.se, f.lo, f.hi = r.Coef[1], r.SE[1], r.CILow[1], r.CIHigh[1]
	f.w = w
	f.warns = append(f.warns, weightWarnings(w)...)
	f.notes = append(f.notes, "Correct model: the logistic propensity model (treatment on the listed confounder terms) is correctly specified; the robust sandwich standard error treats the weights as known, which is usually conservative.")
	return f, nil
}

// ipwWeights returns weights over all rows (0 for trimmed rows).
func ipwWeights(d *data, ps []float64, keep []int, estimand string) ([]float64, error) {
	w := make([]float64, d.n())
	n1 := 0.0
	for _, i := range keep {
		n1 += d.t[i]
	}
	if n1 < 2 || float64(len(keep))-n1 < 2 {
		return nil, fmt.Errorf("causal: fewer than 2 treated or control rows remain after trimming")
	}
	pt := n1 / float64(len(keep))
	for _, i := range keep {
		e := ps[i]
		switch {
		case estimand == EstimandATT && d.t[i] == 1:
			w[i] = 1
		case estimand == EstimandATT:
			w[i] = e / (1 - e)
		case d.t[i] == 1:
			w[i] = pt / e
		default:
			w[i] = (1 - pt) / (1 - e)
		}
	}
	return w, nil
}

func weightWarnings(w []float64) []string {
	var out []string
	s, s2, maxw := 0.0, 0.0, 0.0
	nz := 0
	for _, v := range w {
		s += v
		s2 += v * v
		maxw = math.Max(maxw, v)
		if v > 0 {
			nz++
		}
	}
	if s == 0 {
		return nil
	}
	if maxw/s > 0.05 && nz > 40 {
		out = append(out, fmt.Sprintf("one row carries %.0f%% of the total weight; the estimate is fragile", 100*maxw/s))
	}
	if ess := s * s / s2; ess < 0.3*float64(nz) {
		out = append(out, fmt.Sprintf("weights are very uneven: effective sample size %.0f of %d rows", ess, nz))
	}
	return out
}

// armModels fits the outcome regression in each arm and returns predictions for every row; when an
// arm is too small for its own model a pooled model with a treatment indicator is used.
func armModels(d *data, rows []int) (m1, m0 []float64, note string, err error) {
	_, p := d.X.Dims()
	var r1, r0 []int
	for _, i := range rows {
		if d.t[i] == 1 {
			r1 = append(r1, i)
		} else {
			r0 = append(r0, i)
		}
	}
	n := d.n()
	m1, m0 = make([]float64, n), make([]float64, n)
	if len(r1) > p+2 && len(r0) > p+2 {
		s1, s0 := d.subset(r1), d.subset(r0)
		f1, err1 := glm.OLS(s1.X, s1.y, glm.Options{})
		f0, err0 := glm.OLS(s0.X, s0.y, glm.Options{})
		if err1 == nil && err0 == nil {
			m1 = f1.Linear(d.X)
			m0 = f0.Linear(d.X)
			return m1, m0, "separate linear outcome models in each arm", nil
		}
	}
	// Pooled model: y ~ X + t.
	s := d.subset(rows)
	X := mat.NewDense(len(rows), p+1, nil)
	for i := range rows {
		row := X.RawRowView(i)
		copy(row, s.X.RawRowView(i))
		row[p] = s.t[i]
	}
	r, err := glm.OLS(X, s.y, glm.Options{})
	if err != nil {
		return nil, nil, "", fmt.Errorf("causal: outcome model: %w", err)
	}
	for i := 0; i < n; i++ {
		row := d.X.RawRowView(i)
		v := 0.0
		for j := range row {
			v += row[j] * r.Coef[j]
		}
		m0[i] = v
		m1[i] = v + r.Coef[p]
	}
	return m1, m0, "one pooled linear outcome model with a treatment indicator (an arm was too small for its own model)", nil
}

// aipw is the augmented IPW (doubly robust) estimator with influence-function standard errors.
func aipw(d *data, spec *Spec) (*fit, error) {
	pf, err := propensity(d)
	if err != nil {
		return nil, err
	}
	keep := trimRows(pf.ps, spec.Trim)
	f := &fit{ps: pf.ps, trimmed: 1 - float64(len(keep))/float64(d.n())}
	if pf.warn != "" {
		f.warns = append(f.warns, pf.warn)
	}
	if f.trimmed > 0 {
		f.warns = append(f.warns, fmt.Sprintf("trimmed %d rows (%.1f%%) with propensity outside [%.3g, %.3g]; the estimate refers to the remaining population",
			d.n()-len(keep), 100*f.trimmed, spec.Trim, 1-spec.Trim))
	}
	w, err := ipwWeights(d, pf.ps, keep, spec.Estimand)
	if err != nil {
		return nil, err
	}
	f.w = w
	m1, m0, how, err := armModels(d, keep)
	if err != nil {
		return nil, err
	}
	nk := float64(len(keep))
	phi := make([]float64, 0, len(keep))
	if spec.Estimand == EstimandATT {
		var p1, a, q, b float64
		for _, i := range keep {
			e := pf.ps[i]
			r := d.y[i] - m0[i]
			if d.t[i] == 1 {
				p1++
				a += r
			} else {
				q += e / (1 - e)
				b += e / (1 - e) * r
			}
		}
		muA, c := a/p1, b/q
		f.effect = muA - c
		p1 /= nk
		q /= nk
		for _, i := range keep {
			e := pf.ps[i]
			r := d.y[i] - m0[i]
			if d.t[i] == 1 {
				phi = append(phi, (r-muA)/p1)
			} else {
				phi = append(phi, -e/(1-e)*(r-c)/q)
			}
		}
	} else {
		for _, i := range keep {
			e := pf.ps[i]
			v := m1[i] - m0[i]
			if d.t[i] == 1 {
				v += (d.y[i] - m1[i]) / e
			} else {
				v -= (d.y[i] - m0[i]) / (1 - e)
			}
			phi = append(phi, v)
		}
		f.effect, _ = meanSD(phi)
	}
	_, sd := meanSD(phi)
	f.se = sd / math.Sqrt(nk)
	normalCI(f)
	f.warns = append(f.warns, weightWarnings(w)...)
	f.notes = append(f.notes, fmt.Sprintf("Correct model: at least one of the logistic propensity model and the outcome model (%s) is correctly specified (double robustness); the influence-function standard error treats both as known.", how))
	return f, nil
}
