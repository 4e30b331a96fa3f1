package causal

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// Labels of a driver's effect estimate.
const (
	LabelCausal        = "CAUSAL"
	LabelAssociational = "ASSOCIATIONAL"
)

// DefaultDriverEffects is how many of the top drivers (distinct columns) get an effect estimate.
const DefaultDriverEffects = 3

// driverEffects estimates, for the top drivers of a change, the effect of the driver (binarised:
// the driver's segment against the other rows, or above the median for a numeric column cut into
// quartiles) on the outcome, adjusting for the other segment columns and the covariates. The
// estimate is labelled CAUSAL only when spec.Graph says the adjustment set actually used blocks
// every back-door path.
func driverEffects(ctx context.Context, f *frame.Frame, spec ChangeSpec, rows []int, drivers []*causalv1.ChangeDriver) []*causalv1.DriverEffect {
	k := spec.DriverEffects
	if k == 0 {
		k = DefaultDriverEffects
	}
	method := spec.Method
	if method == "" {
		method = MethodAIPW
	}
	var out []*causalv1.DriverEffect
	done := map[string]bool{}
	for rank, d := range drivers {
		if len(out) >= k {
			break
		}
		if done[d.Column] || d.Level == "(missing)" {
			continue
		}
		done[d.Column] = true
		de := &causalv1.DriverEffect{Column: d.Column, Rank: int32(rank + 1)}
		out = append(out, de)
		tcol, desc, err := binariseDriver(f.Col(d.Column), rows, d.Level)
		if err != nil {
			de.Error = err.Error()
			continue
		}
		de.Treatment = desc
		var conf []string
		for _, c := range append(append([]string{}, spec.Segments...), spec.Covariates...) {
			if c != d.Column && c != spec.Outcome && !contains(conf, c) {
				conf = append(conf, c)
			}
		}
		g := &frame.Frame{Rows: f.Rows}
		for _, c := range f.Columns {
			if c.Name == d.Column {
				g.Columns = append(g.Columns, tcol)
			} else {
				g.Columns = append(g.Columns, c)
			}
		}
		es := Spec{Treatment: d.Column, Outcome: spec.Outcome, Confounders: conf, Method: method, TreatedValue: "1", Seed: spec.Seed}
		var reason string
		if spec.Graph != nil {
			if missing := missingNodes(spec.Graph, d.Column, spec.Outcome); missing != "" {
				reason = fmt.Sprintf("%s is not a node of the graph, so the graph cannot say whether the adjustment is complete", missing)
			} else {
				es.Graph = spec.Graph
			}
		}
		est, _, err := estimateAll(ctx, g, es)
		if err != nil && es.Graph != nil && ctx.Err() == nil {
			// The graph may ask for a front door or instrument the binarised driver cannot support:
			// fall back to the candidate adjustment.
			reason = fmt.Sprintf("the graph's estimate could not be computed (%v)", err)
			es.Graph = nil
			est, _, err = estimateAll(ctx, g, es)
		}
		if err != nil {
			de.Error = err.Error()
			de.Label = LabelAssociational
			de.Reason = "no estimate"
			continue
		}
		de.Estimate = est
		switch {
		case es.Graph == nil && reason == "":
			de.Label = LabelAssociational
			de.Reason = fmt.Sprintf("no graph was given, so whether {%s} blocks every back-door path from %s to %s is assumed, not checked",
				strings.Join(conf, ", "), d.Column, spec.Outcome)
		case es.Graph == nil:
			de.Label, de.Reason = LabelAssociational, reason
		case associational(est):
			de.Label, de.Reason = LabelAssociational, est.Identification
		default:
			de.Label, de.Reason = LabelCausal, est.Identification
		}
		if de.Label == LabelCausal {
			de.Reason += fmt.Sprintf(" (The graph's %s node stands for the binarised driver: %s.)", d.Column, desc)
		}
	}
	return out
}

func associational(est *causalv1.Estimate) bool {
	for _, w := range est.Warnings {
		if strings.HasPrefix(w, "ASSOCIATIONAL") {
			return true
		}
	}
	return false
}

func missingNodes(g *Graph, names ...string) string {
	for _, n := range names {
		if !g.has(n) {
			return n
		}
	}
	return ""
}

// binariseDriver codes the driver as 0/1 (null outside rows or where the driver is missing): its
// segment level against the other levels, or above its median for a numeric column with many
// values (the decomposition's quartiles).
func binariseDriver(c *frame.Column, rows []int, level string) (*frame.Column, string, error) {
	out := &frame.Column{Name: c.Name, Kind: frame.Float, F: make([]float64, len(c.Null)), Null: make([]bool, len(c.Null))}
	for i := range out.Null {
		out.Null[i] = true
	}
	keys := segmentKeys(c, rows)
	quart := strings.HasPrefix(level, "Q") && strings.Contains(level, "(") && c.Kind != frame.String
	var med float64
	var desc string
	if quart {
		var vals []float64
		for _, r := range rows {
			if !c.Null[r] && !math.IsNaN(c.F[r]) {
				vals = append(vals, c.F[r])
			}
		}
		med = quantile(vals, 0.5)
		desc = fmt.Sprintf("%s above its median %.4g (vs at or below)", c.Name, med)
	} else if lv := presentKeys(keys); len(lv) == 2 {
		// Two levels make one partition whichever drove the change: treat the recognisably
		// positive level (else the larger number, or the second in sorted order) as treated.
		other := lv[0]
		level = lv[1]
		x, e0 := strconv.ParseFloat(lv[0], 64)
		y, e1 := strconv.ParseFloat(lv[1], 64)
		switch a, b := positiveLevels[strings.ToLower(lv[0])], positiveLevels[strings.ToLower(lv[1])]; {
		case a && !b:
			level, other = lv[0], lv[1]
		case b && !a:
		case e0 == nil && e1 == nil && x > y:
			level, other = lv[0], lv[1]
		}
		desc = fmt.Sprintf("%s = %s (vs %s)", c.Name, level, other)
	} else {
		desc = fmt.Sprintf("%s = %s (vs the other levels)", c.Name, level)
	}
	n1, n0 := 0, 0
	for i, r := range rows {
		if keys[i] == "(missing)" {
			continue
		}
		out.Null[r] = false
		if (quart && c.F[r] > med) || (!quart && keys[i] == level) {
			out.F[r] = 1
			n1++
		} else {
			n0++
		}
	}
	if n1 < 2 || n0 < 2 {
		return nil, "", fmt.Errorf("causal: driver %s leaves %d rows treated and %d untreated", desc, n1, n0)
	}
	return out, desc, nil
}

// driverFindings states the driver effects in words.
func driverFindings(spec ChangeSpec, des []*causalv1.DriverEffect) []*commonv1.Finding {
	var out []*commonv1.Finding
	for _, de := range des {
		if de.Estimate == nil {
			out = append(out, &commonv1.Finding{Statement: fmt.Sprintf("The effect of driver %s on %s could not be estimated: %s", de.Column, spec.Outcome, de.Error),
				Test: "effect estimate", Columns: []string{de.Column, spec.Outcome}})
			continue
		}
		e := de.Estimate
		out = append(out, &commonv1.Finding{
			Statement: fmt.Sprintf("%s: %s changes %s by %+.4g (95%% CI %.4g to %.4g, %s, adjusted for {%s}). %s",
				de.Label, de.Treatment, spec.Outcome, e.Ate, e.CiLow, e.CiHigh, e.Method, strings.Join(e.AdjustmentSet, ", "), de.Reason),
			Test:    "effect estimate (" + e.Method + ")",
			Values:  map[string]float64{"ate": e.Ate, "ci_low": e.CiLow, "ci_high": e.CiHigh, "naive_difference": e.NaiveDifference},
			Columns: append([]string{de.Column, spec.Outcome}, e.AdjustmentSet...),
		})
	}
	return out
}

// presentKeys lists the distinct non-missing segment keys, sorted.
func presentKeys(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if k != "(missing)" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
