package dashboard

import (
	"math"
	"time"

	"github.com/vdsproject/vds/libs/charts"
)

// Spec builders. Every spec carries its data inline, "width": "container" and a fixed height, so
// the web app's grid decides the width.

type spec = charts.Spec

func base(title string, height int) spec {
	s := spec{"$schema": charts.Schema, "width": "container", "height": float64(height)}
	if title != "" {
		s["title"] = title
	}
	return s
}

func val(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// barSpec draws one bar per category (in the given order). The categorical field is "category"
// and its axis is titled with the column, which lets the web app map a clicked bar to the column.
// A percent format is used when share is set; n, when given, goes into the tooltip.
func barSpec(title, column, valueTitle string, cats []string, vals, n []float64, share bool, horizontal bool) spec {
	rows := make([]any, 0, len(cats))
	order := make([]any, 0, len(cats))
	for i, c := range cats {
		r := spec{"category": c, "value": val(vals[i])}
		if n != nil {
			r["rows"] = val(n[i])
		}
		rows = append(rows, r)
		order = append(order, c)
	}
	s := base(title, 260)
	s["data"] = spec{"values": rows}
	s["mark"] = spec{"type": "bar", "tooltip": true}
	cat := spec{"field": "category", "type": "nominal", "title": column, "sort": order}
	v := spec{"field": "value", "type": "quantitative", "title": valueTitle}
	if share {
		v["axis"] = spec{"format": ".0%"}
	}
	enc := spec{}
	if horizontal {
		enc["y"], enc["x"] = cat, v
	} else {
		enc["x"], enc["y"] = cat, v
	}
	tip := []any{spec{"field": "category", "type": "nominal", "title": column}, spec{"field": "value", "type": "quantitative", "title": valueTitle, "format": ternary(share, ".1%", ",.4~g")}}
	if n != nil {
		tip = append(tip, spec{"field": "rows", "type": "quantitative", "title": "rows", "format": ","})
	}
	enc["tooltip"] = tip
	s["encoding"] = enc
	return s
}

func ternary[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// trendSpec draws a series per period with its moving-average trend (dashed) when given.
func trendSpec(title, timeTitle, valueTitle string, ts []time.Time, y, trend []float64) spec {
	rows := make([]any, 0, len(ts))
	for i, t := range ts {
		r := spec{"t": t.UTC().Format(time.RFC3339), "value": val(y[i])}
		if trend != nil {
			r["trend"] = val(trend[i])
		}
		rows = append(rows, r)
	}
	x := spec{"field": "t", "type": "temporal", "title": timeTitle}
	layers := []any{spec{
		"mark":     spec{"type": "line", "point": len(ts) <= 200, "tooltip": true},
		"encoding": spec{"x": x, "y": spec{"field": "value", "type": "quantitative", "title": valueTitle}},
	}}
	if trend != nil {
		layers = append(layers, spec{
			"mark":     spec{"type": "line", "color": "firebrick", "strokeDash": []any{6.0, 3.0}},
			"encoding": spec{"x": x, "y": spec{"field": "trend", "type": "quantitative", "title": valueTitle}},
		})
	}
	s := base(title, 280)
	s["data"] = spec{"values": rows}
	s["layer"] = layers
	return s
}

// seasonSpec draws the mean deviation from the trend at each position of the cycle.
func seasonSpec(title, posTitle, valueTitle string, labels []string, effect []float64) spec {
	rows := make([]any, 0, len(labels))
	order := make([]any, 0, len(labels))
	for i, l := range labels {
		rows = append(rows, spec{"position": l, "effect": val(effect[i])})
		order = append(order, l)
	}
	s := base(title, 240)
	s["data"] = spec{"values": rows}
	s["mark"] = spec{"type": "bar", "tooltip": true}
	s["encoding"] = spec{
		"x":     spec{"field": "position", "type": "ordinal", "title": posTitle, "sort": order},
		"y":     spec{"field": "effect", "type": "quantitative", "title": valueTitle},
		"color": spec{"condition": spec{"test": "datum.effect < 0", "value": "#c0504d"}, "value": "#4c78a8"},
	}
	return s
}

// mapPoint is one point or grid cell of a map.
type mapPoint struct {
	Lat, Lon, N, M float64
}

// mapSpec draws points by longitude/latitude through a projection, sized by the rows they stand
// for (when binned) and colored by a measure (when there is one), inside the bounding box outline.
func mapSpec(title, projection, latName, lonName, measure string, pts []mapPoint, binned bool, box [4]float64) spec {
	rows := make([]any, 0, len(pts))
	for _, p := range pts {
		r := spec{"lat": p.Lat, "lon": p.Lon}
		if binned {
			r["rows"] = p.N
		}
		if measure != "" {
			r["measure"] = val(p.M)
		}
		rows = append(rows, r)
	}
	lat := spec{"field": "lat", "type": "quantitative", "title": latName}
	lon := spec{"field": "lon", "type": "quantitative", "title": lonName}
	// The outline: the bounding box (latMin, latMax, lonMin, lonMax) with a small margin, drawn as
	// a closed line through its corners, densified so that it follows the projection.
	la0, la1, lo0, lo1 := box[0], box[1], box[2], box[3]
	padLa, padLo := math.Max((la1-la0)*0.03, 1e-4), math.Max((lo1-lo0)*0.03, 1e-4)
	la0, la1 = math.Max(-89.9, la0-padLa), math.Min(89.9, la1+padLa)
	lo0, lo1 = math.Max(-180, lo0-padLo), math.Min(180, lo1+padLo)
	var outline []any
	k := 0
	edge := func(aLa, aLo, bLa, bLo float64) {
		for i := 0; i < 8; i++ {
			f := float64(i) / 8
			outline = append(outline, spec{"lat": aLa + f*(bLa-aLa), "lon": aLo + f*(bLo-aLo), "k": float64(k)})
			k++
		}
	}
	edge(la0, lo0, la0, lo1)
	edge(la0, lo1, la1, lo1)
	edge(la1, lo1, la1, lo0)
	edge(la1, lo0, la0, lo0)
	outline = append(outline, spec{"lat": la0, "lon": lo0, "k": float64(k)})

	enc := spec{"longitude": lon, "latitude": lat}
	tip := []any{spec{"field": "lat", "type": "quantitative", "title": latName, "format": ".4f"}, spec{"field": "lon", "type": "quantitative", "title": lonName, "format": ".4f"}}
	mark := spec{"type": "circle", "opacity": 0.6}
	if binned {
		enc["size"] = spec{"field": "rows", "type": "quantitative", "title": "rows", "scale": spec{"range": []any{8.0, 400.0}}}
		tip = append(tip, spec{"field": "rows", "type": "quantitative", "title": "rows", "format": ","})
	} else {
		mark["size"] = 14.0
	}
	if measure != "" {
		enc["color"] = spec{"field": "measure", "type": "quantitative", "title": ternary(binned, "mean "+measure, measure), "scale": spec{"scheme": "viridis"}}
		tip = append(tip, spec{"field": "measure", "type": "quantitative", "title": ternary(binned, "mean "+measure, measure), "format": ",.4~g"})
	}
	enc["tooltip"] = tip
	s := base(title, 420)
	s["projection"] = spec{"type": projection}
	s["layer"] = []any{
		spec{
			"data":     spec{"values": outline},
			"mark":     spec{"type": "line", "color": "#8a94a6", "strokeDash": []any{4.0, 4.0}, "strokeWidth": 1.0},
			"encoding": spec{"longitude": spec{"field": "lon", "type": "quantitative"}, "latitude": spec{"field": "lat", "type": "quantitative"}, "order": spec{"field": "k", "type": "quantitative"}},
		},
		spec{"data": spec{"values": rows}, "mark": mark, "encoding": enc},
	}
	return s
}
