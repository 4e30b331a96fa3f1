package profile

import (
	"math"
	"slices"
	"strings"
	"testing"

	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// TestFlightsCalendarIndex: flights.csv as uploaded (year, month names, passengers; no date
// column) gets the rising trend and the 12-month seasonality from the calendar index built from
// year and month, with the same Mann-Kendall numbers as the series ordered by a real date
// (testdata/flights_trend.py), and year itself is not reported as trending.
func TestFlightsCalendarIndex(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/flights.csv", false)
	if f.Col("year") == nil || f.Col("month") == nil || f.Col("month").Kind != frame.String {
		t.Fatalf("flights.csv columns %v", f.Names())
	}
	p := mustProfile(t, f, Options{})
	tr := findAlert(p, "trend", "passengers")
	if tr == nil || !slices.Contains(tr.Columns, "year+month") || tr.Evidence["tau"] <= 0.5 || tr.Evidence["p_value"] > 1e-6 {
		t.Fatalf("no rising trend over year+month: %v", alertKinds(p))
	}
	se := findAlert(p, "seasonality", "passengers")
	if se == nil || se.Evidence["period"] != 12 || se.Evidence["acf"] < 0.6 {
		t.Fatalf("no 12-month seasonality: %v", se)
	}
	if findAlert(p, "trend", "year") != nil {
		t.Error("year, a source of the index, is reported as trending over it")
	}
	hyps, _ := Hypotheses(f, p, "", 0.05)
	var h *profilingv1.Hypothesis
	for _, x := range hyps {
		if x.Test == "mann_kendall" && slices.Equal(x.Columns, []string{"year+month", "passengers"}) {
			h = x
		}
		if x.Test == "mann_kendall" && slices.Contains(x.Columns, "year") {
			t.Errorf("trend test of an index source: %v", x.Columns)
		}
	}
	if h == nil || !h.Survived {
		t.Fatalf("passengers trend hypothesis %v", h)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"S", h.Statistic, 8327}, {"p", h.PValue, 6.750566761283967e-47}, {"tau", h.EffectSize, 0.8087606837606838}} {
		if math.Abs(c.got-c.want) > 1e-6*math.Abs(c.want) {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(h.Query, `GROUP BY "year", "month"`) || !strings.Contains(h.Statement, "per month") {
		t.Errorf("query %s\nstatement %s", h.Query, h.Statement)
	}
}

// TestCalendarIndexRefuses: no index from a year column alone, from month values that are not
// months, or from a panel with many rows per month.
func TestCalendarIndexRefuses(t *testing.T) {
	t.Parallel()
	col := func(name string, f []float64, s []string) *frame.Column {
		c := &frame.Column{Name: name, F: f, S: s}
		n := max(len(f), len(s))
		c.Null = make([]bool, n)
		if s != nil {
			c.Kind = frame.String
		}
		return c
	}
	var years, months, panel []float64
	var names, bad []string
	for i := 0; i < 48; i++ {
		years = append(years, float64(2000+i/12))
		months = append(months, float64(1+i%12))
		names = append(names, []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}[i%12])
		bad = append(bad, "spring")
		panel = append(panel, 2000) // four rows per month
	}
	for _, tc := range []struct {
		name string
		cols []*frame.Column
		ok   bool
	}{
		{"numbers", []*frame.Column{col("Year", years, nil), col("Month", months, nil)}, true},
		{"abbreviations", []*frame.Column{col("year", years, nil), col("month", nil, names)}, true},
		{"year alone", []*frame.Column{col("year", years, nil)}, false},
		{"not months", []*frame.Column{col("year", years, nil), col("month", nil, bad)}, false},
		{"panel", []*frame.Column{col("year", panel, nil), col("month", months[:48], nil)}, false},
	} {
		c, src, ok := calendarIndex(&frame.Frame{Columns: tc.cols, Rows: 48})
		if ok != tc.ok {
			t.Errorf("%s: ok = %v", tc.name, ok)
			continue
		}
		if ok && (c.Kind != frame.Time || src[0] != tc.cols[0].Name || frame.TimeOf(c.F[13]).Format("2006-01") != "2001-02") {
			t.Errorf("%s: %v %v row 13 = %s", tc.name, c.Kind, src, frame.TimeOf(c.F[13]))
		}
	}
}
