// Package charts builds Vega-Lite v5 specifications with their data already aggregated or sampled
// into "data": {"values": [...]}. Specs are plain map[string]any values made only of JSON-compatible
// types (map[string]any, []any, string, float64, bool, nil), so they convert directly to a
// google.protobuf.Struct (ToStruct) and to JSON.
package charts

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
)

// Schema is the Vega-Lite schema URL every spec carries.
const Schema = "https://vega.github.io/schema/vega-lite/v5.json"

// MaxPoints is the largest number of points Scatter and Line put into a spec.
const MaxPoints = 2000

// Spec is a Vega-Lite specification.
type Spec = map[string]any

// Bin is one histogram bar covering [Low, High).
type Bin struct {
	Low, High float64
	Count     int64
}

// FiveNum is a box-plot summary of one group.
type FiveNum struct {
	Group                    string
	Min, Q1, Median, Q3, Max float64
	N                        int64
}

func base(title string) Spec {
	s := Spec{"$schema": Schema, "width": "container"}
	if title != "" {
		s["title"] = title
	}
	return s
}

func values(rows []any) Spec { return Spec{"values": rows} }

// num turns non-finite numbers into nil (JSON null), which Vega-Lite skips.
func num(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// Histogram draws pre-computed bins of field as bars spanning each bin.
func Histogram(title, field string, bins []Bin) Spec {
	rows := make([]any, 0, len(bins))
	for _, b := range bins {
		rows = append(rows, Spec{"bin_start": num(b.Low), "bin_end": num(b.High), "count": float64(b.Count)})
	}
	s := base(title)
	s["data"] = values(rows)
	s["mark"] = Spec{"type": "bar", "tooltip": true}
	s["encoding"] = Spec{
		"x":  Spec{"field": "bin_start", "type": "quantitative", "bin": Spec{"binned": true}, "title": field},
		"x2": Spec{"field": "bin_end"},
		"y":  Spec{"field": "count", "type": "quantitative", "title": "rows"},
	}
	return s
}

// Bar draws one bar per category with its count (or any other value), in the given order.
func Bar(title, field string, categories []string, counts []float64) Spec {
	rows := make([]any, 0, len(categories))
	sort := make([]any, 0, len(categories))
	for i, c := range categories {
		rows = append(rows, Spec{"category": c, "value": num(counts[i])})
		sort = append(sort, c)
	}
	s := base(title)
	s["data"] = values(rows)
	s["mark"] = Spec{"type": "bar", "tooltip": true}
	s["encoding"] = Spec{
		"x": Spec{"field": "category", "type": "nominal", "title": field, "sort": sort},
		"y": Spec{"field": "value", "type": "quantitative", "title": "rows"},
	}
	return s
}

// Box draws pre-computed five-number summaries per group (whiskers at Min/Max).
func Box(title, groupField, valueField string, boxes []FiveNum) Spec {
	rows := make([]any, 0, len(boxes))
	for _, b := range boxes {
		rows = append(rows, Spec{"group": b.Group, "min": num(b.Min), "q1": num(b.Q1), "median": num(b.Median),
			"q3": num(b.Q3), "max": num(b.Max), "n": float64(b.N)})
	}
	x := Spec{"field": "group", "type": "nominal", "title": groupField}
	y := Spec{"type": "quantitative", "title": valueField}
	s := base(title)
	s["data"] = values(rows)
	s["encoding"] = Spec{"x": x}
	s["layer"] = []any{
		Spec{"mark": Spec{"type": "rule"}, "encoding": Spec{"y": with(y, "field", "min"), "y2": Spec{"field": "max"}}},
		Spec{"mark": Spec{"type": "bar", "size": 28, "tooltip": true}, "encoding": Spec{"y": with(y, "field", "q1"), "y2": Spec{"field": "q3"}}},
		Spec{"mark": Spec{"type": "tick", "color": "white", "size": 28}, "encoding": Spec{"y": with(y, "field", "median")}},
	}
	return s
}

func with(m Spec, k string, v any) Spec {
	out := make(Spec, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// Scatter draws x against y with a least-squares trend line. Pairs with a NaN are skipped; when more
// than MaxPoints remain, a uniform random sample (fixed seed, so the spec is reproducible) is drawn.
func Scatter(title, xField, yField string, x, y []float64) Spec {
	idx := make([]int, 0, len(x))
	for i := range x {
		if !math.IsNaN(x[i]) && !math.IsNaN(y[i]) {
			idx = append(idx, i)
		}
	}
	// Trend from all points, not only the sample.
	var sx, sy, sxx, sxy, n float64
	for _, i := range idx {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
		n++
	}
	idx = sample(idx, MaxPoints)
	rows := make([]any, 0, len(idx))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, i := range idx {
		rows = append(rows, Spec{"x": x[i], "y": y[i]})
		lo, hi = math.Min(lo, x[i]), math.Max(hi, x[i])
	}
	layers := []any{Spec{
		"data":     values(rows),
		"mark":     Spec{"type": "point", "opacity": 0.5, "tooltip": true},
		"encoding": Spec{"x": Spec{"field": "x", "type": "quantitative", "title": xField}, "y": Spec{"field": "y", "type": "quantitative", "title": yField}},
	}}
	if den := n*sxx - sx*sx; n >= 2 && den != 0 {
		slope := (n*sxy - sx*sy) / den
		icpt := (sy - slope*sx) / n
		layers = append(layers, Spec{
			"data":     values([]any{Spec{"x": lo, "y": icpt + slope*lo}, Spec{"x": hi, "y": icpt + slope*hi}}),
			"mark":     Spec{"type": "line", "color": "firebrick"},
			"encoding": Spec{"x": Spec{"field": "x", "type": "quantitative"}, "y": Spec{"field": "y", "type": "quantitative"}},
		})
	}
	s := base(title)
	s["layer"] = layers
	return s
}

func sample(idx []int, k int) []int {
	if len(idx) <= k {
		return idx
	}
	r := rand.New(rand.NewPCG(1, 2))
	out := slices.Clone(idx)
	for i := 0; i < k; i++ {
		j := i + r.IntN(len(out)-i)
		out[i], out[j] = out[j], out[i]
	}
	out = out[:k]
	slices.Sort(out)
	return out
}

// Line draws a time series. Points are sorted by time; when there are more than MaxPoints, they are
// averaged in MaxPoints equal-count buckets (mean time, mean value), which keeps the shape.
func Line(title, timeField, valueField string, ts []time.Time, y []float64) Spec {
	idx := make([]int, 0, len(ts))
	for i := range ts {
		if !math.IsNaN(y[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return ts[a].Compare(ts[b]) })
	rows := make([]any, 0, min(len(idx), MaxPoints))
	if len(idx) <= MaxPoints {
		for _, i := range idx {
			rows = append(rows, Spec{"t": ts[i].UTC().Format(time.RFC3339), "y": y[i]})
		}
	} else {
		for b := 0; b < MaxPoints; b++ {
			lo, hi := b*len(idx)/MaxPoints, (b+1)*len(idx)/MaxPoints
			var st, sy float64
			for _, i := range idx[lo:hi] {
				st += float64(ts[i].UnixNano()) / 1e9
				sy += y[i]
			}
			k := float64(hi - lo)
			sec := st / k
			tm := time.Unix(int64(sec), int64((sec-math.Floor(sec))*1e9)).UTC()
			rows = append(rows, Spec{"t": tm.Format(time.RFC3339), "y": sy / k})
		}
	}
	s := base(title)
	s["data"] = values(rows)
	s["mark"] = Spec{"type": "line", "point": len(rows) <= 200, "tooltip": true}
	s["encoding"] = Spec{
		"x": Spec{"field": "t", "type": "temporal", "title": timeField},
		"y": Spec{"field": "y", "type": "quantitative", "title": valueField},
	}
	return s
}

// Heatmap draws a square matrix (e.g. correlations in [-1, 1]) with a diverging color scale.
func Heatmap(title string, names []string, matrix [][]float64) Spec {
	rows := make([]any, 0, len(names)*len(names))
	order := make([]any, len(names))
	for i, a := range names {
		order[i] = a
		for j, b := range names {
			rows = append(rows, Spec{"a": a, "b": b, "value": num(matrix[i][j])})
		}
	}
	s := base(title)
	s["data"] = values(rows)
	s["mark"] = Spec{"type": "rect", "tooltip": true}
	s["encoding"] = Spec{
		"x":     Spec{"field": "a", "type": "nominal", "sort": order, "title": nil},
		"y":     Spec{"field": "b", "type": "nominal", "sort": order, "title": nil},
		"color": Spec{"field": "value", "type": "quantitative", "scale": Spec{"scheme": "redblue", "domain": []any{-1.0, 1.0}}},
	}
	return s
}

// Importance draws feature importances as horizontal bars, largest on top.
func Importance(title string, features []string, importances []float64) Spec {
	idx := make([]int, len(features))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case importances[a] > importances[b]:
			return -1
		case importances[a] < importances[b]:
			return 1
		}
		return 0
	})
	rows := make([]any, 0, len(idx))
	order := make([]any, 0, len(idx))
	for _, i := range idx {
		rows = append(rows, Spec{"feature": features[i], "importance": num(importances[i])})
		order = append(order, features[i])
	}
	s := base(title)
	s["data"] = values(rows)
	s["mark"] = Spec{"type": "bar", "tooltip": true}
	s["encoding"] = Spec{
		"y": Spec{"field": "feature", "type": "nominal", "sort": order, "title": nil},
		"x": Spec{"field": "importance", "type": "quantitative"},
	}
	return s
}

// ToStruct converts a spec to a protobuf Struct.
func ToStruct(s Spec) (*structpb.Struct, error) {
	return structpb.NewStruct(s)
}
