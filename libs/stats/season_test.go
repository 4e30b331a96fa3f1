package stats

import (
	"math"
	"testing"
)

func TestSeasonalPeak(t *testing.T) {
	// Monthly series: a 12-month cycle on a rising line; its differences peak at lag 12.
	var y []float64
	for i := 0; i < 144; i++ {
		y = append(y, float64(i)+10*math.Sin(2*math.Pi*float64(i)/12))
	}
	d := make([]float64, len(y)-1)
	for i := range d {
		d[i] = y[i+1] - y[i]
	}
	months, _ := SeasonPeriods("month")
	if p, acf, ok := SeasonalPeak(d, months); !ok || p != 12 || acf < 0.9 {
		t.Errorf("monthly cycle: period %d acf %.3f ok %v, want 12 with acf near 1", p, acf, ok)
	}
	// The same differences read as daily data have no weekly period.
	days, _ := SeasonPeriods("day")
	if p, _, ok := SeasonalPeak(d, days); ok {
		t.Errorf("a 12-step cycle reported as a %d-day season", p)
	}
	// Too short for any period.
	if _, _, ok := SeasonalPeak(d[:20], months); ok {
		t.Errorf("20 points cannot show a 12-period season")
	}
	if _, ok := SeasonPeriods("year"); ok {
		t.Errorf("years have no seasonal period")
	}
}
