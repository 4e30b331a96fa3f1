package dashboard

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/stats"
)

// minPeriods is the shortest series tested for trend and seasonality. The rules themselves are the
// profile's (stats.TrendAlpha, stats.SeasonalPeak…), applied to the aggregated series when the
// profile has no datetime index to test on.
const minPeriods = 12

// units from finest to coarsest with their approximate length; DuckDB date_trunc names.
var units = []struct {
	name string
	dur  time.Duration
}{
	{"second", time.Second}, {"minute", time.Minute}, {"hour", time.Hour}, {"day", 24 * time.Hour},
	{"week", 7 * 24 * time.Hour}, {"month", 30 * 24 * time.Hour}, {"quarter", 91 * 24 * time.Hour},
	{"year", 365 * 24 * time.Hour},
}

// axis is the time axis of a series: a datetime column, or a year column with an optional month
// column.
type axis struct {
	column, month string
	monthNames    bool
	// gran is the finest unit of the axis; span its length.
	gran string
	span time.Duration
	// fromProfile: the axis is the profile's own time index, so its trend and seasonality alerts
	// describe these series.
	fromProfile bool
}

func (a *axis) parts() []string {
	if a.month != "" {
		return []string{a.column, a.month}
	}
	return []string{a.column}
}

func (a *axis) describe() string {
	if a.month != "" {
		return a.column + " and " + a.month
	}
	return a.column
}

var monthAbbr = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func hasToken(name string, toks ...string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !(r >= 'a' && r <= 'z') }) {
		if slices.Contains(toks, w) {
			return true
		}
	}
	return false
}

// timeAxis finds the time axis: the first datetime column that is an index (at least 12 values,
// half of them distinct: the profile's rule), else a numeric column named year (values 1000-3000)
// with, when there is one, a month column (numbers 1-12 or month names).
func timeAxis(p *profilingv1.Profile) *axis {
	for _, c := range p.Columns {
		present := c.Count - c.MissingCount
		if c.SemanticType == commonv1.SemanticType_SEMANTIC_TYPE_DATETIME && present >= minPeriods && float64(c.DistinctCount) >= 0.5*float64(present) && c.Datetime != nil {
			a := &axis{column: c.Name, gran: c.Datetime.Granularity, fromProfile: true}
			if c.Datetime.Min != nil && c.Datetime.Max != nil {
				a.span = c.Datetime.Max.AsTime().Sub(c.Datetime.Min.AsTime())
			}
			return a
		}
	}
	for _, c := range p.Columns {
		if c.SemanticType != commonv1.SemanticType_SEMANTIC_TYPE_NUMERIC || c.Numeric == nil || !hasToken(c.Name, "year", "yr") {
			continue
		}
		n := c.Numeric
		if n.Min < 1000 || n.Max > 3000 || n.Min != math.Trunc(n.Min) || n.Max != math.Trunc(n.Max) || c.DistinctCount < 2 {
			continue
		}
		a := &axis{column: c.Name, gran: "year", span: time.Duration(n.Max-n.Min) * 365 * 24 * time.Hour}
		for _, m := range p.Columns {
			if m == c || !hasToken(m.Name, "month", "mon", "mth") {
				continue
			}
			if m.Numeric != nil && m.Numeric.Min >= 1 && m.Numeric.Max <= 12 {
				a.month = m.Name
			} else if len(m.TopValues) > 0 && allMonthNames(m.TopValues) {
				a.month, a.monthNames = m.Name, true
			}
			if a.month != "" {
				a.gran = "month"
				a.span += 11 * 30 * 24 * time.Hour
				break
			}
		}
		if a.month == "" && c.DistinctCount < minPeriods {
			continue
		}
		return a
	}
	return nil
}

func allMonthNames(vs []*profilingv1.ValueCount) bool {
	for _, v := range vs {
		s := strings.ToLower(strings.TrimSpace(v.Value))
		if len(s) < 3 || !slices.Contains(monthAbbr, s[:3]) {
			return false
		}
	}
	return true
}

// bucket is the unit periods are cut in: the axis's granularity, coarsened until the span holds
// at most MaxPeriods periods.
func (a *axis) bucket() string {
	start := slices.IndexFunc(units, func(u struct {
		name string
		dur  time.Duration
	}) bool {
		return u.name == a.gran
	})
	if start < 0 {
		start = 0
	}
	for i := start; i < len(units); i++ {
		if a.span <= 0 || a.span/units[i].dur <= MaxPeriods {
			return units[i].name
		}
	}
	return "year"
}

// expr is the SQL expression of a row's period.
func (a *axis) expr(unit string) string {
	if a.month == "" && a.gran == "year" {
		return fmt.Sprintf("make_date(TRY_CAST(%s AS INTEGER), 1, 1)", q(a.column))
	}
	if a.month != "" {
		m := "TRY_CAST(" + q(a.month) + " AS INTEGER)"
		if a.monthNames {
			var b strings.Builder
			b.WriteString("CASE lower(substr(trim(CAST(" + q(a.month) + " AS VARCHAR)), 1, 3))")
			for i, s := range monthAbbr {
				fmt.Fprintf(&b, " WHEN '%s' THEN %d", s, i+1)
			}
			b.WriteString(" END")
			m = b.String()
		}
		e := fmt.Sprintf("make_date(TRY_CAST(%s AS INTEGER), %s, 1)", q(a.column), m)
		if unit != "month" {
			e = fmt.Sprintf("date_trunc('%s', %s)", unit, e)
		}
		return e
	}
	return fmt.Sprintf("date_trunc('%s', CAST(%s AS TIMESTAMP))", unit, q(a.column))
}

func periodLabel(t time.Time, unit string) string {
	switch unit {
	case "year":
		return t.Format("2006")
	case "quarter":
		return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
	case "month":
		return t.Format("2006-01")
	case "week", "day":
		return t.Format("2006-01-02")
	case "hour", "minute":
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("2006-01-02 15:04:05")
}

func unitWord(unit string, n int) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// series is one metric per period.
type series struct {
	name  string
	y     []float64
	trend []float64
	// season: the period (0 when none), its autocorrelation and where the finding comes from.
	period       int
	acf          float64
	seasonSource string
}

func timeView(ctx context.Context, in Input, name string, ax *axis) (*Dashboard, bool, error) {
	p := in.Profile
	unit := ax.bucket()
	// Metrics: usable numeric columns other than the axis, those with a profile time-series alert
	// first, at most 3.
	var metrics []string
	for pass := 0; pass < 2; pass++ {
		for _, c := range p.Columns {
			if !usableNumeric(c) || slices.Contains(ax.parts(), c.Name) || slices.Contains(metrics, c.Name) || len(metrics) >= 3 {
				continue
			}
			flagged := alertFor(p, "trend", c.Name) != nil || alertFor(p, "seasonality", c.Name) != nil
			if pass == 1 || (flagged && ax.fromProfile) {
				metrics = append(metrics, c.Name)
			}
		}
	}
	e := ax.expr(unit)
	sel := []string{"period", "count(*) AS n"}
	for i, m := range metrics {
		sel = append(sel, fmt.Sprintf("avg(m%d) AS %s", i, q(m)))
	}
	inner := []string{e + " AS period"}
	for i, m := range metrics {
		inner = append(inner, fmt.Sprintf("%s AS m%d", num(m), i))
	}
	query := fmt.Sprintf("SELECT %s FROM (SELECT %s FROM data) WHERE period IS NOT NULL GROUP BY period ORDER BY period LIMIT %d",
		strings.Join(sel, ", "), strings.Join(inner, ", "), 4*MaxPeriods)
	tab, err := in.Query(ctx, query)
	if err != nil {
		return nil, false, fmt.Errorf("series per %s: %w", unit, err)
	}
	if len(tab.Rows) < minPeriods {
		return nil, false, nil
	}
	cut := ""
	if len(tab.Rows) > MaxPeriods { // only when even years are too many: keep the latest
		tab.Rows = tab.Rows[len(tab.Rows)-MaxPeriods:]
		cut = fmt.Sprintf(" (the latest %d)", MaxPeriods)
	}
	ts := make([]time.Time, len(tab.Rows))
	counts := make([]float64, len(tab.Rows))
	for i, r := range tab.Rows {
		t, ok := r[0].(time.Time)
		if !ok {
			return nil, false, fmt.Errorf("series per %s: period %v is not a time", unit, r[0])
		}
		ts[i], counts[i] = t.UTC(), tab.Float(i, 1)
	}
	var ss []*series
	if len(metrics) == 0 {
		ss = append(ss, &series{name: "rows", y: counts})
	}
	for j, m := range metrics {
		y := make([]float64, len(tab.Rows))
		for i := range tab.Rows {
			y[i] = tab.Float(i, 2+j)
		}
		ss = append(ss, &series{name: m, y: y})
	}
	perUnit := " per " + unit
	d := &Dashboard{Kind: KindTimeSeries, Title: fmt.Sprintf("%s over time in %s", ss[0].name, name),
		Reason: fmt.Sprintf("%s is a time axis (%d %s): the metrics are shown per %s with their trend and seasonality.", ax.describe(), len(ts), unitWord(unit, len(ts))+cut, unit)}
	// The profile's seasonality describes the series at the axis's own granularity.
	sameGrain := ax.fromProfile && unit == ax.gran
	for _, s := range ss {
		if a := alertFor(p, "seasonality", s.name); a != nil && sameGrain {
			s.period, s.acf, s.seasonSource = int(a.Evidence["period"]), a.Evidence["acf"], "profile"
		} else if per, acf, ok := seasonality(s.y, unit); ok {
			s.period, s.acf, s.seasonSource = per, acf, "series"
		}
		w := s.period
		if w == 0 {
			w = max(3, len(s.y)/20)
		}
		s.trend = movingAverage(s.y, w)
	}
	main := ss[0]
	agg := "mean "
	if main.name == "rows" {
		agg = ""
	}
	// KPI tiles of the main metric.
	last := len(ts) - 1
	d.tileNum("latest", "Latest "+agg+main.name, main.y[last], Format(main.y[last]), fmt.Sprintf("%s, %s", periodLabel(ts[last], unit), agg+strings.TrimSpace(perUnit)))
	if prev := main.y[last-1]; prev != 0 && !math.IsNaN(prev) {
		ch := (main.y[last] - prev) / math.Abs(prev)
		d.tileNum("change", "Change vs previous "+unit, ch, signedPct(ch), fmt.Sprintf("%s vs %s (%s vs %s)", periodLabel(ts[last], unit), periodLabel(ts[last-1], unit), Format(main.y[last]), Format(prev)))
	}
	if main.period > 0 && last-main.period >= 0 {
		if prev := main.y[last-main.period]; prev != 0 && !math.IsNaN(prev) {
			ch := (main.y[last] - prev) / math.Abs(prev)
			d.tileNum("change_cycle", fmt.Sprintf("Change vs %d %s earlier", main.period, unitWord(unit, main.period)), ch, signedPct(ch),
				fmt.Sprintf("%s vs %s, the same point of the previous cycle", periodLabel(ts[last], unit), periodLabel(ts[last-main.period], unit)))
		}
	}
	dir, tau, detail := trendOf(p, ax, main)
	d.tileNum("trend", "Trend", tau, dir, detail)
	if main.period > 0 {
		d.tileNum("seasonality", "Seasonality", float64(main.period), fmt.Sprintf("%d %s", main.period, unitWord(unit, main.period)),
			fmt.Sprintf("autocorrelation %.2f at lag %d of the differenced series (%s)", main.acf, main.period, main.seasonSource))
	} else {
		d.tile("seasonality", "Seasonality", "none found", fmt.Sprintf("no autocorrelation peak of at least %.1f at a %s period", stats.SeasonMinACF, unit))
	}
	d.tileNum("periods", "Periods", float64(len(ts)), fmt.Sprintf("%d %s", len(ts), unitWord(unit, len(ts))), fmt.Sprintf("%s to %s", periodLabel(ts[0], unit), periodLabel(ts[last], unit)))

	// Panels.
	for i, s := range ss {
		title := agg + s.name + perUnit
		desc := fmt.Sprintf("The dashed line is the centered moving average over %d %s.", max(s.period, 3, len(s.y)/20), unitWord(unit, 2))
		if s.period > 0 {
			desc = fmt.Sprintf("The dashed line is the trend: the centered moving average over one %d-%s cycle.", s.period, unit)
		}
		w := 12
		if i > 0 {
			w = 6
		}
		d.panel(Panel{Title: strings.ToUpper(title[:1]) + title[1:], Kind: "trend", Width: w, Description: desc,
			Spec: trendSpec("", ax.describe(), agg+s.name, ts, s.y, s.trend)})
		if s.period > 0 {
			labels, eff := seasonalEffect(ts, s, unit)
			d.panel(Panel{Title: fmt.Sprintf("Seasonal pattern of %s (%d-%s cycle)", s.name, s.period, unit), Kind: "seasonality", Width: 6,
				Description: "Mean difference from the trend at each point of the cycle.",
				Spec:        seasonSpec("", "position in the cycle", "difference from trend", labels, eff)})
		}
	}
	// Rows per period when the periods hold different numbers of rows (event data).
	if main.name != "rows" && slices.Min(counts) != slices.Max(counts) {
		d.panel(Panel{Title: "Rows" + perUnit, Kind: "trend", Width: 6, Description: "How many rows each period holds.",
			Spec: trendSpec("", ax.describe(), "rows", ts, counts, nil)})
	}
	return d, true, nil
}

// trendOf is the trend direction of the main metric: the profile's Mann-Kendall alert when the axis
// is the profile's time index, otherwise Mann-Kendall on the aggregated series with the profile's
// thresholds (p < 0.01 and |tau| ≥ 0.1).
func trendOf(p *profilingv1.Profile, ax *axis, s *series) (string, float64, string) {
	if ax.fromProfile && s.name != "rows" {
		if a := alertFor(p, "trend", s.name); a != nil {
			dir := "rising"
			if a.Evidence["mann_kendall_s"] < 0 {
				dir = "falling"
			}
			return dir, a.Evidence["tau"], fmt.Sprintf("Mann-Kendall τ %.2f, p %.2g over %s rows (profile)", a.Evidence["tau"], a.Evidence["p_value"], Format(a.Evidence["n"]))
		}
		return "no clear trend", math.NaN(), fmt.Sprintf("the profile's Mann-Kendall test found no trend (p < %.2g with |τ| ≥ %.1f) over %s", stats.TrendAlpha, stats.TrendMinTau, ax.column)
	}
	mk := stats.MannKendall(s.y)
	detail := fmt.Sprintf("Mann-Kendall τ %.3f, p %.2g over %d periods", mk.EffectSize, mk.PValue, mk.N)
	if mk.PValue < stats.TrendAlpha && math.Abs(mk.EffectSize) >= stats.TrendMinTau {
		if mk.Statistic < 0 {
			return "falling", mk.EffectSize, detail
		}
		return "rising", mk.EffectSize, detail
	}
	return "no clear trend", mk.EffectSize, detail
}

// seasonality is the profile's rule: the strongest plausible period for the unit whose
// autocorrelation of the first differences is a local peak of at least 0.3 and above 2/sqrt(n).
func seasonality(y []float64, unit string) (int, float64, bool) {
	var d []float64
	for i := 1; i < len(y); i++ {
		if !math.IsNaN(y[i]) && !math.IsNaN(y[i-1]) {
			d = append(d, y[i]-y[i-1])
		}
	}
	periods, ok := stats.SeasonPeriods(unit)
	if !ok || len(d) < 3 {
		return 0, 0, false
	}
	return stats.SeasonalPeak(d, periods)
}

// movingAverage is the centered moving average over w points (for even w the 2×w average of
// classical decomposition); NaN where the window does not fit.
func movingAverage(y []float64, w int) []float64 {
	out := make([]float64, len(y))
	half := w / 2
	for i := range y {
		out[i] = math.NaN()
		if i-half < 0 || i+half >= len(y) {
			continue
		}
		var s, wt float64
		for j := i - half; j <= i+half; j++ {
			k := 1.0
			if w%2 == 0 && (j == i-half || j == i+half) {
				k = 0.5
			}
			if math.IsNaN(y[j]) {
				s = math.NaN()
				break
			}
			s += k * y[j]
			wt += k
		}
		out[i] = s / wt
	}
	return out
}

var monthNames = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
var dayNames = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// seasonalEffect is the mean of (value − trend) at each position of the cycle: calendar months for
// a 12-month cycle, weekdays for a 7-day one, hours for a 24-hour one, else the step in the cycle.
func seasonalEffect(ts []time.Time, s *series, unit string) ([]string, []float64) {
	p := s.period
	pos := func(i int) int { return i % p }
	labels := make([]string, p)
	for k := range labels {
		labels[k] = fmt.Sprint(k + 1)
	}
	switch {
	case unit == "month" && p == 12:
		pos = func(i int) int { return int(ts[i].Month()) - 1 }
		copy(labels, monthNames)
	case unit == "day" && p == 7:
		pos = func(i int) int { return (int(ts[i].Weekday()) + 6) % 7 }
		copy(labels, dayNames)
	case unit == "hour" && p == 24:
		pos = func(i int) int { return ts[i].Hour() }
		for k := range labels {
			labels[k] = fmt.Sprintf("%02d:00", k)
		}
	case unit == "quarter" && p == 4:
		pos = func(i int) int { return (int(ts[i].Month()) - 1) / 3 }
		for k := range labels {
			labels[k] = fmt.Sprintf("Q%d", k+1)
		}
	}
	sum := make([]float64, p)
	n := make([]float64, p)
	for i := range s.y {
		if dv := s.y[i] - s.trend[i]; !math.IsNaN(dv) {
			sum[pos(i)] += dv
			n[pos(i)]++
		}
	}
	eff := make([]float64, p)
	for k := range eff {
		eff[k] = sum[k] / n[k]
	}
	return labels, eff
}
