package learn

import (
	"context"
	"math"
	"math/rand"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// TestEnsemble checks that an ensemble artifact predicts the weighted mean of its members'
// probabilities, survives a round trip, and that malformed ensembles are refused; then that
// AutoML's greedy selection, when it picks an ensemble, scores at least as well as the best trial.
func TestEnsemble(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	var members []*Model
	for _, algo := range []string{AlgoGBDT, AlgoLogistic} {
		r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: time.Second, Seed: 2, Algorithms: []string{algo}, Exclude: []string{"alive"}, NoEnsemble: true})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, r.Best)
	}
	pb := proto.Clone(members[0].pb).(*mlv1.ModelArtifact)
	pb.Algorithm = AlgoEnsemble
	pb.Learner = &mlv1.ModelArtifact_Ensemble{Ensemble: &mlv1.Ensemble{Members: []*mlv1.ModelArtifact{members[0].pb, members[1].pb}, Weights: []float64{0.7, 0.3}}}
	b, _ := proto.Marshal(pb)
	ens, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	pe, _ := ens.Predict(f)
	p0, _ := members[0].Predict(f)
	p1, _ := members[1].Predict(f)
	for i := range pe.Value {
		want := 0.7*p0.Value[i] + 0.3*p1.Value[i]
		if math.Abs(pe.Value[i]-want) > 1e-9 {
			t.Fatalf("row %d: ensemble %.12g, weighted mean %.12g", i, pe.Value[i], want)
		}
	}
	bad := []func(e *mlv1.Ensemble){
		func(e *mlv1.Ensemble) { e.Weights = []float64{0.7, 0.2} },
		func(e *mlv1.Ensemble) { e.Weights = []float64{1} },
		func(e *mlv1.Ensemble) { e.Members[1] = proto.Clone(pb).(*mlv1.ModelArtifact) },
	}
	for i, mod := range bad {
		c := proto.Clone(pb).(*mlv1.ModelArtifact)
		mod(c.GetEnsemble())
		if _, err := FromProto(c); err == nil {
			t.Errorf("malformed ensemble %d accepted", i)
		}
	}

	r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: 4 * time.Second, Seed: 1, Exclude: []string{"alive"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best %s (%s) %.4f", r.Best.Algorithm(), r.Best.Config(), r.Leaderboard[0].CVScore)
	if r.Best.Algorithm() == AlgoEnsemble {
		if r.Leaderboard[0].Algorithm != AlgoEnsemble || r.Leaderboard[0].CVScore < r.Leaderboard[1].CVScore {
			t.Fatalf("ensemble %.4f below the best trial %.4f", r.Leaderboard[0].CVScore, r.Leaderboard[1].CVScore)
		}
		if _, err := r.Best.Predict(f); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGreedySelection runs the selection on made-up out-of-fold predictions: two candidates with
// independent errors blend to a lower RMSE (both kept); a biased copy of the best is never picked.
func TestGreedySelection(t *testing.T) {
	n := 400
	ti := &targetInfo{name: "y", task: TaskRegression}
	rng := rand.New(rand.NewSource(5))
	good1, good2, biased := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		ti.rows = append(ti.rows, i)
		y := rng.NormFloat64()
		ti.y = append(ti.y, y)
		good1[i], good2[i] = y+0.5*rng.NormFloat64(), y+0.5*rng.NormFloat64()
		biased[i] = good1[i] + 3 // the same errors plus a bias: blending it in can only hurt
	}
	s := &search{t: ti, folds: makeFolds(ti, 5, 1)}
	score := func(p []float64) float64 { m, _ := meanStd(s.foldScores(p)); return m }
	cands := []oofTrial{{score: score(good1), pred: good1}, {score: score(good2), pred: good2}, {score: score(biased), pred: biased}}
	if cands[1].score < cands[0].score {
		cands[0], cands[1] = cands[1], cands[0]
	}
	idx, w, blend, ok := s.greedyEnsemble(cands, false)
	if !ok || len(idx) != 2 || idx[0] != 0 || idx[1] != 1 {
		t.Fatalf("chosen %v weights %v ok %v", idx, w, ok)
	}
	if got := score(blend); got > 0.8*cands[0].score || math.Abs(w[0]+w[1]-1) > 1e-12 {
		t.Fatalf("blend RMSE %.4f against best single %.4f, weights %v", got, cands[0].score, w)
	}
	if _, _, _, ok := s.greedyEnsemble([]oofTrial{cands[0], cands[2]}, false); ok {
		t.Fatal("a biased candidate was blended in")
	}
}
