// Package causal estimates average treatment effects of a binary treatment from observational or
// experimental data, with the diagnostics a careful analyst reports next to the number: covariate
// balance before and after adjustment, an overlap check, refutation tests, an E-value and the
// assumptions in words.
//
// Methods: difference in means (Welch interval), regression adjustment (OLS with HC1 errors),
// inverse probability weighting (logistic propensity, stabilised weights, trimming, sandwich or
// bootstrap interval), augmented IPW (doubly robust, influence-function errors) and nearest-neighbour
// propensity-score matching with a caliper (Abadie-Imbens errors).
package causal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// Method names, as they appear in Estimate.method.
const (
	MethodDifferenceInMeans    = "difference_in_means"
	MethodRegressionAdjustment = "regression_adjustment"
	MethodIPW                  = "ipw"
	MethodAIPW                 = "aipw"
	MethodMatching             = "matching"
)

// Estimands.
const (
	EstimandATE = "ate"
	EstimandATT = "att"
)

// DefaultTrim is the default propensity trimming threshold for IPW and AIPW.
const DefaultTrim = 0.01

// Spec describes one effect estimation.
type Spec struct {
	Treatment   string
	Outcome     string
	Confounders []string
	// Method is one of the Method* constants; empty means regression adjustment.
	Method string
	// TreatedValue is the treatment value that counts as treated (needed for text treatments whose
	// levels are not recognisable, or numeric treatments that are not 0/1). For a numeric treatment
	// it may be a threshold (">28", ">=28", "<28", "<=28"): the rows that meet it are treated.
	TreatedValue string
	// Squared lists numeric confounders that also enter the models as squares.
	Squared []string
	// Categorical lists numeric confounders to one-hot encode; text confounders always are.
	Categorical []string
	// Seed makes the random parts (bootstrap, refutations) reproducible.
	Seed int64
	// Bootstrap, when positive, replaces the analytic interval by a percentile bootstrap over this
	// many resamples (the whole procedure, propensity model included, is refitted on each).
	Bootstrap int
	// Estimand is "ate" (default: average effect over the analysis sample) or "att" (average effect
	// on the treated). Difference in means always estimates the ATE.
	Estimand string
	// Trim drops rows whose propensity is below Trim or above 1-Trim (IPW and AIPW). Zero means
	// DefaultTrim; negative disables trimming.
	Trim float64
	// SkipRefutations leaves out the refutation tests (they refit the estimator several times).
	SkipRefutations bool
	// Graph, when set, decides the adjustment set by the back-door criterion (or switches to a
	// front-door or instrumental-variable estimate when only those identify the effect).
	Graph *Graph
	// LearnerBudget is the AutoML budget of each nuisance model of the meta-learners (zero means
	// DefaultLearnerBudget).
	LearnerBudget time.Duration
	// ReferenceValue is the level that the others are compared with when the treatment has more
	// than two levels (empty: a recognisable control level, else the first in sorted order).
	ReferenceValue string
	// noLevels estimates one binary contrast even when the treatment has more levels.
	noLevels bool
	// others marks the rows of a multi-level treatment set aside because they are at other levels
	// than the two compared (nil: none).
	others *otherLevels
}

// Methods lists the estimation methods.
var Methods = []string{MethodDifferenceInMeans, MethodRegressionAdjustment, MethodIPW, MethodAIPW, MethodMatching, MethodDML, MethodTLearner, MethodXLearner}

// IsLearner reports whether the method fits AutoML nuisance models.
func IsLearner(m string) bool { return m == MethodTLearner || m == MethodXLearner || m == MethodDML }

// data is the analysis sample.
type data struct {
	t, y []float64
	// X is the confounder design with an intercept in column 0.
	X     *mat.Dense
	names []string
	// bal lists the design columns used for balance (main terms and levels, not squares).
	bal     []int
	binaryY bool
	// rows maps each sample row to its frame row.
	rows []int
	// feat holds the raw confounder columns of the sample rows (meta-learners only).
	feat *frame.Frame
}

func (d *data) n() int { return len(d.t) }

func (d *data) subset(rows []int) *data {
	_, p := d.X.Dims()
	s := &data{X: mat.NewDense(len(rows), p, nil), names: d.names, bal: d.bal, binaryY: d.binaryY,
		t: make([]float64, len(rows)), y: make([]float64, len(rows))}
	if d.rows != nil {
		s.rows = make([]int, len(rows))
	}
	if d.feat != nil {
		s.feat = featFrame(d.feat, d.feat.Names(), rows)
	}
	for i, r := range rows {
		s.t[i], s.y[i] = d.t[r], d.y[r]
		if d.rows != nil {
			s.rows[i] = d.rows[r]
		}
		s.X.SetRow(i, d.X.RawRowView(r))
	}
	return s
}

func (d *data) withColumn(name string, v []float64) *data {
	n, p := d.X.Dims()
	s := *d
	s.X = mat.NewDense(n, p+1, nil)
	for i := 0; i < n; i++ {
		row := s.X.RawRowView(i)
		copy(row, d.X.RawRowView(i))
		row[p] = v[i]
	}
	s.names = append(append([]string{}, d.names...), name)
	if d.feat != nil {
		ff := *d.feat
		ff.Columns = append(append([]*frame.Column{}, d.feat.Columns...), &frame.Column{Name: name, Kind: frame.Float, F: v, Null: make([]bool, n)})
		s.feat = &ff
	}
	return &s
}

func (d *data) withTreatment(t []float64) *data {
	s := *d
	s.t = t
	return &s
}

func (d *data) withOutcome(y []float64) *data {
	s := *d
	s.y = y
	return &s
}

// fit is one estimator's output.
type fit struct {
	effect, se, lo, hi float64
	// weights for balance after adjustment (nil: no reweighting, after equals before).
	w       []float64
	trimmed float64
	ps      []float64
	// cate holds predicted individual effects (meta-learners).
	cate  []float64
	notes []string
	warns []string
}

// Estimate estimates the effect of spec.Treatment on spec.Outcome in f.
func Estimate(ctx context.Context, f *frame.Frame, spec Spec) (*causalv1.Estimate, error) {
	est, _, err := estimateAll(ctx, f, spec)
	return est, err
}

// Individual are predicted individual effects of a meta-learner.
type Individual struct {
	// Rows are the frame rows of the analysis sample, Effect the predicted effect of each.
	Rows   []int
	Effect []float64
}

// EstimateIndividual is Estimate that also returns the predicted individual effects (nil for
// methods that estimate only an average).
func EstimateIndividual(ctx context.Context, f *frame.Frame, spec Spec) (*causalv1.Estimate, *Individual, error) {
	return estimateAll(ctx, f, spec)
}

func estimateAll(ctx context.Context, f *frame.Frame, spec Spec) (est *causalv1.Estimate, ind *Individual, err error) {
	if f == nil {
		return nil, nil, errors.New("causal: nil frame")
	}
	if spec.Method == "" {
		spec.Method = MethodRegressionAdjustment
	}
	// A threshold makes any numeric treatment binary: no level-by-level comparison.
	if tc := f.Col(spec.Treatment); tc != nil && !spec.noLevels && !isThreshold(spec.TreatedValue) {
		if levels := treatmentLevels(tc); levels != nil {
			return estimateLevels(ctx, f, spec, levels)
		}
	}
	var id *Identification
	var graphWarns []string
	if spec.Graph != nil {
		var err error
		if id, graphWarns, err = useGraph(f, &spec); err != nil {
			return nil, nil, err
		}
		if spec.Method == MethodFrontDoor || spec.Method == MethodIV {
			est, err := linearAlt(ctx, f, spec, id)
			if err != nil {
				return nil, nil, err
			}
			est.Warnings = append(graphWarns, est.Warnings...)
			checks(est, false, true, false)
			return est, nil, nil
		}
	}
	if !contains(Methods, spec.Method) {
		return nil, nil, fmt.Errorf("causal: unknown method %q (want one of %s)", spec.Method, strings.Join(Methods, ", "))
	}
	if IsLearner(spec.Method) && spec.Estimand == EstimandATT {
		return nil, nil, fmt.Errorf("causal: %s estimates the ATE; use aipw or matching for the ATT", spec.Method)
	}
	spec.Estimand = strings.ToLower(spec.Estimand)
	if spec.Estimand == "" || spec.Method == MethodDifferenceInMeans {
		spec.Estimand = EstimandATE
	}
	if spec.Estimand != EstimandATE && spec.Estimand != EstimandATT {
		return nil, nil, fmt.Errorf("causal: unknown estimand %q (want ate or att)", spec.Estimand)
	}
	if spec.Trim == 0 {
		spec.Trim = DefaultTrim
	}
	if spec.Trim >= 0.5 {
		return nil, nil, fmt.Errorf("causal: trim %v must be below 0.5", spec.Trim)
	}
	d, prep, err := prepare(f, &spec)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if IsLearner(spec.Method) {
		d.feat = featFrame(f, spec.Confounders, d.rows)
	}
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 0x9e3779b97f4a7c15))

	res, err := run(ctx, d, &spec)
	if err != nil {
		return nil, nil, err
	}
	est = &causalv1.Estimate{
		Treatment:       spec.Treatment,
		Outcome:         spec.Outcome,
		Method:          spec.Method,
		Ate:             res.effect,
		StdError:        res.se,
		CiLow:           res.lo,
		CiHigh:          res.hi,
		AdjustmentSet:   append([]string{}, spec.Confounders...),
		TreatedValue:    prep.treatedValue,
		TrimmedShare:    res.trimmed,
		NaiveDifference: naive(d),
		Warnings:        append(prep.warns, res.warns...),
		Estimand:        spec.Estimand,
	}
	est.Warnings = append(graphWarns, est.Warnings...)
	switch {
	case id != nil:
		est.Identification = id.Text
	case len(spec.Confounders) > 0:
		est.Identification = fmt.Sprintf("Back-door adjustment for the given confounders {%s}; no graph was given, so their sufficiency is assumed, not checked.", strings.Join(spec.Confounders, ", "))
	case spec.Method == MethodDifferenceInMeans:
		est.Identification = "No adjustment: valid when treatment was randomised (or as good as random)."
	}
	if res.cate != nil {
		ind = &Individual{Rows: d.rows, Effect: res.cate}
		est.Segments = segments(d.feat, res.cate, 8)
	}
	for _, v := range d.t {
		if v == 1 {
			est.NTreated++
		} else {
			est.NControl++
		}
	}
	if spec.Bootstrap > 0 {
		if err := bootstrap(ctx, d, &spec, rng, res, est); err != nil {
			return nil, nil, err
		}
	}
	est.Balance = balance(d, res.w)
	if spec.Method != MethodDifferenceInMeans && est.StdError > 0 {
		if z := math.Abs(est.NaiveDifference-est.Ate) / est.StdError; z > 2 {
			est.Warnings = append(est.Warnings, fmt.Sprintf("the naive difference in means (%.4g) is biased: it lies %.1f standard errors from the adjusted estimate (%.4g), so the groups differ in the adjusted confounders",
				est.NaiveDifference, z, est.Ate))
		}
	}
	ps := res.ps
	if ps == nil && len(spec.Confounders) > 0 {
		// Overlap is worth checking even for methods that do not use the propensity.
		if pf, err := propensity(d); err == nil {
			ps = pf.ps
		}
	}
	overlapOK := true
	if ps != nil {
		ow := overlap(d.t, ps)
		overlapOK = len(ow) == 0
		est.Warnings = append(est.Warnings, ow...)
	}
	ev, evCI, scale := eValue(d, est.Ate, est.CiLow, est.CiHigh)
	est.EValue = ev
	est.Assumptions = assumptions(&spec, res, ev, evCI, scale)
	if !spec.SkipRefutations {
		est.Refutations, err = refute(ctx, d, &spec, rng, est)
		if err != nil {
			return nil, nil, err
		}
	}
	checks(est, ps != nil, overlapOK, len(spec.Confounders) > 0)
	return est, ind, nil
}

// run dispatches to the estimator.
func run(ctx context.Context, d *data, spec *Spec) (*fit, error) {
	if err := groupsOK(d); err != nil {
		return nil, err
	}
	switch spec.Method {
	case MethodDifferenceInMeans:
		return diffInMeans(d)
	case MethodRegressionAdjustment:
		return regression(d, spec)
	case MethodIPW:
		return ipw(d, spec)
	case MethodAIPW:
		return aipw(d, spec)
	case MethodMatching:
		return matching(d, spec)
	case MethodTLearner, MethodXLearner:
		return metaLearner(ctx, d, spec)
	case MethodDML:
		return dml(ctx, d, spec)
	}
	return nil, fmt.Errorf("causal: unknown method %q", spec.Method)
}

func groupsOK(d *data) error {
	n1 := 0
	for _, v := range d.t {
		if v == 1 {
			n1++
		}
	}
	if n1 < 2 || d.n()-n1 < 2 {
		return fmt.Errorf("causal: need at least 2 treated and 2 control rows, have %d and %d", n1, d.n()-n1)
	}
	return nil
}

func naive(d *data) float64 {
	var s1, s0, n1, n0 float64
	for i, t := range d.t {
		if t == 1 {
			s1 += d.y[i]
			n1++
		} else {
			s0 += d.y[i]
			n0++
		}
	}
	return s1/n1 - s0/n0
}

// bootstrap replaces the interval and SE by a percentile bootstrap.
func bootstrap(ctx context.Context, d *data, spec *Spec, rng *rand.Rand, res *fit, est *causalv1.Estimate) error {
	n := d.n()
	var vals []float64
	failed := 0
	rows := make([]int, n)
	for b := 0; b < spec.Bootstrap; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range rows {
			rows[i] = rng.IntN(n)
		}
		r, err := run(ctx, d.subset(rows), spec)
		if err != nil || math.IsNaN(r.effect) {
			failed++
			continue
		}
		vals = append(vals, r.effect)
	}
	if len(vals) < 10 {
		est.Warnings = append(est.Warnings, fmt.Sprintf("bootstrap failed (%d of %d resamples could not be fitted); the analytic interval is reported", failed, spec.Bootstrap))
		return nil
	}
	if failed > 0 {
		est.Warnings = append(est.Warnings, fmt.Sprintf("%d of %d bootstrap resamples could not be fitted and were skipped", failed, spec.Bootstrap))
	}
	_, sd := meanSD(vals)
	est.StdError = sd
	est.CiLow = quantile(vals, 0.025)
	est.CiHigh = quantile(vals, 0.975)
	res.notes = append(res.notes, fmt.Sprintf("The 95%% interval is a percentile bootstrap over %d resamples that refit every step (analytic SE was %.4g).", len(vals), res.se))
	return nil
}

func meanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	if len(v) < 2 {
		return m, 0
	}
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}
