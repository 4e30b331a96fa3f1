package profile

import (
	"fmt"
	"math"
	"slices"
	"time"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/stats"
)

// Time-series checks.
const (
	tsMaxColumns  = 20     // numeric columns checked against the time index
	acfMaxPoints  = 100000 // longest series the ACF is computed on (the most recent points)
	tsMinPoints   = 12
	tsIndexUnique = 0.5 // a time column is an index when this share of its values is distinct
)

// timeSeries looks for a datetime index (or, without one, a calendar index built from year and
// month columns, see calendarIndex) and checks every numeric column (up to tsMaxColumns) for a
// monotonic trend (Mann-Kendall on the series in time order, bucket-averaged to TrendPoints points)
// and for seasonality (an autocorrelation peak of the first-differenced series at a period that fits
// the index's granularity: 7 for days, 12 for months, 24 for hours, 52 for weeks, 4 for quarters).
func timeSeries(f *frame.Frame, infos []*colInfo) ([]*profilingv1.Alert, []*commonv1.Chart) {
	var index *colInfo
	for _, ci := range infos {
		if ci.sem == commonv1.SemanticType_SEMANTIC_TYPE_DATETIME && ci.present() >= tsMinPoints &&
			float64(ci.prof.DistinctCount) >= tsIndexUnique*float64(ci.present()) {
			index = ci
			break
		}
	}
	var tcol *frame.Column
	var sources [2]string // the year and month columns behind a calendar index
	gran := ""
	if index != nil {
		tcol = index.col
		if index.prof.Datetime != nil {
			gran = index.prof.Datetime.Granularity
		}
	} else if c, src, ok := calendarIndex(f); ok {
		tcol, sources, gran = c, src, "month"
	} else {
		return nil, nil
	}
	order := make([]int, 0, f.Rows)
	for i := 0; i < f.Rows; i++ {
		if !tcol.Null[i] && tcol.F[i] == tcol.F[i] {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case tcol.F[a] < tcol.F[b]:
			return -1
		case tcol.F[a] > tcol.F[b]:
			return 1
		}
		return 0
	})
	var alerts []*profilingv1.Alert
	var out []*commonv1.Chart
	checked := 0
	for _, ci := range infos {
		if !ci.numericRole() || checked >= tsMaxColumns || ci.col.Name == sources[0] || ci.col.Name == sources[1] {
			continue
		}
		checked++
		series := make([]float64, 0, len(order))
		times := make([]time.Time, 0, len(order))
		for _, i := range order {
			if v := ci.col.F[i]; v == v {
				series = append(series, v)
				times = append(times, frame.TimeOf(tcol.F[i]))
			}
		}
		if len(series) < tsMinPoints {
			continue
		}
		name := ci.col.Name
		found := false
		mk := stats.MannKendall(bucketMeans(series, TrendPoints))
		if mk.PValue < stats.TrendAlpha && math.Abs(mk.EffectSize) >= stats.TrendMinTau {
			dir := "rising"
			if mk.Statistic < 0 {
				dir = "falling"
			}
			alerts = append(alerts, alert("trend", commonv1.Severity_SEVERITY_INFO, []string{name, tcol.Name},
				fmt.Sprintf("%s has a %s trend over %s (Mann-Kendall tau %.2f, p %.2g)", name, dir, tcol.Name, mk.EffectSize, mk.PValue),
				map[string]float64{"mann_kendall_s": mk.Statistic, "tau": mk.EffectSize, "p_value": mk.PValue,
					"sen_slope_per_point": mk.Estimate, "n": float64(mk.N)}))
			found = true
		}
		if period, acf, ok := seasonality(series, gran); ok {
			alerts = append(alerts, alert("seasonality", commonv1.Severity_SEVERITY_INFO, []string{name, tcol.Name},
				fmt.Sprintf("%s repeats with a period of %d %ss (autocorrelation %.2f at lag %d of the differenced series)", name, period, nonEmpty(gran, "step"), acf, period),
				map[string]float64{"period": float64(period), "acf": acf, "n": float64(len(series))}))
			found = true
		}
		if cp, ok := changePoint(bucketMeans(series, TrendPoints)); ok {
			at := times[cp.index*len(series)/cp.n]
			alerts = append(alerts, alert("change_point", commonv1.Severity_SEVERITY_INFO, []string{name, tcol.Name},
				fmt.Sprintf("%s shifts from a mean of %s before %s to %s after (the step explains %.0f%% of its variance, a straight line %.0f%%)",
					name, fmtNum(cp.before), at.Format("2006-01-02 15:04"), fmtNum(cp.after), 100*cp.r2Step, 100*cp.r2Line),
				map[string]float64{"time": float64(at.Unix()), "mean_before": cp.before, "mean_after": cp.after,
					"r2_step": cp.r2Step, "r2_linear": cp.r2Line, "n": float64(len(series))}))
			found = true
		}
		if found {
			spec := charts.Line(name+" over "+tcol.Name, tcol.Name, name, times, series)
			if ch := makeChart(name+" over "+tcol.Name, "line", spec, "column "+name+" ordered by "+tcol.Name); ch != nil {
				out = append(out, ch)
			}
		}
	}
	return alerts, out
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Change-point checks: the best single step in the mean must explain at least changeMinR2 of the
// variance and leave at most changeVsLine of the residual a straight line leaves.
const (
	changeMinR2   = 0.3
	changeVsLine  = 0.8
	changeMinSize = 20 // shortest series checked
)

type changeResult struct {
	index, n       int // first point after the step, series length
	before, after  float64
	r2Step, r2Line float64
}

// changePoint finds the single mean shift that best splits the series (least squares over every
// split leaving at least 5% of the points, and 5 points, on each side, in O(n) with prefix sums)
// and reports it when it explains the series clearly better than a straight line, so trends and
// noise are not mistaken for steps.
func changePoint(x []float64) (changeResult, bool) {
	n := len(x)
	if n < changeMinSize {
		return changeResult{}, false
	}
	mean := stats.Mean(x)
	var sst, sxy, sxx float64
	mi := float64(n-1) / 2
	for i, v := range x {
		d := v - mean
		sst += d * d
		sxy += (float64(i) - mi) * d
		sxx += (float64(i) - mi) * (float64(i) - mi)
	}
	if sst <= 0 {
		return changeResult{}, false
	}
	sseLine := sst - sxy*sxy/sxx
	minSeg := max(5, n/20)
	var left float64
	best, bestK := math.Inf(1), -1
	total := mean * float64(n)
	for k := 1; k < n; k++ {
		left += x[k-1]
		if k < minSeg || n-k < minSeg {
			continue
		}
		// SSE of two means = SST - (between-segment sum of squares).
		ml, mr := left/float64(k), (total-left)/float64(n-k)
		ssb := float64(k)*(ml-mean)*(ml-mean) + float64(n-k)*(mr-mean)*(mr-mean)
		if sse := sst - ssb; sse < best {
			best, bestK = sse, k
		}
	}
	if bestK < 0 {
		return changeResult{}, false
	}
	r := changeResult{index: bestK, n: n, r2Step: 1 - best/sst, r2Line: 1 - sseLine/sst}
	r.before = stats.Mean(x[:bestK])
	r.after = stats.Mean(x[bestK:])
	return r, r.r2Step >= changeMinR2 && best <= changeVsLine*sseLine
}

// bucketMeans averages a series into at most k equal-count buckets.
func bucketMeans(x []float64, k int) []float64 {
	if len(x) <= k {
		return x
	}
	out := make([]float64, k)
	for b := 0; b < k; b++ {
		lo, hi := b*len(x)/k, (b+1)*len(x)/k
		out[b] = stats.Mean(x[lo:hi])
	}
	return out
}

// seasonality returns the strongest plausible period whose ACF (of the first differences) is a local
// peak above stats.SeasonMinACF and the 2/sqrt(n) noise band.
func seasonality(series []float64, gran string) (int, float64, bool) {
	if len(series) > acfMaxPoints {
		series = series[len(series)-acfMaxPoints:]
	}
	d := make([]float64, len(series)-1)
	for i := range d {
		d[i] = series[i+1] - series[i]
	}
	periods, ok := stats.SeasonPeriods(gran)
	if !ok {
		periods = []int{7, 12, 24, 52}
	}
	return stats.SeasonalPeak(d, periods)
}

// columnChart is the per-column chart: a histogram for numbers, a bar chart of top values for
// categories, text and identifiers, and a line of counts per period for datetimes.
func columnChart(ci *colInfo) *commonv1.Chart {
	name := ci.col.Name
	src := "column " + name
	switch {
	case ci.present() == 0:
		return nil
	case ci.prof.Numeric != nil && len(ci.bins) > 0:
		return makeChart(name, "histogram", charts.Histogram(name, name, ci.bins), src)
	case ci.sem == commonv1.SemanticType_SEMANTIC_TYPE_DATETIME && len(ci.sorted) > 0:
		return makeChart(name, "histogram", timeHistogram(name, ci.sorted), src)
	case len(ci.prof.TopValues) > 0:
		cats := make([]string, len(ci.prof.TopValues))
		counts := make([]float64, len(ci.prof.TopValues))
		for i, v := range ci.prof.TopValues {
			cats[i], counts[i] = v.Value, float64(v.Count)
		}
		return makeChart(name, "bar", charts.Bar(name+" (top values)", name, cats, counts), src)
	}
	return nil
}

// timeHistogram bins sorted Unix seconds into 20 periods and draws rows per period as a line.
func timeHistogram(name string, sorted []float64) charts.Spec {
	lo, hi := sorted[0], sorted[len(sorted)-1]
	const k = 20
	ts := make([]time.Time, 0, k)
	ys := make([]float64, 0, k)
	w := (hi - lo) / k
	if w <= 0 {
		return charts.Line(name, name, "rows", []time.Time{frame.TimeOf(lo)}, []float64{float64(len(sorted))})
	}
	start := 0
	for b := 0; b < k; b++ {
		end := len(sorted)
		if b < k-1 {
			end = start + lowerBound(sorted[start:], lo+float64(b+1)*w)
		}
		ts = append(ts, frame.TimeOf(lo+float64(b)*w))
		ys = append(ys, float64(end-start))
		start = end
	}
	return charts.Line(name, name, "rows", ts, ys)
}
