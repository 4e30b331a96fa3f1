package causal

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/glm"
)

// MaxTreatmentLevels bounds the levels of a treatment compared level by level with a reference.
const MaxTreatmentLevels = 20

// controlLevels are text values recognised as the reference (control) level.
var controlLevels = map[string]bool{
	"control": true, "none": true, "placebo": true, "no": true, "0": true, "false": true, "untreated": true,
	"baseline": true, "off": true, "standard": true, "reference": true,
}

// treatmentLevels returns the levels (as strings, sorted; numerically for numbers) of a treatment
// with more than two values, or nil.
func treatmentLevels(c *frame.Column) []string {
	var out []string
	if c.Kind == frame.String {
		seen := map[string]bool{}
		for i, s := range c.S {
			if !c.Null[i] && !seen[s] {
				seen[s] = true
				out = append(out, s)
				if len(out) > MaxTreatmentLevels {
					return nil // too many to compare one by one (an ID, a free-text column)
				}
			}
		}
		sort.Strings(out)
	} else {
		seen := map[float64]bool{}
		var vals []float64
		for i, v := range c.F {
			if !c.Null[i] && !math.IsNaN(v) && !seen[v] {
				seen[v] = true
				vals = append(vals, v)
				if len(vals) > MaxTreatmentLevels {
					return nil
				}
			}
		}
		sort.Float64s(vals)
		for _, v := range vals {
			out = append(out, glm.LevelString(v))
		}
	}
	if len(out) <= 2 {
		return nil
	}
	return out
}

// chooseReference picks the reference level: the given one, a recognisable control level, or the
// first level.
func chooseReference(levels []string, given string) (string, error) {
	if given != "" {
		for _, l := range levels {
			if l == given || levelEqual(l, given) {
				return l, nil
			}
		}
		return "", fmt.Errorf("causal: reference value %q does not occur in the treatment (values: %s)", given, strings.Join(levels, ", "))
	}
	for _, l := range levels {
		if controlLevels[strings.ToLower(l)] {
			return l, nil
		}
	}
	return levels[0], nil
}

func levelEqual(a, b string) bool {
	x, e1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, e2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return e1 == nil && e2 == nil && x == y
}

// otherLevels marks the rows that keepLevels set aside: rows whose treatment is not missing but at
// a level other than the two compared. prepare counts them apart from rows with missing values
// (tips' size 1 vs 2 used to say "dropped 84 of 244 rows with a missing treatment" for the rows of
// sizes 3 to 6).
type otherLevels struct {
	row    []bool
	levels []string // the other levels, in the treatment's order
	kept   []string // the two compared: level, reference
}

// keepLevels returns f with the treatment missing outside the two levels, and which rows that
// sets aside.
func keepLevels(f *frame.Frame, treatment string, keep ...string) (*frame.Frame, *otherLevels) {
	g := &frame.Frame{Rows: f.Rows}
	ol := &otherLevels{kept: keep}
	seen := map[string]bool{}
	for _, c := range f.Columns {
		if c.Name != treatment {
			g.Columns = append(g.Columns, c)
			continue
		}
		m := *c
		m.Null = make([]bool, len(c.Null))
		for i := range m.Null {
			v := ""
			if !c.Null[i] {
				if c.Kind == frame.String {
					v = c.S[i]
				} else if !math.IsNaN(c.F[i]) {
					v = glm.LevelString(c.F[i])
				}
			}
			m.Null[i] = c.Null[i] || !contains(keep, v)
		}
		ol.row = make([]bool, len(c.Null))
		for i := range m.Null {
			ol.row[i] = m.Null[i] && !glm.Missing(c, i)
		}
		for _, l := range treatmentLevels(c) {
			if !contains(keep, l) && !seen[l] {
				seen[l] = true
				ol.levels = append(ol.levels, l)
			}
		}
		g.Columns = append(g.Columns, &m)
	}
	return g, ol
}

// estimateLevels estimates each level of a multi-level treatment against the reference level
// (among the rows at those two levels, with the same method and adjustment). The headline estimate
// is spec.TreatedValue against all other rows when given, otherwise the first non-reference level
// against the reference, with the full diagnostics.
func estimateLevels(ctx context.Context, f *frame.Frame, spec Spec, levels []string) (*causalv1.Estimate, *Individual, error) {
	ref, err := chooseReference(levels, spec.ReferenceValue)
	if err != nil {
		return nil, nil, err
	}
	var les []*causalv1.LevelEffect
	// The headline level: the first that could be compared with the reference (a level with one
	// row cannot, and made the whole estimate fail with "need at least 2 treated and 2 control
	// rows"); the first level when none could.
	var first, firstTried string
	for _, l := range levels {
		if l == ref {
			continue
		}
		if firstTried == "" {
			firstTried = l
		}
		sub := spec
		sub.TreatedValue, sub.SkipRefutations, sub.Bootstrap, sub.noLevels = l, true, 0, true
		var g *frame.Frame
		g, sub.others = keepLevels(f, spec.Treatment, l, ref)
		e, _, err := estimateAll(ctx, g, sub)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err
			}
			les = append(les, &causalv1.LevelEffect{Level: l, Reference: ref, Ate: math.NaN(), CiLow: math.NaN(), CiHigh: math.NaN(), StdError: math.NaN(),
				Warnings: []string{"could not be estimated: " + err.Error()}})
			continue
		}
		if first == "" {
			first = l
		}
		le := &causalv1.LevelEffect{Level: l, Reference: ref, Ate: e.Ate, CiLow: e.CiLow, CiHigh: e.CiHigh, StdError: e.StdError,
			NLevel: e.NTreated, NReference: e.NControl, Method: e.Method}
		for _, w := range e.Warnings {
			// Row counts are in n_level and n_reference; dropped confounder terms stay.
			if !strings.HasPrefix(w, "dropped ") && !strings.HasPrefix(w, "left out ") || strings.HasPrefix(w, "dropped confounder term") {
				le.Warnings = append(le.Warnings, w)
			}
		}
		les = append(les, le)
	}
	if first == "" {
		first = firstTried
	}
	head := spec
	head.noLevels = true
	var note string
	g := f
	if spec.TreatedValue == "" {
		head.TreatedValue = first
		g, head.others = keepLevels(f, spec.Treatment, first, ref)
		n := 0
		for _, o := range head.others.row {
			if o {
				n++
			}
		}
		note = fmt.Sprintf("treatment %q has %d levels: the headline estimate compares only %s = %s with the reference %s; the %d rows at the other levels (%s) are not in it. level_effects compares each level with %s (among the rows at the two levels)",
			spec.Treatment, len(levels), spec.Treatment, first, ref, n, strings.Join(head.others.levels, ", "), ref)
		if first != firstTried {
			note += fmt.Sprintf(". %q, the first level, could not be compared with the reference (its level effect says why)", firstTried)
		}
	} else {
		note = fmt.Sprintf("treatment %q has %d levels: the headline estimate is %q vs all other levels; level_effects compare each level with the reference %q",
			spec.Treatment, len(levels), spec.TreatedValue, ref)
	}
	est, ind, err := estimateAll(ctx, g, head)
	if err != nil {
		return nil, nil, err
	}
	est.LevelEffects, est.ReferenceValue = les, ref
	est.Warnings = append([]string{note}, est.Warnings...)
	return est, ind, nil
}
