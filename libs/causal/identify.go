package causal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/mat"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/glm"
)

// Methods used when the graph identifies the effect only through a front door or an instrument.
const (
	MethodFrontDoor = "front_door"
	MethodIV        = "iv"
)

// useGraph identifies the effect in spec.Graph and sets spec.Confounders to the adjustment set
// (or spec.Method to front_door or iv). It returns the identification and warnings.
func useGraph(f *frame.Frame, spec *Spec) (*Identification, []string, error) {
	observed := map[string]bool{}
	for _, c := range f.Names() {
		observed[c] = true
	}
	id, err := spec.Graph.Identify(spec.Treatment, spec.Outcome, observed)
	if err != nil {
		return nil, nil, err
	}
	var warns, latent []string
	for _, n := range spec.Graph.Nodes {
		if !observed[n] {
			latent = append(latent, n)
		}
	}
	if len(latent) > 0 {
		warns = append(warns, fmt.Sprintf("graph nodes not in the data are treated as unobserved: %s", strings.Join(latent, ", ")))
	}
	switch id.Strategy {
	case "backdoor":
		if len(spec.Confounders) > 0 {
			if spec.Graph.ValidBackdoor(spec.Treatment, spec.Outcome, spec.Confounders) {
				id.Text += fmt.Sprintf(" The given confounders {%s} also satisfy the back-door criterion and are used.", strings.Join(spec.Confounders, ", "))
				return id, warns, nil
			}
			warns = append(warns, fmt.Sprintf("the given confounders {%s} do not satisfy the back-door criterion in the graph; the graph's minimal set {%s} is used instead",
				strings.Join(spec.Confounders, ", "), strings.Join(id.Adjustment, ", ")))
		}
		spec.Confounders = append([]string{}, id.Adjustment...)
		spec.Squared = keepIn(spec.Squared, spec.Confounders)
		spec.Categorical = keepIn(spec.Categorical, spec.Confounders)
		if len(spec.Confounders) == 0 && spec.Method != MethodDifferenceInMeans {
			spec.Method = MethodDifferenceInMeans
			warns = append(warns, "the graph needs no adjustment: the difference in means is the estimate")
		}
	case "frontdoor":
		spec.Method = MethodFrontDoor
		warns = append(warns, ignoredConfounders(spec, "the front-door criterion")...)
	case "iv":
		spec.Method = MethodIV
		warns = append(warns, ignoredConfounders(spec, "an instrument")...)
	default:
		warns = append(warns, "ASSOCIATIONAL: the graph does not identify the effect; the number below adjusts for the given confounders only and is not a causal estimate")
	}
	return id, warns, nil
}

func keepIn(xs, set []string) []string {
	var out []string
	for _, x := range xs {
		if contains(set, x) {
			out = append(out, x)
		}
	}
	return out
}

// linearAlt estimates the effect through a front door (the sum over mediators of the treatment ->
// mediator coefficient times the mediator -> outcome coefficient adjusted for the treatment) or an
// instrument (two-stage least squares), with a percentile bootstrap interval.
func linearAlt(ctx context.Context, f *frame.Frame, spec Spec, id *Identification) (*causalv1.Estimate, error) {
	vars := id.Mediators
	if spec.Method == MethodIV {
		vars = []string{id.Instrument}
	}
	ps := spec
	ps.Confounders, ps.Squared, ps.Categorical = vars, nil, nil
	d, prep, err := prepare(f, &ps)
	if err != nil {
		return nil, err
	}
	if err := groupsOK(d); err != nil {
		return nil, err
	}
	est := func(d *data) (float64, error) {
		if spec.Method == MethodIV {
			return tsls(d)
		}
		return frontDoor(d)
	}
	eff, err := est(d)
	if err != nil {
		return nil, fmt.Errorf("causal: %s: %w", spec.Method, err)
	}
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 0x51ed))
	B := spec.Bootstrap
	if B <= 0 {
		B = 300
	}
	var vals []float64
	rows := make([]int, d.n())
	for b := 0; b < B; b++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i] = rng.IntN(d.n())
		}
		if v, err := est(d.subset(rows)); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
		}
	}
	if len(vals) < 10 {
		return nil, fmt.Errorf("causal: the %s estimate could not be bootstrapped", spec.Method)
	}
	_, se := meanSD(vals)
	out := &causalv1.Estimate{Treatment: spec.Treatment, Outcome: spec.Outcome, Method: spec.Method, Ate: eff, StdError: se,
		CiLow: quantile(vals, 0.025), CiHigh: quantile(vals, 0.975), TreatedValue: prep.treatedValue, NaiveDifference: naive(d),
		Warnings: prep.warns, Estimand: EstimandATE, Identification: id.Text}
	for _, t := range d.t {
		if t == 1 {
			out.NTreated++
		} else {
			out.NControl++
		}
	}
	if spec.Method == MethodIV {
		if fs := firstStageF(d); fs < 10 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("weak instrument: first-stage F = %.1f (below 10); the estimate is biased towards the naive one and its interval is unreliable", fs))
		}
		out.Assumptions = append(out.Assumptions, fmt.Sprintf("Instrument %s: relevant (it moves %s), excluded (it affects %s only through %s) and sharing no cause with %s; linear effects or, for a binary instrument, monotonicity (the estimate is then the effect on compliers).",
			id.Instrument, spec.Treatment, spec.Outcome, spec.Treatment, spec.Outcome))
	} else {
		out.Assumptions = append(out.Assumptions, fmt.Sprintf("Front door through {%s}: the mediators carry all of the effect, the treatment -> mediator relation is unconfounded, and the mediator -> outcome relation is confounded only through the treatment; linear models (the effect is a sum of products of coefficients).",
			strings.Join(id.Mediators, ", ")))
	}
	out.Assumptions = append(out.Assumptions, fmt.Sprintf("The 95%% interval is a percentile bootstrap over %d resamples.", len(vals)),
		"SUTVA: one well-defined version of the treatment, and no unit's treatment affects another unit's outcome.")
	out.Warnings = append(out.Warnings, "balance and the refutation tests apply to back-door adjustment and were not run for this estimand")
	return out, nil
}

// tsls is two-stage least squares with one endogenous treatment and the design columns past the
// intercept as instruments.
func tsls(d *data) (float64, error) {
	r, err := glm.OLS(d.X, d.t, glm.Options{})
	if err != nil {
		return 0, err
	}
	that := r.Linear(d.X)
	n := d.n()
	X := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		X.Set(i, 0, 1)
		X.Set(i, 1, that[i])
	}
	s, err := glm.OLS(X, d.y, glm.Options{})
	if err != nil {
		return 0, err
	}
	return s.Coef[1], nil
}

func firstStageF(d *data) float64 {
	n, p := d.X.Dims()
	r, err := glm.OLS(d.X, d.t, glm.Options{})
	if err != nil || p < 2 {
		return math.NaN()
	}
	m, _ := meanSD(d.t)
	fit := r.Linear(d.X)
	var ssr, sse float64
	for i := range d.t {
		ssr += (fit[i] - m) * (fit[i] - m)
		sse += (d.t[i] - fit[i]) * (d.t[i] - fit[i])
	}
	return (ssr / float64(p-1)) / (sse / float64(n-p))
}

// frontDoor is sum_j a_j b_j with a_j the coefficient of t in m_j ~ 1 + t and b_j the coefficient
// of m_j in y ~ 1 + M + t.
func frontDoor(d *data) (float64, error) {
	n, p := d.X.Dims()
	T := mat.NewDense(n, 2, nil)
	Y := mat.NewDense(n, p+1, nil)
	for i := 0; i < n; i++ {
		T.Set(i, 0, 1)
		T.Set(i, 1, d.t[i])
		row := Y.RawRowView(i)
		copy(row, d.X.RawRowView(i))
		row[p] = d.t[i]
	}
	b, err := glm.OLS(Y, d.y, glm.Options{})
	if err != nil {
		return 0, err
	}
	eff := 0.0
	col := make([]float64, n)
	for j := 1; j < p; j++ {
		mat.Col(col, j, d.X)
		a, err := glm.OLS(T, col, glm.Options{})
		if err != nil {
			return 0, err
		}
		eff += a.Coef[1] * b.Coef[j]
	}
	return eff, nil
}

// ignoredConfounders warns that confounders the caller gave are not used when the graph
// identifies the effect another way.
func ignoredConfounders(spec *Spec, how string) []string {
	if len(spec.Confounders) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("the given confounders {%s} are not used: the graph identifies the effect through %s",
		strings.Join(spec.Confounders, ", "), how)}
}
