package causal

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
)

// levelFrame simulates a three-arm treatment whose assignment depends on x (which also raises y):
// y = 1 + effA*[arm = a] + effB*[arm = b] + 2x + noise. The naive arm differences are biased.
func levelFrame(n int, numeric bool) *frame.Frame {
	rng := rand.New(rand.NewPCG(5, 9))
	arm := &frame.Column{Name: "arm", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	if numeric {
		arm = &frame.Column{Name: "arm", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	}
	x := &frame.Column{Name: "x", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	names := []string{"control", "a", "b"}
	for i := 0; i < n; i++ {
		x.F[i] = rng.NormFloat64()
		// Softmax assignment: arm b more likely for large x, arm a for small x.
		wa, wb := math.Exp(-0.8*x.F[i]), math.Exp(0.8*x.F[i])
		u := rng.Float64() * (1 + wa + wb)
		k := 0
		switch {
		case u < wa:
			k = 1
		case u < wa+wb:
			k = 2
		}
		eff := []float64{0, 1, 3}[k]
		if numeric {
			arm.F[i] = float64(k)
			eff = []float64{0, 0.5, 2}[k]
		} else {
			arm.S[i] = names[k]
		}
		y.F[i] = 1 + eff + 2*x.F[i] + rng.NormFloat64()
		if i%97 == 0 {
			arm.Null[i] = true
		}
	}
	return &frame.Frame{Rows: n, Columns: []*frame.Column{arm, x, y}}
}

func TestMultiLevelTreatment(t *testing.T) {
	for _, tc := range []struct {
		name, method, treated, ref string
		numeric                    bool
		wantRef                    string
		want                       map[string]float64
		headline                   float64
	}{
		{"text, regression", MethodRegressionAdjustment, "", "", false, "control", map[string]float64{"a": 1, "b": 3}, 1},
		{"text, aipw", MethodAIPW, "", "", false, "control", map[string]float64{"a": 1, "b": 3}, 1},
		{"text, reference a", MethodAIPW, "", "a", false, "a", map[string]float64{"control": -1, "b": 2}, 2},
		{"numeric dose", MethodIPW, "", "", true, "0", map[string]float64{"1": 0.5, "2": 2}, 0.5},
		// With a treated value the headline stays b vs the rest; the level effects are still given.
		{"treated value", MethodRegressionAdjustment, "b", "", false, "control", map[string]float64{"a": 1, "b": 3}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := levelFrame(3000, tc.numeric)
			est, err := Estimate(context.Background(), f, Spec{Treatment: "arm", Outcome: "y", Confounders: []string{"x"}, Method: tc.method,
				TreatedValue: tc.treated, ReferenceValue: tc.ref, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if est.ReferenceValue != tc.wantRef || len(est.LevelEffects) != 2 {
				t.Fatalf("reference %q, %d level effects", est.ReferenceValue, len(est.LevelEffects))
			}
			for _, le := range est.LevelEffects {
				w, ok := tc.want[le.Level]
				if !ok || le.Reference != tc.wantRef {
					t.Errorf("unexpected level %q vs %q", le.Level, le.Reference)
					continue
				}
				if math.Abs(le.Ate-w) > 0.15 || le.CiLow > w || le.CiHigh < w || le.StdError <= 0 || le.NLevel < 500 || le.NReference < 500 {
					t.Errorf("%s vs %s: %v [%v, %v] n %d/%d, want %v", le.Level, le.Reference, le.Ate, le.CiLow, le.CiHigh, le.NLevel, le.NReference, w)
				}
			}
			if !math.IsNaN(tc.headline) && math.Abs(est.Ate-tc.headline) > 0.15 {
				t.Errorf("headline %v (%s), want %v", est.Ate, est.TreatedValue, tc.headline)
			}
			if !strings.Contains(est.Warnings[0], "3 levels") || len(est.Refutations) != 4 {
				t.Errorf("warnings %q, %d refutations", est.Warnings, len(est.Refutations))
			}
		})
	}
	// The naive b-vs-control difference is biased (x raises both), so the test above can tell.
	f := levelFrame(3000, false)
	est, err := Estimate(context.Background(), f, Spec{Treatment: "arm", Outcome: "y", Method: MethodDifferenceInMeans, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, le := range est.LevelEffects {
		if le.Level == "b" && math.Abs(le.Ate-3) < 0.5 {
			t.Errorf("naive b effect %v is close to the truth; the simulation does not confound", le.Ate)
		}
	}
	if _, err := Estimate(context.Background(), f, Spec{Treatment: "arm", Outcome: "y", Confounders: []string{"x"}, ReferenceValue: "z"}); err == nil {
		t.Error("unknown reference accepted")
	}
}

// A treatment with many distinct values (an ID, a continuous dose) is refused with a message that
// says it must be binary or have few levels, and how to derive a binary column — for text and numbers.
func TestHighCardinalityTreatmentIsRefused(t *testing.T) {
	const n = 390
	rng := rand.New(rand.NewPCG(3, 4))
	code := &frame.Column{Name: "customer id", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	dose := &frame.Column{Name: "dose", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		k := i % 30 // 30 codes of about 13 rows each
		code.S[i] = "c" + string(rune('a'+k%26)) + string(rune('a'+k/26))
		dose.F[i] = rng.Float64() * 50
		y.F[i] = dose.F[i] + rng.NormFloat64()
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{code, dose, y}}
	for _, c := range []struct{ treatment, ident string }{{"customer id", `"customer id"`}, {"dose", "dose"}} {
		_, err := Estimate(context.Background(), f, Spec{Treatment: c.treatment, Outcome: "y"})
		if err == nil {
			t.Fatalf("%s: estimated", c.treatment)
		}
		for _, want := range []string{"distinct values;", "the treatment must be binary", "at most 20 levels", "Derive a binary column", c.ident + " > 100 AS treated", "--save"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", c.treatment, err, want)
			}
		}
	}
	// A treated value still compares it with all the others.
	e, err := Estimate(context.Background(), f, Spec{Treatment: "customer id", Outcome: "y", TreatedValue: code.S[0], SkipRefutations: true})
	if err != nil || e.TreatedValue != code.S[0] {
		t.Errorf("with a treated value: %v, %+v", err, e)
	}
}
