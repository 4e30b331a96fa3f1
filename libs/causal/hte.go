package causal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/learn"
)

// Heterogeneous-effect (meta-learner) methods. Their nuisance models are fitted by the AutoML
// engine (libs/learn: ridge/logistic and gradient-boosted trees chosen by cross-validation) on the
// raw confounder columns, so text, categorical and missing values need no recoding.
const (
	MethodTLearner = "t_learner"
	MethodXLearner = "x_learner"
	MethodDML      = "dml"
)

// DefaultLearnerBudget is the AutoML wall-time budget of each nuisance model.
const DefaultLearnerBudget = 3 * time.Second

const learnTarget = "__vds_target"

// featFrame returns the confounder columns at the given frame rows as a new frame.
func featFrame(f *frame.Frame, cols []string, rows []int) *frame.Frame {
	out := &frame.Frame{Rows: len(rows)}
	for _, name := range cols {
		c := f.Col(name)
		n := &frame.Column{Name: c.Name, Kind: c.Kind, ArrowType: c.ArrowType, Null: make([]bool, len(rows))}
		if c.Kind == frame.String {
			n.S = make([]string, len(rows))
		} else {
			n.F = make([]float64, len(rows))
		}
		for i, r := range rows {
			n.Null[i] = c.Null[r]
			if c.Kind == frame.String {
				n.S[i] = c.S[r]
			} else {
				n.F[i] = c.F[r]
			}
		}
		out.Columns = append(out.Columns, n)
	}
	return out
}

// pick returns the rows idx of a sample-aligned frame, optionally with a target column.
func pick(f *frame.Frame, idx []int, target []float64) *frame.Frame {
	out := featFrame(f, f.Names(), idx)
	if target != nil {
		c := &frame.Column{Name: learnTarget, Kind: frame.Float, F: make([]float64, len(idx)), Null: make([]bool, len(idx))}
		for i, r := range idx {
			c.F[i] = target[r]
		}
		out.Columns = append(out.Columns, c)
	}
	return out
}

// regressor fits an AutoML regression of target on the features at rows idx and predicts all rows.
func regressor(ctx context.Context, feat *frame.Frame, idx []int, target []float64, budget time.Duration, seed int64) ([]float64, string, error) {
	if len(idx) < 10 {
		return nil, "", fmt.Errorf("causal: only %d rows to fit a nuisance model", len(idx))
	}
	res, err := learn.AutoML(ctx, pick(feat, idx, target), learn.Options{Target: learnTarget, Task: learn.TaskRegression,
		Folds: 3, Budget: budget, Seed: seed})
	if err != nil {
		return nil, "", fmt.Errorf("causal: nuisance model: %w", err)
	}
	p, err := res.Best.Predict(feat)
	if err != nil {
		return nil, "", fmt.Errorf("causal: nuisance model: %w", err)
	}
	return p.Value, res.Best.Algorithm(), nil
}

// metaLearner fits a T-learner (separate outcome models per arm, CATE = m1 - m0) or an X-learner
// (Künzel et al. 2019: imputed individual effects regressed on the confounders in each arm and
// blended by the propensity score). The ATE is the mean CATE over the sample; its standard error
// comes from the doubly robust influence function with the arm models as outcome models.
func metaLearner(ctx context.Context, d *data, spec *Spec) (*fit, error) {
	if d.feat == nil {
		return nil, fmt.Errorf("causal: %s needs the confounder columns", spec.Method)
	}
	if len(spec.Confounders) == 0 {
		return nil, fmt.Errorf("causal: %s needs at least one confounder to model effect heterogeneity", spec.Method)
	}
	budget := spec.LearnerBudget
	if budget <= 0 {
		budget = DefaultLearnerBudget
	}
	var r1, r0 []int
	for i, t := range d.t {
		if t == 1 {
			r1 = append(r1, i)
		} else {
			r0 = append(r0, i)
		}
	}
	m1, a1, err := regressor(ctx, d.feat, r1, d.y, budget, spec.Seed)
	if err != nil {
		return nil, err
	}
	m0, a0, err := regressor(ctx, d.feat, r0, d.y, budget, spec.Seed+1)
	if err != nil {
		return nil, err
	}
	n := d.n()
	cate := make([]float64, n)
	for i := range cate {
		cate[i] = m1[i] - m0[i]
	}
	pf, err := propensity(d)
	if err != nil {
		return nil, err
	}
	f := &fit{ps: pf.ps}
	if pf.warn != "" {
		f.warns = append(f.warns, pf.warn)
	}
	how := fmt.Sprintf("T-learner: AutoML outcome models per arm (treated: %s, control: %s)", a1, a0)
	if spec.Method == MethodXLearner {
		imp := make([]float64, n)
		for i := range imp {
			if d.t[i] == 1 {
				imp[i] = d.y[i] - m0[i]
			} else {
				imp[i] = m1[i] - d.y[i]
			}
		}
		tau1, b1, err := regressor(ctx, d.feat, r1, imp, budget, spec.Seed+2)
		if err != nil {
			return nil, err
		}
		tau0, b0, err := regressor(ctx, d.feat, r0, imp, budget, spec.Seed+3)
		if err != nil {
			return nil, err
		}
		for i := range cate {
			g := pf.ps[i]
			cate[i] = g*tau0[i] + (1-g)*tau1[i]
		}
		how = fmt.Sprintf("X-learner: AutoML outcome models per arm (%s, %s), effect models on imputed effects (%s, %s), blended by the logistic propensity", a1, a0, b1, b0)
	}
	phi := make([]float64, n)
	mean := 0.0
	for i := range cate {
		mean += cate[i] / float64(n)
		e := math.Min(math.Max(pf.ps[i], 0.01), 0.99)
		v := m1[i] - m0[i]
		if d.t[i] == 1 {
			v += (d.y[i] - m1[i]) / e
		} else {
			v -= (d.y[i] - m0[i]) / (1 - e)
		}
		phi[i] = v
	}
	_, sd := meanSD(phi)
	f.effect, f.se = mean, sd/math.Sqrt(float64(n))
	normalCI(f)
	f.cate = cate
	f.notes = append(f.notes, fmt.Sprintf("Correct model: %s; the flexible models are only as good as the overlap allows. The ATE is the mean predicted individual effect; its standard error uses the doubly robust influence function with the in-sample arm models, which treats them as known and can be optimistic.", how))
	return f, nil
}

// segments ranks the confounders by how much the predicted individual effect differs between their
// groups (levels of a categorical or few-valued column, quartiles of a numeric one) and returns the
// groups of the most differing covariates, most extreme first.
func segments(f *frame.Frame, cate []float64, limit int) []*causalv1.Segment {
	type cov struct {
		spread float64
		segs   []*causalv1.Segment
	}
	var covs []cov
	for _, c := range f.Columns {
		groups := map[string][]int{}
		var order []string
		add := func(k string, i int) {
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
		distinct := map[float64]bool{}
		if c.Kind != frame.String {
			for i, v := range c.F {
				if !c.Null[i] {
					distinct[v] = true
				}
			}
		}
		switch {
		case c.Kind == frame.String:
			for i, s := range c.S {
				if c.Null[i] {
					add("missing", i)
				} else {
					add("= "+s, i)
				}
			}
		case len(distinct) <= 6:
			for i, v := range c.F {
				if c.Null[i] {
					add("missing", i)
				} else {
					add("= "+fmt.Sprintf("%g", v), i)
				}
			}
		default:
			var vals []float64
			for i, v := range c.F {
				if !c.Null[i] {
					vals = append(vals, v)
				}
			}
			q1, q2, q3 := quantile(vals, 0.25), quantile(vals, 0.5), quantile(vals, 0.75)
			for i, v := range c.F {
				switch {
				case c.Null[i]:
					add("missing", i)
				case v <= q1:
					add(fmt.Sprintf("<= %.4g", q1), i)
				case v <= q2:
					add(fmt.Sprintf("in (%.4g, %.4g]", q1, q2), i)
				case v <= q3:
					add(fmt.Sprintf("in (%.4g, %.4g]", q2, q3), i)
				default:
					add(fmt.Sprintf("> %.4g", q3), i)
				}
			}
		}
		if len(groups) < 2 {
			continue
		}
		cv := cov{}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, k := range order {
			idx := groups[k]
			if len(idx) < 10 {
				continue
			}
			vals := make([]float64, len(idx))
			for j, i := range idx {
				vals[j] = cate[i]
			}
			m, _ := meanSD(vals)
			lo, hi = math.Min(lo, m), math.Max(hi, m)
			cv.segs = append(cv.segs, &causalv1.Segment{Covariate: c.Name, Condition: c.Name + " " + k, N: int64(len(idx)), Effect: m})
		}
		if len(cv.segs) < 2 {
			continue
		}
		cv.spread = hi - lo
		for _, s := range cv.segs {
			s.Spread = cv.spread
		}
		covs = append(covs, cv)
	}
	sort.SliceStable(covs, func(a, b int) bool { return covs[a].spread > covs[b].spread })
	var out []*causalv1.Segment
	for _, cv := range covs {
		if len(out) >= limit {
			break
		}
		sort.SliceStable(cv.segs, func(a, b int) bool { return cv.segs[a].Effect > cv.segs[b].Effect })
		out = append(out, cv.segs...)
	}
	return out
}

// classifier fits an AutoML binary classification of t on the features at rows idx and returns
// the probability of t = 1 for every row.
func classifier(ctx context.Context, feat *frame.Frame, idx []int, t []float64, budget time.Duration, seed int64) ([]float64, string, error) {
	res, err := learn.AutoML(ctx, pick(feat, idx, t), learn.Options{Target: learnTarget, Task: learn.TaskBinary,
		Folds: 3, Budget: budget, Seed: seed})
	if err != nil {
		return nil, "", fmt.Errorf("causal: propensity model: %w", err)
	}
	p, err := res.Best.Predict(feat)
	if err != nil {
		return nil, "", fmt.Errorf("causal: propensity model: %w", err)
	}
	out := p.Value
	if res.PositiveClass != "1" {
		out = make([]float64, len(p.Value))
		for i, v := range p.Value {
			out[i] = 1 - v
		}
	}
	return out, res.Best.Algorithm(), nil
}

// dml is double/debiased machine learning (Chernozhukov et al. 2018) for the ATE: the outcome
// models of each arm and the propensity model are AutoML fits on one half of the rows and predict
// the other half (2-fold cross-fitting, folds stratified by treatment), and the effect is the mean
// of the doubly robust score, whose standard deviation gives the standard error.
func dml(ctx context.Context, d *data, spec *Spec) (*fit, error) {
	if d.feat == nil || len(spec.Confounders) == 0 {
		return nil, fmt.Errorf("causal: dml needs at least one confounder")
	}
	budget := spec.LearnerBudget
	if budget <= 0 {
		budget = DefaultLearnerBudget
	}
	n := d.n()
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 0xd31))
	fold := make([]int, n)
	for _, arm := range []float64{0, 1} {
		var idx []int
		for i, t := range d.t {
			if t == arm {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for k, i := range idx {
			fold[i] = k % 2
		}
	}
	m1, m0, e := make([]float64, n), make([]float64, n), make([]float64, n)
	var algos []string
	for k := 0; k < 2; k++ {
		var tr, tr1, tr0 []int
		for i := range fold {
			if fold[i] != k {
				tr = append(tr, i)
				if d.t[i] == 1 {
					tr1 = append(tr1, i)
				} else {
					tr0 = append(tr0, i)
				}
			}
		}
		seed := spec.Seed + int64(10*k)
		p1, a1, err := regressor(ctx, d.feat, tr1, d.y, budget, seed)
		if err != nil {
			return nil, err
		}
		p0, a0, err := regressor(ctx, d.feat, tr0, d.y, budget, seed+1)
		if err != nil {
			return nil, err
		}
		pe, ae, err := classifier(ctx, d.feat, tr, d.t, budget, seed+2)
		if err != nil {
			return nil, err
		}
		for i := range fold {
			if fold[i] == k {
				m1[i], m0[i], e[i] = p1[i], p0[i], math.Min(math.Max(pe[i], 1e-6), 1-1e-6)
			}
		}
		algos = append(algos, fmt.Sprintf("fold %d: treated %s, control %s, propensity %s", k+1, a1, a0, ae))
	}
	keep := trimRows(e, spec.Trim)
	f := &fit{ps: e, trimmed: 1 - float64(len(keep))/float64(n)}
	if f.trimmed > 0 {
		f.warns = append(f.warns, fmt.Sprintf("trimmed %d rows (%.1f%%) with cross-fitted propensity outside [%.3g, %.3g]; the estimate refers to the remaining population",
			n-len(keep), 100*f.trimmed, spec.Trim, 1-spec.Trim))
	}
	w, err := ipwWeights(d, e, keep, EstimandATE)
	if err != nil {
		return nil, err
	}
	f.w = w
	phi := make([]float64, 0, len(keep))
	for _, i := range keep {
		v := m1[i] - m0[i]
		if d.t[i] == 1 {
			v += (d.y[i] - m1[i]) / e[i]
		} else {
			v -= (d.y[i] - m0[i]) / (1 - e[i])
		}
		phi = append(phi, v)
	}
	var sd float64
	f.effect, sd = meanSD(phi)
	f.se = sd / math.Sqrt(float64(len(phi)))
	normalCI(f)
	f.warns = append(f.warns, weightWarnings(w)...)
	f.notes = append(f.notes, fmt.Sprintf("Double machine learning with 2-fold cross-fitting; nuisance models by AutoML (%s). Valid when the nuisance models converge fast enough (the product of their errors vanishes faster than 1/sqrt(n)); the interval comes from the doubly robust score.", strings.Join(algos, "; ")))
	return f, nil
}
