package profile

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// monthNumbers maps English month names and their three-letter abbreviations to 1..12.
var monthNumbers = func() map[string]int {
	m := map[string]int{}
	for k := time.January; k <= time.December; k++ {
		m[strings.ToLower(k.String())] = int(k)
		m[strings.ToLower(k.String()[:3])] = int(k)
	}
	m["sept"] = 9
	return m
}()

// calendarIndex builds a monthly time index when a table has no datetime column but splits the
// date into a year column (whole numbers 1000..3000, named year or yr) and a month column (English
// month names or abbreviations, or whole numbers 1..12, named month or mon), as flights.csv does:
// the first of each month, UTC, as a frame.Time column named "<year>+<month>". It reports false
// when there are no such columns, when a present value does not parse, or when the (year, month)
// pairs are not mostly distinct (a panel of many rows per month is not one series) or fewer than
// tsMinPoints.
func calendarIndex(f *frame.Frame) (*frame.Column, [2]string, bool) {
	var yc, mc *frame.Column
	for _, c := range f.Columns {
		switch strings.ToLower(strings.TrimSpace(c.Name)) {
		case "year", "yr":
			if yc == nil && c.Kind == frame.Float {
				yc = c
			}
		case "month", "mon":
			if mc == nil && (c.Kind == frame.Float || c.Kind == frame.String) {
				mc = c
			}
		}
	}
	if yc == nil || mc == nil {
		return nil, [2]string{}, false
	}
	out := &frame.Column{Name: yc.Name + "+" + mc.Name, Kind: frame.Time, ArrowType: "date32", F: make([]float64, f.Rows), Null: make([]bool, f.Rows)}
	seen := map[int]bool{}
	present := 0
	for i := 0; i < f.Rows; i++ {
		y := yc.F[i]
		m := 0
		switch {
		case yc.Null[i] || y != y || mc.Null[i]:
		case mc.Kind == frame.String:
			s := strings.ToLower(strings.TrimSpace(mc.S[i]))
			if k, ok := monthNumbers[s]; ok {
				m = k
			} else if k, err := strconv.Atoi(s); err == nil {
				m = k
			} else {
				return nil, [2]string{}, false
			}
		default:
			if v := mc.F[i]; v == v && v == math.Trunc(v) {
				m = int(v)
			} else if v == v {
				return nil, [2]string{}, false
			}
		}
		if m == 0 && !(yc.Null[i] || y != y || mc.Null[i]) {
			return nil, [2]string{}, false
		}
		if m == 0 {
			out.Null[i], out.F[i] = true, math.NaN()
			continue
		}
		if m < 1 || m > 12 || y != math.Trunc(y) || y < 1000 || y > 3000 {
			return nil, [2]string{}, false
		}
		out.F[i] = float64(time.Date(int(y), time.Month(m), 1, 0, 0, 0, 0, time.UTC).Unix())
		seen[int(y)*12+m] = true
		present++
	}
	if present < tsMinPoints || float64(len(seen)) < tsIndexUnique*float64(present) {
		return nil, [2]string{}, false
	}
	return out, [2]string{yc.Name, mc.Name}, true
}
