package dashboard_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/charts/vegatest"
	"github.com/vdsproject/vds/libs/dashboard"
	"github.com/vdsproject/vds/libs/shareddata"
)

func propose(t *testing.T, l *loaded, target string) (*dashboard.Dashboard, int) {
	t.Helper()
	n := 0
	d, err := dashboard.Propose(context.Background(), dashboard.Input{Name: "test", Profile: l.profile, Target: target, Query: l.querier(t, &n)})
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	for _, tl := range d.Tiles {
		t.Logf("tile %-14s %-32q %-22q %s", tl.Key, tl.Label, tl.Value, tl.Detail)
	}
	for _, p := range d.Panels {
		t.Logf("panel %-12s w%-2d %s", p.Kind, p.Width, p.Title)
	}
	validate(t, d)
	return d, n
}

// validate checks every panel's spec against the Vega-Lite schema (when the npm package is
// installed) and that it carries at most a bounded number of data rows.
func validate(t *testing.T, d *dashboard.Dashboard) {
	t.Helper()
	v := vegatest.Optional(t)
	for _, p := range d.Panels {
		if p.Width < 1 || p.Width > 12 {
			t.Errorf("%s: width %d", p.Title, p.Width)
		}
		if v != nil {
			if err := v(p.Spec); err != nil {
				t.Errorf("panel %q does not validate: %v", p.Title, err)
			}
		}
		if n := dataRows(p.Spec); n > dashboard.MaxMapPoints {
			t.Errorf("panel %q carries %d rows", p.Title, n)
		}
	}
}

func dataRows(s map[string]any) int {
	n := 0
	if d, ok := s["data"].(map[string]any); ok {
		if v, ok := d["values"].([]any); ok {
			n += len(v)
		}
	}
	if ls, ok := s["layer"].([]any); ok {
		for _, l := range ls {
			n += dataRows(l.(map[string]any))
		}
	}
	return n
}

func values(s map[string]any) []map[string]any {
	var out []map[string]any
	if d, ok := s["data"].(map[string]any); ok {
		for _, v := range d["values"].([]any) {
			out = append(out, v.(map[string]any))
		}
	}
	return out
}

func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[0], recs[1:]
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func tile(t *testing.T, d *dashboard.Dashboard, key string) *dashboard.Tile {
	t.Helper()
	tl := d.Tile(key)
	if tl == nil {
		t.Fatalf("no %s tile among %v", key, d.Tiles)
	}
	return tl
}

// flights.csv (year, month name, passengers) has no datetime column: the year and month columns
// make the monthly axis, and the series has a rising trend and a 12-month season.
func TestFlightsTimeSeries(t *testing.T) {
	path := shareddata.Path(t, "tabular/flights.csv")
	_, rows := readCSV(t, path)
	var pass []float64
	for _, r := range rows {
		var v float64
		fmt.Sscan(r[2], &v)
		pass = append(pass, v)
	}
	d, queries := propose(t, load(t, path, ""), "")
	if d.Kind != dashboard.KindTimeSeries {
		t.Fatalf("kind %s (%s)", d.Kind, d.Reason)
	}
	if queries != 1 {
		t.Errorf("%d queries, want the one aggregate per month", queries)
	}
	if s := tile(t, d, "seasonality"); !s.HasNumber || s.Number != 12 || s.Value != "12 months" {
		t.Errorf("seasonality tile %+v, want 12 months", s)
	}
	// Mann-Kendall on the 144 monthly values: τ = 0.8087606837606838 (the profile test's reference,
	// checked against Python there).
	if tr := tile(t, d, "trend"); tr.Value != "rising" || !near(tr.Number, 0.8087606837606838, 1e-9) {
		t.Errorf("trend tile %+v", tr)
	}
	last, prev, year := pass[len(pass)-1], pass[len(pass)-2], pass[len(pass)-13]
	if l := tile(t, d, "latest"); l.Number != last || !strings.Contains(l.Detail, "1960-12") {
		t.Errorf("latest %+v, want %v in 1960-12", l, last)
	}
	if c := tile(t, d, "change"); !near(c.Number, (last-prev)/prev, 1e-12) {
		t.Errorf("change %+v, want %v", c, (last-prev)/prev)
	}
	if c := tile(t, d, "change_cycle"); !near(c.Number, (last-year)/year, 1e-12) || !strings.Contains(c.Detail, "1959-12") {
		t.Errorf("change vs a year earlier %+v, want %v", c, (last-year)/year)
	}
	if p := tile(t, d, "periods"); p.Number != 144 {
		t.Errorf("periods %+v", p)
	}
	tp := d.Panel("trend")
	if tp == nil || len(values(tp.Spec)) != 144 {
		t.Fatalf("trend panel %+v", tp)
	}
	// The spec's series is the CSV's, in order.
	for i, v := range values(tp.Spec) {
		if v["value"] != pass[i] {
			t.Fatalf("trend point %d = %v, want %v", i, v["value"], pass[i])
		}
	}
	sp := d.Panel("seasonality")
	if sp == nil {
		t.Fatal("no seasonality panel")
	}
	vs := values(sp.Spec)
	if len(vs) != 12 {
		t.Fatalf("%d seasonal positions", len(vs))
	}
	// The summer peak: July or August is the largest seasonal effect, November the lowest or near it.
	best, worst := "", ""
	bv, wv := math.Inf(-1), math.Inf(1)
	for _, v := range vs {
		e := v["effect"].(float64)
		if e > bv {
			best, bv = v["position"].(string), e
		}
		if e < wv {
			worst, wv = v["position"].(string), e
		}
	}
	if best != "Jul" && best != "Aug" {
		t.Errorf("seasonal peak in %s", best)
	}
	if worst != "Nov" && worst != "Jan" && worst != "Feb" {
		t.Errorf("seasonal low in %s", worst)
	}
}

// telco_churn.csv with target Churn: the target breakdown with the positive rate counted from the
// file, and the churn rate by Contract equal to the file's.
func TestTelcoTargetBreakdown(t *testing.T) {
	path := shareddata.Path(t, "tabular/telco_churn.csv")
	header, rows := readCSV(t, path)
	ci, ti := -1, -1
	for j, h := range header {
		switch h {
		case "Contract":
			ci = j
		case "Churn":
			ti = j
		}
	}
	yes := 0.0
	byContract := map[string][2]float64{}
	for _, r := range rows {
		c := byContract[r[ci]]
		c[1]++
		if r[ti] == "Yes" {
			yes++
			c[0]++
		}
		byContract[r[ci]] = c
	}
	l := load(t, path, "Churn")
	d, _ := propose(t, l, "Churn")
	if d.Kind != dashboard.KindTargetBreakdown || d.Target != "Churn" {
		t.Fatalf("kind %s target %s (%s)", d.Kind, d.Target, d.Reason)
	}
	pr := tile(t, d, "positive_rate")
	if !near(pr.Number, yes/float64(len(rows)), 1e-12) || pr.Label != "Churn = true" {
		t.Errorf("positive rate %+v, want %v", pr, yes/float64(len(rows)))
	}
	if c := tile(t, d, "classes"); c.Number != 2 {
		t.Errorf("classes %+v", c)
	}
	if td := tile(t, d, "top_driver"); td.Value != "Contract" {
		t.Errorf("top driver %+v (telco's strongest single driver is Contract)", td)
	}
	dp := d.Panel("drivers")
	if dp == nil {
		t.Fatal("no drivers panel")
	}
	for _, v := range values(dp.Spec) {
		if v["category"] == "customerID" || v["category"] == "Churn" {
			t.Errorf("drivers list %v", v["category"])
		}
	}
	var contract map[string]any
	rates := 0
	for _, p := range d.Panels {
		if p.Kind != "rate" {
			continue
		}
		rates++
		if strings.HasSuffix(p.Title, "by Contract") {
			contract = p.Spec
		}
	}
	if rates != 4 || contract == nil {
		t.Fatalf("%d rate panels, by Contract %v", rates, contract != nil)
	}
	vs := values(contract)
	if len(vs) != 3 || vs[0]["category"] != "Month-to-month" {
		t.Fatalf("rate by Contract %v", vs)
	}
	for _, v := range vs {
		want := byContract[v["category"].(string)]
		if !near(v["value"].(float64), want[0]/want[1], 1e-12) || v["rows"] != want[1] {
			t.Errorf("%v: rate %v n %v, want %v of %v", v["category"], v["value"], v["rows"], want[0], want[1])
		}
	}
	// A numeric target with many values, or a missing column, is refused.
	for _, bad := range []string{"tenure", "nope"} {
		n := 0
		if _, err := dashboard.Propose(context.Background(), dashboard.Input{Profile: l.profile, Target: bad, Query: l.querier(t, &n)}); err == nil {
			t.Errorf("target %s accepted", bad)
		}
	}
}

// writePoints writes n points around two cities (latitude, longitude, price) and returns the
// path, the bounding box and the mean price.
func writePoints(t *testing.T, n int) (string, [4]float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, uint64(n)))
	var b strings.Builder
	b.WriteString("latitude,longitude,price,kind\n")
	box := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for i := 0; i < n; i++ {
		la, lo := 37.77, -122.42
		if i%3 == 0 {
			la, lo = 34.05, -118.24
		}
		la += r.NormFloat64() * 0.2
		lo += r.NormFloat64() * 0.2
		la, lo = math.Round(la*1e5)/1e5, math.Round(lo*1e5)/1e5
		box = [4]float64{math.Min(box[0], la), math.Max(box[1], la), math.Min(box[2], lo), math.Max(box[3], lo)}
		fmt.Fprintf(&b, "%.5f,%.5f,%d,%s\n", la, lo, 100000+r.IntN(900000), []string{"house", "flat"}[i%2])
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("homes_%d.csv", n))
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, box
}

// No shared file has coordinates (taxis names zones only), so the map is tested on generated
// homes: 20,000 points are binned into grid cells that keep every row; 800 are drawn as they are.
func TestMap(t *testing.T) {
	for _, n := range []int{20000, 800} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			path, box := writePoints(t, n)
			d, queries := propose(t, load(t, path, ""), "")
			if d.Kind != dashboard.KindMap {
				t.Fatalf("kind %s (%s)", d.Kind, d.Reason)
			}
			if queries != 2 {
				t.Errorf("%d queries, want extent and points", queries)
			}
			if p := tile(t, d, "points"); p.Number != float64(n) {
				t.Errorf("points %+v", p)
			}
			want := fmt.Sprintf("%s° to %s° lat, %s° to %s° lon", dashboard.Format(box[0]), dashboard.Format(box[1]), dashboard.Format(box[2]), dashboard.Format(box[3]))
			if bb := tile(t, d, "bounding_box"); bb.Value != want {
				t.Errorf("bounding box %q, want %q", bb.Value, want)
			}
			mp := d.Panel("map")
			if mp == nil {
				t.Fatal("no map panel")
			}
			if pr := mp.Spec["projection"].(map[string]any)["type"]; pr != "mercator" {
				t.Errorf("projection %v", pr)
			}
			layers := mp.Spec["layer"].([]any)
			if len(layers) != 2 {
				t.Fatalf("%d layers", len(layers))
			}
			pts := values(layers[1].(map[string]any))
			total := 0.0
			for _, p := range pts {
				la, lo := p["lat"].(float64), p["lon"].(float64)
				if la < box[0]-1e-9 || la > box[1]+1e-9 || lo < box[2]-1e-9 || lo > box[3]+1e-9 {
					t.Fatalf("point %v outside the box %v", p, box)
				}
				if _, ok := p["measure"].(float64); !ok {
					t.Fatalf("point %v has no price", p)
				}
				if r, ok := p["rows"].(float64); ok {
					total += r
				} else {
					total++
				}
			}
			if total != float64(n) {
				t.Errorf("the map's points stand for %v rows, want %d", total, n)
			}
			if n > dashboard.MaxMapPoints {
				if len(pts) >= n || tile(t, d, "cells").Number != float64(len(pts)) {
					t.Errorf("%d cells for %d points", len(pts), n)
				}
			} else if len(pts) != n || d.Tile("cells") != nil {
				t.Errorf("%d points drawn of %d", len(pts), n)
			}
		})
	}
}

// A long event log (one row every ~13 minutes over 3 years) is aggregated to at most MaxPeriods
// periods before it goes into a spec.
func TestLongSeriesAggregated(t *testing.T) {
	const n = 120000
	var b strings.Builder
	b.WriteString("time,load\n")
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * 789 * time.Second)
		v := 50 + 10*math.Sin(2*math.Pi*float64(ts.YearDay())/365) + float64(i)/n*20 + r.NormFloat64()
		fmt.Fprintf(&b, "%s,%.3f\n", ts.Format("2006-01-02 15:04:05"), v)
	}
	path := filepath.Join(t.TempDir(), "log.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d, _ := propose(t, load(t, path, ""), "")
	if d.Kind != dashboard.KindTimeSeries {
		t.Fatalf("kind %s (%s)", d.Kind, d.Reason)
	}
	p := tile(t, d, "periods")
	// 3 years: 1095 days is over the limit, so weeks (157).
	if p.Number > dashboard.MaxPeriods || !strings.HasSuffix(p.Value, "weeks") {
		t.Errorf("periods %+v", p)
	}
	if tr := tile(t, d, "trend"); tr.Value != "rising" || !strings.Contains(tr.Detail, "(profile)") {
		t.Errorf("trend %+v, want the profile's rising trend", tr)
	}
	if got := len(values(d.Panel("trend").Spec)); float64(got) != p.Number {
		t.Errorf("trend panel has %d points for %v periods", got, p.Number)
	}
}

// Without time, coordinates or target: the overview, with missingness counted as in the file.
func TestOverview(t *testing.T) {
	path := shareddata.Path(t, "tabular/titanic.csv")
	header, rows := readCSV(t, path)
	deck := -1
	for j, h := range header {
		if h == "deck" {
			deck = j
		}
	}
	miss := 0.0
	for _, r := range rows {
		if r[deck] == "" {
			miss++
		}
	}
	d, _ := propose(t, load(t, path, ""), "")
	if d.Kind != dashboard.KindOverview {
		t.Fatalf("kind %s (%s)", d.Kind, d.Reason)
	}
	if r := tile(t, d, "rows"); r.Number != float64(len(rows)) {
		t.Errorf("rows %+v", r)
	}
	if c := tile(t, d, "columns"); c.Number != float64(len(header)) {
		t.Errorf("columns %+v", c)
	}
	mp := d.Panel("missing")
	if mp == nil {
		t.Fatal("no missingness panel")
	}
	top := values(mp.Spec)[0]
	if top["category"] != "deck" || !near(top["value"].(float64), miss/float64(len(rows)), 1e-12) {
		t.Errorf("most missing %v, want deck at %v", top, miss/float64(len(rows)))
	}
	if n := len(d.Panels); n != 6 {
		t.Errorf("%d panels", n)
	}
}
