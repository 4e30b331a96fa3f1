package charts

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
)

func dataValues(t *testing.T, s Spec) []any {
	t.Helper()
	d, ok := s["data"].(Spec)
	if !ok {
		t.Fatalf("no data in %v", s)
	}
	v, ok := d["values"].([]any)
	if !ok {
		t.Fatalf("data.values is %T", d["values"])
	}
	return v
}

func roundTrip(t *testing.T, s Spec) map[string]any {
	t.Helper()
	if s["$schema"] != Schema {
		t.Fatalf("$schema = %v", s["$schema"])
	}
	st, err := ToStruct(s)
	if err != nil {
		t.Fatalf("ToStruct: %v", err)
	}
	b, err := protojson.Marshal(st)
	if err != nil {
		t.Fatalf("protojson: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpecs(t *testing.T) {
	t.Parallel()
	h := Histogram("mass", "body_mass_g", []Bin{{2700, 3000, 5}, {3000, 3300, 12}, {3300, math.NaN(), 1}})
	if v := dataValues(t, h); len(v) != 3 || v[1].(Spec)["count"] != 12.0 {
		t.Errorf("histogram values %v", v)
	}
	roundTrip(t, h)
	b := Bar("species", "species", []string{"Adelie", "Gentoo"}, []float64{152, 124})
	if v := dataValues(t, b); len(v) != 2 || v[0].(Spec)["category"] != "Adelie" {
		t.Errorf("bar values %v", v)
	}
	roundTrip(t, b)
	bx := Box("mass by species", "species", "body_mass_g", []FiveNum{{"Adelie", 2850, 3350, 3700, 4000, 4775, 151}})
	if len(bx["layer"].([]any)) != 3 || len(dataValues(t, bx)) != 1 {
		t.Errorf("box spec %v", bx)
	}
	roundTrip(t, bx)
	hm := Heatmap("corr", []string{"a", "b"}, [][]float64{{1, 0.5}, {0.5, 1}})
	if len(dataValues(t, hm)) != 4 {
		t.Error("heatmap cells")
	}
	roundTrip(t, hm)
	im := Importance("importance", []string{"a", "b", "c"}, []float64{0.1, 0.7, 0.2})
	if v := dataValues(t, im); v[0].(Spec)["feature"] != "b" {
		t.Errorf("importance order %v", v)
	}
	roundTrip(t, im)
}

func TestScatterSamplesAndTrend(t *testing.T) {
	t.Parallel()
	n := 10000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i)
		y[i] = 2*float64(i) + 1
	}
	x[5] = math.NaN()
	s := Scatter("y vs x", "x", "y", x, y)
	layers := s["layer"].([]any)
	if len(layers) != 2 {
		t.Fatalf("want points and trend layers, got %d", len(layers))
	}
	pts := dataValues(t, layers[0].(Spec))
	if len(pts) != MaxPoints {
		t.Errorf("points = %d, want %d", len(pts), MaxPoints)
	}
	trend := dataValues(t, layers[1].(Spec))
	p0 := trend[0].(Spec)
	if math.Abs(p0["y"].(float64)-(2*p0["x"].(float64)+1)) > 1e-6 {
		t.Errorf("trend line %v", trend)
	}
	roundTrip(t, s)
}

func TestLineBuckets(t *testing.T) {
	t.Parallel()
	n := 5000
	ts, y := make([]time.Time, n), make([]float64, n)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range ts {
		ts[n-1-i] = t0.Add(time.Duration(i) * time.Hour)
		y[n-1-i] = float64(i)
	}
	s := Line("series", "when", "value", ts, y)
	v := dataValues(t, s)
	if len(v) != MaxPoints {
		t.Fatalf("points = %d", len(v))
	}
	first, last := v[0].(Spec), v[len(v)-1].(Spec)
	if first["y"].(float64) >= last["y"].(float64) || first["t"].(string) != "2020-01-01T00:30:00Z" {
		t.Errorf("line not sorted by time: first %v last %v", first, last)
	}
	roundTrip(t, s)
}
