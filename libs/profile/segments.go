package profile

import (
	"fmt"
	"math"
	"slices"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/stats"
)

// maxSegmentSources caps the bimodal columns that are split into segments.
const maxSegmentSources = 5

// segmentLabels name the two sides of a split: rows below the boundary and rows at or above it.
var segmentLabels = [2]string{"lower", "upper"}

// segmentSplit is a bimodal column cut at its mixture's decision boundary.
type segmentSplit struct {
	src      *hypCol
	boundary float64
	col      *hypCol // categorical role: code 0 below the boundary, 1 at or above it, -1 missing
	sizes    [2]int
}

// splitSegments cuts each numeric column the profile flags as multimodal at the decision boundary
// of its two-component Gaussian mixture (refitted on the hypothesis sample), when both segments
// keep at least minGroupSize rows.
func splitSegments(p *profilingv1.Profile, cols []*hypCol) []*segmentSplit {
	var out []*segmentSplit
	for _, cp := range p.Columns {
		if !cp.GetNumeric().GetMultimodal() || len(out) >= maxSegmentSources {
			continue
		}
		i := slices.IndexFunc(cols, func(c *hypCol) bool { return c.name == cp.Name && c.numeric() })
		if i < 0 {
			continue
		}
		src := cols[i]
		vals := make([]float64, 0, len(src.num))
		for _, v := range src.num {
			if v == v {
				vals = append(vals, v)
			}
		}
		slices.Sort(vals)
		m := stats.ComputeMoments(vals)
		b, ok := fitMixture(vals, m.Mean, m.Std()).boundary()
		if !ok {
			continue
		}
		s := &segmentSplit{src: src, boundary: b,
			col: &hypCol{name: "segment of " + src.name, codes: make([]int, len(src.num)), labels: segmentLabels[:]}}
		for k, v := range src.num {
			switch {
			case v != v:
				s.col.codes[k] = -1
			case v >= b:
				s.col.codes[k] = 1
				s.sizes[1]++
			default:
				s.sizes[0]++
			}
		}
		if min(s.sizes[0], s.sizes[1]) < minGroupSize {
			continue
		}
		out = append(out, s)
	}
	return out
}

// segmentHypotheses tests, for one split, whether every other column differs between the two
// segments, with the test testPair picks for a two-level category against that column (Welch t or
// Mann-Whitney for a number, chi-square or Fisher for a category). The hypotheses join the others
// under the same Benjamini-Hochberg control. skip holds the pairs the profile already explains.
func segmentHypotheses(s *segmentSplit, cols []*hypCol, skip map[[2]string]bool) ([]*profilingv1.Hypothesis, []findingMaker) {
	var hs []*profilingv1.Hypothesis
	var mks []findingMaker
	for _, other := range cols {
		if other == s.src || skip[pairKey(s.src.name, other.name)] {
			continue
		}
		h, inner := testPair(s.col, other)
		if h == nil {
			continue
		}
		h.Columns = []string{s.src.name, other.name}
		h.Statement = fmt.Sprintf("%s differs between the two segments of the bimodal %s (split at %s)", other.name, s.src.name, fmtNum(s.boundary))
		h.Query = segmentQuery(s, other)
		hs = append(hs, h)
		mks = append(mks, s.maker(other, inner))
	}
	return hs, mks
}

// segmentExpr is the SQL expression naming a row's segment.
func segmentExpr(s *segmentSplit) string {
	return fmt.Sprintf("CASE WHEN %s >= %s THEN 'upper' ELSE 'lower' END", quoteIdent(s.src.name), sqlNum(s.boundary))
}

func sqlNum(v float64) string { return fmt.Sprintf("%.17g", v) }

// segmentQuery reproduces a segment finding's descriptive numbers over table data.
func segmentQuery(s *segmentSplit, other *hypCol) string {
	qs, qo := quoteIdent(s.src.name), quoteIdent(other.name)
	if other.numeric() {
		return fmt.Sprintf("SELECT %[1]s AS segment, count(*) AS n, avg(%[3]s) AS mean, median(%[3]s) AS median, stddev_samp(%[3]s) AS sd FROM data WHERE %[2]s IS NOT NULL AND %[3]s IS NOT NULL GROUP BY segment ORDER BY segment",
			segmentExpr(s), qs, qo)
	}
	return fmt.Sprintf("SELECT %[1]s AS segment, %[3]s, count(*) AS n FROM data WHERE %[2]s IS NOT NULL AND %[3]s IS NOT NULL GROUP BY segment, %[3]s ORDER BY segment, %[3]s",
		segmentExpr(s), qs, qo)
}

// maker wraps the inner test's finding with the segment sentence, query and chart.
func (s *segmentSplit) maker(other *hypCol, inner findingMaker) findingMaker {
	return func(h *profilingv1.Hypothesis) *commonv1.Finding {
		fd := inner(h)
		intro := fmt.Sprintf("%s falls into two segments, split at %s by a two-component Gaussian mixture (%d rows below, %d at or above)",
			s.src.name, fmtNum(s.boundary), s.sizes[0], s.sizes[1])
		var what string
		var chart *commonv1.Chart
		title := other.name + " by segment of " + s.src.name
		if other.numeric() {
			var groups [2][]float64
			for k, c := range s.col.codes {
				if c >= 0 && other.num[k] == other.num[k] {
					groups[c] = append(groups[c], other.num[k])
				}
			}
			center, name := stats.Median, "median"
			if h.Test == "welch_t" {
				center, name = stats.Mean, "mean"
			}
			what = fmt.Sprintf("rows in the upper segment have a %s %s of %s vs %s in the lower (%s, %s, %s, n = %d: %d vs %d)",
				name, other.name, fmtNum(center(groups[1])), fmtNum(center(groups[0])), testName(h.Test), pq(h),
				effectText(h, h.EffectSize, h.CiLow, h.CiHigh), h.N, len(groups[1]), len(groups[0]))
			fd.Values["center_upper"], fd.Values["center_lower"] = nz(center(groups[1])), nz(center(groups[0]))
			chart = makeChart(title, "histogram", segmentHistogram(title, other.name, groups), "columns "+s.src.name+", "+other.name)
		} else {
			t := table(s.col.codes, 2, other.codes, len(other.labels))
			rs, _, _ := margins(t)
			if rs[0] == 0 || rs[1] == 0 {
				return fd
			}
			best, bj := -1.0, 0
			for j := range other.labels {
				if d := math.Abs(t[1][j]/rs[1] - t[0][j]/rs[0]); d > best {
					best, bj = d, j
				}
			}
			v := effectText(h, h.EffectSize, h.CiLow, h.CiHigh)
			if cv, ok := fd.Values["cramers_v"]; ok && h.Test == "fisher_exact" {
				v += fmt.Sprintf(", Cramér's V = %s", fmtNum(cv))
			}
			what = fmt.Sprintf("%s = %s in %.1f%% of the upper segment vs %.1f%% of the lower (%s, %s, %s, n = %d)",
				other.name, other.labels[bj], 100*t[1][bj]/rs[1], 100*t[0][bj]/rs[0], testName(h.Test), pq(h), v, h.N)
			fd.Values["share_upper"], fd.Values["share_lower"] = t[1][bj]/rs[1], t[0][bj]/rs[0]
			chart = makeChart(title, "bar", segmentBars(title, other.name, other.labels, t), "columns "+s.src.name+", "+other.name)
		}
		fd.Statement = intro + "; " + what + "."
		fd.Values["boundary"] = s.boundary
		fd.Values["n_lower"], fd.Values["n_upper"] = float64(s.sizes[0]), float64(s.sizes[1])
		fd.Query, fd.Columns = h.Query, slices.Clone(h.Columns)
		if chart != nil {
			h.Chart, fd.ChartId = chart, chart.Id
		}
		return fd
	}
}

// segmentHistogram draws the values of both segments in shared bins (at most 30), stacked and
// coloured by segment. Only the bin counts enter the spec.
func segmentHistogram(title, field string, groups [2][]float64) charts.Spec {
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, g := range groups {
		for _, v := range g {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		n += len(g)
	}
	bins := int(math.Min(30, math.Max(5, math.Ceil(math.Sqrt(float64(n))))))
	if !(hi > lo) {
		hi, bins = lo+1, 1
	}
	w := (hi - lo) / float64(bins)
	rows := []any{}
	for k, g := range groups {
		counts := make([]int, bins)
		for _, v := range g {
			counts[min(int((v-lo)/w), bins-1)]++
		}
		for b, c := range counts {
			if c > 0 {
				rows = append(rows, charts.Spec{"bin_start": lo + float64(b)*w, "bin_end": lo + float64(b+1)*w, "segment": segmentLabels[k], "count": float64(c)})
			}
		}
	}
	return charts.Spec{
		"$schema": charts.Schema, "width": "container", "title": title,
		"data": charts.Spec{"values": rows},
		"mark": charts.Spec{"type": "bar", "tooltip": true},
		"encoding": charts.Spec{
			"x":     charts.Spec{"field": "bin_start", "type": "quantitative", "bin": charts.Spec{"binned": true}, "title": field},
			"x2":    charts.Spec{"field": "bin_end"},
			"y":     charts.Spec{"field": "count", "type": "quantitative", "title": "rows", "stack": "zero"},
			"color": charts.Spec{"field": "segment", "type": "nominal", "title": "segment", "sort": []any{"lower", "upper"}},
		},
	}
}

// segmentBars draws the rows of each level of a category per segment, bars side by side and
// coloured by segment.
func segmentBars(title, field string, labels []string, t [][]float64) charts.Spec {
	rows := []any{}
	for k := range t {
		for j, c := range t[k] {
			if c > 0 {
				rows = append(rows, charts.Spec{"level": labels[j], "segment": segmentLabels[k], "count": c})
			}
		}
	}
	return charts.Spec{
		"$schema": charts.Schema, "width": "container", "title": title,
		"data": charts.Spec{"values": rows},
		"mark": charts.Spec{"type": "bar", "tooltip": true},
		"encoding": charts.Spec{
			"x":       charts.Spec{"field": "level", "type": "nominal", "title": field},
			"xOffset": charts.Spec{"field": "segment", "type": "nominal", "sort": []any{"lower", "upper"}},
			"y":       charts.Spec{"field": "count", "type": "quantitative", "title": "rows"},
			"color":   charts.Spec{"field": "segment", "type": "nominal", "title": "segment", "sort": []any{"lower", "upper"}},
		},
	}
}
