package causal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
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
	// Text is compared with a value, numbers with a threshold.
	for _, c := range []struct{ treatment, distinct, derive, not string }{
		{"customer id", "30 distinct values;", `"customer id" = 'VALUE' AS treated`, "> 100"},
		{"dose", "390 distinct values (from ", "dose > 2", "= 'VALUE'"},
	} {
		_, err := Estimate(context.Background(), f, Spec{Treatment: c.treatment, Outcome: "y"})
		if err == nil {
			t.Fatalf("%s: estimated", c.treatment)
		}
		for _, want := range []string{c.distinct, "the treatment must be binary", "at most 20 levels", "erive a binary column", c.derive, "--save"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", c.treatment, err, want)
			}
		}
		if strings.Contains(err.Error(), c.not) {
			t.Errorf("%s: error %q suggests %q", c.treatment, err, c.not)
		}
	}
	// A treated value still compares it with all the others.
	e, err := Estimate(context.Background(), f, Spec{Treatment: "customer id", Outcome: "y", TreatedValue: code.S[0], SkipRefutations: true})
	if err != nil || e.TreatedValue != code.S[0] {
		t.Errorf("with a treated value: %v, %+v", err, e)
	}
}

// A treatment that does not vary (one value among the analysis rows, text, numbers or booleans,
// with or without a treated value; or no values) is refused saying so and naming the value, not
// with the message for too many values.
func TestConstantTreatmentIsRefused(t *testing.T) {
	const n = 60
	arm := &frame.Column{Name: "arm", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	dose := &frame.Column{Name: "dose", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	flag := &frame.Column{Name: "flag", Kind: frame.Bool, F: make([]float64, n), Null: make([]bool, n)}
	x := &frame.Column{Name: "x", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		arm.S[i] = "treated"
		dose.F[i] = 2.5
		flag.F[i] = 1
		x.F[i] = float64(i % 7)
		y.F[i] = float64(i%5) + x.F[i]
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{arm, dose, flag, x, y}}
	for _, c := range []struct{ treatment, treated, want string }{
		{"arm", "", `the treatment column "arm" does not vary: it has only one value ("treated"); an effect needs treated and untreated rows`},
		{"arm", "treated", `the treatment column "arm" does not vary: it has only one value ("treated")`},
		{"dose", "", `the treatment column "dose" does not vary: it has only one value (2.5); an effect needs treated and untreated rows`},
		{"flag", "", `the treatment column "flag" does not vary: it has only one value (true)`},
	} {
		_, err := Estimate(context.Background(), f, Spec{Treatment: c.treatment, TreatedValue: c.treated, Outcome: "y", Confounders: []string{"x"}})
		if err == nil {
			t.Fatalf("%s (treated %q): estimated", c.treatment, c.treated)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (treated %q): error %q lacks %q", c.treatment, c.treated, err, c.want)
		}
		for _, not := range []string{"must be binary", "levels", "distinct values"} {
			if strings.Contains(err.Error(), not) {
				t.Errorf("%s (treated %q): error %q says %q", c.treatment, c.treated, err, not)
			}
		}
	}
	// No analysis rows left: the treatment has no values (Estimate stops earlier, at no rows).
	for _, c := range []*frame.Column{arm, dose} {
		_, _, _, err := codeTreatment(c, nil, "")
		want := `the treatment column "` + c.Name + `" does not vary: it has no non-missing values; an effect needs treated and untreated rows`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with no rows: error %v, want %q", c.Name, err, want)
		}
	}
}

// TestMultiLevelHeadlineWarnings: "Does party size increase tip?" on tips.csv. size has 6 levels;
// the headline compares size 2 with size 1 (the reference), and the 84 rows of sizes 3 to 6 are
// not in it. The warnings used to call them "dropped 84 of 244 rows with a missing treatment"; they
// now say which two levels the headline compares and that the other levels' rows are left out,
// and a "dropped … missing" count appears only for rows that really miss a value.
func TestMultiLevelHeadlineWarnings(t *testing.T) {
	f := loadCSV(t, shareddata.Path(t, "tabular/tips.csv"), nil)
	est, err := Estimate(context.Background(), f, Spec{Treatment: "size", Outcome: "tip", Confounders: []string{"total_bill", "sex", "smoker", "day", "time"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warnings: %q", est.Warnings)
	if est.TreatedValue != "2" || est.ReferenceValue != "1" || est.NTreated != 156 || est.NControl != 4 || len(est.LevelEffects) != 5 {
		t.Fatalf("headline %s vs %s (%d/%d), %d level effects", est.TreatedValue, est.ReferenceValue, est.NTreated, est.NControl, len(est.LevelEffects))
	}
	all := strings.Join(est.Warnings, "\n")
	for _, want := range []string{
		"the headline estimate compares only size = 2 with the reference 1; the 84 rows at the other levels (3, 4, 5, 6) are not in it",
		"left out 84 of 244 rows whose size is at another level (3, 4, 5, 6): only size = 2 and size = 1 are compared here",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "missing") {
		t.Errorf("no tips row misses a value, but a warning says so:\n%s", all)
	}
	for _, le := range est.LevelEffects {
		for _, w := range le.Warnings {
			if strings.HasPrefix(w, "left out") || strings.HasPrefix(w, "dropped") && !strings.HasPrefix(w, "dropped confounder term") {
				t.Errorf("level %s: row-count warning %q (the counts are n_level/n_reference)", le.Level, w)
			}
		}
	}
	// Rows that really miss the treatment (every 97th arm in levelFrame) are still counted as
	// missing, apart from the rows at the other level.
	est, err = Estimate(context.Background(), levelFrame(3000, false), Spec{Treatment: "arm", Outcome: "y", Confounders: []string{"x"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	all = strings.Join(est.Warnings, "\n")
	nb := 0
	for _, le := range est.LevelEffects {
		if le.Level == "b" {
			nb = int(le.NLevel)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("left out %d of 3000 rows whose arm is at another level (b)", nb),
		"dropped 31 of 3000 rows with a missing treatment, outcome or confounder value",
	} {
		if nb == 0 || !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}
