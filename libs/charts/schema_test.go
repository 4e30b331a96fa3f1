package charts_test

import (
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/charts"
	"github.com/vdsproject/vds/libs/charts/vegatest"
)

// TestSpecsValidate checks every chart kind against the Vega-Lite JSON schema from the npm package,
// through a protobuf Struct round trip as the specs travel, and checks that the validator rejects
// broken specs (so a pass means something).
func TestSpecsValidate(t *testing.T) {
	t.Parallel()
	validate := vegatest.Validator(t)
	ts := []time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)}
	specs := map[string]charts.Spec{
		"histogram":  charts.Histogram("h", "x", []charts.Bin{{Low: 0, High: 1, Count: 3}, {Low: 1, High: 2, Count: 5}}),
		"bar":        charts.Bar("b", "c", []string{"a", "b"}, []float64{1, 2}),
		"box":        charts.Box("box", "g", "v", []charts.FiveNum{{Group: "a", Min: 0, Q1: 1, Median: 2, Q3: 3, Max: 4, N: 10}}),
		"scatter":    charts.Scatter("s", "x", "y", []float64{1, 2, 3, 4}, []float64{2, 4, 5, 9}),
		"line":       charts.Line("l", "t", "y", ts, []float64{1, 2, 3}),
		"heatmap":    charts.Heatmap("hm", []string{"a", "b"}, [][]float64{{1, 0.5}, {0.5, 1}}),
		"importance": charts.Importance("imp", []string{"f1", "f2"}, []float64{0.7, 0.3}),
		"empty bar":  charts.Bar("", "c", nil, nil),
	}
	for name, s := range specs {
		st, err := charts.ToStruct(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := validate(st.AsMap()); err != nil {
			t.Errorf("%s does not validate: %v", name, err)
		}
	}
	broken := []charts.Spec{
		{"mark": "nonsense", "data": map[string]any{"values": []any{}}},
		{"mark": "bar", "encoding": map[string]any{"x": map[string]any{"field": "a", "type": "quantitativ"}}},
		{"mark": "bar", "width": -3, "height": "tall"},
	}
	for i, s := range broken {
		if err := validate(s); err == nil {
			t.Errorf("broken spec %d validated", i)
		}
	}
}
