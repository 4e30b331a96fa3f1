package causal

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/glm"
)

// threshold is a treated value written as a comparison (">28", "<= 3.5"): the rows whose numeric
// treatment meets it are treated, the others control.
type threshold struct {
	op string
	x  float64
}

var thresholdRE = regexp.MustCompile(`^\s*(>=|<=|>|<)\s*(\S+)\s*$`)

// parseThreshold reads a treated value as a threshold; ok is false when it is not one.
func parseThreshold(s string) (threshold, bool) {
	m := thresholdRE.FindStringSubmatch(s)
	if m == nil {
		return threshold{}, false
	}
	x, err := strconv.ParseFloat(m[2], 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return threshold{}, false
	}
	return threshold{m[1], x}, true
}

// isThreshold reports whether a treated value is a threshold.
func isThreshold(s string) bool {
	_, ok := parseThreshold(s)
	return ok
}

func (t threshold) meets(v float64) bool {
	switch t.op {
	case ">":
		return v > t.x
	case ">=":
		return v >= t.x
	case "<":
		return v < t.x
	}
	return v <= t.x
}

// String is the threshold as a treated value: ">28".
func (t threshold) String() string { return t.op + glm.LevelString(t.x) }

// numericValues returns the non-missing values of a numeric column at rows, sorted.
func numericValues(c *frame.Column, rows []int) []float64 {
	out := make([]float64, 0, len(rows))
	for _, r := range rows {
		if v := c.F[r]; !math.IsNaN(v) && !c.Null[r] {
			out = append(out, v)
		}
	}
	sort.Float64s(out)
	return out
}

func medianSorted(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// suggestThreshold is a threshold inside the data that splits it near the middle: above the
// median, or at least the median when the median is the largest value.
func suggestThreshold(sorted []float64) threshold {
	m := medianSorted(sorted)
	if m < sorted[len(sorted)-1] {
		return threshold{">", m}
	}
	return threshold{">=", m}
}

// rangeText says where a numeric treatment's values lie: "from 0.42 to 80, median 28".
func rangeText(sorted []float64) string {
	return fmt.Sprintf("from %s to %s, median %s", glm.LevelString(sorted[0]), glm.LevelString(sorted[len(sorted)-1]), glm.LevelString(medianSorted(sorted)))
}

// thresholdTreatment codes a numeric treatment by a threshold. A threshold that fewer than 2 rows
// meet, or fail, is refused with the column's range and a threshold inside it.
func thresholdTreatment(c *frame.Column, rows []int, th threshold) ([]float64, error) {
	t := make([]float64, len(rows))
	n1 := 0
	for i, r := range rows {
		if th.meets(c.F[r]) {
			t[i] = 1
			n1++
		}
	}
	n0 := len(rows) - n1
	if n1 >= 2 && n0 >= 2 {
		return t, nil
	}
	vals := numericValues(c, rows)
	cond := c.Name + " " + th.op + " " + glm.LevelString(th.x)
	var what string
	switch {
	case n1 == 0:
		what = "no row has " + cond
	case n0 == 0:
		what = "every row has " + cond
	case n1 < 2:
		what = fmt.Sprintf("only 1 row has %s", cond)
	default:
		what = fmt.Sprintf("only %d of %d rows do not have %s", n0, len(rows), cond)
	}
	return nil, fmt.Errorf("causal: %s, so there are %d treated and %d control rows (an effect needs at least 2 of each): %s ranges %s in the analysis rows; "+
		"give a threshold inside that range, for example %q", what, n1, n0, c.Name, rangeText(vals), suggestThreshold(vals).String())
}

// thresholdExample says how to make a numeric treatment binary: a threshold as the treated value,
// with the rows' range, or a derived column.
func thresholdExample(name string, sorted []float64) string {
	th := suggestThreshold(sorted)
	return fmt.Sprintf("give a threshold as the treated value, for example %q (%s %s %s is treated, the other rows are control; %s ranges %s; "+
		"vds effect --treated-value '%s'), or derive a binary column and use it as the treatment (vds exec FILE --sql \"SELECT *, %s %s %s AS treated FROM <file name without extension>\" --save)",
		th.String(), name, th.op, glm.LevelString(th.x), name, rangeText(sorted), th.String(), quoteIdent(name), th.op, glm.LevelString(th.x))
}

// tooFewTreated explains a treated value that fewer than 2 rows have (or that all but one row
// have) when the treatment has more than two values: it is not a binary treatment.
func tooFewTreated(c *frame.Column, rows []int, t []float64, treated string) error {
	n1 := countOnes(t)
	n0 := len(t) - n1
	var distinct int
	var how string
	if c.Kind == frame.String {
		levels := distinctStrings(c, rows)
		distinct = len(levels)
		how = "give a treated value that more rows have, or derive a binary column and use it as the treatment (vds exec FILE --sql \"SELECT *, " +
			quoteIdent(c.Name) + " IN ('VALUE', …) AS treated FROM <file name without extension>\" --save)"
	} else {
		vals := numericValues(c, rows)
		distinct = len(distinctFloats(c, rows))
		how = thresholdExample(c.Name, vals)
	}
	return fmt.Errorf("causal: treatment %q has %d distinct values, and the treated value %s leaves %d treated and %d control rows (an effect needs at least 2 of each); "+
		"the treatment must be binary: %s", c.Name, distinct, strconv.Quote(strings.TrimSpace(treated)), n1, n0, how)
}

// listLevels joins up to 20 levels, saying how many more there are.
func listLevels(levels []string) string {
	if len(levels) <= 20 {
		return strings.Join(levels, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(levels[:20], ", "), len(levels)-20)
}
