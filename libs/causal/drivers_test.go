package causal

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
)

// driverFrame simulates two periods in which the shares of C, A and B all rise. A has a planted
// effect of 2 on y, B none (it only shares the cause C with y), C has a direct effect of 3 and a
// total effect of 3 + 2*0.4 = 3.8 (through A). U (dropped from the frame when latent) raises B and y.
func driverFrame(n int, seed uint64, withU bool) *frame.Frame {
	rng := rand.New(rand.NewPCG(seed, 7))
	str := func(name string) *frame.Column {
		return &frame.Column{Name: name, Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	}
	per, a, b, c := str("period"), str("A"), str("B"), str("C")
	u := &frame.Column{Name: "U", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	yn := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	for i := 0; i < n; i++ {
		after := i >= n/2
		per.S[i] = map[bool]string{false: "2023", true: "2024"}[after]
		pc := 0.3
		if after {
			pc = 0.6
		}
		ci := rng.Float64() < pc
		ai := rng.Float64() < 0.2+0.4*b2f(ci)
		uv := 0.0
		if withU {
			uv = rng.NormFloat64()
		}
		bi := rng.Float64() < 0.15+0.4*b2f(ci)+0.3*b2f(uv > 0)
		c.S[i], a.S[i], b.S[i], u.F[i] = yn(ci), yn(ai), yn(bi), uv
		y.F[i] = 1 + 2*b2f(ai) + 3*b2f(ci) + 1.5*uv + rng.NormFloat64()
	}
	cols := []*frame.Column{per, a, b, c, y}
	return &frame.Frame{Rows: n, Columns: cols}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestExplainChangeDriverEffects(t *testing.T) {
	graph := func(text string) *Graph {
		g, err := ParseGraph(text)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	known := "C -> A\nC -> B\nC -> y\nA -> y\nB -> y" // B -> y allowed by the graph, 0 in the data
	latent := known + "\nU -> B\nU -> y"
	type want struct {
		effect, tol float64 // effect of the column = yes
		label       string
		reason      string
	}
	for _, tc := range []struct {
		name  string
		withU bool
		graph *Graph
		want  map[string]want
	}{
		{"graph identifies all", false, graph(known), map[string]want{
			"A": {2, 0.2, LabelCausal, "back-door"},
			"B": {0, 0.2, LabelCausal, "back-door"},
			// {A, B} descend from C: the graph's (empty) set replaces them, so this is the total effect.
			"C": {3.8, 0.25, LabelCausal, "no adjustment"},
		}},
		{"no graph", false, nil, map[string]want{
			"A": {2, 0.2, LabelAssociational, "no graph"},
			"B": {0, 0.2, LabelAssociational, "no graph"},
			"C": {3, 0.2, LabelAssociational, "no graph"}, // adjusting for the mediator A leaves the direct effect
		}},
		{"latent confounder of B", true, graph(latent), map[string]want{
			"A": {2, 0.25, LabelCausal, "back-door"},
			"B": {math.NaN(), 0, LabelAssociational, "not identified"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := driverFrame(3000, 11, tc.withU)
			res, err := ExplainChange(f, ChangeSpec{Outcome: "y", TimeColumn: "period", Segments: []string{"A", "B", "C"}, Graph: tc.graph, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.DriverEffects) != 3 {
				t.Fatalf("%d driver effects, want 3", len(res.DriverEffects))
			}
			seen := 0
			for _, de := range res.DriverEffects {
				w, ok := tc.want[de.Column]
				if !ok {
					continue
				}
				seen++
				if de.Estimate == nil {
					t.Fatalf("%s: no estimate: %s", de.Column, de.Error)
				}
				if de.Label != w.label || !strings.Contains(strings.ToLower(de.Reason+" "+de.Estimate.Identification+" "+de.Estimate.Method), w.reason) {
					t.Errorf("%s: label %s reason %q, want %s mentioning %q", de.Column, de.Label, de.Reason, w.label, w.reason)
				}
				if !strings.HasPrefix(de.Treatment, de.Column+" = ") {
					t.Errorf("%s: treatment %q", de.Column, de.Treatment)
				}
				if math.IsNaN(w.effect) {
					continue
				}
				sign := 1.0
				if strings.Contains(de.Treatment, "= no") {
					sign = -1
				}
				if got := sign * de.Estimate.Ate; math.Abs(got-w.effect) > w.tol {
					t.Errorf("%s: effect %v (%s, %s, adjusted for %v), want %v ± %v", de.Column, got, de.Treatment, de.Estimate.Method, de.Estimate.AdjustmentSet, w.effect, w.tol)
				}
				if (de.Estimate.CiLow > sign*w.effect || de.Estimate.CiHigh < sign*w.effect) && w.tol < 0.25 {
					t.Errorf("%s: interval [%v, %v] misses %v", de.Column, de.Estimate.CiLow, de.Estimate.CiHigh, sign*w.effect)
				}
				if len(de.Estimate.Refutations) == 0 && de.Estimate.Method != MethodDifferenceInMeans {
					t.Errorf("%s: no refutations", de.Column)
				}
			}
			if seen != len(tc.want) {
				t.Errorf("saw %d of the %d expected drivers", seen, len(tc.want))
			}
			n := 0
			for _, fd := range res.Findings {
				if strings.HasPrefix(fd.Statement, LabelCausal+":") || strings.HasPrefix(fd.Statement, LabelAssociational+":") {
					n++
				}
			}
			if n != 3 {
				t.Errorf("%d labelled findings, want 3", n)
			}
		})
	}
	// Off by request.
	res, err := ExplainChange(driverFrame(400, 1, false), ChangeSpec{Outcome: "y", TimeColumn: "period", Segments: []string{"A"}, DriverEffects: -1})
	if err != nil || len(res.DriverEffects) != 0 {
		t.Errorf("DriverEffects -1: %v, %d effects", err, len(res.DriverEffects))
	}
}

// TestExplainChangeDriverEffectsTelco: why is churn lower among long-standing customers (tenure
// above its median)? The top drivers get AIPW estimates adjusted for the other segments; with no
// graph they are labelled associational. The naive difference reported with each estimate is
// recomputed here from the raw rows.
func TestExplainChangeDriverEffectsTelco(t *testing.T) {
	f := loadCSV(t, shareddata.Path(t, "tabular/telco_churn.csv"), nil)
	segs := []string{"Contract", "InternetService", "PaymentMethod", "SeniorCitizen"}
	res, err := ExplainChange(f, ChangeSpec{Outcome: "Churn", TimeColumn: "tenure", Segments: segs, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.After >= res.Before || res.BestColumn != "Contract" {
		t.Errorf("churn %v -> %v, best %q", res.Before, res.After, res.BestColumn)
	}
	if len(res.DriverEffects) != 3 {
		t.Fatalf("%d driver effects", len(res.DriverEffects))
	}
	contract, churn := f.Col("Contract"), f.Col("Churn")
	for _, de := range res.DriverEffects {
		if e := de.Estimate; e != nil {
			t.Logf("%s %s: %.4f [%.4f, %.4f] naive %.4f, passed %v failed %v", de.Label, de.Treatment, e.Ate, e.CiLow, e.CiHigh, e.NaiveDifference, e.PassedChecks, e.FailedChecks)
		}
	}
	for _, de := range res.DriverEffects {
		if de.Estimate == nil {
			t.Fatalf("%s: %s", de.Column, de.Error)
		}
		e := de.Estimate
		if de.Label != LabelAssociational || !strings.Contains(de.Reason, "no graph") || e.Method != MethodAIPW || len(e.AdjustmentSet) != len(segs)-1 {
			t.Errorf("%s: label %s (%q), method %s, set %v", de.Column, de.Label, de.Reason, e.Method, e.AdjustmentSet)
		}
		if e.CiLow > e.Ate || e.CiHigh < e.Ate || e.StdError <= 0 || len(e.Refutations) != 4 {
			t.Errorf("%s: interval [%v, %v] around %v, %d refutations", de.Column, e.CiLow, e.CiHigh, e.Ate, len(e.Refutations))
		}
		if de.Column == "SeniorCitizen" {
			// Two levels: the larger value is the treated one; seniors churn 41.7% vs 23.6%.
			if de.Treatment != "SeniorCitizen = 1 (vs 0)" || math.Abs(e.NaiveDifference-0.1808) > 1e-3 {
				t.Errorf("senior driver %q: naive %v, want 0.1808", de.Treatment, e.NaiveDifference)
			}
		}
		if de.Column != "Contract" {
			continue
		}
		level := strings.TrimSuffix(strings.TrimPrefix(de.Treatment, "Contract = "), " (vs the other levels)")
		var n1, n0, y1, y0 float64
		for i := 0; i < f.Rows; i++ {
			y := b2f(churn.S[i] == "Yes")
			if contract.S[i] == level {
				n1, y1 = n1+1, y1+y
			} else {
				n0, y0 = n0+1, y0+y
			}
		}
		if naive := y1/n1 - y0/n0; math.Abs(e.NaiveDifference-naive) > 1e-9 {
			t.Errorf("naive difference %v, recomputed %v", e.NaiveDifference, naive)
		}
		// Month-to-month customers churn more, and part of the raw gap is their internet service
		// and payment method: the adjusted effect is positive and smaller than the naive one.
		if level != "Month-to-month" || e.Ate <= 0 || e.Ate >= e.NaiveDifference {
			t.Errorf("Contract driver %q: effect %v, naive %v", level, e.Ate, e.NaiveDifference)
		}
	}
}
