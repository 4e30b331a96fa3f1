package causal

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
)

// changeFrame builds rows (period, plan, churn) from counts: for each period and plan, n rows of
// which k churned ("Yes").
func changeFrame(cells []struct {
	period, plan string
	n, k         int
}) *frame.Frame {
	var p, s, y []string
	for _, c := range cells {
		for i := 0; i < c.n; i++ {
			p, s = append(p, c.period), append(s, c.plan)
			if i < c.k {
				y = append(y, "Yes")
			} else {
				y = append(y, "No")
			}
		}
	}
	mk := func(name string, v []string) *frame.Column {
		return &frame.Column{Name: name, Kind: frame.String, S: v, Null: make([]bool, len(v))}
	}
	return &frame.Frame{Rows: len(p), Columns: []*frame.Column{mk("period", p), mk("plan", s), mk("churn", y)}}
}

func TestExplainChangeHandComputed(t *testing.T) {
	type cell = struct {
		period, plan string
		n, k         int
	}
	for _, tc := range []struct {
		name                string
		cells               []cell
		change, mixB, rateB float64
		mixTotal, rateTotal float64
	}{
		// Pure mix: the monthly plan (churn 30%) grows from half to 80% of customers.
		{"mix", []cell{{"2023", "annual", 50, 5}, {"2023", "monthly", 50, 15}, {"2024", "annual", 20, 2}, {"2024", "monthly", 80, 24}},
			0.06, 0.09, 0, 0.06, 0},
		// Pure rate: shares stay, the monthly plan's churn rises from 30% to 50%.
		{"rate", []cell{{"2023", "annual", 50, 5}, {"2023", "monthly", 50, 15}, {"2024", "annual", 50, 5}, {"2024", "monthly", 50, 25}},
			0.1, 0, 0.1, 0, 0.1},
		// Both: shares 50/50 -> 20/80 and monthly churn 30% -> 50%: mix_B = 0.3*0.4, rate_B = 0.2*0.65.
		{"both", []cell{{"2023", "annual", 50, 5}, {"2023", "monthly", 50, 15}, {"2024", "annual", 20, 2}, {"2024", "monthly", 80, 40}},
			0.22, 0.12, 0.13, 0.09, 0.13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ExplainChange(changeFrame(tc.cells), ChangeSpec{Outcome: "churn", TimeColumn: "period", Segments: []string{"plan"}})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.After-res.Before-tc.change) > 1e-12 {
				t.Errorf("change %v, want %v", res.After-res.Before, tc.change)
			}
			var mix, rate float64
			for _, d := range res.Drivers {
				mix += d.MixEffect
				rate += d.RateEffect
				if d.Level == "monthly" && (math.Abs(d.MixEffect-tc.mixB) > 1e-12 || math.Abs(d.RateEffect-tc.rateB) > 1e-12) {
					t.Errorf("monthly mix %v rate %v, want %v %v", d.MixEffect, d.RateEffect, tc.mixB, tc.rateB)
				}
			}
			if math.Abs(mix-tc.mixTotal) > 1e-12 || math.Abs(rate-tc.rateTotal) > 1e-12 {
				t.Errorf("mix %v rate %v, want %v %v", mix, rate, tc.mixTotal, tc.rateTotal)
			}
			if res.Drivers[0].Level != "monthly" || res.BestColumn != "plan" || res.NBefore != 100 || res.NAfter != 100 {
				t.Errorf("top driver %v best %q n %d/%d", res.Drivers[0].Segment, res.BestColumn, res.NBefore, res.NAfter)
			}
			if !strings.Contains(res.Findings[len(res.Findings)-1].Statement, "risk difference") {
				t.Errorf("text outcome coding not reported")
			}
		})
	}
}

func TestExplainChangeAddsUp(t *testing.T) {
	// Random data with a numeric period, a numeric segment (cut into quartiles), a segment with
	// missing values and a segment level that exists only after the split: mix + rate = change.
	rng := rand.New(rand.NewPCG(4, 4))
	n := 2000
	f := &frame.Frame{Rows: n}
	tcol := &frame.Column{Name: "month", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	age := &frame.Column{Name: "age", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	reg := &frame.Column{Name: "region", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "spend", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		tcol.F[i] = float64(rng.IntN(12) + 1)
		age.F[i] = 20 + 50*rng.Float64()
		reg.S[i] = []string{"north", "south", "east"}[rng.IntN(3)]
		if tcol.F[i] > 6 && rng.Float64() < 0.2 {
			reg.S[i] = "west"
		}
		if rng.Float64() < 0.05 {
			reg.Null[i], reg.S[i] = true, ""
		}
		y.F[i] = 10 + 0.1*age.F[i] + tcol.F[i] + rng.NormFloat64()
	}
	f.Columns = []*frame.Column{tcol, age, reg, y}
	res, err := ExplainChange(f, ChangeSpec{Outcome: "spend", TimeColumn: "month", Segments: []string{"age", "region"}, Split: "7"})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	levels := map[string]int{}
	for _, d := range res.Drivers {
		sums[d.Column] += d.MixEffect + d.RateEffect
		levels[d.Column]++
	}
	for col, s := range sums {
		if math.Abs(s-(res.After-res.Before)) > 1e-9 {
			t.Errorf("%s: mix + rate = %v, change %v", col, s, res.After-res.Before)
		}
	}
	if levels["age"] != 4 || levels["region"] != 5 {
		t.Errorf("levels %v", levels)
	}
	for _, bad := range []ChangeSpec{
		{Outcome: "spend", TimeColumn: "month"},
		{Outcome: "nope", TimeColumn: "month", Segments: []string{"age"}},
		{Outcome: "spend", TimeColumn: "month", Segments: []string{"spend"}},
		{Outcome: "spend", TimeColumn: "month", Segments: []string{"age"}, Split: "99"},
		{Outcome: "spend", TimeColumn: "month", Segments: []string{"age"}, Split: "soon"},
	} {
		if _, err := ExplainChange(f, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
