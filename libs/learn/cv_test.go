package learn

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// checkPartition asserts that the folds' test parts are disjoint, that train and test of a fold are
// disjoint, and (when full) that every position is tested exactly once.
func checkPartition(t *testing.T, sp *splits, n int, full bool) {
	t.Helper()
	seen := make([]int, n)
	for fi := range sp.test {
		in := map[int]bool{}
		for _, p := range sp.test[fi] {
			seen[p]++
			in[p] = true
		}
		for _, p := range sp.train[fi] {
			if in[p] {
				t.Fatalf("fold %d: position %d is in both train and test", fi, p)
			}
		}
		if len(sp.test[fi]) == 0 || len(sp.train[fi]) == 0 {
			t.Fatalf("fold %d: empty part (train %d, test %d)", fi, len(sp.train[fi]), len(sp.test[fi]))
		}
	}
	for p, c := range seen {
		if c > 1 || (full && c != 1) {
			t.Fatalf("position %d tested %d times", p, c)
		}
	}
}

func TestGroupedCVKeepsGroupsApart(t *testing.T) {
	f := synthetic(900, 3)
	ti, _, err := prepareTarget(f, Options{Target: "bought"})
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := makeSplits(f, ti, Options{GroupColumn: "city"}, 5, 11)
	if err != nil {
		t.Fatal(err)
	}
	if sp.scheme != CVGroup || len(sp.test) != 5 {
		t.Fatalf("scheme %s with %d folds", sp.scheme, len(sp.test))
	}
	checkPartition(t, sp, len(ti.rows), true)
	city := f.Col("city")
	for fi := range sp.test {
		testCities := map[string]bool{}
		for _, p := range sp.test[fi] {
			testCities[city.S[ti.rows[p]]] = true
		}
		for _, p := range sp.train[fi] {
			if c := city.S[ti.rows[p]]; testCities[c] {
				t.Fatalf("fold %d: group %s is in both train and validation", fi, c)
			}
		}
		// balanced: 80 groups of about 11 rows over 5 folds
		if n := len(sp.test[fi]); n < 150 || n > 210 {
			t.Fatalf("fold %d has %d of 900 rows", fi, n)
		}
	}
	// too few groups shrinks the folds, one group is refused
	keys := []string{"a", "a", "b", "b", "c", "c", "c"}
	folds, warns, err := groupFolds(keys, 5, 1)
	if err != nil || len(folds) != 3 || len(warns) != 1 {
		t.Fatalf("3 groups: %d folds, warnings %v, err %v", len(folds), warns, err)
	}
	if _, _, err := groupFolds([]string{"a", "a"}, 5, 1); err == nil {
		t.Fatal("a single group was accepted")
	}
}

func TestTimeOrderedCVNeverValidatesOnThePast(t *testing.T) {
	f := synthetic(700, 5)
	ti, _, err := prepareTarget(f, Options{Target: "bought"})
	if err != nil {
		t.Fatal(err)
	}
	sp, warns, err := makeSplits(f, ti, Options{TimeColumn: "when"}, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sp.scheme != CVTime || len(sp.test) != 4 || len(warns) != 1 { // one warning: rows without a time
		t.Fatalf("scheme %s, %d folds, warnings %v", sp.scheme, len(sp.test), warns)
	}
	checkPartition(t, sp, len(ti.rows), false)
	when := f.Col("when")
	at := func(p int) float64 {
		r := ti.rows[p]
		if when.Null[r] {
			return math.Inf(-1)
		}
		return when.F[r]
	}
	prevTrain := 0
	for fi := range sp.test {
		maxTrain, minTest := math.Inf(-1), math.Inf(1)
		for _, p := range sp.train[fi] {
			maxTrain = math.Max(maxTrain, at(p))
		}
		for _, p := range sp.test[fi] {
			minTest = math.Min(minTest, at(p))
		}
		if !(maxTrain < minTest) {
			t.Fatalf("fold %d: a training row (%v) is not older than every validation row (%v)", fi, maxTrain, minTest)
		}
		if len(sp.train[fi]) <= prevTrain {
			t.Fatalf("fold %d: the window did not expand (%d after %d rows)", fi, len(sp.train[fi]), prevTrain)
		}
		prevTrain = len(sp.train[fi])
		// the next fold trains on this fold's training and validation rows
		if fi+1 < len(sp.test) && len(sp.train[fi+1]) != len(sp.train[fi])+len(sp.test[fi]) {
			t.Fatalf("fold %d: next window %d rows, want %d", fi, len(sp.train[fi+1]), len(sp.train[fi])+len(sp.test[fi]))
		}
	}
	// ties never straddle a cut; text dates are read as dates
	day := &frame.Column{Name: "day", Kind: frame.String, S: make([]string, 40), Null: make([]bool, 40)}
	for i := range day.S {
		day.S[i] = fmt.Sprintf("2024-03-%02d", 1+(39-i)/4) // 10 days, 4 rows each, newest first
	}
	order := make([]float64, 40)
	for i := range order {
		v, ok := orderValue(day, i)
		if !ok {
			t.Fatalf("%q not read as a date", day.S[i])
		}
		order[i] = v
	}
	tsp, _, err := timeFolds(order, 3)
	if err != nil {
		t.Fatal(err)
	}
	for fi := range tsp.test {
		for _, a := range tsp.train[fi] {
			for _, b := range tsp.test[fi] {
				if order[a] >= order[b] {
					t.Fatalf("fold %d: train day %s not before test day %s", fi, day.S[a], day.S[b])
				}
			}
		}
	}
}

// TestGroupedCVScoresWhatGeneralizes trains on rows whose label is a property of their group and a
// numeric group code: plain k-fold rewards memorizing the code, grouped CV shows it does not carry
// to unseen groups.
func TestGroupedCVScoresWhatGeneralizes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	n := 800
	g := &frame.Column{Name: "patient", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	code := &frame.Column{Name: "code", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	noise := &frame.Column{Name: "noise", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "sick", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	codes := make([]float64, 80)
	sick := make([]bool, 80)
	for i := range codes {
		codes[i] = rng.Float64() * 1000
		sick[i] = rng.Intn(2) == 0
	}
	for i := 0; i < n; i++ {
		gi := i % 80
		g.S[i] = fmt.Sprintf("p%02d", gi)
		code.F[i] = codes[gi]
		noise.F[i] = rng.NormFloat64()
		y.S[i] = "no"
		if sick[gi] != (rng.Float64() < 0.05) {
			y.S[i] = "yes"
		}
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{g, code, noise, y}}
	opts := Options{Target: "sick", Budget: 6 * time.Second, Algorithms: []string{AlgoGBDT}, Seed: 1, NoWarmStart: true}
	plain, err := AutoML(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.GroupColumn = "patient"
	grouped, err := AutoML(context.Background(), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range grouped.Features {
		if name == "patient" {
			t.Fatal("the group column was used as a feature")
		}
	}
	p, q := plain.Leaderboard[0].CVScore, grouped.Leaderboard[0].CVScore
	t.Logf("plain %s AUC %.3f, grouped (%s) %.3f", plain.CVScheme, p, grouped.CVScheme, q)
	if plain.CVScheme != CVStratified || grouped.CVScheme != CVGroup {
		t.Fatalf("schemes %s, %s", plain.CVScheme, grouped.CVScheme)
	}
	if p < 0.85 || q > 0.7 {
		t.Fatalf("plain CV AUC %.3f (want >= 0.85: the code is memorized), grouped %.3f (want <= 0.7: unseen groups)", p, q)
	}
}
