package causal

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
)

// TestBenchTable writes the accuracy and timing rows of bench/causal/run.sh as JSON to the file
// named by VDS_CAUSAL_BENCH_OUT; it is skipped otherwise (it repeats the accuracy tests with
// timing and is not part of `make test`).
func TestBenchTable(t *testing.T) {
	out := os.Getenv("VDS_CAUSAL_BENCH_OUT")
	if out == "" {
		t.Skip("set VDS_CAUSAL_BENCH_OUT to write the benchmark rows")
	}
	type row struct {
		Dataset, Method, Estimand string
		Estimate, Low, High       float64
		Seconds                   float64
		PEHE                      float64 `json:",omitempty"`
		F1                        float64 `json:",omitempty"`
	}
	var rows []row
	ctx := context.Background()
	frames := map[string]*frame.Frame{}
	for _, ds := range []string{"nsw_experimental", "lalonde", "nhefs", "ihdp_1"} {
		frames[ds] = loadFrame(t, ds)
	}
	add := func(ds string, f func() (row, error)) {
		start := time.Now()
		r, err := f()
		if err != nil {
			t.Fatalf("%s: %v", ds, err)
		}
		r.Dataset, r.Seconds = ds, time.Since(start).Seconds()
		rows = append(rows, r)
	}
	est := func(ds string, load func() (*Spec, error), methods ...string) {
		for _, m := range methods {
			add(ds, func() (row, error) {
				spec, err := load()
				if err != nil {
					return row{}, err
				}
				spec.Method, spec.SkipRefutations = m, true
				e, err := Estimate(ctx, frames[ds], *spec)
				if err != nil {
					return row{}, err
				}
				return row{Method: m, Estimand: e.Estimand, Estimate: e.Ate, Low: e.CiLow, High: e.CiHigh}, nil
			})
		}
	}
	est("nsw_experimental", func() (*Spec, error) { return &Spec{Treatment: "treat", Outcome: "re78"}, nil }, MethodDifferenceInMeans)
	est("lalonde", func() (*Spec, error) {
		return &Spec{Treatment: "treat", Outcome: "re78", Confounders: []string{"age", "educ", "race", "married", "nodegree", "re74", "re75"},
			Squared: []string{"age", "educ"}, Estimand: EstimandATT, Seed: 1}, nil
	}, MethodDifferenceInMeans, MethodRegressionAdjustment, MethodIPW, MethodAIPW, MethodMatching)
	est("nhefs", func() (*Spec, error) {
		return &Spec{Treatment: "qsmk", Outcome: "wt82_71",
			Confounders: []string{"sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71"},
			Squared:     []string{"age", "smokeintensity", "smokeyrs", "wt71"}, Categorical: []string{"education", "exercise", "active"}}, nil
	}, MethodIPW, MethodRegressionAdjustment, MethodAIPW)
	xs := make([]string, 25)
	for i := range xs {
		xs[i] = fmt.Sprintf("x%d", i+1)
	}
	for _, m := range []string{MethodAIPW, MethodDML, MethodTLearner, MethodXLearner} {
		add("ihdp_1", func() (row, error) {
			f := frames["ihdp_1"]
			e, ind, err := EstimateIndividual(ctx, f, Spec{Treatment: "treatment", Outcome: "y_factual", Confounders: xs, Method: m, Seed: 3,
				SkipRefutations: true, LearnerBudget: 2 * time.Second})
			if err != nil {
				return row{}, err
			}
			r := row{Method: m, Estimand: e.Estimand, Estimate: e.Ate, Low: e.CiLow, High: e.CiHigh}
			if ind != nil {
				mu0, mu1 := f.Col("mu0").F, f.Col("mu1").F
				for k, i := range ind.Rows {
					d := ind.Effect[k] - (mu1[i] - mu0[i])
					r.PEHE += d * d / float64(len(ind.Rows))
				}
				r.PEHE = math.Sqrt(r.PEHE)
			}
			return r, nil
		})
	}
	nodes := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	edges := [][2]string{{"a", "c"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"b", "f"}, {"f", "g"}, {"e", "g"}, {"a", "h"}, {"h", "i"}, {"g", "j"}, {"i", "j"}, {"c", "e"}}
	truth, _ := NewGraph(nodes, edges)
	for seed := uint64(1); seed <= 3; seed++ {
		f := simulateDAG(nodes, edges, 5000, seed)
		add(fmt.Sprintf("pc_sim10_seed%d", seed), func() (row, error) {
			res, err := PC(ctx, f, PCOptions{Alpha: 0.01})
			if err != nil {
				return row{}, err
			}
			return row{Method: "pc", F1: skeletonF1(res.Graph.Skeleton(), truth.Skeleton())}, nil
		})
	}
	b, _ := json.MarshalIndent(rows, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadFrame(t *testing.T, name string) *frame.Frame {
	t.Helper()
	if name == "ihdp_1" {
		names := []string{"treatment", "y_factual", "y_cfactual", "mu0", "mu1"}
		for i := 1; i <= 25; i++ {
			names = append(names, fmt.Sprintf("x%d", i))
		}
		return loadCSV(t, shareddata.Path(t, "causal/ihdp_1.csv"), names)
	}
	return loadCSV(t, shareddata.Path(t, "causal/"+name+".csv"), nil)
}
