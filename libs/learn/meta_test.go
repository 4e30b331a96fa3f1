package learn

import (
	"context"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

func TestMetaFeaturesOfKnownData(t *testing.T) {
	n := 400
	rng := rand.New(rand.NewSource(1))
	sep := &frame.Column{Name: "sep", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	half0 := &frame.Column{Name: "zeros", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	holes := &frame.Column{Name: "holes", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	cat := &frame.Column{Name: "colour", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.String, S: make([]string, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		cls := i % 4 // balanced, 4 classes
		y.S[i] = []string{"a", "b", "c", "d"}[cls]
		sep.F[i] = float64(cls)*10 + rng.Float64() // one split separates a|b from c|d, 1-NN separates all
		if i%2 == 0 {
			half0.F[i] = rng.ExpFloat64() + 0.1
		}
		holes.F[i] = rng.NormFloat64()
		if i%4 == 1 {
			holes.F[i], holes.Null[i] = math.NaN(), true
		}
		cat.S[i] = []string{"red", "green"}[rng.Intn(2)]
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{sep, half0, holes, cat, y}}
	ti, _, err := prepareTarget(f, Options{Target: "y"})
	if err != nil {
		t.Fatal(err)
	}
	m := metaFeatures(f, ti, []string{"sep", "zeros", "holes", "colour"}, 1)
	want := map[string]float64{
		"log10_rows": math.Log10(400), "log10_features": math.Log10(4), "log10_dimensionality": math.Log10(4.0 / 400),
		"log2_classes": 2, "class_entropy": 1, "missingness": 100.0 / 1600, "categorical_share": 0.25,
		"sparsity": 200.0 / (400 + 400 + 300), "target_abs_skewness": 0,
	}
	got := map[string]float64{}
	for i, name := range MetaFeatureNames {
		got[name] = m[i]
	}
	for name, w := range want {
		if math.Abs(got[name]-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
	// a one-split tree gets about half right (two of four classes per side), 1-NN nearly all
	if s := got["landmark_stump"]; s < 0.4 || s > 0.6 {
		t.Errorf("stump landmark %.3f, want about 0.5", s)
	}
	if s := got["landmark_1nn"]; s < 0.97 {
		t.Errorf("1-NN landmark %.3f, want about 1", s)
	}
	if s := got["landmark_nb_or_linear"]; s < 0.97 {
		t.Errorf("naive Bayes landmark %.3f, want about 1 (classes are far apart on sep)", s)
	}
	// the exponential half has skewness about 2 (and 0 elsewhere), so the mean is well above 0
	if s := got["mean_abs_skewness"]; s < 0.3 {
		t.Errorf("mean |skewness| %.3f is too small", s)
	}
	if DatasetHash(f) == DatasetHash(subFrame(f, []int{0, 1, 2})) || DatasetHash(f) != DatasetHash(subFrame(f, ti.rows)) {
		t.Error("the content hash does not follow the content")
	}
}

func TestWarmStartLeavesTheDatasetItselfOut(t *testing.T) {
	k := builtinKB()
	if len(k.Entries) < 10 {
		t.Fatalf("the embedded knowledge base has %d datasets; run make metakb", len(k.Entries))
	}
	e := k.Entries[0]
	task, _ := ParseTask(e.Task)
	nb := k.neighbours(e.Meta, task, "not this one", nil)
	if len(nb) == 0 || nb[0].e.Name != e.Name || nb[0].dist != 0 {
		t.Fatalf("the nearest dataset to %s's own meta-features is not %s at distance 0: %+v", e.Name, e.Name, nb[0])
	}
	for _, n := range k.neighbours(e.Meta, task, e.Hash, nil) {
		if n.e.Hash == e.Hash {
			t.Fatalf("%s warm-starts from itself (same content hash)", e.Name)
		}
		if classification(n.e.Task) != (task != TaskRegression) {
			t.Fatalf("%s (%s) got a neighbour of another task family: %s (%s)", e.Name, e.Task, n.e.Name, n.e.Task)
		}
	}
	for _, n := range k.neighbours(e.Meta, task, "", []string{e.Name}) {
		if n.e.Name == e.Name {
			t.Fatal("an excluded name was used")
		}
	}
	// the warm trials go right after the first two planned ones, without repeats
	allow := func(string) bool { return true }
	planned := plan(task, 1, e.Rows, allow)
	warm, src := warmStart(k, e.Meta, task, e.Rows, e.Hash, nil, allow)
	if len(warm) == 0 || len(warm) > warmStartTrials || len(src) != len(warm) {
		t.Fatalf("%d warm-start trials from %v", len(warm), src)
	}
	all := insertWarmStart(planned, warm, 2)
	seen := map[string]bool{}
	for _, tr := range all {
		key := tr.algo + "\x00" + tr.config
		if seen[key] {
			t.Fatalf("trial %s %s is planned twice", tr.algo, tr.config)
		}
		seen[key] = true
	}
	firstWarm := -1
	for i, tr := range all {
		if tr.source != "" && firstWarm < 0 {
			firstWarm = i
		}
	}
	if firstWarm < 0 || firstWarm > 2 {
		t.Fatalf("the first warm-start trial is at %d, want at most 2", firstWarm)
	}
	for i := 0; i < 2; i++ {
		if all[i].algo != planned[i].algo || all[i].config != planned[i].config {
			t.Fatalf("planned starting trial %d (%s %s) moved: now %s %s", i, planned[i].algo, planned[i].config, all[i].algo, all[i].config)
		}
	}
	// a warm trial repeating a starting trial stays at its planned place, once
	rep := insertWarmStart(planned, []trial{planned[0], planned[5]}, 2)
	if len(rep) != len(planned) || rep[0].config != planned[0].config || rep[2].config != planned[5].config {
		t.Fatalf("repeats: %d trials (want %d), first %s, third %s", len(rep), len(planned), rep[0].config, rep[2].config)
	}
}

// TestWarmStartOnSharedData trains on a shared dataset that is in the knowledge base: the search
// warm-starts from other datasets (never itself, found by content hash) and its leaderboard shows
// the trials it took from them.
func TestWarmStartOnSharedData(t *testing.T) {
	f := shared(t, "tabular/penguins.csv")
	self := DatasetHash(f)
	found := false
	for _, e := range builtinKB().Entries {
		found = found || e.Hash == self
	}
	if !found {
		t.Fatal("penguins.csv is not in the knowledge base under its content hash")
	}
	r, err := AutoML(context.Background(), f, Options{Target: "species", Budget: 4 * time.Second, Seed: 1, NoEnsemble: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.WarmStart) == 0 || len(r.MetaFeatures) != len(MetaFeatureNames) {
		t.Fatalf("no warm start: sources %v, %d meta-features", r.WarmStart, len(r.MetaFeatures))
	}
	byName := map[string]KBEntry{}
	for _, e := range builtinKB().Entries {
		byName[e.Name] = e
	}
	warmTrials := 0
	for _, e := range r.Leaderboard {
		if e.Source == "" {
			continue
		}
		warmTrials++
		if byName[e.Source].Hash == self {
			t.Fatalf("trial %s %s came from %s, the dataset itself", e.Algorithm, e.Config, e.Source)
		}
	}
	if warmTrials == 0 {
		t.Fatalf("no leaderboard entry came from the warm start (%v)", r.WarmStart)
	}
	t.Logf("warm start from %v: %d of %d trials; best %s %.4f", r.WarmStart, warmTrials, len(r.Leaderboard), r.Leaderboard[0].Algorithm, r.Leaderboard[0].CVScore)
}
