package causal

import (
	"fmt"
	"math"
	"sort"
)

// matching is 1:1 nearest-neighbour matching with replacement on the logit of the propensity score,
// within a caliper of 0.2 standard deviations of the logit. Units without a match inside the caliper
// are dropped. The standard error follows Abadie and Imbens (2006), with conditional variances
// estimated by matching each unit to its nearest neighbour in its own group; it ignores that the
// propensity score is estimated.
func matching(d *data, spec *Spec) (*fit, error) {
	pf, err := propensity(d)
	if err != nil {
		return nil, err
	}
	n := d.n()
	lp := make([]float64, n)
	for i, p := range pf.ps {
		lp[i] = math.Log(p / (1 - p))
	}
	_, sdlp := meanSD(lp)
	caliper := 0.2 * sdlp
	var tr, ct []int
	for i, t := range d.t {
		if t == 1 {
			tr = append(tr, i)
		} else {
			ct = append(ct, i)
		}
	}
	byLP := func(idx []int) []int {
		s := append([]int{}, idx...)
		sort.SliceStable(s, func(a, b int) bool { return lp[s[a]] < lp[s[b]] })
		return s
	}
	trS, ctS := byLP(tr), byLP(ct)
	// match[i] lists the nearest units of the other group (several when their distances tie: each
	// then counts with weight 1/len, as Abadie and Imbens do, so the result does not depend on the
	// row order).
	match := make([][]int, n)
	K := make([]float64, n)
	unmatched := 0
	matchGroup := func(units, pool []int) {
		for _, i := range units {
			js, dist := nearestTied(pool, lp, lp[i])
			if len(js) > 0 && dist <= caliper {
				match[i] = js
				for _, j := range js {
					K[j] += 1 / float64(len(js))
				}
			} else {
				unmatched++
			}
		}
	}
	matchGroup(tr, ctS)
	att := spec.Estimand == EstimandATT
	if !att {
		matchGroup(ct, trS)
	}
	// Conditional variance from the nearest same-group neighbour.
	sigma2 := make([]float64, n)
	for _, g := range [][]int{trS, ctS} {
		for _, i := range g {
			if j, _ := nearest(g, lp, lp[i], i); j >= 0 {
				sigma2[i] = (d.y[i] - d.y[j]) * (d.y[i] - d.y[j]) / 2
			}
		}
	}
	f := &fit{ps: pf.ps, w: make([]float64, n)}
	if pf.warn != "" {
		f.warns = append(f.warns, pf.warn)
	}
	var diffs []float64
	for i := 0; i < n; i++ {
		if len(match[i]) == 0 {
			continue
		}
		ym := 0.0
		for _, j := range match[i] {
			ym += d.y[j] / float64(len(match[i]))
			f.w[j] += 1 / float64(len(match[i]))
		}
		dy := d.y[i] - ym
		if d.t[i] == 0 {
			dy = -dy
		}
		diffs = append(diffs, dy)
		f.w[i]++
	}
	target := n
	if att {
		target = len(tr)
	}
	f.trimmed = float64(unmatched) / float64(target)
	m := float64(len(diffs))
	if len(diffs) < 2 {
		return nil, fmt.Errorf("causal: only %d units found a match within the caliper (%.3g on the logit propensity scale)", len(diffs), caliper)
	}
	f.effect, _ = meanSD(diffs)
	v := 0.0
	for _, x := range diffs {
		v += (x - f.effect) * (x - f.effect)
	}
	for j := 0; j < n; j++ {
		if K[j] == 0 {
			continue
		}
		if att {
			v += K[j] * (K[j] - 1) * sigma2[j]
		} else {
			v += (K[j]*K[j] + K[j]) * sigma2[j]
		}
	}
	f.se = math.Sqrt(v) / m
	normalCI(f)
	if unmatched > 0 {
		who := "units"
		if att {
			who = "treated units"
		}
		f.warns = append(f.warns, fmt.Sprintf("%d %s (%.1f%%) had no match within the caliper (%.3g on the logit propensity scale) and were dropped; the estimate refers to the matched population",
			unmatched, who, 100*f.trimmed, caliper))
	}
	reuse := 0.0
	for _, k := range K {
		reuse = math.Max(reuse, k)
	}
	if reuse >= 10 {
		f.warns = append(f.warns, fmt.Sprintf("one unit serves as the match for %d others; matches are thin in part of the propensity range", int(reuse)))
	}
	f.notes = append(f.notes, fmt.Sprintf("Correct model: the logistic propensity model is correctly specified so that units matched on it (1:1 nearest neighbour with replacement, caliper %.3g = 0.2 SD of the logit propensity) are comparable; Abadie-Imbens standard error.", caliper))
	return f, nil
}

// nearestTied returns every element of pool (sorted by key) at the smallest distance to x.
func nearestTied(pool []int, key []float64, x float64) ([]int, float64) {
	j, bd := nearest(pool, key, x, -1)
	if j < 0 {
		return nil, bd
	}
	eps := 1e-12 * math.Max(1, math.Abs(x))
	k := sort.Search(len(pool), func(a int) bool { return key[pool[a]] >= x-bd-eps })
	var out []int
	for a := k; a < len(pool) && key[pool[a]] <= x+bd+eps; a++ {
		if math.Abs(math.Abs(key[pool[a]]-x)-bd) <= eps {
			out = append(out, pool[a])
		}
	}
	if len(out) == 0 {
		out = []int{j}
	}
	return out, bd
}

// nearest returns the element of pool (sorted by key) whose key is closest to x, skipping skip.
func nearest(pool []int, key []float64, x float64, skip int) (int, float64) {
	k := sort.Search(len(pool), func(a int) bool { return key[pool[a]] >= x })
	best, bd := -1, math.Inf(1)
	// Look a few positions each way so that skipping a unit (and ties) is handled.
	for a := k - 2; a <= k+1; a++ {
		if a < 0 || a >= len(pool) || pool[a] == skip {
			continue
		}
		if dist := math.Abs(key[pool[a]] - x); dist < bd {
			best, bd = pool[a], dist
		}
	}
	return best, bd
}
