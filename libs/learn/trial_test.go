package learn

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestDistributedSearchMatchesLocal runs the same search twice on Titanic: once in process, once
// with every trial run by one of two "workers" that each rebuilt the search with Prepare (as ML
// workers do from the stored request). The fold plans agree, and the leaderboards and the refit
// model's predictions are the same.
func TestDistributedSearchMatchesLocal(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	opts := Options{Target: "survived", Seed: 3, Budget: 5 * time.Minute, Exclude: []string{"alive", "who", "adult_male"},
		Algorithms: []string{AlgoLogistic, AlgoNaiveBayes, AlgoKNN}}
	ctx := context.Background()
	local, err := AutoML(ctx, f, opts)
	if err != nil {
		t.Fatal(err)
	}
	var workers [2]*Search
	for i := range workers {
		if workers[i], err = Prepare(ctx, f, opts); err != nil {
			t.Fatal(err)
		}
	}
	ran := map[int]int{}
	var mu sync.Mutex
	dopts := opts
	dopts.Distributed = &Distributed{Run: func(ctx context.Context, p *TrialPlan) ([]*TrialOutcome, error) {
		for _, w := range workers {
			if got := w.Plan(); got.FoldChecksum != p.FoldChecksum || len(got.Trials) != len(p.Trials) {
				t.Fatalf("worker plan %s (%d trials), coordinator %s (%d)", got.FoldChecksum, len(got.Trials), p.FoldChecksum, len(p.Trials))
			}
		}
		out := make([]*TrialOutcome, len(p.Trials))
		var wg sync.WaitGroup
		for i := range p.Trials {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				w := i % 2
				o, err := workers[w].RunTrial(ctx, i)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ran[w]++
				mu.Unlock()
				out[len(p.Trials)-1-i] = o // any order
			}(i)
		}
		wg.Wait()
		return out, nil
	}}
	dist, err := AutoML(ctx, f, dopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d trials, per worker %v, best %s %.4f", len(dist.Leaderboard), ran, dist.Best.Algorithm(), dist.Leaderboard[0].CVScore)
	if ran[0] == 0 || ran[1] == 0 {
		t.Errorf("trials per worker %v", ran)
	}
	if len(dist.Leaderboard) != len(local.Leaderboard) || len(local.Leaderboard) < 8 {
		t.Fatalf("leaderboards: %d distributed, %d local", len(dist.Leaderboard), len(local.Leaderboard))
	}
	for i := range local.Leaderboard {
		a, b := local.Leaderboard[i], dist.Leaderboard[i]
		if a.Algorithm != b.Algorithm || a.Config != b.Config || a.CVScore != b.CVScore {
			t.Errorf("rank %d: local %s %s %.6f, distributed %s %s %.6f", i, a.Algorithm, a.Config, a.CVScore, b.Algorithm, b.Config, b.CVScore)
		}
	}
	pl, _ := local.Best.Predict(f)
	pd, _ := dist.Best.Predict(f)
	for i := range pl.Value {
		if pl.Value[i] != pd.Value[i] {
			t.Fatalf("row %d: local model %v, distributed %v", i, pl.Value[i], pd.Value[i])
		}
	}
	if len(dist.Importances) == 0 || dist.Importances[0].Feature != local.Importances[0].Feature {
		t.Errorf("importances differ: %v / %v", dist.Importances, local.Importances)
	}
}
