package learn

import (
	"context"
	"strings"
	"testing"
	"time"
)

func logResult(t *testing.T, r *Result, took time.Duration) {
	t.Helper()
	t.Logf("task=%v metric=%s classes=%v positive=%q rows=%d folds=%d took=%v", r.Task, r.Metric, r.Classes, r.PositiveClass, r.Rows, r.Folds, took)
	for i, e := range r.Leaderboard {
		if i < 8 {
			t.Logf("  %-20s %.4f ± %.4f %5.2fs %v  %s", e.Algorithm, e.CVScore, e.CVStd, e.FitSeconds, e.Metrics, e.Config)
		}
	}
	t.Logf("  %d trials; best refit: %s %s", len(r.Leaderboard), r.Best.Algorithm(), r.Best.Config())
	for i, im := range r.Importances {
		if i < 12 {
			t.Logf("  importance %-16s %.4f ± %.4f", im.Feature, im.Importance, im.Std)
		}
	}
	for _, w := range r.Warnings {
		t.Logf("  warning: %s", w)
	}
}

func droppedReason(r *Result, col string) string {
	for _, d := range r.Dropped {
		if d.Column == col {
			return d.Reason
		}
	}
	return ""
}

func TestTelcoChurn(t *testing.T) {
	f := shared(t, "tabular/telco_churn.csv")
	start := time.Now()
	r, err := AutoML(context.Background(), f, Options{Target: "Churn", Budget: 30 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	logResult(t, r, took)
	if r.Task != TaskBinary || r.PositiveClass != "Yes" || r.Metric != "roc_auc" {
		t.Fatalf("task %v positive %q metric %s", r.Task, r.PositiveClass, r.Metric)
	}
	if got := r.Leaderboard[0].CVScore; got < 0.84 {
		t.Errorf("best CV AUC %.4f < 0.84", got)
	}
	if took > 33*time.Second {
		t.Errorf("took %v, budget 30s", took)
	}
	if !strings.Contains(droppedReason(r, "customerID"), "identifier") {
		t.Errorf("customerID not dropped as identifier: %v", r.Dropped)
	}
	used := false
	for _, c := range r.Best.Features() {
		if c == "TotalCharges" {
			used = true
		}
		if c == "customerID" {
			t.Errorf("customerID used as a feature")
		}
	}
	if !used {
		t.Errorf("TotalCharges not used; features %v", r.Best.Features())
	}
}

func TestTitanicLeakage(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	start := time.Now()
	r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: 8 * time.Second, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	logResult(t, r, time.Since(start))
	if r.Task != TaskBinary || r.PositiveClass != "1" {
		t.Fatalf("task %v positive %q", r.Task, r.PositiveClass)
	}
	if reason := droppedReason(r, "alive"); !strings.Contains(reason, "leakage") {
		t.Errorf("alive not dropped for leakage: %q", reason)
	}
	warned := false
	for _, w := range r.Warnings {
		if strings.Contains(w, `"alive"`) && strings.Contains(w, "leakage") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no leakage warning naming alive: %v", r.Warnings)
	}
	for _, keep := range []string{"sex", "pclass", "age", "fare", "who"} {
		if reason := droppedReason(r, keep); reason != "" {
			t.Errorf("%s dropped: %s", keep, reason)
		}
	}
	for _, dup := range []string{"class", "embark_town", "adult_male"} {
		if reason := droppedReason(r, dup); !strings.Contains(reason, "redundant") {
			t.Errorf("%s not dropped as redundant: %q", dup, reason)
		}
	}
	// "who" (man/woman/child) is derived from sex and age and carries most of sex's signal, so
	// permutation importance credits it first; sex must still be used with a positive importance.
	var sexImp float64
	found := false
	for _, im := range r.Importances {
		if im.Feature == "sex" {
			sexImp, found = im.Importance, true
		}
	}
	if !found || sexImp <= 0 {
		t.Errorf("sex importance %.4f (found %v)", sexImp, found)
	}
	if f := r.Importances[0].Feature; f != "sex" && f != "who" {
		t.Errorf("top importance %q, want sex or its derived column who", f)
	}
	if got := r.Leaderboard[0].CVScore; got < 0.8 || got > 0.95 {
		t.Errorf("titanic AUC %.4f implausible", got)
	}
}

func TestIrisMulticlass(t *testing.T) {
	f := shared(t, "tabular/iris.csv")
	start := time.Now()
	r, err := AutoML(context.Background(), f, Options{Target: "species", Budget: 5 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logResult(t, r, time.Since(start))
	if r.Task != TaskMulticlass || r.Metric != "log_loss" || len(r.Classes) != 3 {
		t.Fatalf("task %v metric %s classes %v", r.Task, r.Metric, r.Classes)
	}
	best := r.Leaderboard[0]
	if best.CVScore > 0.25 || best.Metrics["accuracy"] < 0.93 {
		t.Errorf("iris log loss %.4f accuracy %.4f", best.CVScore, best.Metrics["accuracy"])
	}
	for i := 1; i < len(r.Leaderboard); i++ {
		if r.Leaderboard[i].CVScore < r.Leaderboard[i-1].CVScore {
			t.Fatalf("leaderboard not sorted best (lowest log loss) first")
		}
	}
	p, err := r.Best.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i, l := range p.Label {
		if l == f.Col("species").S[i] {
			ok++
		}
	}
	if ok < 140 {
		t.Errorf("training accuracy %d/150", ok)
	}
}

func TestTipsRegression(t *testing.T) {
	f := shared(t, "tabular/tips.csv")
	start := time.Now()
	r, err := AutoML(context.Background(), f, Options{Target: "tip", Budget: 5 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logResult(t, r, time.Since(start))
	if r.Task != TaskRegression || r.Metric != "rmse" {
		t.Fatalf("task %v metric %s", r.Task, r.Metric)
	}
	// tip has sd 1.38; total_bill explains ~45% of its variance
	best := r.Leaderboard[0]
	if best.CVScore > 1.15 || best.Metrics["r2"] < 0.3 {
		t.Errorf("tips rmse %.4f r2 %.4f", best.CVScore, best.Metrics["r2"])
	}
	if r.Importances[0].Feature != "total_bill" {
		t.Errorf("top importance %q, want total_bill", r.Importances[0].Feature)
	}
}

func TestDiamondsRegression(t *testing.T) {
	f := shared(t, "tabular/diamonds.csv")
	rows := make([]int, 0, 4000)
	for i := 0; i < f.Rows; i += 13 {
		rows = append(rows, i)
	}
	f = subFrame(f, rows)
	start := time.Now()
	r, err := AutoML(context.Background(), f, Options{Target: "price", Budget: 8 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logResult(t, r, time.Since(start))
	// the best single model is boosted (an ensemble of boosted models may come first)
	best := r.Leaderboard[0]
	if best.Algorithm == AlgoEnsemble {
		best = r.Leaderboard[1]
	}
	if best.Algorithm != AlgoGBDT || best.Metrics["r2"] < 0.96 || r.Leaderboard[0].Metrics["r2"] < 0.96 {
		t.Errorf("diamonds best %s r2 %.4f (first %s r2 %.4f)", best.Algorithm, best.Metrics["r2"], r.Leaderboard[0].Algorithm, r.Leaderboard[0].Metrics["r2"])
	}
}

func TestMessyConstantColumns(t *testing.T) {
	f := shared(t, "messy/constant_and_string_target.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "label", Budget: 3 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logResult(t, r, 0)
	if r.Task != TaskBinary || len(r.Classes) != 2 || r.PositiveClass != "yes" {
		t.Fatalf("task %v classes %v positive %q", r.Task, r.Classes, r.PositiveClass)
	}
	for _, col := range []string{"const_nan", "near_const"} {
		if reason := droppedReason(r, col); !strings.Contains(reason, "constant") {
			t.Errorf("%s not dropped as constant: %q", col, reason)
		}
		warned := false
		for _, w := range r.Warnings {
			if strings.Contains(w, `"`+col+`"`) {
				warned = true
			}
		}
		if !warned {
			t.Errorf("no warning for %s", col)
		}
	}
	if fs := r.Best.Features(); len(fs) != 1 || fs[0] != "feature" {
		t.Errorf("features %v", fs)
	}
}
