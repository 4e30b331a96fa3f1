package causal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
)

// balance returns standardised mean differences for each main confounder term (levels of
// categoricals included, squares left out): before is unweighted over the analysis sample, after is
// weighted by w (IPW/AIPW weights or matching frequencies). Both use the unweighted pooled standard
// deviation sqrt((s1^2+s0^2)/2) as the denominator. Without weights after equals before.
func balance(d *data, w []float64) []*causalv1.Balance {
	out := make([]*causalv1.Balance, 0, len(d.bal))
	for _, j := range d.bal {
		var x1, x0 []float64
		for i, t := range d.t {
			if t == 1 {
				x1 = append(x1, d.X.At(i, j))
			} else {
				x0 = append(x0, d.X.At(i, j))
			}
		}
		m1, s1 := meanSD(x1)
		m0, s0 := meanSD(x0)
		sd := math.Sqrt((s1*s1 + s0*s0) / 2)
		b := &causalv1.Balance{Covariate: d.names[j]}
		if sd > 0 {
			b.SmdBefore = (m1 - m0) / sd
			b.SmdAfter = b.SmdBefore
			if w != nil {
				var sw1, sw0, a1, a0 float64
				for i, t := range d.t {
					if t == 1 {
						sw1 += w[i]
						a1 += w[i] * d.X.At(i, j)
					} else {
						sw0 += w[i]
						a0 += w[i] * d.X.At(i, j)
					}
				}
				if sw1 > 0 && sw0 > 0 {
					b.SmdAfter = (a1/sw1 - a0/sw0) / sd
				}
			}
		}
		out = append(out, b)
	}
	return out
}

// overlap checks the propensity distributions of the two groups.
func overlap(t, ps []float64) []string {
	min1, max1, min0, max0 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	extreme, n1 := 0, 0
	for i, p := range ps {
		if t[i] == 1 {
			n1++
			min1, max1 = math.Min(min1, p), math.Max(max1, p)
		} else {
			min0, max0 = math.Min(min0, p), math.Max(max0, p)
		}
		if p < 0.05 || p > 0.95 {
			extreme++
		}
	}
	var out []string
	outside1, outside0 := 0, 0
	for i, p := range ps {
		if t[i] == 1 && (p > max0 || p < min0) {
			outside1++
		}
		if t[i] == 0 && (p > max1 || p < min1) {
			outside0++
		}
	}
	// Report lack of common support when more than 1% of a group lies outside the other's range.
	if float64(outside1) > 0.01*float64(n1) || float64(outside0) > 0.01*float64(len(ps)-n1) {
		out = append(out, fmt.Sprintf("limited overlap: %d treated rows have a propensity outside the control range [%.3f, %.3f] and %d control rows outside the treated range [%.3f, %.3f]",
			outside1, min0, max0, outside0, min1, max1))
	}
	if share := float64(extreme) / float64(len(ps)); share > 0.1 {
		out = append(out, fmt.Sprintf("positivity is strained: %.0f%% of rows have a propensity below 0.05 or above 0.95", 100*share))
	}
	return out
}

// eValue returns the E-value of the estimate and of the confidence limit closest to the null
// (VanderWeele and Ding 2017), and a description of the risk-ratio conversion used. A 0/1 outcome
// uses RR = (p0 + effect) / p0 with p0 the control-group mean; other outcomes use the approximation
// RR = exp(0.91 d) with d = effect / SD(outcome).
func eValue(d *data, est, lo, hi float64) (float64, float64, string) {
	toRR := func(v float64) float64 { return math.NaN() }
	desc := ""
	if d.binaryY {
		var s, n float64
		for i, t := range d.t {
			if t == 0 {
				s += d.y[i]
				n++
			}
		}
		p0 := s / n
		if p0 > 0 && p0 < 1 {
			toRR = func(v float64) float64 { return math.Max(p0+v, 1e-6) / p0 }
			desc = fmt.Sprintf("risk ratio (control risk %.3g + effect) / control risk", p0)
		}
	}
	if desc == "" {
		_, sd := meanSD(d.y)
		if sd == 0 {
			return 1, 1, "outcome is constant"
		}
		toRR = func(v float64) float64 { return math.Exp(0.91 * v / sd) }
		desc = fmt.Sprintf("approximate risk ratio exp(0.91 x effect / SD of the outcome), SD = %.4g", sd)
	}
	ev := eFromRR(toRR(est))
	evCI := 1.0
	if !(lo <= 0 && hi >= 0) {
		near := lo
		if est < 0 {
			near = hi
		}
		evCI = eFromRR(toRR(near))
	}
	return ev, evCI, desc
}

func eFromRR(rr float64) float64 {
	if math.IsNaN(rr) || rr <= 0 {
		return math.NaN()
	}
	if rr < 1 {
		rr = 1 / rr
	}
	return rr + math.Sqrt(rr*(rr-1))
}

// assumptions states what the estimate rests on, in words.
func assumptions(spec *Spec, res *fit, ev, evCI float64, scale string) []string {
	var out []string
	estimand := "Estimand: the average treatment effect (ATE) over the analysis sample"
	if spec.Estimand == EstimandATT {
		estimand = "Estimand: the average treatment effect on the treated (ATT)"
	}
	if res.trimmed > 0 {
		estimand += fmt.Sprintf(", restricted to the rows with overlap (%.1f%% dropped: see the trimmed share)", 100*res.trimmed)
	}
	out = append(out, estimand+".")
	if spec.Method == MethodDifferenceInMeans {
		out = append(out, "Exchangeability: treatment was randomised (or as good as random), so treated and control groups are comparable without adjustment.")
	} else if len(spec.Confounders) == 0 {
		out = append(out, "No unmeasured confounding: with an empty adjustment set this assumes treatment was as good as random.")
	} else {
		terms := "given " + strings.Join(spec.Confounders, ", ")
		if len(spec.Squared) > 0 {
			terms += " (with squared terms for " + strings.Join(spec.Squared, ", ") + ")"
		}
		out = append(out, "No unmeasured confounding: "+terms+", treatment is independent of the potential outcomes; every common cause of treatment and outcome is measured and none of the adjusted variables is affected by the treatment.")
	}
	out = append(out, "Positivity: every kind of unit had a real chance of being treated and of being untreated (see the overlap warnings and trimmed share).")
	out = append(out, "SUTVA: one well-defined version of the treatment, and no unit's treatment affects another unit's outcome.")
	out = append(out, res.notes...)
	if !math.IsNaN(ev) {
		out = append(out, fmt.Sprintf("E-value %.2f (confidence limit: %.2f): an unmeasured confounder associated with both treatment and outcome by a risk ratio of at least this size, beyond the measured confounders, could explain the estimate away; scale: %s.", ev, evCI, scale))
	}
	return out
}

// refute runs the refutation tests: placebo treatment, random common cause and data subsets.
func refute(ctx context.Context, d *data, spec *Spec, rng *rand.Rand, est *causalv1.Estimate) ([]*causalv1.Refutation, error) {
	var out []*causalv1.Refutation
	quiet := *spec
	quiet.Bootstrap = 0
	se := est.StdError
	// Meta-learners refit several AutoML models per run: refute them with smaller budgets and fewer
	// repetitions.
	draws, reps := 3, 5
	if IsLearner(spec.Method) {
		b := spec.LearnerBudget
		if b <= 0 {
			b = DefaultLearnerBudget
		}
		quiet.LearnerBudget = b / 4
		draws, reps = 1, 2
	}

	// Placebo: permute the treatment; the effect should vanish.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	perm := append([]float64{}, d.t...)
	rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
	ref := &causalv1.Refutation{Name: "placebo_treatment"}
	if r, err := run(ctx, d.withTreatment(perm), &quiet); err != nil {
		ref.Detail = "could not be fitted: " + err.Error()
	} else {
		ref.NewEffect = r.effect
		ref.Passed = math.Abs(r.effect) <= z975*r.se
		ref.Detail = fmt.Sprintf("treatment randomly permuted: effect %.4g (SE %.4g) should be indistinguishable from 0 (passed when its 95%% interval contains 0)", r.effect, r.se)
	}
	out = append(out, ref)

	// Random common cause: add an independent normal covariate; the estimate should barely move.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref = &causalv1.Refutation{Name: "random_common_cause"}
	if spec.Method == MethodDifferenceInMeans {
		ref.NewEffect = est.Ate
		ref.Passed = true
		ref.Detail = "difference in means adjusts for nothing, so an added random covariate cannot change it"
	} else {
		// Average over a few independent draws so that one unlucky draw does not decide.
		var effects []float64
		var lastErr error
		for k := 0; k < draws; k++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			noise := make([]float64, d.n())
			for i := range noise {
				noise[i] = rng.NormFloat64()
			}
			r, err := run(ctx, d.withColumn("random_common_cause", noise), &quiet)
			if err != nil {
				lastErr = err
				continue
			}
			effects = append(effects, r.effect)
		}
		if len(effects) == 0 {
			ref.Detail = "could not be fitted: " + lastErr.Error()
		} else {
			// Matching reacts to any change of the propensity with a new set of discrete matches, which
			// redraws its matching noise (of the order of the standard error itself: differences of
			// about 1.4 SE are ordinary), so it gets two standard errors of room; the smooth
			// estimators get half of one.
			tol, what := 0.5, "half a standard error"
			if spec.Method == MethodMatching {
				tol, what = 2, "two standard errors"
			}
			mean, _ := meanSD(effects)
			ref.NewEffect = mean
			ref.Passed = math.Abs(mean-est.Ate) <= tol*se
			ref.Detail = fmt.Sprintf("an independent random covariate added to the adjustment set (%d draws) moved the estimate by %.4g on average (passed when within %s, %.4g)", len(effects), mean-est.Ate, what, tol*se)
		}
	}
	out = append(out, ref)

	// Data subsets: re-estimate on random 80% subsamples.
	var vals []float64
	n := d.n()
	m := int(math.Round(0.8 * float64(n)))
	failed := 0
	for b := 0; b < reps; b++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := rng.Perm(n)[:m]
		sort.Ints(idx)
		if r, err := run(ctx, d.subset(idx), &quiet); err == nil {
			vals = append(vals, r.effect)
		} else {
			failed++
		}
	}
	ref = &causalv1.Refutation{Name: "data_subset"}
	if len(vals) == 0 {
		ref.Detail = fmt.Sprintf("none of %d random 80%% subsamples could be fitted", reps)
	} else {
		mean, _ := meanSD(vals)
		lo, hi := vals[0], vals[0]
		for _, v := range vals {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		ref.NewEffect = mean
		ref.Passed = math.Abs(mean-est.Ate) <= se && failed == 0
		ref.Detail = fmt.Sprintf("%d random 80%% subsamples: mean effect %.4g, range [%.4g, %.4g] (passed when the mean is within one standard error, %.4g, of the full-sample estimate)", len(vals), mean, lo, hi, se)
		if failed > 0 {
			ref.Detail += fmt.Sprintf("; %d subsamples could not be fitted", failed)
		}
	}
	out = append(out, ref)

	// Dummy outcome: replace the outcome by noise independent of everything; the effect should vanish.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, sdy := meanSD(d.y)
	dummy := make([]float64, d.n())
	for i := range dummy {
		dummy[i] = sdy * rng.NormFloat64()
	}
	ref = &causalv1.Refutation{Name: "dummy_outcome"}
	if r, err := run(ctx, d.withOutcome(dummy), &quiet); err != nil {
		ref.Detail = "could not be fitted: " + err.Error()
	} else {
		ref.NewEffect = r.effect
		ref.Passed = math.Abs(r.effect) <= z975*r.se
		ref.Detail = fmt.Sprintf("outcome replaced by independent noise of the same SD: effect %.4g (SE %.4g) should be indistinguishable from 0 (passed when its 95%% interval contains 0)", r.effect, r.se)
	}
	out = append(out, ref)
	return out, nil
}

// checks fills the passed and failed check lists from the refutations and diagnostics.
// The E-value is a check only for an adjusted (observational) estimate: without confounders the
// design is taken as randomized, where sensitivity to hidden confounding is not the question.
func checks(est *causalv1.Estimate, haveOverlap, overlapOK, adjusted bool) {
	add := func(name string, ok bool) {
		if ok {
			est.PassedChecks = append(est.PassedChecks, name)
		} else {
			est.FailedChecks = append(est.FailedChecks, name)
		}
	}
	for _, r := range est.Refutations {
		add(r.Name, r.Passed)
	}
	if haveOverlap {
		add("overlap", overlapOK)
	}
	if len(est.Balance) > 0 && est.Method != MethodDifferenceInMeans && est.Method != MethodRegressionAdjustment && est.Method != MethodTLearner && est.Method != MethodXLearner {
		worst := 0.0
		for _, b := range est.Balance {
			worst = math.Max(worst, math.Abs(b.SmdAfter))
		}
		add("balance_after_adjustment", worst < 0.1)
	}
	// Robust to hidden confounding when an unmeasured confounder would need a risk ratio of at
	// least 2 with both treatment and outcome to erase the estimate.
	if adjusted && !math.IsNaN(est.EValue) && est.EValue > 0 {
		add("e_value", est.EValue >= 2)
	}
}

// quantile returns the q-quantile of v by linear interpolation.
func quantile(v []float64, q float64) float64 {
	s := append([]float64{}, v...)
	sort.Float64s(s)
	if len(s) == 1 {
		return s[0]
	}
	h := q * float64(len(s)-1)
	i := int(math.Floor(h))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (h-float64(i))*(s[i+1]-s[i])
}
