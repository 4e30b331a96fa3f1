package causal

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// ChangeSpec asks why the mean of Outcome changed between two periods of TimeColumn.
type ChangeSpec struct {
	Outcome    string
	TimeColumn string
	// Segments are the columns to decompose by (numeric columns with many values are cut into
	// quartiles of the pooled data).
	Segments []string
	// Split separates the periods: rows with a time value below it are "before". Empty means the
	// median for numeric and time columns, or the two values in sorted order for a text column.
	Split string
	// DriverEffects is how many of the top drivers (distinct columns) get an effect estimate:
	// 0 means DefaultDriverEffects, negative none.
	DriverEffects int
	// Covariates are adjusted for in the driver effects besides the other segment columns.
	Covariates []string
	// Method estimates the driver effects (empty: aipw).
	Method string
	// Graph, when given, decides whether a driver's effect is identified (CAUSAL) or not
	// (ASSOCIATIONAL).
	Graph *Graph
	Seed  int64
}

// ExplainChange decomposes the change of the outcome's mean between two periods, for each segment
// column, into mix effects (the population moved between segments) and rate effects (the outcome
// changed within segments). With shares s and segment means r, the change sum(s1 r1) - sum(s0 r0)
// splits exactly into sum((s1 - s0)(r0 + r1)/2) + sum((r1 - r0)(s0 + s1)/2) (the symmetric,
// Shapley-value split). A segment present in only one period contributes only mix.
//
// Unless spec.DriverEffects is negative, the top drivers then get effect estimates (see
// driverEffects), labelled CAUSAL or ASSOCIATIONAL.
func ExplainChange(f *frame.Frame, spec ChangeSpec) (*causalv1.ExplainChangeResponse, error) {
	return ExplainChangeContext(context.Background(), f, spec)
}

// ExplainChangeContext is ExplainChange with a context for the effect estimates.
func ExplainChangeContext(ctx context.Context, f *frame.Frame, spec ChangeSpec) (*causalv1.ExplainChangeResponse, error) {
	if spec.Outcome == "" || spec.TimeColumn == "" {
		return nil, fmt.Errorf("causal: outcome and time column are required")
	}
	if len(spec.Segments) == 0 {
		return nil, fmt.Errorf("causal: at least one segment column is required")
	}
	yc, tc := f.Col(spec.Outcome), f.Col(spec.TimeColumn)
	if yc == nil {
		return nil, fmt.Errorf("causal: unknown column %q", spec.Outcome)
	}
	if tc == nil {
		return nil, fmt.Errorf("causal: unknown column %q", spec.TimeColumn)
	}
	for _, s := range spec.Segments {
		if f.Col(s) == nil {
			return nil, fmt.Errorf("causal: unknown column %q", s)
		}
		if s == spec.Outcome || s == spec.TimeColumn {
			return nil, fmt.Errorf("causal: segment %q is the outcome or the time column", s)
		}
	}
	for _, s := range spec.Covariates {
		if f.Col(s) == nil {
			return nil, fmt.Errorf("causal: unknown column %q", s)
		}
		if s == spec.Outcome {
			return nil, fmt.Errorf("causal: covariate %q is the outcome", s)
		}
	}
	if spec.Method != "" && (!contains(Methods, spec.Method) || spec.Method == MethodDifferenceInMeans) {
		return nil, fmt.Errorf("causal: method %q cannot estimate driver effects (use one of %s)", spec.Method, strings.Join(Methods[1:], ", "))
	}
	var rows []int
	for i := 0; i < f.Rows; i++ {
		if !yc.Null[i] && !tc.Null[i] && (yc.Kind == frame.String || !math.IsNaN(yc.F[i])) {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("causal: no rows with both %q and %q", spec.Outcome, spec.TimeColumn)
	}
	y, _, ywarn, err := codeOutcome(yc, rows)
	if err != nil {
		return nil, err
	}
	after, label, err := periods(tc, rows, spec.Split)
	if err != nil {
		return nil, err
	}
	out := &causalv1.ExplainChangeResponse{}
	var s0, s1 float64
	for i := range rows {
		if after[i] {
			out.NAfter++
			s1 += y[i]
		} else {
			out.NBefore++
			s0 += y[i]
		}
	}
	if out.NBefore == 0 || out.NAfter == 0 {
		return nil, fmt.Errorf("causal: the split %s leaves a period empty", label)
	}
	out.Before, out.After = s0/float64(out.NBefore), s1/float64(out.NAfter)
	delta := out.After - out.Before
	type colSum struct {
		name      string
		mix, rate float64
		top       float64
	}
	var sums []colSum
	for _, seg := range spec.Segments {
		keys := segmentKeys(f.Col(seg), rows)
		type acc struct{ n0, n1, y0, y1 float64 }
		accs := map[string]*acc{}
		var order []string
		for i, k := range keys {
			a := accs[k]
			if a == nil {
				a = &acc{}
				accs[k] = a
				order = append(order, k)
			}
			if after[i] {
				a.n1++
				a.y1 += y[i]
			} else {
				a.n0++
				a.y0 += y[i]
			}
		}
		sort.Strings(order)
		cs := colSum{name: seg}
		for _, k := range order {
			a := accs[k]
			sh0, sh1 := a.n0/float64(out.NBefore), a.n1/float64(out.NAfter)
			r0, r1 := math.NaN(), math.NaN()
			if a.n0 > 0 {
				r0 = a.y0 / a.n0
			}
			if a.n1 > 0 {
				r1 = a.y1 / a.n1
			}
			var mix, rate float64
			switch {
			case a.n0 == 0:
				mix = sh1 * r1
			case a.n1 == 0:
				mix = -sh0 * r0
			default:
				mix = (sh1 - sh0) * (r0 + r1) / 2
				rate = (r1 - r0) * (sh0 + sh1) / 2
			}
			cs.mix += mix
			cs.rate += rate
			cs.top = math.Max(cs.top, math.Abs(mix+rate))
			out.Drivers = append(out.Drivers, &causalv1.ChangeDriver{Segment: seg + " = " + k, Column: seg, Level: k, MixEffect: mix, RateEffect: rate,
				ShareBefore: sh0, ShareAfter: sh1, RateBefore: nanZero(r0), RateAfter: nanZero(r1)})
		}
		sums = append(sums, cs)
	}
	sort.SliceStable(out.Drivers, func(a, b int) bool {
		da, db := out.Drivers[a], out.Drivers[b]
		return math.Abs(da.MixEffect+da.RateEffect) > math.Abs(db.MixEffect+db.RateEffect)
	})
	// The column whose decomposition puts most of the change into its mix (composition) or into a
	// single segment's rate is the most informative; rank by the larger of the two shares.
	sort.SliceStable(sums, func(a, b int) bool {
		return colScore(sums[a].mix, sums[a].top, delta) > colScore(sums[b].mix, sums[b].top, delta)
	})
	out.BestColumn = sums[0].name
	out.Findings = append(out.Findings, &commonv1.Finding{
		Statement: fmt.Sprintf("The mean of %s moved from %.4g (%d rows, %s) to %.4g (%d rows), a change of %+.4g.",
			spec.Outcome, out.Before, out.NBefore, label, out.After, out.NAfter, delta),
		Test:    "difference of period means",
		Values:  map[string]float64{"before": out.Before, "after": out.After, "change": delta},
		Columns: []string{spec.Outcome, spec.TimeColumn},
	})
	for _, cs := range sums {
		out.Findings = append(out.Findings, &commonv1.Finding{
			Statement: fmt.Sprintf("By %s: %+.4g of the change is mix (the population shifted between %s segments) and %+.4g is rate (%s changed within segments).",
				cs.name, cs.mix, cs.name, cs.rate, spec.Outcome),
			Test:    "mix/rate (shift-share) decomposition, symmetric weights",
			Values:  map[string]float64{"mix": cs.mix, "rate": cs.rate, "change": delta},
			Columns: []string{spec.Outcome, spec.TimeColumn, cs.name},
		})
	}
	for k, d := range out.Drivers {
		if k >= 3 {
			break
		}
		out.Findings = append(out.Findings, &commonv1.Finding{
			Statement: fmt.Sprintf("Driver %d: %s (share %.1f%% -> %.1f%%, mean %.4g -> %.4g) contributes %+.4g (mix %+.4g, rate %+.4g). This is an accounting of the change, not a causal effect: to ask whether acting on %s would change %s, estimate its effect with adjustment for confounders.",
				k+1, d.Segment, 100*d.ShareBefore, 100*d.ShareAfter, d.RateBefore, d.RateAfter, d.MixEffect+d.RateEffect, d.MixEffect, d.RateEffect, d.Column, spec.Outcome),
			Test:    "mix/rate decomposition (associational)",
			Values:  map[string]float64{"mix": d.MixEffect, "rate": d.RateEffect, "share_before": d.ShareBefore, "share_after": d.ShareAfter},
			Columns: []string{d.Column},
		})
	}
	if spec.DriverEffects >= 0 {
		out.DriverEffects = driverEffects(ctx, f, spec, rows, out.Drivers)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out.Findings = append(out.Findings, driverFindings(spec, out.DriverEffects)...)
	}
	if ywarn != "" {
		out.Findings = append(out.Findings, &commonv1.Finding{Statement: ywarn, Test: "outcome coding"})
	}
	return out, nil
}

func colScore(mix, top, delta float64) float64 {
	if delta == 0 {
		return math.Abs(mix) + top
	}
	return math.Max(math.Abs(mix), top) / math.Abs(delta)
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// periods marks the rows of the second period.
func periods(c *frame.Column, rows []int, split string) ([]bool, string, error) {
	after := make([]bool, len(rows))
	if c.Kind == frame.String {
		if split == "" {
			levels := distinctStrings(c, rows)
			if len(levels) != 2 {
				return nil, "", fmt.Errorf("causal: time column %q has %d values; give the split", c.Name, len(levels))
			}
			split = levels[1]
		}
		for i, r := range rows {
			after[i] = c.S[r] >= split
		}
		return after, fmt.Sprintf("%s < %q", c.Name, split), nil
	}
	var cut float64
	if split == "" {
		vals := make([]float64, len(rows))
		for i, r := range rows {
			vals[i] = c.F[r]
		}
		cut = quantile(vals, 0.5)
		// Ties at the median: put the median itself after unless that empties the second period.
		n1 := 0
		for _, v := range vals {
			if v >= cut {
				n1++
			}
		}
		if n1 == len(vals) {
			cut = math.Nextafter(cut, math.Inf(1))
		}
	} else {
		v, err := strconv.ParseFloat(strings.TrimSpace(split), 64)
		if err != nil && c.Kind == frame.Time {
			v, err = parseTime(split)
		}
		if err != nil {
			return nil, "", fmt.Errorf("causal: split %q is not a number or a date", split)
		}
		cut = v
	}
	for i, r := range rows {
		after[i] = c.F[r] >= cut
	}
	return after, fmt.Sprintf("%s < %s", c.Name, formatCut(c, cut)), nil
}

func formatCut(c *frame.Column, v float64) string {
	if c.Kind == frame.Time {
		return timeString(v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// segmentKeys labels each row by its segment of column c.
func segmentKeys(c *frame.Column, rows []int) []string {
	keys := make([]string, len(rows))
	if c.Kind == frame.String {
		for i, r := range rows {
			if c.Null[r] {
				keys[i] = "(missing)"
			} else {
				keys[i] = c.S[r]
			}
		}
		return keys
	}
	distinct := map[float64]bool{}
	var vals []float64
	for _, r := range rows {
		if !c.Null[r] && !math.IsNaN(c.F[r]) {
			distinct[c.F[r]] = true
			vals = append(vals, c.F[r])
		}
	}
	var qs []float64
	if len(distinct) > 10 {
		qs = []float64{quantile(vals, 0.25), quantile(vals, 0.5), quantile(vals, 0.75)}
	}
	for i, r := range rows {
		v := c.F[r]
		switch {
		case c.Null[r] || math.IsNaN(v):
			keys[i] = "(missing)"
		case qs == nil && c.Kind == frame.Bool:
			keys[i] = strconv.FormatBool(v == 1)
		case qs == nil:
			keys[i] = strconv.FormatFloat(v, 'g', -1, 64)
		case v <= qs[0]:
			keys[i] = fmt.Sprintf("Q1 (<= %.4g)", qs[0])
		case v <= qs[1]:
			keys[i] = fmt.Sprintf("Q2 (%.4g, %.4g]", qs[0], qs[1])
		case v <= qs[2]:
			keys[i] = fmt.Sprintf("Q3 (%.4g, %.4g]", qs[1], qs[2])
		default:
			keys[i] = fmt.Sprintf("Q4 (> %.4g)", qs[2])
		}
	}
	return keys
}

func parseTime(s string) (float64, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02", "2006-01"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return float64(t.UnixNano()) / 1e9, nil
		}
	}
	return 0, fmt.Errorf("causal: cannot read %q as a date", s)
}

func timeString(v float64) string {
	t := time.Unix(0, int64(v*1e9)).UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format(time.RFC3339)
}
