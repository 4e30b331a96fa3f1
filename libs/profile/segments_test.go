package profile

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/charts/vegatest"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/stats"
)

func relClose(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Max(math.Abs(want), 1e-300)
}

// segmentFinding returns the finding on the segments of src tested against other.
func segmentFinding(findings []*commonv1.Finding, src, other string) *commonv1.Finding {
	for _, fd := range findings {
		if strings.Contains(fd.Query, "AS segment") && len(fd.Columns) == 2 && fd.Columns[0] == src && fd.Columns[1] == other {
			return fd
		}
	}
	return nil
}

// TestPenguinSegments: penguins' bimodal flipper_length_mm is split at its mixture's decision
// boundary, and the segments line up with species: the upper segment is 92% Gentoo, the lower
// has one Gentoo, and body mass differs between them. The tests on the split match scipy
// (libs/profile/testdata/penguin_segments.py, scipy 1.10.1, for the boundary 203.68928994609104
// the engine found).
func TestPenguinSegments(t *testing.T) {
	t.Parallel()
	f := loadCSV(t, "tabular/penguins.csv", false)
	p := mustProfile(t, f, Options{Target: "species"})
	if !column(t, p, "flipper_length_mm").Numeric.Multimodal {
		t.Fatal("flipper_length_mm is not flagged multimodal")
	}
	hyps, findings := Hypotheses(f, p, "species", 0.05)

	sp := segmentFinding(findings, "flipper_length_mm", "species")
	if sp == nil {
		t.Fatal("no surviving segment finding for flipper_length_mm against species")
	}
	t.Logf("%s\n  %s", sp.Statement, sp.Query)
	v := sp.Values
	if b := v["boundary"]; b < 200 || b > 208 {
		t.Errorf("flipper_length_mm boundary %v, want between the Adelie/Chinstrap and Gentoo modes (200..208)", b)
	}
	if v["n_lower"] != 209 || v["n_upper"] != 133 || v["n"] != 342 {
		t.Errorf("segment sizes %v / %v of %v, want 209 / 133 of 342", v["n_lower"], v["n_upper"], v["n"])
	}
	want := map[string]float64{"statistic": 295.75177378039217, "p_value": 6.002308555138018e-65, "effect_size": 0.9299307868673452,
		"share_upper": 0.9172932330827067, "share_lower": 0.004784688995215311}
	for k, w := range want {
		if !relClose(v[k], w) {
			t.Errorf("species by segment %s = %v, want %v (scipy)", k, v[k], w)
		}
	}
	if sp.Test != "chi_square" || !strings.Contains(sp.Statement, "species = Gentoo in 91.7% of the upper segment vs 0.5% of the lower") ||
		!strings.Contains(sp.Statement, "Cramér's V = 0.93 (95% CI") || !strings.Contains(sp.Statement, "split at 203.7") {
		t.Errorf("statement: %s", sp.Statement)
	}
	if v["ci_low"] < 0.7 || v["ci_low"] > v["effect_size"] || v["ci_high"] < v["effect_size"] {
		t.Errorf("Cramér's V interval %v..%v around %v", v["ci_low"], v["ci_high"], v["effect_size"])
	}

	mass := segmentFinding(findings, "flipper_length_mm", "body_mass_g")
	if mass == nil {
		t.Fatal("no surviving segment finding for flipper_length_mm against body_mass_g")
	}
	want = map[string]float64{"statistic": 23.886425569129692, "effect_size": 2.7812981354302924, "ci_low": 2.4804668977101656,
		"ci_high": 3.082129373150419, "center_upper": 5011.090225563909, "center_lower": 3686.7224880382773}
	for k, w := range want {
		if !relClose(mass.Values[k], w) {
			t.Errorf("body_mass_g by segment %s = %v, want %v (scipy)", k, mass.Values[k], w)
		}
	}
	if mass.Test != "welch_t" || math.Abs(mass.Values["p_value"]-8.43344190099136e-65) > 1e-6*8.43344190099136e-65 {
		t.Errorf("body_mass_g by segment: %s p %v", mass.Test, mass.Values["p_value"])
	}
	if !strings.Contains(mass.Statement, "mean body_mass_g of 5011.1 vs 3686.7") {
		t.Errorf("statement: %s", mass.Statement)
	}

	// The query reproduces the split; the chart is a histogram coloured by segment holding the
	// same rows.
	if !strings.Contains(mass.Query, `CASE WHEN "flipper_length_mm" >= 203.689`) || !strings.Contains(mass.Query, "FROM data") {
		t.Errorf("query: %s", mass.Query)
	}
	var chart *commonv1.Chart
	for _, h := range hyps {
		if h.Chart != nil && h.Chart.Id == mass.ChartId {
			chart = h.Chart
		}
	}
	if chart == nil || chart.Kind != "histogram" {
		t.Fatalf("segment chart %v", chart)
	}
	spec := chart.VegaLite.AsMap()
	enc := spec["encoding"].(map[string]any)
	if enc["color"].(map[string]any)["field"] != "segment" {
		t.Errorf("histogram not coloured by segment: %v", enc["color"])
	}
	perSegment := map[string]float64{}
	for _, row := range spec["data"].(map[string]any)["values"].([]any) {
		r := row.(map[string]any)
		perSegment[r["segment"].(string)] += r["count"].(float64)
	}
	if perSegment["upper"] != 133 || perSegment["lower"] != 209 {
		t.Errorf("histogram rows per segment %v", perSegment)
	}

	// Segment charts (stacked histograms and per-level bars) validate against the Vega-Lite schema.
	if validate := vegatest.Optional(t); validate != nil {
		for _, h := range hyps {
			if h.Chart != nil && strings.Contains(h.Query, "AS segment") {
				if err := validate(h.Chart.VegaLite.AsMap()); err != nil {
					t.Errorf("chart %s (%s) does not validate: %v", h.Chart.Title, h.Chart.Kind, err)
				}
			}
		}
	}

	// Every hypothesis, segments included, is under one Benjamini-Hochberg control.
	ps := make([]float64, len(hyps))
	for i, h := range hyps {
		ps[i] = h.PValue
	}
	for i, q := range stats.BenjaminiHochberg(ps) {
		if !relClose(hyps[i].QValue, q) {
			t.Fatalf("hypothesis %d q = %v, want %v from BH over all %d tests", i, hyps[i].QValue, q, len(hyps))
		}
	}
}

// TestSegmentsPlantedAndNull: a bimodal column whose modes shift one column and not another gives
// a segment finding for the shifted column only.
func TestSegmentsPlantedAndNull(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 2000
	mk := func(name string) *frame.Column {
		return &frame.Column{Name: name, Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	}
	x, shifted, null := mk("x"), mk("shifted"), mk("null")
	for i := 0; i < n; i++ {
		mode := float64(rng.IntN(2))
		x.F[i] = 10*mode + rng.NormFloat64()
		shifted.F[i] = 50 + 2*mode + rng.NormFloat64()
		null.F[i] = 50 + rng.NormFloat64()
	}
	f := &frame.Frame{Columns: []*frame.Column{x, shifted, null}, Rows: n}
	p, err := Compute(context.Background(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !column(t, p, "x").Numeric.Multimodal {
		t.Fatal("x is not flagged multimodal")
	}
	hyps, findings := Hypotheses(f, p, "", 0.05)
	fd := segmentFinding(findings, "x", "shifted")
	if fd == nil {
		t.Fatal("planted segment difference not found")
	}
	if b := fd.Values["boundary"]; math.Abs(b-5) > 0.5 {
		t.Errorf("boundary %v, want about 5 (halfway between equal modes at 0 and 10)", b)
	}
	if d := fd.Values["center_upper"] - fd.Values["center_lower"]; math.Abs(d-2) > 0.2 {
		t.Errorf("segment difference %v, want about 2", d)
	}
	var nullH *profilingv1.Hypothesis
	for _, h := range hyps {
		if strings.Contains(h.Query, "AS segment") && h.Columns[1] == "null" {
			nullH = h
		}
	}
	if nullH == nil || nullH.Survived {
		t.Errorf("null column against the segments: %v", nullH)
	}
}
