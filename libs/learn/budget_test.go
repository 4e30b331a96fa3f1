package learn

import (
	"context"
	"testing"
	"time"
)

// TestCPUBudgetBoundsTheSearch gives a generous wall budget and a small CPU budget (what a money
// budget becomes): the run must stop near the CPU budget and report what it spent.
func TestCPUBudgetBoundsTheSearch(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	cases := []struct {
		name      string
		wall, cpu time.Duration
		maxCPU    time.Duration
	}{
		{"cpu budget", time.Minute, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{"cpu budget only", 0, 1500 * time.Millisecond, 2500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: c.wall, CPUBudget: c.cpu, Seed: 1, Exclude: []string{"alive"}})
			if err != nil {
				t.Fatal(err)
			}
			sp := r.Spend
			t.Logf("spent wall %v cpu %v trials %d", sp.Wall, sp.CPU, sp.Trials)
			if sp.CPU <= 0 || sp.CPU > c.maxCPU || sp.Trials < 2 || sp.Trials != len(r.Leaderboard) || sp.Wall > 40*time.Second {
				t.Fatalf("spend %+v with CPU budget %v", sp, c.cpu)
			}
		})
	}
}
