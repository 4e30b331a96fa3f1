package causal

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/glm"
)

type prepared struct {
	treatedValue string
	warns        []string
}

// positiveLevels are text values recognised as "treated" (or as the positive outcome).
var positiveLevels = map[string]bool{
	"1": true, "true": true, "t": true, "yes": true, "y": true, "treated": true, "treatment": true,
	"treat": true, "on": true, "exposed": true, "case": true, "positive": true,
}

// prepare checks the spec against the frame and builds the analysis sample.
func prepare(f *frame.Frame, spec *Spec) (*data, *prepared, error) {
	if spec.Treatment == "" || spec.Outcome == "" {
		return nil, nil, fmt.Errorf("causal: treatment and outcome are required")
	}
	if spec.Treatment == spec.Outcome {
		return nil, nil, fmt.Errorf("causal: treatment and outcome are the same column %q", spec.Treatment)
	}
	seen := map[string]bool{}
	for _, c := range append([]string{spec.Treatment, spec.Outcome}, spec.Confounders...) {
		if f.Col(c) == nil {
			return nil, nil, fmt.Errorf("causal: unknown column %q", c)
		}
		if seen[c] {
			return nil, nil, fmt.Errorf("causal: column %q is used twice (treatment, outcome and confounders must differ)", c)
		}
		seen[c] = true
	}
	for _, c := range spec.Squared {
		if !contains(spec.Confounders, c) {
			return nil, nil, fmt.Errorf("causal: squared term %q is not a confounder", c)
		}
		if col := f.Col(c); col.Kind == frame.String || contains(spec.Categorical, c) {
			return nil, nil, fmt.Errorf("causal: squared term %q is categorical", c)
		}
	}
	for _, c := range spec.Categorical {
		if !contains(spec.Confounders, c) {
			return nil, nil, fmt.Errorf("causal: categorical column %q is not a confounder", c)
		}
	}
	prep := &prepared{}
	design, err := glm.BuildDesign(f, glm.DesignSpec{
		Columns:     spec.Confounders,
		Categorical: spec.Categorical,
		Squared:     spec.Squared,
		Require:     []string{spec.Treatment, spec.Outcome},
	})
	if err == glm.ErrNoRows {
		return nil, nil, fmt.Errorf("causal: no rows without missing treatment, outcome or confounders")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("causal: %w", err)
	}
	if design.Dropped > 0 {
		total, other := design.Dropped+len(design.Rows), 0
		if o := spec.others; o != nil {
			in := make([]bool, f.Rows)
			for _, r := range design.Rows {
				in[r] = true
			}
			for r, x := range o.row {
				if x && !in[r] {
					other++
				}
			}
			if other > 0 {
				prep.warns = append(prep.warns, fmt.Sprintf("left out %d of %d rows whose %s is at another level (%s): only %s = %s and %s = %s are compared here",
					other, total, spec.Treatment, strings.Join(o.levels, ", "), spec.Treatment, o.kept[0], spec.Treatment, o.kept[1]))
			}
		}
		if missing := design.Dropped - other; missing > 0 {
			prep.warns = append(prep.warns, fmt.Sprintf("dropped %d of %d rows with a missing treatment, outcome or confounder value", missing, total))
		}
	}
	d := &data{X: design.X, names: design.Names(), rows: design.Rows}
	for j, t := range design.Terms {
		if t.Kind == glm.TermNumeric || t.Kind == glm.TermLevel {
			d.bal = append(d.bal, j)
		}
	}
	var w string
	d.t, prep.treatedValue, w, err = codeTreatment(f.Col(spec.Treatment), design.Rows, spec.TreatedValue)
	if err != nil {
		return nil, nil, err
	}
	// A treated value of a many-valued treatment that too few rows have is the sign of a
	// treatment that is not binary: say that rather than "need at least 2 treated rows".
	if n1 := countOnes(d.t); (n1 < 2 || len(d.t)-n1 < 2) && spec.TreatedValue != "" && !isThreshold(spec.TreatedValue) {
		if c := f.Col(spec.Treatment); c.Kind == frame.String && len(distinctStrings(c, design.Rows)) > 2 || c.Kind != frame.String && len(distinctFloats(c, design.Rows)) > 2 {
			return nil, nil, tooFewTreated(c, design.Rows, d.t, spec.TreatedValue)
		}
	}
	if w != "" {
		prep.warns = append(prep.warns, w)
	}
	d.y, d.binaryY, w, err = codeOutcome(f.Col(spec.Outcome), design.Rows)
	if err != nil {
		return nil, nil, err
	}
	if w != "" {
		prep.warns = append(prep.warns, w)
	}
	// Constant confounder columns make every model singular: say which.
	n, p := d.X.Dims()
	for j := 1; j < p; j++ {
		v0, constant := d.X.At(0, j), true
		for i := 1; i < n && constant; i++ {
			constant = d.X.At(i, j) == v0
		}
		if constant {
			return nil, nil, fmt.Errorf("causal: confounder term %q is constant in the analysis sample", d.names[j])
		}
	}
	// Terms that are exact combinations of others (dummy levels shared by several columns) made
	// every model singular: drop them, saying which (TestCollinearConfoundersTelco).
	prep.warns = append(prep.warns, dropCollinear(d)...)
	return d, prep, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// treatmentNotBinary says why a treatment with n distinct values (more than MaxTreatmentLevels, so
// not compared level by level) cannot be estimated as given, and how to fix it. text says the
// column is text, for which the example derives the binary column by comparing with a value
// rather than with a threshold.
//
// A numeric treatment's message suggests a threshold inside the data (sorted: its values among the
// analysis rows), the median, as the treated value or for a derived column; it once suggested
// "> 100" whatever the values were (for titanic's age, no row).
func treatmentNotBinary(name string, n int, text bool, sorted []float64) error {
	if !text {
		return fmt.Errorf("causal: treatment %q has %d distinct values (%s); the treatment must be binary (treated or not), or have at most %d levels "+
			"that are each compared with a reference. To make it binary, %s; or give one value as the treated value to compare it with all the others",
			name, n, rangeText(sorted), MaxTreatmentLevels, thresholdExample(name, sorted))
	}
	example := "for example one value against the others: vds exec FILE --sql \"SELECT *, " + quoteIdent(name) +
		" = 'VALUE' AS treated FROM <file name without extension>\" --save, with VALUE the treated value"
	return fmt.Errorf("causal: treatment %q has %d distinct values; the treatment must be binary (treated or not), or have at most %d levels "+
		"that are each compared with a reference. Derive a binary column and use it as the treatment (%s), or give the treated value to compare it with all the others",
		name, n, MaxTreatmentLevels, example)
}

func countOnes(t []float64) int {
	n := 0
	for _, v := range t {
		if v == 1 {
			n++
		}
	}
	return n
}

// treatmentConstant says that a treatment with n < 2 distinct values among the analysis rows
// (value: the only one, when n is 1) cannot have an effect estimated.
func treatmentConstant(name string, n int, value string) error {
	has := "no non-missing values"
	if n == 1 {
		has = "only one value (" + value + ")"
	}
	return fmt.Errorf("causal: the treatment column %q does not vary: it has %s; an effect needs treated and untreated rows", name, has)
}

// quoteIdent quotes a column name for SQL when it is not a plain identifier.
func quoteIdent(name string) string {
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		}
	}
	return name
}

// codeTreatment turns the treatment column into 0/1.
func codeTreatment(c *frame.Column, rows []int, treated string) ([]float64, string, string, error) {
	t := make([]float64, len(rows))
	warn := ""
	if c.Kind == frame.String {
		levels := distinctStrings(c, rows)
		if len(levels) < 2 {
			value := ""
			if len(levels) == 1 {
				value = levels[0]
				if r := []rune(value); len(r) > 60 {
					value = string(r[:60]) + "…"
				}
				value = strconv.Quote(value)
			}
			return nil, "", "", treatmentConstant(c.Name, len(levels), value)
		}
		if treated != "" {
			if !contains(levels, treated) && isThreshold(treated) {
				return nil, "", "", fmt.Errorf("causal: treated value %q is a threshold, but treatment %q is text; give one of its values (%s)", treated, c.Name, listLevels(levels))
			}
			if !contains(levels, treated) {
				return nil, "", "", fmt.Errorf("causal: treated value %q does not occur in %q (values: %s)", treated, c.Name, strings.Join(levels, ", "))
			}
			if len(levels) > 2 {
				warn = fmt.Sprintf("treatment %q has %d values; %q counts as treated and all others as control", c.Name, len(levels), treated)
			}
		} else {
			if len(levels) != 2 {
				return nil, "", "", treatmentNotBinary(c.Name, len(levels), true, nil)
			}
			treated = levels[1]
			switch a, b := positiveLevels[strings.ToLower(levels[0])], positiveLevels[strings.ToLower(levels[1])]; {
			case a && !b:
				treated = levels[0]
			case b && !a:
			default:
				warn = fmt.Sprintf("treatment %q: no treated value given, %q counts as treated and %q as control", c.Name, levels[1], levels[0])
			}
		}
		for i, r := range rows {
			if c.S[r] == treated {
				t[i] = 1
			}
		}
		return t, treated, warn, nil
	}
	vals := distinctFloats(c, rows)
	if len(vals) < 2 {
		value := ""
		if len(vals) == 1 {
			value = glm.LevelString(vals[0])
			if c.Kind == frame.Bool {
				value = strconv.FormatBool(vals[0] == 1)
			}
		}
		return nil, "", "", treatmentConstant(c.Name, len(vals), value)
	}
	if th, ok := parseThreshold(treated); ok {
		t, err := thresholdTreatment(c, rows, th)
		if err != nil {
			return nil, "", "", err
		}
		return t, th.String(), "", nil
	}
	var tv float64
	switch {
	case treated != "":
		v, err := strconv.ParseFloat(strings.TrimSpace(treated), 64)
		if err != nil {
			if c.Kind == frame.Bool && positiveLevels[strings.ToLower(treated)] {
				v = 1
			} else if c.Kind == frame.Bool && (strings.EqualFold(treated, "false") || strings.EqualFold(treated, "no")) {
				v = 0
			} else {
				return nil, "", "", fmt.Errorf("causal: treated value %q is not a number but %q is numeric", treated, c.Name)
			}
		}
		found := false
		for _, x := range vals {
			found = found || x == v
		}
		if !found {
			return nil, "", "", fmt.Errorf("causal: treated value %q does not occur in %q", treated, c.Name)
		}
		if len(vals) > 2 {
			warn = fmt.Sprintf("treatment %q has %d values; %s counts as treated and all others as control", c.Name, len(vals), glm.LevelString(v))
		}
		tv = v
	case len(vals) == 2 && vals[0] == 0 && vals[1] == 1:
		tv = 1
	case len(vals) == 2:
		tv = vals[1]
		warn = fmt.Sprintf("treatment %q is not 0/1: %s counts as treated and %s as control", c.Name, glm.LevelString(vals[1]), glm.LevelString(vals[0]))
	default:
		return nil, "", "", treatmentNotBinary(c.Name, len(vals), false, numericValues(c, rows))
	}
	for i, r := range rows {
		if c.F[r] == tv {
			t[i] = 1
		}
	}
	tvs := glm.LevelString(tv)
	if c.Kind == frame.Bool {
		tvs = strconv.FormatBool(tv == 1)
	}
	return t, tvs, warn, nil
}

// codeOutcome returns the outcome as numbers; a two-valued text outcome becomes 0/1.
func codeOutcome(c *frame.Column, rows []int) ([]float64, bool, string, error) {
	y := make([]float64, len(rows))
	if c.Kind == frame.String {
		levels := distinctStrings(c, rows)
		if len(levels) != 2 {
			return nil, false, "", fmt.Errorf("causal: outcome %q is text with %d values; it must be numeric or binary", c.Name, len(levels))
		}
		pos := levels[1]
		if positiveLevels[strings.ToLower(levels[0])] && !positiveLevels[strings.ToLower(levels[1])] {
			pos = levels[0]
		}
		for i, r := range rows {
			if c.S[r] == pos {
				y[i] = 1
			}
		}
		return y, true, fmt.Sprintf("outcome %q is text: coded 1 for %q and 0 otherwise, so the effect is a risk difference", c.Name, pos), nil
	}
	binary := true
	for i, r := range rows {
		v := c.F[r]
		if math.IsInf(v, 0) {
			return nil, false, "", fmt.Errorf("causal: outcome %q has an infinite value", c.Name)
		}
		y[i] = v
		binary = binary && (v == 0 || v == 1)
	}
	return y, binary, "", nil
}

func distinctStrings(c *frame.Column, rows []int) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if !seen[c.S[r]] {
			seen[c.S[r]] = true
			out = append(out, c.S[r])
		}
	}
	sort.Strings(out)
	return out
}

func distinctFloats(c *frame.Column, rows []int) []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, r := range rows {
		if !seen[c.F[r]] {
			seen[c.F[r]] = true
			out = append(out, c.F[r])
		}
	}
	sort.Float64s(out)
	return out
}
