package learn

import (
	"context"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// A forest trial once ran all its trees whatever the budget (diamonds: 41 s of a 60 s budget, then
// thrown away at the deadline). It now stops adding trees at its deadline and keeps the forest grown
// so far, and the refit grows as many trees as the folds' forests got to.
func TestForestTrialKeepsBudget(t *testing.T) {
	const n = 30000
	rng := rand.New(rand.NewSource(3))
	cols := make([]*frame.Column, 0, 9)
	for j := 0; j < 8; j++ {
		cols = append(cols, &frame.Column{Name: string(rune('a' + j)), Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)})
	}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		for _, c := range cols {
			c.F[i] = rng.NormFloat64()
		}
		y.F[i] = math.Sin(2*cols[0].F[i]) + cols[1].F[i]*cols[2].F[i] + 0.3*rng.NormFloat64()
	}
	f := &frame.Frame{Rows: n, Columns: append(cols, y)}

	// forestFit alone: an expired deadline after some trees returns those trees
	pp := fitPrep(f, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, allRows(n), prepTree)
	x := transform(pp, f, allRows(n))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	ens, err := forestFit(ctx, TaskRegression, x, y.F, nil, 0, forestParams{Trees: 1000, MinLeaf: 1}, 1)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if len(ens.Trees) == 0 || len(ens.Trees) >= 1000 {
		t.Fatalf("a forest stopped at its deadline has %d trees, want between 1 and 999", len(ens.Trees))
	}
	// a cancelled (not timed-out) context is still an error
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := forestFit(cctx, TaskRegression, x, y.F, nil, 0, forestParams{Trees: 10, MinLeaf: 1}, 1); err == nil {
		t.Fatal("a cancelled forest fit returned no error")
	}

	// the whole search, forests only, with a budget far below what 3 folds of 40 full trees take
	const budget = 3 * time.Second
	t0 := time.Now()
	r, err := AutoML(context.Background(), f, Options{Target: "y", Budget: budget, Seed: 1, Algorithms: []string{AlgoRandomForest}, NoWarmStart: true})
	took := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("took %.1fs; best %s %s; %d trials", took.Seconds(), r.Best.Algorithm(), r.Best.Config(), len(r.Leaderboard))
	if took > budget+6*time.Second { // the old forest took about 30 s here
		t.Fatalf("a forest search with a %v budget took %v", budget, took)
	}
	if r.Best.Algorithm() != AlgoRandomForest || !strings.Contains(r.Leaderboard[0].Config, "grown=") {
		t.Fatalf("want a random forest stopped early (grown=), got %s %q", r.Best.Algorithm(), r.Leaderboard[0].Config)
	}
	if g := len(r.Best.pb.GetTrees().Trees); g == 0 || g >= 40 {
		t.Fatalf("the refitted forest has %d trees, want fewer than the 40 planned", g)
	}
}

func allRows(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}
