package learn

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vdsproject/vds/libs/frame"
)

// arithmeticLeak looks for a numeric target that is a sum or difference of numeric features plus one
// of a few constants — a total that includes the target (taxis: tip = total − fare − tolls + a fixed
// surcharge). Such features are recorded from the outcome; a model would learn the arithmetic, not
// the data. It returns the features to drop and the equation in words, or nothing.
func arithmeticLeak(f *frame.Frame, t *targetInfo, feats []string) ([]string, string) {
	if t.task != TaskRegression || len(t.rows) < 30 {
		return nil, ""
	}
	type cand struct {
		name string
		x    []float64
		corr float64
	}
	var cs []cand
	for _, name := range feats {
		c := f.Col(name)
		if c == nil || c.Kind != frame.Float {
			continue
		}
		x := make([]float64, len(t.rows))
		ok := true
		for i, r := range t.rows {
			if x[i] = numAt(c, r); math.IsNaN(x[i]) {
				ok = false
				break
			}
		}
		// Columns with few values (codes, counts) make any small-valued target look like arithmetic.
		if ok && distinctAtLeast(x, 20) {
			cs = append(cs, cand{name, x, math.Abs(pearson(x, t.y))})
		}
	}
	if !distinctAtLeast(t.y, 50) {
		return nil, ""
	}
	if len(cs) == 0 {
		return nil, ""
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].corr > cs[j].corr })
	if len(cs) > 7 {
		cs = cs[:7] // 3^7 sign patterns at most
	}
	n := len(t.rows)
	scale := 0.0
	for _, v := range t.y {
		scale = math.Max(scale, math.Abs(v))
	}
	tol := math.Max(scale*1e-9, 1e-9)
	maxDistinct := 50 // residual values; the 10 most common must cover 95% of rows
	signs := make([]int, len(cs))
	for i := range signs {
		signs[i] = -1
	}
	var best []int
	bestTerms := 0
	for done := false; !done; done = nextSigns(signs) {
		terms := 0
		for _, s := range signs {
			if s != 0 {
				terms++
			}
		}
		if terms == 0 || (best != nil && terms >= bestTerms) {
			continue
		}
		// Most patterns show more than maxDistinct residuals within a few rows: stop there.
		seen := make(map[float64]int, maxDistinct+1)
		for k := 0; k < n && len(seen) <= maxDistinct; k++ {
			v := t.y[k]
			for j, s := range signs {
				v -= float64(s) * cs[j].x[k]
			}
			seen[math.Round(v/tol)]++
		}
		if len(seen) <= maxDistinct && len(seen) < n/10 && topShare(seen, 10) >= 0.95 {
			best, bestTerms = append([]int(nil), signs...), terms
		}
	}
	if best == nil {
		return nil, ""
	}
	var pos, neg, all []string
	var eq strings.Builder
	fmt.Fprintf(&eq, "%s =", t.name)
	first := true
	for j, s := range best {
		switch {
		case s > 0:
			pos = append(pos, cs[j].name)
			if first {
				fmt.Fprintf(&eq, " %s", cs[j].name)
			} else {
				fmt.Fprintf(&eq, " + %s", cs[j].name)
			}
		case s < 0:
			neg = append(neg, cs[j].name)
			fmt.Fprintf(&eq, " − %s", cs[j].name)
		default:
			continue
		}
		first = false
		all = append(all, cs[j].name)
	}
	eq.WriteString(" + a constant (a few fixed values) on every row")
	drop := pos
	if len(drop) == 0 {
		drop = neg
	}
	return drop, fmt.Sprintf("target leakage: %s, so these columns are computed from the target", eq.String())
}

func pearson(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// nextSigns steps signs through {-1, 0, 1}^k like a base-3 counter; it reports true after the last.
func nextSigns(signs []int) bool {
	for i := range signs {
		if signs[i] < 1 {
			signs[i]++
			return false
		}
		signs[i] = -1
	}
	return true
}

// topShare is the share of the counts held by the k largest.
func topShare(counts map[float64]int, k int) float64 {
	var all []int
	total := 0
	for _, c := range counts {
		all = append(all, c)
		total += c
	}
	sort.Sort(sort.Reverse(sort.IntSlice(all)))
	top := 0
	for i := 0; i < len(all) && i < k; i++ {
		top += all[i]
	}
	return float64(top) / float64(total)
}

func distinctAtLeast(v []float64, k int) bool {
	seen := make(map[float64]bool, k)
	for _, x := range v {
		seen[x] = true
		if len(seen) >= k {
			return true
		}
	}
	return false
}
