package learn

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

func samePredictions(t *testing.T, a, b Predictions) {
	t.Helper()
	if len(a.Label) != len(b.Label) || len(a.Value) != len(b.Value) || len(a.Proba) != len(b.Proba) {
		t.Fatalf("prediction sizes differ")
	}
	for i := range a.Value {
		if a.Value[i] != b.Value[i] {
			t.Fatalf("row %d: %v != %v", i, a.Value[i], b.Value[i])
		}
	}
	for i := range a.Proba {
		for k := range a.Proba[i] {
			if a.Proba[i][k] != b.Proba[i][k] {
				t.Fatalf("row %d class %d: %v != %v", i, k, a.Proba[i][k], b.Proba[i][k])
			}
		}
		if a.Label[i] != b.Label[i] {
			t.Fatalf("row %d label %q != %q", i, a.Label[i], b.Label[i])
		}
	}
}

func TestRoundTripUnseenAndMissingColumn(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	for _, algo := range []string{AlgoGBDT, AlgoLinear} {
		t.Run(algo, func(t *testing.T) {
			r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: 2 * time.Second, Seed: 5, Algorithms: []string{algo}})
			if err != nil {
				t.Fatal(err)
			}
			m := r.Best
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Algorithm() != m.Algorithm() || strings.Join(m2.Features(), ",") != strings.Join(m.Features(), ",") ||
				strings.Join(m2.Classes(), ",") != "0,1" || m2.PositiveClass() != "1" || m2.Task() != TaskBinary {
				t.Fatalf("metadata differs after round trip")
			}
			p1, err := m.Predict(f)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := m2.Predict(f)
			if err != nil {
				t.Fatal(err)
			}
			samePredictions(t, p1, p2)
			b2, _ := m2.Marshal()
			if string(b) != string(b2) {
				t.Errorf("re-marshal is not byte-identical")
			}

			// unseen category, a missing column and a numeric column sent as text
			g := subFrame(f, []int{0, 1, 2, 3})
			g.Col("embarked").S[0] = "Atlantis"
			g.Col("who").S[1] = "robot"
			var cols []*frame.Column
			for _, c := range g.Columns {
				if c.Name != "deck" && c.Name != "age" {
					cols = append(cols, c)
				}
			}
			fare := g.Col("fare")
			txt := &frame.Column{Name: "fare", Kind: frame.String, S: []string{"7.25", "71.2833", "oops", ""}, Null: []bool{false, false, false, true}}
			for i, c := range cols {
				if c == fare {
					cols[i] = txt
				}
			}
			g.Columns = cols
			p, err := m2.Predict(g)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Value) != 4 {
				t.Fatalf("got %d predictions", len(p.Value))
			}
			for i, v := range p.Value {
				if math.IsNaN(v) || v <= 0 || v >= 1 {
					t.Errorf("row %d: probability %v", i, v)
				}
				if s := p.Proba[i][0] + p.Proba[i][1]; math.Abs(s-1) > 1e-12 {
					t.Errorf("row %d: probabilities sum to %v", i, s)
				}
				if p.Label[i] != "0" && p.Label[i] != "1" {
					t.Errorf("row %d: label %q", i, p.Label[i])
				}
			}
		})
	}
	if _, err := Unmarshal([]byte("not a model")); err == nil {
		t.Errorf("garbage unmarshalled")
	}
}

func TestRegressionRoundTrip(t *testing.T) {
	f := shared(t, "tabular/tips.csv")
	for _, algo := range []string{AlgoGBDT, AlgoLinear} {
		r, err := AutoML(context.Background(), f, Options{Target: "tip", Budget: 2 * time.Second, Seed: 1, Algorithms: []string{algo}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := r.Best.Marshal()
		m2, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		p1, _ := r.Best.Predict(f)
		p2, _ := m2.Predict(f)
		samePredictions(t, p1, p2)
		if got := RMSE(f.Col("tip").F, p2.Value); got > 1.2 {
			t.Errorf("%s training rmse %.3f", algo, got)
		}
	}
}

func TestErrors(t *testing.T) {
	f := shared(t, "tabular/iris.csv")
	ctx := context.Background()
	if _, err := AutoML(ctx, f, Options{Target: "nope"}); err == nil || !strings.Contains(err.Error(), "not in the dataset") {
		t.Errorf("missing target: %v", err)
	}
	one := subFrame(f, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	if _, err := AutoML(ctx, one, Options{Target: "species"}); err == nil || !strings.Contains(err.Error(), "single value") {
		t.Errorf("single class: %v", err)
	}
	few := subFrame(f, []int{0, 1, 2, 50, 51, 52, 100, 101})
	if _, err := AutoML(ctx, few, Options{Target: "species"}); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("few rows: %v", err)
	}
	if _, err := AutoML(ctx, f, Options{Target: "species", Algorithms: []string{"svm"}}); err == nil {
		t.Errorf("unknown algorithm accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := AutoML(cctx, f, Options{Target: "species"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestMissingTargetRowsAndForcedTask(t *testing.T) {
	f := shared(t, "tabular/penguins.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "body_mass_g", Budget: 2 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != TaskRegression || r.Rows != 342 {
		t.Errorf("task %v rows %d", r.Task, r.Rows)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "no value for target") {
		t.Errorf("warnings %v", r.Warnings)
	}
	r, err = AutoML(context.Background(), f, Options{Target: "species", Budget: 2 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != TaskMulticlass || r.Leaderboard[0].Metrics["accuracy"] < 0.95 {
		t.Errorf("penguins task %v accuracy %.3f", r.Task, r.Leaderboard[0].Metrics["accuracy"])
	}
}
