package stats

import "math"

// The trend and seasonality rules that the profile and the dashboards share.
const (
	// TrendAlpha is the Mann-Kendall p-value below which a trend is reported ...
	TrendAlpha = 0.01
	// TrendMinTau ... when |Kendall tau| is at least this.
	TrendMinTau = 0.1
	// SeasonMinACF is the autocorrelation of the differenced series a seasonal period needs.
	SeasonMinACF = 0.3
)

var seasonPeriods = map[string][]int{
	"hour": {24, 168}, "day": {7, 365}, "week": {52}, "month": {12}, "quarter": {4},
	"minute": {60}, "second": {60},
}

// SeasonPeriods returns the plausible seasonal periods of a series at a granularity (a DuckDB
// date_trunc unit: second, minute, hour, day, week, month, quarter), in the order they are tried.
func SeasonPeriods(gran string) ([]int, bool) {
	p, ok := seasonPeriods[gran]
	return p, ok
}

// SeasonalPeak returns the strongest of periods at which the autocorrelation of d (a series'
// first differences, without NaN) is a local peak of at least SeasonMinACF and above the
// 2/sqrt(n) noise band; ok is false when no period qualifies or d is too short for any.
func SeasonalPeak(d []float64, periods []int) (period int, acf float64, ok bool) {
	maxLag := 0
	for _, p := range periods {
		if 2*p+1 <= len(d) {
			maxLag = max(maxLag, p+1)
		}
	}
	if maxLag == 0 {
		return 0, 0, false
	}
	r := ACF(d, maxLag)
	band := 2 / math.Sqrt(float64(len(d)))
	for _, p := range periods {
		if p+1 >= len(r) {
			continue
		}
		if v := r[p]; v >= SeasonMinACF && v > band && v >= r[p-1] && v >= r[p+1] && v > acf {
			period, acf = p, v
		}
	}
	return period, acf, period > 0
}
