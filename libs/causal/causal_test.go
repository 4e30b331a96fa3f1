package causal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
)

func estimate(t *testing.T, f *frame.Frame, spec Spec) *causalv1.Estimate {
	t.Helper()
	est, err := Estimate(context.Background(), f, spec)
	if err != nil {
		t.Fatalf("%s: %v", spec.Method, err)
	}
	return est
}

func maxAbsSMD(e *causalv1.Estimate) (before, after float64) {
	for _, b := range e.Balance {
		before = math.Max(before, math.Abs(b.SmdBefore))
		after = math.Max(after, math.Abs(b.SmdAfter))
	}
	return
}

func logEstimate(t *testing.T, label string, e *causalv1.Estimate) {
	t.Helper()
	b, a := maxAbsSMD(e)
	var refs []string
	for _, r := range e.Refutations {
		refs = append(refs, fmt.Sprintf("%s=%.4g(%v)", r.Name, r.NewEffect, r.Passed))
	}
	t.Logf("%-28s effect %10.4f SE %8.4f CI [%9.4f, %9.4f] trimmed %.3f maxSMD %.3f->%.3f E %.2f %s",
		label, e.Ate, e.StdError, e.CiLow, e.CiHigh, e.TrimmedShare, b, a, e.EValue, strings.Join(refs, " "))
	for _, w := range e.Warnings {
		t.Logf("    warning: %s", w)
	}
}

func TestNSWDifferenceInMeans(t *testing.T) {
	f := loadCSV(t, shareddata.Path(t, "causal/nsw_experimental.csv"), nil)
	e := estimate(t, f, Spec{Treatment: "treat", Outcome: "re78", Method: MethodDifferenceInMeans})
	logEstimate(t, "nsw difference_in_means", e)
	if math.Abs(e.Ate-1794.34) > 0.01 {
		t.Errorf("difference in means %.4f, want 1794.34", e.Ate)
	}
	if e.Ate != e.NaiveDifference || e.NTreated != 185 || e.NControl != 260 || e.TreatedValue != "1" {
		t.Errorf("naive %v n %d/%d treated value %q", e.NaiveDifference, e.NTreated, e.NControl, e.TreatedValue)
	}
	if !(e.CiLow < e.Ate && e.Ate < e.CiHigh) || e.CiLow <= 0 {
		t.Errorf("interval [%v, %v]", e.CiLow, e.CiHigh)
	}
	if len(e.Refutations) != 4 || !e.Refutations[0].Passed || !e.Refutations[3].Passed {
		t.Errorf("refutations %v", e.Refutations)
	}
	// A randomized comparison (no confounders) is not judged by its sensitivity to hidden confounding.
	if all := append(append([]string{}, e.PassedChecks...), e.FailedChecks...); contains(all, "e_value") {
		t.Errorf("e_value is a check of an unadjusted estimate: passed %v failed %v", e.PassedChecks, e.FailedChecks)
	}
}

// The lalonde comparison group (PSID) is very unlike the NSW treated men, so the experimental
// benchmark (1794) is an effect on the treated: the adjusted estimators target the ATT. Squared age
// and education terms (the Dehejia-Wahba style specification) are added through Spec.Squared; no
// derived columns are added to the data.
func TestLalonde(t *testing.T) {
	f := loadCSV(t, shareddata.Path(t, "causal/lalonde.csv"), nil)
	base := Spec{Treatment: "treat", Outcome: "re78", Confounders: []string{"age", "educ", "race", "married", "nodegree", "re74", "re75"},
		Squared: []string{"age", "educ"}, Estimand: EstimandATT, Seed: 1}
	inRange := 0
	for _, m := range []string{MethodRegressionAdjustment, MethodIPW, MethodAIPW, MethodMatching} {
		spec := base
		spec.Method = m
		e := estimate(t, f, spec)
		logEstimate(t, "lalonde att "+m, e)
		if math.Abs(e.NaiveDifference-(-635.03)) > 0.01 {
			t.Errorf("%s: naive difference %.4f, want -635.03", m, e.NaiveDifference)
		}
		if !strings.Contains(strings.Join(e.Warnings, " "), "naive difference in means (-635) is biased") {
			t.Errorf("%s: the naive difference is not reported as biased: %v", m, e.Warnings)
		}
		if all := append(append([]string{}, e.PassedChecks...), e.FailedChecks...); !contains(all, "e_value") {
			t.Errorf("%s: an adjusted estimate has no e_value check: passed %v failed %v", m, e.PassedChecks, e.FailedChecks)
		}
		if e.Ate >= 1200 && e.Ate <= 2400 && m != MethodRegressionAdjustment {
			inRange++
		}
		if m != MethodRegressionAdjustment {
			if b, a := maxAbsSMD(e); a >= b {
				t.Errorf("%s: balance did not improve: max |SMD| %.3f -> %.3f", m, b, a)
			}
		}
	}
	if inRange < 2 {
		t.Errorf("only %d weighting/matching estimators land in [1200, 2400]", inRange)
	}
	// ATE versions for the record: the PSID population's ATE is poorly identified.
	for _, m := range []string{MethodRegressionAdjustment, MethodIPW, MethodAIPW, MethodMatching} {
		spec := base
		spec.Method, spec.Estimand, spec.SkipRefutations = m, EstimandATE, true
		logEstimate(t, "lalonde ate "+m, estimate(t, f, spec))
	}
}

// Hernán and Robins, What If, chapters 12 and 15. Reference from statsmodels 0.13.5 (script and
// output in testdata/nhefs_reference.py and .txt):
//
//	d = pd.read_csv("nhefs.csv"); d = d[d.wt82.notna()]
//	rhs = ("sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2)"
//	       " + smokeyrs + I(smokeyrs**2) + C(exercise) + C(active) + wt71 + I(wt71**2)")
//	p = smf.logit("qsmk ~ " + rhs, d).fit().predict(d); pt = d.qsmk.mean()
//	sw = np.where(d.qsmk == 1, pt / p, (1 - pt) / (1 - p))
//	smf.gee("wt82_71 ~ qsmk", groups=d.seqn, data=d, weights=sw).fit()  # 3.440535, SE 0.525494, CI (2.410587, 4.470484)
//	smf.ols("wt82_71 ~ qsmk + " + rhs, d).fit(cov_type="HC1")           # 3.462622, SE 0.468940, CI (2.543516, 4.381728)
func TestNHEFS(t *testing.T) {
	f := loadCSV(t, shareddata.Path(t, "causal/nhefs.csv"), nil)
	// Drop rows with wt82 missing (wt82_71 is missing exactly there).
	spec := Spec{Treatment: "qsmk", Outcome: "wt82_71",
		Confounders: []string{"sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"},
		Squared:     []string{"age", "smokeintensity", "smokeyrs", "wt71"},
		Categorical: []string{"education", "exercise", "active"}, Seed: 7}
	check := func(e *causalv1.Estimate, ate, se, lo, hi float64) {
		t.Helper()
		if e.NTreated+e.NControl != 1566 {
			t.Errorf("%s: %d rows, want 1566", e.Method, e.NTreated+e.NControl)
		}
		if math.Abs(e.Ate-ate) > 1e-4 || math.Abs(e.StdError-se) > 1e-4 || math.Abs(e.CiLow-lo) > 1e-4 || math.Abs(e.CiHigh-hi) > 1e-4 {
			t.Errorf("%s: %.6f SE %.6f CI [%.6f, %.6f], want %.6f SE %.6f CI [%.6f, %.6f]", e.Method, e.Ate, e.StdError, e.CiLow, e.CiHigh, ate, se, lo, hi)
		}
	}
	spec.Method = MethodIPW
	e := estimate(t, f, spec)
	logEstimate(t, "nhefs ipw", e)
	check(e, 3.440535, 0.525494, 2.410587, 4.470484)
	if e.TrimmedShare != 0 {
		t.Errorf("trimmed %v", e.TrimmedShare)
	}
	if !strings.Contains(strings.Join(e.Warnings, " "), "dropped 63 of 1629 rows") {
		t.Errorf("missing-row warning absent: %v", e.Warnings)
	}
	if b, a := maxAbsSMD(e); a >= b || a > 0.1 {
		t.Errorf("ipw balance %.3f -> %.3f", b, a)
	}
	spec.Method = MethodRegressionAdjustment
	e = estimate(t, f, spec)
	logEstimate(t, "nhefs regression", e)
	check(e, 3.462622, 0.468940, 2.543516, 4.381728)
	for _, m := range []string{MethodAIPW, MethodMatching, MethodDifferenceInMeans} {
		spec.Method = m
		e = estimate(t, f, spec)
		logEstimate(t, "nhefs "+m, e)
		if m != MethodDifferenceInMeans && math.Abs(e.Ate-3.45) > 0.6 {
			t.Errorf("%s: %.3f far from 3.45", m, e.Ate)
		}
	}
	spec.Method, spec.Bootstrap, spec.SkipRefutations = MethodIPW, 100, true
	e = estimate(t, f, spec)
	logEstimate(t, "nhefs ipw bootstrap", e)
	if e.CiLow > 2.9 || e.CiHigh < 4.0 || e.StdError < 0.3 || e.StdError > 0.8 {
		t.Errorf("bootstrap interval [%v, %v] SE %v", e.CiLow, e.CiHigh, e.StdError)
	}
}

func TestIHDP(t *testing.T) {
	names := []string{"treatment", "y_factual", "y_cfactual", "mu0", "mu1"}
	var xs []string
	for i := 1; i <= 25; i++ {
		xs = append(xs, fmt.Sprintf("x%d", i))
	}
	f := loadCSV(t, shareddata.Path(t, "causal/ihdp_1.csv"), append(names, xs...))
	const truth = 4.016
	for _, m := range []string{MethodRegressionAdjustment, MethodAIPW, MethodIPW, MethodMatching} {
		e := estimate(t, f, Spec{Treatment: "treatment", Outcome: "y_factual", Confounders: xs, Method: m, Seed: 3, SkipRefutations: m != MethodAIPW})
		logEstimate(t, "ihdp "+m, e)
		t.Logf("    ihdp %s: error vs 4.016 = %+.4f", m, e.Ate-truth)
		if math.Abs(e.Ate-truth) > 1 {
			t.Errorf("%s: %.3f far from %.3f", m, e.Ate, truth)
		}
	}
}

// synthetic builds data with a known effect: confounder x (and a text group) drives treatment and
// outcome; y = 2 + 3 t + 1.5 x + group shift + noise.
func synthetic(n int, seed uint64) *frame.Frame {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n)
	y := make([]float64, n)
	tt := make([]string, n)
	g := make([]string, n)
	null := func() []bool { return make([]bool, n) }
	xn, tn := null(), null()
	for i := 0; i < n; i++ {
		x[i] = rng.NormFloat64()
		g[i] = []string{"north", "south", "east"}[rng.IntN(3)]
		shift := map[string]float64{"north": 0, "south": 1, "east": -1}[g[i]]
		p := 1 / (1 + math.Exp(-(0.8*x[i] + 0.5*shift)))
		t := 0.0
		tt[i] = "No"
		if rng.Float64() < p {
			t = 1
			tt[i] = "Yes"
		}
		y[i] = 2 + 3*t + 1.5*x[i] + 2*shift + rng.NormFloat64()
	}
	// A few missing values.
	for i := 0; i < 10; i++ {
		x[i*7] = math.NaN()
		xn[i*7] = true
	}
	tn[3] = true
	tt[3] = ""
	return &frame.Frame{Rows: n, Columns: []*frame.Column{
		{Name: "x", Kind: frame.Float, F: x, Null: xn},
		{Name: "y", Kind: frame.Float, F: y, Null: null()},
		{Name: "took", Kind: frame.String, S: tt, Null: tn},
		{Name: "region", Kind: frame.String, S: g, Null: null()},
	}}
}

func TestSyntheticKnownEffect(t *testing.T) {
	f := synthetic(3000, 11)
	for _, m := range []string{MethodRegressionAdjustment, MethodIPW, MethodAIPW, MethodMatching} {
		for _, est := range []string{EstimandATE, EstimandATT} {
			e := estimate(t, f, Spec{Treatment: "took", Outcome: "y", Confounders: []string{"x", "region"}, Method: m, Estimand: est, Seed: 5})
			logEstimate(t, "synthetic "+m+" "+est, e)
			if e.TreatedValue != "Yes" {
				t.Errorf("treated value %q", e.TreatedValue)
			}
			if !(e.CiLow < 3 && 3 < e.CiHigh) || math.Abs(e.Ate-3) > 0.2 {
				t.Errorf("%s %s: %.3f [%.3f, %.3f] does not cover 3", m, est, e.Ate, e.CiLow, e.CiHigh)
			}
			if !strings.Contains(strings.Join(e.Warnings, " "), "dropped 11 of 3000 rows") {
				t.Errorf("missing-row warning absent: %v", e.Warnings)
			}
			for _, r := range e.Refutations {
				if !r.Passed {
					t.Errorf("%s %s: refutation %s failed: %s", m, est, r.Name, r.Detail)
				}
			}
			if len(e.Assumptions) < 5 || e.EValue <= 1 {
				t.Errorf("assumptions %d, E-value %v", len(e.Assumptions), e.EValue)
			}
		}
	}
	// Placebo on an unrelated treatment: the estimate should be near 0.
	e := estimate(t, f, Spec{Treatment: "took", Outcome: "y", Confounders: []string{"x", "region"}, Method: MethodAIPW, TreatedValue: "No", Seed: 5, SkipRefutations: true})
	if e.TreatedValue != "No" || math.Abs(e.Ate+3) > 0.2 {
		t.Errorf("treated=No: %q %.3f, want -3", e.TreatedValue, e.Ate)
	}
}

func TestSpecErrors(t *testing.T) {
	f := synthetic(200, 2)
	ctx := context.Background()
	bad := []Spec{
		{Treatment: "took", Outcome: "y", Method: "magic"},
		{Treatment: "took", Outcome: "took"},
		{Treatment: "nope", Outcome: "y"},
		{Treatment: "took", Outcome: "y", Confounders: []string{"x"}, Squared: []string{"region"}},
		{Treatment: "took", Outcome: "y", TreatedValue: "Maybe"},
		{Treatment: "region", Outcome: "y", ReferenceValue: "mars"}, // three levels: unknown reference
		{Treatment: "x", Outcome: "y"},                              // continuous treatment
		{Treatment: "took", Outcome: "y", Estimand: "atc"},
	}
	for _, s := range bad {
		if _, err := Estimate(ctx, f, s); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
	// A boolean treatment.
	took := f.Col("took")
	b := &frame.Column{Name: "flag", Kind: frame.Bool, F: make([]float64, f.Rows), Null: took.Null}
	for i, v := range took.S {
		switch {
		case took.Null[i]:
			b.F[i] = math.NaN()
		case v == "Yes":
			b.F[i] = 1
		}
	}
	fb := &frame.Frame{Rows: f.Rows, Columns: append(append([]*frame.Column{}, f.Columns...), b)}
	e, err := Estimate(ctx, fb, Spec{Treatment: "flag", Outcome: "y", Confounders: []string{"x", "region"}, SkipRefutations: true})
	if err != nil || e.TreatedValue != "true" || math.Abs(e.Ate-3) > 0.5 {
		t.Errorf("bool treatment: %v %+v", err, e)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Estimate(cctx, f, Spec{Treatment: "took", Outcome: "y"}); err == nil {
		t.Error("cancelled context ignored")
	}
	// A three-level text treatment works once the treated value is given.
	e, err = Estimate(ctx, f, Spec{Treatment: "region", Outcome: "y", TreatedValue: "south", Confounders: []string{"x"}, SkipRefutations: true})
	if err != nil || e.TreatedValue != "south" {
		t.Fatalf("region=south: %v", err)
	}
}

// IHDP replication 1: the meta-learners with AutoML nuisance models recover the individual effects
// mu1 - mu0. Published references: BART about 2.1 sqrt(PEHE) in-sample over the 100 replications,
// counterfactual-regression networks below 1.0.
func TestIHDPHeterogeneous(t *testing.T) {
	names := []string{"treatment", "y_factual", "y_cfactual", "mu0", "mu1"}
	var xs []string
	for i := 1; i <= 25; i++ {
		xs = append(xs, fmt.Sprintf("x%d", i))
	}
	f := loadCSV(t, shareddata.Path(t, "causal/ihdp_1.csv"), append(names, xs...))
	mu0, mu1 := f.Col("mu0").F, f.Col("mu1").F
	truth := 0.0
	for i := range mu0 {
		truth += (mu1[i] - mu0[i]) / float64(len(mu0))
	}
	if math.Abs(truth-4.016) > 0.001 {
		t.Fatalf("true ATE %.4f, README says 4.016", truth)
	}
	for _, tc := range []struct {
		method   string
		refute   bool
		maxPEHE  float64
		maxError float64
	}{
		{MethodTLearner, false, 1.0, 0.2},
		{MethodXLearner, true, 1.0, 0.2},
	} {
		t.Run(tc.method, func(t *testing.T) {
			e, ind, err := EstimateIndividual(context.Background(), f, Spec{Treatment: "treatment", Outcome: "y_factual", Confounders: xs,
				Method: tc.method, Seed: 3, SkipRefutations: !tc.refute, LearnerBudget: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			logEstimate(t, "ihdp "+tc.method, e)
			if ind == nil || len(ind.Effect) != 747 {
				t.Fatalf("individual effects missing")
			}
			pehe := 0.0
			for k, r := range ind.Rows {
				d := ind.Effect[k] - (mu1[r] - mu0[r])
				pehe += d * d / float64(len(ind.Rows))
			}
			pehe = math.Sqrt(pehe)
			t.Logf("%s: ATE %.4f (error %+.4f), sqrt(PEHE) %.4f, %d segments, passed %v failed %v", tc.method, e.Ate, e.Ate-truth, pehe, len(e.Segments), e.PassedChecks, e.FailedChecks)
			if math.Abs(e.Ate-truth) >= tc.maxError {
				t.Errorf("ATE error %.4f, want < %.2f", e.Ate-truth, tc.maxError)
			}
			if pehe >= tc.maxPEHE {
				t.Errorf("sqrt(PEHE) %.4f, want < %.2f", pehe, tc.maxPEHE)
			}
			if !(e.CiLow < e.Ate && e.Ate < e.CiHigh) {
				t.Errorf("interval [%v, %v] around %v", e.CiLow, e.CiHigh, e.Ate)
			}
			if len(e.Segments) < 2 || e.Segments[0].Spread <= 0 {
				t.Errorf("segments %v", e.Segments)
			}
			if tc.refute {
				for _, r := range e.Refutations {
					if (r.Name == "placebo_treatment" || r.Name == "dummy_outcome") && !r.Passed {
						t.Errorf("%s failed: %s", r.Name, r.Detail)
					}
				}
			}
		})
	}
}

func TestNearestTied(t *testing.T) {
	key := []float64{0, 1, 2, 2, 3, 5, 1}
	pool := []int{0, 1, 6, 2, 3, 4, 5} // sorted by key
	for _, tc := range []struct {
		x    float64
		want []int
		dist float64
	}{
		{1.1, []int{1, 6}, 0.1},    // two units at key 1
		{2.5, []int{2, 3, 4}, 0.5}, // ties on both sides: 2, 2 and 3
		{-4, []int{0}, 4},
		{9, []int{5}, 4},
	} {
		got, d := nearestTied(pool, key, tc.x)
		sort.Ints(got)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || math.Abs(d-tc.dist) > 1e-12 {
			t.Errorf("x=%v: %v at %v, want %v at %v", tc.x, got, d, tc.want, tc.dist)
		}
	}
}

// Double machine learning with AutoML nuisance models and cross-fitting on IHDP and on the
// synthetic data with text treatment and confounders.
func TestDML(t *testing.T) {
	names := []string{"treatment", "y_factual", "y_cfactual", "mu0", "mu1"}
	var xs []string
	for i := 1; i <= 25; i++ {
		xs = append(xs, fmt.Sprintf("x%d", i))
	}
	ihdp := loadCSV(t, shareddata.Path(t, "causal/ihdp_1.csv"), append(names, xs...))
	for _, tc := range []struct {
		name  string
		f     *frame.Frame
		spec  Spec
		truth float64
		tol   float64
	}{
		{"ihdp", ihdp, Spec{Treatment: "treatment", Outcome: "y_factual", Confounders: xs}, 4.016, 0.2},
		{"synthetic text columns", synthetic(2000, 5), Spec{Treatment: "took", Outcome: "y", Confounders: []string{"x", "region"}}, 3, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Method, spec.Seed, spec.SkipRefutations, spec.LearnerBudget = MethodDML, 4, true, time.Second
			e := estimate(t, tc.f, spec)
			logEstimate(t, "dml "+tc.name, e)
			if math.Abs(e.Ate-tc.truth) >= tc.tol || e.CiLow > tc.truth || e.CiHigh < tc.truth {
				t.Errorf("dml %.4f [%.4f, %.4f], want %.3f within %.2f and covered", e.Ate, e.CiLow, e.CiHigh, tc.truth, tc.tol)
			}
			// No balance assertion here: DML does not reweight (it residualises), and the "after"
			// balance under its time-budgeted propensity model varies with machine load (one CI run
			// saw 0.39 -> 0.86 on IHDP while the effect, 4.012, was right). The weighting estimators'
			// balance is asserted in their own tests.
		})
	}
}
